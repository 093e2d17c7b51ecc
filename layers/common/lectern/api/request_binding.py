"""A route's input (JSON body, query string, path) checked against its request model, without pydantic.

The rules come from the routes' pydantic models (`lectern.*.request_models`, the annotations in each
handler), turned at build time into plain Python by `lectern_dev.request_validators`: a fastjsonschema
validator per model, and per field what JSON Schema cannot say (trim it first, is it nullable, the
`lectern.field_rules` function to run after). The deployed functions run that generated module,
`lectern.api.request_validators`; pydantic is only ever imported to generate it and the OpenAPI.

The answers are the ones the models give: a missing or malformed body is a 400 `bad_request`; a field
that breaks its rule is a 422 `validation_failed` whose `details` map the field ("email",
"gift.recipient_email", "limit") to its messages, worded as pydantic words them.
"""
from types import SimpleNamespace
from typing import Any

from lectern.errors import ValidationFailed
from lectern.field_rules import InvalidValue


# The exceptions the generated validators raise (fastjsonschema's own signature; its package, which
# imports urllib and its code generators, is not loaded at run time).
class JsonSchemaValueException(ValueError):
    def __init__(self, message: str, value: Any = None, name: str | None = None, definition: Any = None,
                 rule: str | None = None):
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule

    @property
    def rule_definition(self) -> Any:
        return (self.definition or {}).get(self.rule) if self.rule else None


class JsonSchemaValuesException(ValueError):
    def __init__(self, errors: list[JsonSchemaValueException]):
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


class Field:
    """One property of a model: what the generated validator cannot check by itself."""
    __slots__ = ("default", "kind", "model", "name", "nullable", "required", "rule", "strip")

    def __init__(self, name: str, kind: str, *, required: bool = False, default: Any = None,
                 nullable: bool = False, strip: bool = False, rule=None, model: "Model | None" = None):
        self.name, self.kind, self.required, self.default = name, kind, required, default
        self.nullable, self.strip, self.rule, self.model = nullable, strip, rule, model


class Model:
    """A request model (or a route's query or path parameters): its validator and fields."""
    __slots__ = ("fields", "validate")

    def __init__(self, validate, fields: tuple[Field, ...]):
        self.validate, self.fields = validate, fields


class Route:
    """What one route takes: the body's parameter name and model, its query and path parameters."""
    __slots__ = ("body", "body_param", "path", "query")

    def __init__(self, *, body_param: str | None = None, body: Model | None = None, query: Model | None = None,
                 path: Model | None = None):
        self.body_param, self.body, self.query, self.path = body_param, body, query, path


class BadBody(Exception):
    """The body is not a JSON object (or is missing) where the route takes one: a 400."""


def bind(route: Route, body: Any, query: dict[str, str] | None, path: dict[str, str]) -> dict[str, Any]:
    """The keyword arguments for the route function (the path parameters included), or raises
    ValidationFailed (422) with every field's problems, or BadBody (400)."""
    problems: dict[str, list[str]] = {}
    arguments: dict[str, Any] = dict(path)
    if route.path is not None:
        arguments.update(_model(route.path, path, "", problems, strings=True))
    if route.query is not None:
        arguments.update(_model(route.query, query or {}, "", problems, strings=True))
    if route.body is not None:
        if not isinstance(body, dict):
            raise BadBody()
        arguments[route.body_param] = SimpleNamespace(**_model(route.body, body, "", problems))
    if problems:
        raise ValidationFailed(details=problems)
    return arguments


def _model(model: Model, data: dict[str, Any], prefix: str, problems: dict[str, list[str]], *,
           strings: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {}
    checked: dict[str, Any] = {}
    nested: list[tuple[Field, Any]] = []
    for field in model.fields:
        if field.name not in data:
            if field.required:
                problems.setdefault(prefix + field.name, []).append("Field required")
            else:
                values[field.name] = field.default
            continue
        value = data[field.name]
        if value is None and field.nullable:
            values[field.name] = None
        elif field.model is not None:
            nested.append((field, value))
        else:
            if strings and field.kind == "integer":
                value = _integer(value)  # a query string's "20"
            elif field.strip and isinstance(value, str):
                value = value.strip()
            if isinstance(value, str) and not _unicode(value):
                problems.setdefault(prefix + field.name, []).append(
                    "Input should be a valid string, unable to parse raw data as a unicode string")
                continue
            checked[field.name] = value
    broken = set()
    try:
        model.validate(checked)
    except JsonSchemaValuesException as exc:
        for error in exc.errors:
            name = (error.name or "data").partition(".")[2] or "body"
            broken.add(name)
            problems.setdefault(prefix + name, []).append(_sentence(error))
    for field in model.fields:
        if field.name not in checked or field.name in broken:
            continue
        value = checked[field.name]
        if field.kind == "integer" and isinstance(value, float):  # JSON 5.0: the models take integers only
            problems.setdefault(prefix + field.name, []).append("Input should be a valid integer")
            continue
        if field.rule is not None:
            try:
                value = field.rule(value)
            except InvalidValue as exc:
                problems.setdefault(prefix + field.name, []).append(str(exc))
                continue
        values[field.name] = value
    for field, value in nested:
        if not isinstance(value, dict):
            problems.setdefault(prefix + field.name, []).append(
                "Input should be a valid dictionary or object to extract fields from")
        else:
            values[field.name] = SimpleNamespace(**_model(field.model, value, f"{prefix}{field.name}.", problems))
    return values


def _unicode(value: str) -> bool:
    """False for half a surrogate pair (`"\\ud800"` is valid JSON, but no text: nothing could store it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _integer(value: Any) -> Any:
    text = value.strip() if isinstance(value, str) else ""
    digits = text[1:] if text[:1] in "+-" else text
    return int(text) if digits.isdigit() and digits.isascii() else value  # else the validator says why


_TYPES = {"string": "a valid string", "integer": "a valid integer", "boolean": "a valid boolean",
          "object": "a valid dictionary or object to extract fields from", "number": "a valid number"}


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _sentence(error: JsonSchemaValueException) -> str:
    """The message pydantic gives for the same rule (what the contract's `details` have always said)."""
    rule, limit = error.rule, error.rule_definition
    if rule == "type":
        kind = limit if isinstance(limit, str) else "string"
        if kind == "integer" and isinstance(error.value, str):
            return "Input should be a valid integer, unable to parse string as an integer"
        return f"Input should be {_TYPES.get(kind, 'valid')}"
    if rule == "minLength":
        return f"String should have at least {_plural(limit, 'character')}"
    if rule == "maxLength":
        return f"String should have at most {_plural(limit, 'character')}"
    if rule == "pattern":
        return f"String should match pattern '{limit}'"
    if rule == "minimum":
        return f"Input should be greater than or equal to {_number(limit)}"
    if rule == "maximum":
        return f"Input should be less than or equal to {_number(limit)}"
    if rule in ("enum", "const"):
        return "Input should be one of the allowed values"
    return "is not valid"


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value

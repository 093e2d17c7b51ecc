"""Field types of the request models that several packages share, so one rule holds everywhere.

Build and test time only (pydantic): the request models (`lectern.*.request_models`) use these,
and the OpenAPI and the compiled request validators are generated from those models. The rules
themselves are `lectern.field_rules`, which the deployed functions run without pydantic;
`_rule` records the plain function on its wrapper (`__wrapped__`) for the validator generator.
"""
from collections.abc import Callable
from functools import wraps
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from lectern import field_rules


def _rule(function: Callable[[str], str | None]) -> AfterValidator:
    @wraps(function)
    def check(value: str) -> str | None:
        try:
            return function(value)
        except field_rules.InvalidValue as exc:
            raise PydanticCustomError(exc.kind, str(exc)) from None
    return AfterValidator(check)


# An email address, trimmed and lower-cased (how accounts are keyed); 422 when malformed.
Email = Annotated[str, Field(min_length=3, max_length=254, json_schema_extra={"format": "email"},
                             examples=["buyer@example.com"]), _rule(field_rules.normalized_email)]


# ------------------------------------------------------------------ text a visitor writes for someone else to read
# (which characters it may not hold: lectern.plain_text)
# A person's name as another person will read it (a gift's recipient): one line, at most 100 characters.
PersonName = Annotated[str, Field(max_length=100, examples=["Grace"]), _rule(field_rules.one_line)]
# A short note from one person to another (a gift's message): lines of text, at most 500 characters.
Note = Annotated[str, Field(max_length=500, examples=["Happy birthday! Enjoy the course."]),
                 _rule(field_rules.multi_line)]

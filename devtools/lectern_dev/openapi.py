"""Generate docs/openapi.json from the code: every HTTP API function's resolver, merged.

`python -m lectern_dev.openapi --write` regenerates the file; `--check` exits 1
when the committed file differs from what the code produces (CI and a test
use it, so the document cannot drift from the routes).
"""
import json
import re
import sys

from lectern.api.schemas import HEADER_COMPONENTS

from lectern_dev import generated_file, route_models
from lectern_dev import template as tpl

OUTPUT = tpl.REPO_ROOT / "docs" / "openapi.json"
DESCRIPTION = (
    "Lectern sells video courses and delivers them only to the people who paid. "
    "Every error has the shape `{\"error\": {\"code\", \"message\", \"details\"?}}`. "
    "Unknown routes answer 404 `not_found`; a known path with another method answers 405 "
    "`method_not_allowed` with an `Allow` header. A request body must be JSON (`Content-Type: "
    "application/json`, UTF-8); anything else answers 400 `bad_request`, and so does JSON nested too "
    "deep to read. A request body may be at most 16 KiB (16,384 bytes) on every route; a larger one "
    "answers 413 `payload_too_large`. Deployed, the API is served "
    "under `/api` of the storefront's own address, so browsers need no CORS. Where it has an origin of its "
    "own (local development), a CORS preflight (`OPTIONS`) on any path answers 204 without a body; only "
    "the storefront's origin (`FRONTEND_URL`) is allowed. "
    "The Stripe webhook is a Lambda function URL, "
    "not part of this API (see docs/payments.md)."
)


def generate() -> dict:
    document: dict = {}
    for resolver in route_models.resolvers().values():
        schema = json.loads(resolver.get_openapi_json_schema(
            title="Lectern API", version="1.0.0", description=DESCRIPTION,
            servers=[]))  # servers differ per deployment; clients pass their base URL
        if not document:
            document = schema
            document.setdefault("components", {})
            continue
        document["paths"].update(schema.get("paths", {}))
        for kind, entries in schema.get("components", {}).items():
            document["components"].setdefault(kind, {}).update(entries)
    document["components"]["headers"] = HEADER_COMPONENTS  # what the responses' `headers` refer to
    document["paths"] = dict(sorted(document.get("paths", {}).items()))
    _drop_unreferenced_schemas(document)
    for kind in document.get("components", {}):
        document["components"][kind] = dict(sorted(document["components"][kind].items()))
    return document


def _drop_unreferenced_schemas(document: dict) -> None:
    """Powertools always defines its own validation-error shapes (HTTPValidationError, ValidationError,
    ResponseValidationError), which Lectern never answers (every error is the ErrorEnvelope): keep only
    the schemas the paths refer to, directly or through other schemas."""
    schemas = document["components"].get("schemas", {})
    pattern = re.compile(r'"#/components/schemas/([^"]+)"')
    keep: set[str] = set()
    todo = set(pattern.findall(json.dumps(document["paths"])))
    while todo:
        name = todo.pop()
        if name not in keep and name in schemas:
            keep.add(name)
            todo |= set(pattern.findall(json.dumps(schemas[name])))
    document["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in keep}


def render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated_file.main(argv, description=__doc__.splitlines()[0], output=OUTPUT,
                               generate=lambda: render(generate()), make_target="openapi")


if __name__ == "__main__":
    sys.exit(main())

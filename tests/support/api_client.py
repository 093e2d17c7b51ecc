"""Call the template's functions in-process the way API Gateway would, routing by the template.

Every JSON answer is checked against docs/openapi.json (the operation's documented response for
that status, with no field beyond the documented ones): the deployed functions build their answers
as plain dataclasses, and this is what keeps them to the contract the OpenAPI states.
"""
import functools
import json
import re

import jsonschema
from lectern_dev import template as tpl
from lectern_dev.events import http_event
from lectern_dev.runner import InProcessRunner


class Api:
    """Calls the functions the way API Gateway would, routing by the template."""

    def __init__(self, runner: InProcessRunner):
        self.runner = runner
        self.routes = {}
        for spec in runner.specs.values():
            for method, path in spec.http_routes:
                self.routes[(method, path)] = spec.logical_id

    def function_for(self, method: str, path: str) -> str:
        for (route_method, route_path), logical_id in self.routes.items():
            if route_path == "$default":
                continue
            if route_method in (method.upper(), "ANY") and _matches(route_path, path):
                return logical_id
        return self.routes[("ANY", "$default")]

    def request(self, method: str, path: str, **kwargs):
        response = self.runner.invoke_dict(self.function_for(method, path), http_event(method, path, **kwargs))
        body = response.get("body")
        response["json"] = json.loads(body) if body and response.get("headers", {}).get(
            "Content-Type", "").startswith("application/json") else None
        if response["json"] is not None:
            check_documented(method, path.split("?")[0], response["statusCode"], response["json"])
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)


def _matches(template: str, path: str) -> bool:
    """Whether a path fits a route template (`/courses/{slug}`: the template's and the OpenAPI's syntax)."""
    return re.fullmatch(re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template)), path) is not None


@functools.cache
def _document() -> dict:
    closed = json.loads((tpl.REPO_ROOT / "docs" / "openapi.json").read_text())

    def close(node):  # no field beyond the documented ones
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
    close(closed["components"])
    return closed


def check_documented(method: str, path: str, status: int, body) -> None:
    """Fails when an answer is not what docs/openapi.json documents for it (an undocumented status of a
    documented operation included). Paths the document does not have (unknown routes, CORS) are not checked."""
    document = _document()
    for template, operations in document["paths"].items():
        operation = operations.get(method.lower())
        if operation is None or not _matches(template, path):
            continue
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {template} answered {status}, which the OpenAPI does not document"
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            jsonschema.validate(body, {**schema, "components": document["components"]})
        return

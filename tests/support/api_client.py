"""Call the template's functions in-process the way API Gateway would, routing by the template."""
import json
import re

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
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", route_path) + "$"
            if route_method in (method.upper(), "ANY") and re.match(pattern, path):
                return logical_id
        return self.routes[("ANY", "$default")]

    def request(self, method: str, path: str, **kwargs):
        response = self.runner.invoke_dict(self.function_for(method, path), http_event(method, path, **kwargs))
        body = response.get("body")
        response["json"] = json.loads(body) if body and response.get("headers", {}).get(
            "Content-Type", "").startswith("application/json") else None
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

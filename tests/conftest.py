"""Shared fixtures: a moto AWS built from template.yaml, and the functions in-process."""
import os

# Before anything imports boto3, PynamoDB or Powertools: fake credentials, quiet telemetry.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "LecternTest", "LOG_LEVEL": "CRITICAL",
})
os.environ.pop("AWS_ENDPOINT_URL", None)

import json  # noqa: E402

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from lectern_dev import aws_resources  # noqa: E402
from lectern_dev.events import http_event  # noqa: E402
from lectern_dev.runner import InProcessRunner  # noqa: E402


@pytest.fixture
def aws():
    """A fresh in-memory AWS with every table and the bucket of template.yaml."""
    with mock_aws():
        aws_resources.create_all()
        yield


@pytest.fixture(scope="session")
def runner():
    return InProcessRunner()


class Api:
    """Calls the functions the way API Gateway would, routing by the template."""

    def __init__(self, runner: InProcessRunner):
        self.runner = runner
        self.routes = {}
        for spec in runner.specs.values():
            for method, path in spec.http_routes:
                self.routes[(method, path)] = spec.logical_id

    def function_for(self, method: str, path: str) -> str:
        import re
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


@pytest.fixture
def api(aws, runner):
    return Api(runner)


# Known to the HTTP tests, so they can mint expired or forged access tokens for the stack.
E2E_AUTH_SIGNING_KEY = "e2e-only-signing-key-" + "k" * 40


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """The real local stack (`make dev`'s process) on free loopback ports, shared by the HTTP tests."""
    from stack_process import StackProcess

    stack = StackProcess(tmp_path_factory.mktemp("stack"), extra_env={"AUTH_SIGNING_KEY": E2E_AUTH_SIGNING_KEY}).start()
    yield stack
    stack.stop()

"""Run the template's functions in this process, the way Lambda would call them.

The local stack hands this runner to SAM CLI's own API Gateway emulator
(in place of its Docker-based runner), and `make invoke` uses it directly.
"""
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

from lectern_dev import template as tpl

_LOAD_LOCK = threading.Lock()
# Lambda gives each request an execution environment of its own. Here every function shares one
# process, and Powertools keeps the current event on the router class (shared by all resolvers),
# so invocations run one at a time, as each would in its own environment.
_INVOKE_LOCK = threading.Lock()


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_seconds: int = 15):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._timeout_ms = timeout_seconds * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def shared_environment(specs: dict[str, tpl.FunctionSpec]) -> dict[str, str]:
    """The union of every function's environment. Variables whose values differ
    between functions (the per-function service name) are left out: all
    functions share one process here."""
    merged: dict[str, str] = {}
    conflicting: set[str] = set()
    for spec in specs.values():
        for key, value in spec.environment.items():
            if key in merged and merged[key] != value:
                conflicting.add(key)
            merged.setdefault(key, value)
    return {k: v for k, v in merged.items() if k not in conflicting}


class InProcessRunner:
    def __init__(self, specs: dict[str, tpl.FunctionSpec] | None = None, *, apply_environment: bool = True):
        self.specs = specs or tpl.functions()
        self._modules: dict[str, ModuleType] = {}
        if apply_environment:
            for key, value in shared_environment(self.specs).items():
                os.environ.setdefault(key, value)
            # Locally the storefront has an address (and origin) of its own: given directly, it wins over
            # the deployed stack's SSM parameter (and keeps CORS on for it).
            os.environ.setdefault("FRONTEND_URL", "http://127.0.0.1:3002")
            from lectern.config import reset_settings

            reset_settings()  # the handlers read lectern's settings from this environment

    def handler(self, logical_id: str) -> Callable[[dict, Any], Any]:
        spec = self.specs[logical_id]
        with _LOAD_LOCK:
            module = self._modules.get(logical_id)
            if module is None:
                path = spec.code_dir / f"{spec.module}.py"
                name = f"lectern_function_{logical_id}"
                module_spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[name] = module
                module_spec.loader.exec_module(module)
                self._modules[logical_id] = module
        return getattr(module, spec.handler)

    def invoke_dict(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Call the function's handler; an uncaught exception comes back as Lambda's error payload."""
        handler = self.handler(logical_id)
        try:
            with _INVOKE_LOCK:
                return handler(event, LambdaContext(logical_id))
        except Exception as exc:  # Lambda reports the error instead of crashing the runtime
            traceback.print_exc()
            return {"errorMessage": str(exc), "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_tb(exc.__traceback__)}

    # --- the duck type of samcli's LocalLambdaRunner, as LocalApigwService calls it
    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_identifier: str, event: str, tenant_id: str | None = None,
               stdout: Any = None, stderr: Any = None, **_ignored: Any) -> None:
        event_dict = json.loads(event)
        # SAM CLI's event constructor computes the request id and time once, at import; API Gateway
        # gives every request its own.
        context = event_dict.get("requestContext") or {}
        if context:
            context["requestId"] = str(uuid.uuid4())
            context["timeEpoch"] = int(time.time() * 1000)
        response = self.invoke_dict(function_identifier, event_dict)
        stdout.write_str(json.dumps(response))

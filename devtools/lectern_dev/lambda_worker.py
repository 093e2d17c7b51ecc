"""One Lambda execution environment: a process that imports one handler once and runs its invocations.

Started by `lectern_dev.worker_pool` as a script (not as part of the `lectern_dev` package), with
the function's own environment from template.yaml and a path of only the function's folder and
the layer, as Lambda would. It speaks one JSON line per message: on its protocol pipe it first
says {"ready": init_ms} (or {"init_error": ...}), then for each request line on stdin
{"event", "request_id", "deadline_ms"} it answers {"response": ...}. Anything the handler prints
goes to stderr, like a function's logs. It exits when stdin closes (its pool or the stack went away).

Standard library only: nothing here may change what the handler's import costs or finds.
"""
import importlib.util
import json
import os
import sys
import threading
import time
import traceback


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, request_id: str, deadline_ms: float, memory_mb: int = 512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def error_payload(exc: BaseException) -> dict:
    """What Lambda returns for an uncaught exception."""
    return {"errorMessage": str(exc), "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__)}


def load_handler(code_dir: str, module_name: str, handler_name: str):
    path = os.path.join(code_dir, module_name.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, handler_name)


def exit_with_parent(poll_seconds: float = 0.5) -> None:
    """Lambda environments do not outlive the service: when the stack is gone (even killed), so is this."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main() -> int:
    code_dir, module_name, handler_name, function_name = sys.argv[1:5]
    exit_with_parent()
    memory_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    # The protocol gets the original stdout; everything else printed goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def say(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    started = time.perf_counter()
    try:
        handler = load_handler(code_dir, module_name, handler_name)
    except BaseException as exc:  # an init error is reported, like Runtime.ImportModuleError
        traceback.print_exc()
        say({"init_error": error_payload(exc)})
        return 1
    say({"ready": round((time.perf_counter() - started) * 1000, 1)})

    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(function_name, request["request_id"], request["deadline_ms"], memory_mb)
        try:
            say({"response": handler(request["event"], context)})
        except Exception as exc:  # Lambda reports the error instead of crashing the runtime
            traceback.print_exc()
            say({"response": error_payload(exc)})
    return 0


if __name__ == "__main__":
    sys.exit(main())

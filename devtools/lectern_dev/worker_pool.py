"""Run the template's functions the way Lambda does: each in-flight request in an environment of its own.

Every function gets a pool of worker processes (`lambda_worker.py`), each started with the
function's own environment from template.yaml and importing its handler once (a cold start);
a request takes an idle worker or starts a new one while the pool is below its size, else
waits for one, so requests to one function run in parallel up to the pool size, as concurrent
Lambda invocations do. A worker that does not answer within the function's Timeout is killed,
as Lambda ends a timed-out environment. The local stack and `make invoke` use this; the
in-process `InProcessRunner` (runner.py) remains for tests that run AWS in-process.
"""
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from lectern_dev import template as tpl

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
DEFAULT_WORKERS_PER_FUNCTION = 2
INIT_TIMEOUT_SECONDS = 30
# Values a function reads from Secrets Manager when deployed: never handed to a worker directly.
SECRET_VARIABLES = frozenset({"AUTH_SIGNING_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
                              "PLAYBACK_KEY_ID", "PLAYBACK_SIGNING_KEY_PEM"})
# Template parameters the local stack sets for itself (ports are chosen at start-up).
LOCAL_OVERRIDES = ("FRONTEND_URL", "EMAIL_FROM", "LOG_LEVEL", "STAGE")


def workers_per_function() -> int:
    return max(1, int(os.environ.get("LECTERN_WORKERS") or DEFAULT_WORKERS_PER_FUNCTION))


def function_environment(spec: tpl.FunctionSpec, specs: dict[str, tpl.FunctionSpec],
                         base: dict[str, str] | None = None) -> dict[str, str]:
    """What a worker of this function sees: the machine's environment (AWS endpoint, credentials,
    Stripe API base) without secrets and without any other function's variables, then the function's
    own variables from the template, as Lambda sets them."""
    base = dict(os.environ if base is None else base)
    template_keys = {key for other in specs.values() for key in other.environment}
    env = {k: v for k, v in base.items() if k not in SECRET_VARIABLES and k not in template_keys}
    env.update(spec.environment)
    env.update({k: base[k] for k in LOCAL_OVERRIDES if base.get(k)})
    layer_path = str(tpl.REPO_ROOT / "layers" / "common")
    env.update({
        "PYTHONPATH": os.pathsep.join([str(spec.code_dir), layer_path]),
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "_HANDLER": f"{spec.module}.{spec.handler}",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def timeout_error(seconds: float) -> dict[str, Any]:
    return {"errorMessage": f"Task timed out after {seconds:.2f} seconds", "errorType": "Sandbox.Timedout"}


class WorkerDied(RuntimeError):
    pass


class Worker:
    """One execution environment of one function."""

    def __init__(self, spec: tpl.FunctionSpec, env: dict[str, str], started: Callable[["Worker"], None] = lambda w: None):
        self.spec = spec
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), str(spec.code_dir), spec.module, spec.handler, spec.logical_id],
            cwd=spec.code_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None)
        started(self)  # known to its pool from now on, so stopping the stack can end it mid-init
        self._buffer = b""
        try:
            message = self._read(INIT_TIMEOUT_SECONDS)
        except EOFError:
            message = None
        if message is None or "ready" not in message:
            self.kill()
            detail = (message or {}).get("init_error", {}).get("errorMessage", "no answer")
            raise WorkerDied(f"{spec.logical_id} failed to initialise: {detail}")
        self.init_ms = message["ready"]

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self, timeout: float) -> dict | None:
        """The next protocol line; None on timeout; EOFError when the worker exited."""
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        timeout = self.spec.timeout_seconds
        request = {"event": event, "request_id": request_id, "deadline_ms": time.time() * 1000 + timeout * 1000}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise WorkerDied(f"{self.spec.logical_id} worker exited") from exc
        try:
            message = self._read(timeout)
        except EOFError:
            self.kill()
            return {"errorMessage": "Runtime exited", "errorType": "Runtime.ExitError"}
        if message is None:
            self.kill()
            return timeout_error(timeout)
        return message["response"]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class FunctionPool:
    """Up to `size` workers of one function; a request borrows one."""

    def __init__(self, spec: tpl.FunctionSpec, env: dict[str, str], size: int):
        self.spec, self.env, self.size = spec, env, size
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()
        self.cold_starts = 0

    def _acquire(self) -> Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerDied(f"{self.spec.logical_id}: the stack is stopping")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            worker = Worker(self.spec, self.env, self._track)  # a cold start, outside the lock
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.cold_starts += 1
        return worker

    def _track(self, worker: Worker) -> None:
        with self._cond:
            self._all.add(worker)
            closed = self._closed
        if closed:
            worker.process.kill()

    def _release(self, worker: Worker) -> None:
        with self._cond:
            if worker.alive() and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                self._all.discard(worker)
                worker.kill()
            self._cond.notify()

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        worker = self._acquire()
        try:
            return worker.invoke(event, request_id)
        finally:
            self._release(worker)

    def prewarm(self) -> None:
        """Start one environment ahead of the first request (what provisioned concurrency does)."""
        try:
            self._release(self._acquire())
        except WorkerDied:
            pass

    def close(self) -> None:
        """End every environment: idle, busy and still starting (as the stack stops)."""
        with self._cond:
            self._closed = True
            self._idle = []
            everyone = list(self._all)
            self._cond.notify_all()
        for worker in everyone:
            if worker.process.poll() is None:
                worker.process.kill()


class WorkerPoolRunner:
    """The local stack's Lambda: the duck type of SAM CLI's LocalLambdaRunner, plus `invoke_dict`."""

    def __init__(self, specs: dict[str, tpl.FunctionSpec] | None = None, *, size: int | None = None,
                 base_environment: dict[str, str] | None = None):
        self.specs = specs or tpl.functions()
        size = size or workers_per_function()
        self.pools = {logical_id: FunctionPool(spec, function_environment(spec, self.specs, base_environment), size)
                      for logical_id, spec in self.specs.items()}

    def invoke_dict(self, logical_id: str, event: dict[str, Any]) -> Any:
        # API Gateway gives every request its own id and time (SAM CLI's event builder computes them once).
        context = event.get("requestContext")
        if isinstance(context, dict):
            context["requestId"] = str(uuid.uuid4())
            context["timeEpoch"] = int(time.time() * 1000)
        request_id = str(uuid.uuid4())
        try:
            return self.pools[logical_id].invoke(event, request_id)
        except WorkerDied as exc:
            print(f"[{logical_id}] {exc}", file=sys.stderr, flush=True)
            return {"errorMessage": str(exc), "errorType": "Runtime.Unknown"}

    def prewarm(self, logical_ids: list[str] | None = None) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.pools[name].prewarm, name=f"prewarm-{name}", daemon=True)
                   for name in (logical_ids or list(self.pools))]
        for thread in threads:
            thread.start()
        return threads

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()

    # --- the duck type of samcli's LocalLambdaRunner, as LocalApigwService calls it
    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_identifier: str, event: str, tenant_id: str | None = None,
               stdout: Any = None, stderr: Any = None, **_ignored: Any) -> None:
        stdout.write_str(json.dumps(self.invoke_dict(function_identifier, json.loads(event))))

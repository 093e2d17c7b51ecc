"""Start the real local stack (`python -m lectern_dev.stack`) as a child process on free loopback ports."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Known to the HTTP tests, so they can mint expired or forged access tokens and sign webhooks for the stack.
E2E_AUTH_SIGNING_KEY = "e2e-only-signing-key-" + "k" * 40
E2E_WEBHOOK_SECRET = "whsec_e2e_only_" + "w" * 24


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT_VARIABLES = ("LECTERN_API_PORT", "LECTERN_WEBHOOK_PORT", "LECTERN_DEV_PORT", "LECTERN_STRIPE_PORT",
                  "LECTERN_AWS_PORT", "LECTERN_WEB_PORT", "LECTERN_STREAM_PORT")


def PORTS_FREE_NOW() -> dict[str, str]:  # noqa: N802
    return {name: str(free_port()) for name in PORT_VARIABLES}


class StackProcess:
    def __init__(self, tmp_dir: Path, extra_env: dict[str, str] | None = None):
        self.info_file = tmp_dir / "stack.json"
        self.log_file = tmp_dir / "stack.log"
        # What a fresh shell has: not what in-process tests put into this process's environment (the
        # in-process runner sets the template's variables and FRONTEND_URL=…:3002, which would point the
        # stack's links and CORS at a storefront that is not this stack's).
        from lectern_dev import template as tpl
        from lectern_dev.runner import shared_environment

        set_in_process = set(shared_environment(tpl.functions())) | {"FRONTEND_URL"}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "STRIPE_", "STREAM_", "LECTERN_", "POWERTOOLS_"))
               and k not in set_in_process}
        env.update({"PYTHONPATH": "layers/common:devtools", **PORTS_FREE_NOW(), **(extra_env or {})})
        self.env = env
        self._extra = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.urls: dict[str, str] = {}

    def start(self, timeout: float = 60, attempts: int = 3) -> "StackProcess":
        """Start it; a port taken between choosing it and binding it (another process's outgoing
        connection can take any free port) means new ports and another try."""
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except RuntimeError as exc:
                if attempt == attempts - 1 or "in use" not in str(exc):
                    raise
                self.env.update({k: v for k, v in PORTS_FREE_NOW().items() if k not in self._extra})
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> "StackProcess":
        log = self.log_file.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "lectern_dev.stack", "--info-file", str(self.info_file)],
                                        cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.info_file.exists() and self.info_file.read_text():
                self.urls = json.loads(self.info_file.read_text())
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"local stack did not start:\n{self.log_file.read_text()[-4000:]}")

    def stop(self, timeout: float = 15) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode if self.process else None

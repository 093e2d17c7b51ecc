"""`make dev` stops within seconds of SIGTERM or Ctrl-C, whenever the signal comes (issue: a signal
handler that took a lock the interrupted main thread held left it blocked on a futex forever)."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.stack_process import REPO_ROOT, StackProcess

pytestmark = pytest.mark.stack

TRIES = int(os.environ.get("LECTERN_STOP_TRIES") or 8)
STOP_WITHIN_SECONDS = 5.0


def _workers_of(aws_port: str) -> list[int]:
    """Worker processes (lambda_worker.py) started for the stack that used this AWS port."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"lambda_worker.py" not in (entry / "cmdline").read_bytes():
                continue
            if f"LECTERN_AWS_PORT={aws_port}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_stops_within_five_seconds_of_a_signal_at_any_moment(tmp_path):
    rng = random.Random(int(os.environ.get("LECTERN_STOP_SEED") or time.time()))
    slow = []
    for attempt in range(TRIES):
        stack = StackProcess(tmp_path / f"try{attempt}")
        (tmp_path / f"try{attempt}").mkdir()
        log = stack.log_file.open("w")
        process = subprocess.Popen([sys.executable, "-m", "lectern_dev.stack", "--info-file", str(stack.info_file)],
                                   cwd=REPO_ROOT, env=stack.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        # Anywhere from the first imports to well after start-up (ready takes a few seconds).
        time.sleep(rng.uniform(0.0, 8.0))
        which = rng.choice([signal.SIGTERM, signal.SIGINT])
        sent = time.monotonic()
        process.send_signal(which)
        try:
            process.wait(STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            slow.append((attempt, which.name, stack.log_file.read_text()[-1500:]))
            continue
        took = time.monotonic() - sent
        assert took < STOP_WITHIN_SECONDS
        deadline = time.monotonic() + 3
        while _workers_of(stack.env["LECTERN_AWS_PORT"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _workers_of(stack.env["LECTERN_AWS_PORT"]), "function workers outlived the stack"
    assert not slow, f"{len(slow)} of {TRIES} stops took over {STOP_WITHIN_SECONDS}s: {slow[:2]}"

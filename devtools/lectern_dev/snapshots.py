"""A local stand-in for Lambda SnapStart: fork a primed process, and treat each child as an
environment restored from its snapshot (tests/unit/test_snapstart.py, bench/restore.py).

A child of `os.fork()` starts with a copy of its parent's memory, as a restored environment starts
with a copy of the snapshot's. Two differences, one undone here:

- Python reseeds `random` in a forked child (`os.register_at_fork`); a snapshot restore runs no
  such hook, so `fork_restored` gives the child its parent's `random` state back first: what it
  then draws is what a restored copy would draw, unless the after-restore hook renews it.
- The kernel is not copied by a fork (the child's `os.urandom` is fresh), while a Firecracker
  snapshot holds the guest kernel too, whose generator Lambda's restore must reseed: that part
  is AWS's, and cannot be reproduced on this machine.

`python -m lectern_dev.snapshots` (driven by bench/restore.py) measures one function: it imports
the handler (init), runs the before-snapshot hooks, forks restored copies and times each one's
first request against its warm requests: copies restored soon after the snapshot ("soon": the
secrets read before it are younger than their five minutes) and later ("late": they are older,
and are read again). It reads its plan as JSON on stdin and prints JSON.
"""
from __future__ import annotations

import json
import os
import pickle
import random
import resource
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any


def fork_restored(work: Callable[[], Any], *, renew: bool = True, timeout: float = 120) -> Any:
    """Run `work()` in a forked child that stands for a copy restored from this process's snapshot
    (the after-restore hooks first, unless `renew` is False) and return its result (picklable)."""
    from lectern import snapstart

    state = random.getstate()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the restored copy
        status = 0
        try:
            os.close(read_end)
            random.setstate(state)  # undo the at-fork reseed: a snapshot restore has none
            if renew:
                snapstart.run_after_restore()
            payload = pickle.dumps(("ok", work()))
        except BaseException:  # noqa: BLE001 - reported to the parent
            payload, status = pickle.dumps(("error", traceback.format_exc())), 1
        try:
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(status)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    chunks = []
    with os.fdopen(read_end, "rb") as incoming:
        while chunk := incoming.read(65536):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                break
    os.waitpid(pid, 0)
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise RuntimeError(f"restored copy failed:\n{value}")
    return value


# ------------------------------------------------------------------ python -m lectern_dev.snapshots

class _Context:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str):
        self.function_name = function_name
        self.function_version = "1"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}:live"
        self.aws_request_id = f"restore-{os.getpid()}-{time.monotonic_ns()}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def _request(plan: dict[str, Any], index: int, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The plan's event for the index-th request of this copy: a fresh email for each checkout, and the
    refresh token the previous answer gave for a refresh (each token works once)."""
    event = json.loads(json.dumps(plan["event"]))
    body = json.loads(event["body"]) if event.get("body") else None
    if plan.get("unique_email") and body is not None:
        body["email"] = f"restore-{os.getpid()}-{index}@example.com"
    chain = plan.get("chain")
    if chain and body is not None:
        if previous is not None:
            body[chain] = json.loads(previous["body"])[chain]
        elif plan.get("first_values"):
            body[chain] = plan["first_values"].pop(0)
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _serve(handler: Callable, plan: dict[str, Any], calls: int) -> dict[str, list]:
    """`calls` requests in a row: the seconds each took, and the minor page faults each took (in a
    forked copy, mostly pages of the parent's memory copied on first write: what a restored copy pays
    as pages loaded from the snapshot on Lambda)."""
    timings, faults, previous = [], [], None
    for index in range(calls):
        event = _request(plan, index, previous)
        faulted = _minor_faults()
        started = time.perf_counter()
        previous = handler(event, _Context(plan["function"]))
        timings.append(time.perf_counter() - started)
        faults.append(_minor_faults() - faulted)
        if previous.get("statusCode") != plan["expect"]:
            raise RuntimeError(f"{plan['function']}: answered {previous.get('statusCode')}, "
                               f"expected {plan['expect']}: {str(previous)[:500]}")
    return {"timings": timings, "faults": faults}


def age_cached_parameters() -> None:
    """Make every cached secret and parameter older than its age: what a restore finds when it comes
    more than five minutes after the snapshot (the after-restore hook then drops them)."""
    from datetime import datetime

    constants = sys.modules.get("aws_lambda_powertools.utilities.parameters.constants")
    for provider in (constants.DEFAULT_PROVIDERS.values() if constants else ()):
        for key, cached in list(provider.store.items()):
            provider.store[key] = cached._replace(ttl=datetime.min)


def main() -> int:
    plan = json.loads(sys.stdin.read())
    sys.stdout, protocol = sys.stderr, sys.stdout  # what the handler prints is not the answer
    from lectern import snapstart

    started = time.perf_counter()
    module_name, handler_name = plan["handler"].rsplit(".", 1)
    import importlib

    handler = getattr(importlib.import_module(module_name), handler_name)
    init = time.perf_counter() - started
    prime = 0.0
    if plan["prime"]:
        started = time.perf_counter()
        snapstart.run_before_snapshot()
        prime = time.perf_counter() - started
    copies = []
    tokens = list(plan.get("tokens") or [])

    def restore_copies(modes: list[str]) -> None:
        for _copy in range(plan["copies"]):
            for mode in modes:
                plan["first_values"] = [tokens.pop(0)] if tokens else None

                def restored(mode: str = mode) -> dict[str, Any]:
                    if mode == "late":
                        age_cached_parameters()
                    began = time.perf_counter()
                    snapstart.run_after_restore()
                    renewed = time.perf_counter() - began
                    return {"mode": mode, "renew": renewed, **_serve(handler, plan, plan["calls"])}

                copies.append(fork_restored(restored, renew=False))  # the hooks run (and are timed) in `restored`

    restore_copies(plan["modes"])
    if plan.get("floor"):
        # The stand-in's own floor: copies of an environment that has served requests (nothing lazy is
        # left in it), so their first request pays only what any copy pays: its memory (the fork's
        # copy-on-write here; pages loaded from the snapshot on Lambda) and its new connections.
        plan["first_values"] = [tokens.pop(0)] if tokens else None
        _serve(handler, plan, plan["calls"])
        restore_copies(["floor"])
    protocol.write(json.dumps({"init": init, "prime": prime, "copies": copies}) + "\n")
    protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

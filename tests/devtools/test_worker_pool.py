"""The local stack's Lambda: one process per in-flight request, each with its function's environment."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lectern_dev import template as tpl
from lectern_dev.worker_pool import FunctionPool, WorkerPoolRunner, function_environment

HANDLER = '''
import os, time
STARTED = time.time()  # init: once per environment

def handler(event, context):
    if event.get("crash"):
        os._exit(3)
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "service": os.environ.get("POWERTOOLS_SERVICE_NAME"), "init": STARTED,
            "request_id": context.aws_request_id, "remaining": context.get_remaining_time_in_millis(),
            "secret": os.environ.get("STRIPE_SECRET_KEY")}
'''


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "app.py").write_text(HANDLER)
    return tpl.FunctionSpec("SleepyFunction", tmp_path, "app", "handler",
                            {"POWERTOOLS_SERVICE_NAME": "sleepy"}, timeout_seconds=2)


@pytest.fixture
def runner(spec):
    runner = WorkerPoolRunner({spec.logical_id: spec}, size=3,
                              base_environment={"PATH": "/usr/bin:/bin", "STRIPE_SECRET_KEY": "sk_leak"})
    yield runner
    runner.close()


def test_concurrent_requests_run_in_separate_environments_at_once(runner):
    runner.invoke_dict("SleepyFunction", {})  # one warm environment; the others start cold
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: runner.invoke_dict("SleepyFunction", {"sleep": 1.5}), range(3)))
    elapsed = time.monotonic() - started
    assert len({a["pid"] for a in answers}) == 3
    assert elapsed < 1.5 * 2, f"three 1.5 s requests took {elapsed:.1f}s: not run in parallel"
    assert {a["service"] for a in answers} == {"sleepy"}
    assert all(a["secret"] is None for a in answers)  # secrets reach a function by ARN only
    assert len({a["request_id"] for a in answers}) == 3


def test_an_environment_is_reused_and_initialises_once(runner):
    first, second = runner.invoke_dict("SleepyFunction", {}), runner.invoke_dict("SleepyFunction", {})
    assert first["pid"] == second["pid"] and first["init"] == second["init"]
    assert 0 < second["remaining"] <= 2000


def test_pool_never_exceeds_its_size(spec):
    pool = FunctionPool(spec, function_environment(spec, {spec.logical_id: spec}, {"PATH": "/usr/bin:/bin"}), 2)
    try:
        with ThreadPoolExecutor(5) as executor:
            answers = list(executor.map(lambda _: pool.invoke({"sleep": 0.3}, "r"), range(5)))
        assert len({a["pid"] for a in answers}) <= 2 and pool.cold_starts <= 2
    finally:
        pool.close()


def test_a_timed_out_request_ends_its_environment_like_lambda(runner):
    answer = runner.invoke_dict("SleepyFunction", {"sleep": 5})
    assert answer["errorType"] == "Sandbox.Timedout"
    assert runner.invoke_dict("SleepyFunction", {})["pid"]  # a fresh environment takes the next request


def test_a_crashed_environment_is_replaced(runner):
    pid = runner.invoke_dict("SleepyFunction", {})["pid"]
    assert runner.invoke_dict("SleepyFunction", {"crash": True})["errorType"] == "Runtime.ExitError"
    assert runner.invoke_dict("SleepyFunction", {})["pid"] != pid


def test_api_gateway_request_ids_are_fresh_per_request(runner):
    event = {"requestContext": {"requestId": "fixed"}}
    ids = {runner.invoke_dict("SleepyFunction", dict(event, requestContext={"requestId": "fixed"}))["request_id"]
           for _ in range(3)}
    assert len(ids) == 3
    runner.invoke_dict("SleepyFunction", event)
    assert event["requestContext"]["requestId"] != "fixed"

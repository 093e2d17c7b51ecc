"""200 concurrent mixed requests against the local stack, no fault injected: no 5xx, and the answers
sequential requests get (the fault drills themselves are in tests/api/test_fault_drills.py)."""
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest


# ------------------------------------------------------------------ the stack: 200 concurrent mixed requests

@pytest.fixture(scope="module")
def mixed_burst(local_stack) -> list[tuple[str, int, float]]:
    """200 mixed requests (catalog list and detail, guest checkouts, downloads granted and denied)
    from 16 threads against the local stack, no fault injected: (kind, status, seconds) each."""
    from support.http_client import StackClient, unique_email

    client = StackClient(local_stack.urls)
    password = "correct horse battery staple 42"
    owner = client.call("POST", "/auth/register", json={"name": "Drill", "email": unique_email("drill-owner"),
                                                         "password": password}).json()["access_token"]
    client.buy(SERVERLESS, token=owner)
    course = client.call("GET", f"/learn/{SERVERLESS}", owner).json()["course"]
    resource_ids = [r["id"] for module in course["modules"] for lesson in module["lessons"] for r in lesson["resources"]]
    stranger = client.call("POST", "/auth/register", json={"name": "S", "email": unique_email("drill-stranger"),
                                                            "password": password}).json()["access_token"]
    kinds = [("list", "detail", "checkout", "download", "download", "denied", "checkout", "list")[i % 8]
             for i in range(200)]
    local = threading.local()

    def send(numbered: tuple[int, str]) -> tuple[str, int, float]:
        i, kind = numbered
        if not hasattr(local, "client"):
            local.client = StackClient(local_stack.urls)
        c = local.client
        started = time.perf_counter()
        if kind == "list":
            response = c.call("GET", "/courses")
        elif kind == "detail":
            response = c.call("GET", f"/courses/{SERVERLESS}")
        elif kind == "checkout":
            response = c.checkout("practical-sql-for-analysts", unique_email("drill-guest"))
        else:
            token = owner if kind == "download" else stranger
            response = c.call("GET", f"/resources/{resource_ids[i % len(resource_ids)]}/download", token)
        return kind, response.status_code, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(send, enumerate(kinds), timeout=120))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[2] for r in results)
    print(f"\n200 mixed requests from 16 threads: {len(results) / elapsed:.0f} req/s, "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms, "
          f"{dict(Counter((kind, status) for kind, status, _ in results))}")
    return results


SERVERLESS = "serverless-python-on-aws"
EXPECTED = {"list": {200}, "detail": {200}, "checkout": {201}, "download": {302}, "denied": {403}}


@pytest.mark.stack
def test_200_concurrent_mixed_requests_without_faults_answer_no_5xx(mixed_burst):
    assert [r for r in mixed_burst if r[1] >= 500] == []
    assert all(status < 500 for _kind, status, _ in mixed_burst)


@pytest.mark.stack
def test_concurrent_requests_get_the_answers_sequential_ones_get(mixed_burst):
    wrong = Counter((kind, status) for kind, status, _ in mixed_burst if status not in EXPECTED[kind])
    assert not wrong, wrong

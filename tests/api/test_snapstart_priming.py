"""SnapStart's priming runs each route once, with DynamoDB answered in memory (lectern/snapstart.py).

Before the snapshot, `prime` resolves canned events on every route so that a restored copy's first request
finds the route's middleware stack, its validator and its code paths already built. These tests run the
priming against the in-process AWS (moto) and check that it built what it should and wrote nothing.
"""
import sys

import boto3
import pytest

from lectern import snapstart
from lectern_dev import template as tpl

API_FUNCTIONS = sorted(name for name, spec in tpl.functions().items() if spec.http_routes)


def _items() -> dict[str, int]:
    client = boto3.client("dynamodb")
    return {name: client.scan(TableName=name)["Count"] for name in client.list_tables()["TableNames"]}


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_priming_runs_every_get_route_and_writes_nothing(api, runner, logical_id, monkeypatch):
    app = sys.modules[runner.handler(logical_id).__module__].app
    statuses = []
    resolve = app.resolve

    def recording(event, context):
        answer = resolve(event, context)
        statuses.append((event["requestContext"]["http"]["method"], event["rawPath"], answer["statusCode"]))
        return answer

    monkeypatch.setattr(app, "resolve", recording)
    before = _items()
    snapstart._prime_routes(app, list(snapstart._build_clients()))
    assert _items() == before, "priming must not write anything"
    routes = [*app._static_routes, *app._dynamic_routes]
    for route in routes:
        if route.method == "GET":
            assert route._middleware_stack_built, f"GET {route.path} was not run"
    assert [s for s in statuses if s[2] >= 500] == [], "priming must not make a route fail (and log an error)"
    assert len(statuses) > 1
    # A route given a priming body ran past its validation (a body refused would be 400 or 422).
    for method, path in app.priming_bodies:
        route = next(r for r in routes if (r.method, r.path) == (method, path))
        assert route._middleware_stack_built, f"{method} {path} was not run"
        assert [s[2] for s in statuses if s[:2] == (method, snapstart.canned_path(path))] in ([401], [403], [404], [204]), (method, path)


def test_refresh_logout_and_the_heartbeat_are_primed_past_their_validation(runner):
    primed = {name: set(sys.modules[runner.handler(name).__module__].app.priming_bodies) for name in API_FUNCTIONS}
    assert primed["AuthFunction"] == {("POST", "/auth/refresh"), ("POST", "/auth/logout")}
    assert primed["ProgressFunction"] == {("PUT", "/learn/<course_slug>/lessons/<lesson_slug>/progress")}
    # Functions that call Stripe are never primed past validation.
    assert primed["CheckoutFunction"] == set()

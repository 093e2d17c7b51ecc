"""SnapStart's priming runs each route once, with DynamoDB answered in memory (lectern/snapstart.py).

Before the snapshot, `prime` resolves canned events on every route so that a restored copy's first request
finds the route's middleware stack, its validator and its code paths already built. These tests run the
priming against the in-process AWS (moto) and check that it built what it should and wrote nothing.
"""
import contextlib
import sys

import boto3
import pytest

from lectern import snapstart
from lectern_dev import template as tpl

SIGNING_KEY = "snapstart-test-signing-key-" + "k" * 40
API_FUNCTIONS = sorted(name for name, spec in tpl.functions().items() if spec.http_routes)


@contextlib.contextmanager
def _nothing_sent():
    """moto's in-process AWS off (it answers before botocore sends), and any request botocore would send
    recorded and failed, as on a machine without a network: what priming sends instead of answering."""
    import botocore.httpsession
    from botocore.endpoint import Endpoint
    from botocore.exceptions import EndpointConnectionError
    from moto.core.models import botocore_stubber

    sent = []

    def send(_session, request):
        sent.append(request.url)
        raise EndpointConnectionError(endpoint_url=request.url)

    real_send = Endpoint._send
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.httpsession.URLLib3Session, "send", send)
        patch.setattr(botocore_stubber, "enabled", False)
        yield sent
    assert Endpoint._send is real_send, "priming put botocore's sender back"


def _items() -> dict[str, int]:
    client = boto3.client("dynamodb")
    return {name: client.scan(TableName=name)["Count"] for name in client.list_tables()["TableNames"]}


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_priming_runs_every_get_route_and_writes_nothing(api, runner, logical_id, monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)  # GET routes primed signed in (as nobody)
    app = sys.modules[runner.handler(logical_id).__module__].app
    statuses = []
    resolve = app.resolve

    def recording(event, context):
        answer = resolve(event, context)
        statuses.append((event["requestContext"]["http"]["method"], event["rawPath"], answer["statusCode"]))
        return answer

    monkeypatch.setattr(app, "resolve", recording)
    before = _items()
    list(snapstart._build_clients())  # as in `prime`, the clients exist before the routes run
    with _nothing_sent() as sent:
        snapstart._prime_routes(app)
    assert sent == [], "DynamoDB is answered in memory, and any other AWS call fails unsent"
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


def test_a_first_request_after_priming_builds_nothing_in_botocore(api, monkeypatch):
    """Priming dry-runs each DynamoDB operation on the function's client with what Lectern's calls send and
    AWS answers (items of every attribute type, the consumed capacity PynamoDB asks for, a refused condition,
    a cancelled transaction), answered in memory: a restored copy's first requests then find every shape
    resolved and every event's handlers looked up. (Registering or unregistering an event handler empties
    the client's cache of those look-ups, so priming answers where botocore sends and registers nothing.)"""
    from botocore import hooks, model
    from lectern.models import base

    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setattr(base, "_connection", None)  # a client of its own: nothing built by earlier tests
    client = base.connection().client
    with _nothing_sent() as sent:
        snapstart._dry_run(client)
    assert sent == [], "the dry runs are answered in memory"

    built = []
    emitter, resolver = client.meta.events._emitter._handlers, client.meta.service_model._shape_resolver
    prefix_search, get_shape_by_name = hooks._PrefixTrie.prefix_search, model.ShapeResolver.get_shape_by_name

    def looked_up(trie, key):
        if trie is emitter:
            built.append(("event", key))
        return prefix_search(trie, key)

    def resolved(shapes, name, member_traits=None):
        if shapes is resolver:
            built.append(("shape", name))
        return get_shape_by_name(shapes, name, member_traits)

    monkeypatch.setattr(hooks._PrefixTrie, "prefix_search", looked_up)
    monkeypatch.setattr(model.ShapeResolver, "get_shape_by_name", resolved)
    # What sessions do: the user's GetItem and Query, throttle writes, the session's puts, the refresh's
    # conditional updates; a reuse of the spent token (the family revoked), then the next token refused by
    # the family's condition (a refused update), and the same email registered twice (a cancelled transaction).
    password = "Correct-horse-42"
    register = {"name": "Ada", "email": "ada@example.com", "password": password}
    assert api.post("/auth/register", body=register)["statusCode"] == 201
    session = api.post("/auth/login", body={"email": "ada@example.com", "password": password})["json"]
    renewed = api.post("/auth/refresh", body={"refresh_token": session["refresh_token"]})
    assert renewed["statusCode"] == 200
    assert api.post("/auth/refresh", body={"refresh_token": session["refresh_token"]})["statusCode"] == 401
    assert api.post("/auth/refresh", body={"refresh_token": renewed["json"]["refresh_token"]})["statusCode"] == 401
    assert api.post("/auth/register", body=register)["statusCode"] == 409
    assert api.get("/me/courses", headers={"Authorization": f"Bearer {session['access_token']}"})["statusCode"] == 200
    assert api.get("/courses")["statusCode"] == 200
    assert built == []

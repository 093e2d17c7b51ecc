"""Lambda SnapStart (issue 16, item 2): the template's switch, the hooks each API handler registers,
and what copies restored from one snapshot must not share.

Restores are stood in for by forks of a primed process (lectern_dev.snapshots, which gives each child
its parent's `random` state back, as a restore would). The forks run in a fresh interpreter of their
own, so that priming (which freezes the garbage collector's objects) never touches the test process.
"""
import copy
import importlib.util
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from lectern import snapstart
from lectern_dev import template as tpl
from lectern_dev.sam_render import render

API_FUNCTIONS = ["CatalogFunction", "AuthFunction", "LearnerFunction", "LessonFunction", "DownloadFunction",
                 "CheckoutFunction", "ProgressFunction"]
NOT_SNAPSTARTED = ["StripeWebhookFunction", "MailRetryFunction", "EmailFeedbackFunction"]


def evaluate(node, conditions: dict[str, bool]):
    """`node` with its Fn::If resolved for the given condition values (what CloudFormation deploys)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return evaluate(yes if conditions[name] else no, conditions)
        return {key: evaluate(value, conditions) for key, value in node.items()}
    if isinstance(node, list):
        return [evaluate(item, conditions) for item in node]
    return node


@pytest.fixture(scope="module")
def enabled():
    return render(parameters={"SnapStart": "Enabled"})


# ------------------------------------------------------------------ the template

def test_the_parameter_is_off_by_default_and_names_its_condition():
    template = tpl.load()
    parameter = template["Parameters"]["SnapStart"]
    assert parameter["Default"] == "Disabled" and parameter["AllowedValues"] == ["Enabled", "Disabled"]
    assert template["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "Enabled"]}


def test_enabled_the_api_functions_snapshot_their_published_versions(enabled):
    resources = enabled["Resources"]
    for name in API_FUNCTIONS:
        snap = resources[name]["Properties"]["SnapStart"]
        assert evaluate(snap, {"SnapStartOn": True}) == {"ApplyOn": "PublishedVersions"}, name
        assert evaluate(snap, {"SnapStartOn": False}) == {"ApplyOn": "None"}, name
        [version] = [v for k, v in resources.items() if k.startswith(f"{name}Version")]
        assert version["Type"] == "AWS::Lambda::Version" and version["Properties"]["FunctionName"] == {"Ref": name}
        alias = resources[f"{name}Aliaslive"]
        assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
        assert alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][1] == "Version"
    for name in NOT_SNAPSTARTED:
        assert "SnapStart" not in resources[name]["Properties"], name
        assert f"{name}Aliaslive" not in resources, name


def test_every_route_invokes_its_functions_alias(enabled):
    """API Gateway calls the alias (the published, snapshotted version), never $LATEST, and may invoke only it."""
    resources = enabled["Resources"]
    paths = resources["HttpApi"]["Properties"]["Body"]["paths"]
    routed = 0
    for spec in tpl.functions().values():
        for method, path in spec.http_routes:
            operation = paths[path]["x-amazon-apigateway-any-method" if method == "ANY" else method.lower()]
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            assert f"${{{spec.logical_id}Aliaslive}}/invocations" in uri, (method, path)
            routed += 1
    assert routed == sum(len(tpl.functions()[name].http_routes) for name in API_FUNCTIONS)
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Permission" and resource["Properties"]["Principal"] == \
                "apigateway.amazonaws.com":
            assert resource["Properties"]["FunctionName"]["Ref"].endswith("Aliaslive"), name


def test_the_webhook_keeps_its_unqualified_function_url(enabled):
    """Decided against SnapStart for the webhook (docs/performance.md): its URL, registered at Stripe,
    stays the function's own; an alias would give it another."""
    url = enabled["Resources"]["StripeWebhookFunctionUrl"]["Properties"]
    assert url["TargetFunctionArn"] == {"Ref": "StripeWebhookFunction"} and "Qualifier" not in url


def test_a_new_layer_publishes_new_versions():
    """The alias must not keep running an older layer's code: each layer is part of the version's hash."""
    def versions(template):
        return {k for k in render(template=template)["Resources"] if "FunctionVersion" in k}

    template = tpl.load()
    for layer in ("CoreLayer", "AuthPaymentsLayer", "PlaybackLayer", "CertificateLayer"):
        assert template["Resources"][layer]["Properties"]["PublishLambdaVersion"] is True, layer
    changed = copy.deepcopy(template)
    changed["Resources"]["CoreLayer"]["Properties"]["ContentUri"] = "s3://sam-package/another-core-layer.zip"
    before, after = versions(template), versions(changed)
    assert len(before) == len(API_FUNCTIONS) and not before & after


# ------------------------------------------------------------------ the hooks

def _load_handler(logical_id: str):
    spec = tpl.functions()[logical_id]
    module_spec = importlib.util.spec_from_file_location(f"snapstart_test_{logical_id}", spec.code_dir / "app.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("logical_id", API_FUNCTIONS)
def test_each_api_handler_registers_the_hooks(logical_id):
    module = _load_handler(logical_id)
    primes = [args for func, args, _kwargs in snapstart.get_before_snapshot() if func is snapstart.prime]
    assert (module.app,) in primes
    assert [func for func, _args, _kwargs in snapstart.get_after_restore()].count(snapstart.renew) == 1


def test_priming_builds_the_tracer_the_first_request_would_build(monkeypatch):
    """lectern.observability builds the Tracer (the X-Ray SDK and its patches) on the first invocation;
    before the snapshot, so that no restored copy does it on its first request."""
    from lectern import observability

    monkeypatch.setattr(observability.tracer, "_built", None)
    assert not observability.tracer.loaded
    snapstart._load_tracer()
    assert observability.tracer.loaded


def test_priming_applies_the_tracer_to_the_handler_and_compiles_the_correlation_path(monkeypatch):
    """The handler's decorators do the rest of their first-use work before the snapshot: the Tracer is
    applied to the handler (lectern.observability applies it on the first invocation), and the Logger's
    correlation id path is compiled (jmespath keeps it)."""
    import jmespath.parser
    from aws_lambda_powertools.logging import correlation_paths
    from lectern import observability

    tracer = observability.LazyTracer(**observability.TRACER_OPTIONS)
    handler = tracer.capture_lambda_handler(lambda event, context: {"answered": event})
    monkeypatch.setattr(observability, "tracer", tracer)
    monkeypatch.setattr(jmespath.parser.Parser, "_CACHE", {})
    snapstart._load_tracer()
    snapstart._compile_correlation_path()
    assert correlation_paths.API_GATEWAY_HTTP in jmespath.parser.Parser._CACHE
    applied = []

    def applying(_tracer, lambda_handler, **_options):
        applied.append(lambda_handler)
        return lambda_handler

    monkeypatch.setattr(type(tracer.load()), "capture_lambda_handler", applying)
    assert handler("event", None) == {"answered": "event"}
    assert applied == [], "the Tracer was applied on the first invocation, not before the snapshot"


def test_a_handler_not_primed_is_traced_on_its_first_invocation(monkeypatch):
    from lectern import observability

    tracer = observability.LazyTracer(**observability.TRACER_OPTIONS)
    handler = tracer.capture_lambda_handler(lambda event, context: {"answered": event})
    applied = []
    real = type(tracer.load()).capture_lambda_handler

    def applying(self, lambda_handler, **kwargs):
        applied.append(lambda_handler)
        return real(self, lambda_handler, **kwargs)

    monkeypatch.setattr(type(tracer.load()), "capture_lambda_handler", applying)
    assert handler("one", None) == {"answered": "one"} and handler("two", None) == {"answered": "two"}
    assert len(applied) == 1


def test_answering_in_memory_is_this_threads_and_always_puts_the_sender_back(monkeypatch):
    """Priming answers botocore's requests where it sends them (Endpoint._send, for the length of a call): only
    the priming thread's, and one thread at a time, so that overlapping uses cannot leave it answering."""
    import threading
    import time

    from botocore.endpoint import Endpoint

    sent = []
    monkeypatch.setattr(Endpoint, "_send", lambda endpoint, request: sent.append(request) or "sent")

    class Client:
        _endpoint_prefix = "dynamodb"

    def answered(name: str, hold: float, answers: list) -> None:
        with snapstart._answered_in_memory(lambda _service, request: f"{name}: {request}"):
            answers.append(Endpoint._send(Client(), "own"))
            other = threading.Thread(target=lambda: answers.append(Endpoint._send(Client(), "other thread")))
            other.start()
            other.join()
            time.sleep(hold)

    real = Endpoint._send
    first, second = [], []
    threads = [threading.Thread(target=answered, args=("A", 0.2, first)),
               threading.Thread(target=answered, args=("B", 0.0, second))]
    threads[0].start()
    time.sleep(0.05)
    threads[1].start()
    for thread in threads:
        thread.join()
    assert first == ["A: own", "sent"] and second == ["B: own", "sent"]
    assert sent == ["other thread", "other thread"]
    assert Endpoint._send is real


def test_restore_drops_parameters_past_their_age_and_keeps_younger_ones():
    from aws_lambda_powertools.utilities.parameters import constants
    from aws_lambda_powertools.utilities.parameters.base import ExpirableValue

    class Provider:
        store = {("old", None): ExpirableValue("rotated since?", datetime.now() - timedelta(seconds=1)),
                 ("young", None): ExpirableValue("fresh", datetime.now() + timedelta(seconds=300))}
        client = None

    saved = dict(constants.DEFAULT_PROVIDERS)
    constants.DEFAULT_PROVIDERS.clear()
    constants.DEFAULT_PROVIDERS["secrets"] = Provider()
    try:
        snapstart.renew()
        assert set(Provider.store) == {("young", None)}
    finally:
        constants.DEFAULT_PROVIDERS.clear()
        constants.DEFAULT_PROVIDERS.update(saved)


def test_restore_closes_the_pooled_connections_of_the_snapshot():
    from lectern import stripe_gateway
    from lectern.models.catalog import CatalogItem

    client = CatalogItem._get_connection().connection.client
    manager = client._endpoint.http_session._manager
    manager.connection_from_host("dynamodb.us-east-1.amazonaws.com", 443, "https")  # a pool, as after a request
    stripe_pools = stripe_gateway.http_client()._pool
    stripe_pools.connection_from_host("api.stripe.com", 443, "https")
    assert len(manager.pools) == 1 and len(stripe_pools.pools) == 1
    snapstart.renew()
    assert len(manager.pools) == 0 and len(stripe_pools.pools) == 0


# ------------------------------------------------------------------ restored copies

FORKS = r'''
import json, random, secrets, sys, uuid
import ulid
from lectern import snapstart
import importlib
app = importlib.import_module("app")
snapstart.run_before_snapshot()

from lectern import ids, jwt_tokens
from lectern_dev.snapshots import fork_restored

# Pin the clock python-ulid reads: every ULID below is made in the millisecond of the last one made
# before the snapshot, the case in which python-ulid increments its last randomness.
FIXED = ulid.ValueProvider().timestamp()
ulid.ValueProvider.timestamp = lambda self, value=None: FIXED if value is None else value
ids.new_id()  # the snapshot's last ULID

def made():
    token = jwt_tokens.mint("01jsnapstartuser000000000")
    import jwt
    return {"ids": [ids.new_id() for _ in range(3)], "token_urlsafe": secrets.token_urlsafe(32),
            "access_token": token.token, "jti": jwt.decode(token.token, options={"verify_signature": False})["jti"],
            "uuid4": uuid.uuid4().hex, "random": random.getrandbits(64)}

print(json.dumps({"renewed": [fork_restored(made) for _ in range(2)],
                  "not_renewed": [fork_restored(made, renew=False) for _ in range(2)]}))
'''


@pytest.fixture(scope="module")
def copies():
    spec = tpl.functions()["AuthFunction"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT")}
    env.update(spec.environment)
    env.update({"PYTHONPATH": os.pathsep.join([str(spec.code_dir), str(tpl.REPO_ROOT / "layers" / "common"),
                                               str(tpl.REPO_ROOT / "devtools")]),
                "AUTH_SIGNING_KEY": "snapstart-test-signing-key-" + "k" * 40})
    result = subprocess.run([sys.executable, "-c", FORKS], cwd=spec.code_dir, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_restored_copies_make_different_ids_and_tokens(copies):
    first, second = copies["renewed"]
    assert set(first["ids"]).isdisjoint(second["ids"])
    for key in ("token_urlsafe", "access_token", "jti", "uuid4", "random"):
        assert first[key] != second[key], key


def test_without_the_after_restore_hook_copies_would_share_ulids_and_random(copies):
    """What the hook is for: python-ulid's monotonic state and `random`'s state are in the snapshot.
    (`secrets`, uuid4 and so the tokens' jti read the kernel's generator at each call: a fork does not
    share it, and on Lambda its reseeding at restore is the runtime's part, not this code's.)"""
    first, second = copies["not_renewed"]
    assert first["ids"] == second["ids"]
    assert first["random"] == second["random"]
    assert first["token_urlsafe"] != second["token_urlsafe"] and first["jti"] != second["jti"]


PRIMED = r'''
import importlib, json, sys
from lectern import snapstart
importlib.import_module("app")
snapstart.run_before_snapshot()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core", "fastjsonschema"))))
'''


@pytest.mark.parametrize("logical_id", sorted(name for name, spec in tpl.functions().items() if spec.http_routes))
def test_priming_runs_every_route_without_pydantic(logical_id):
    """The layer has no pydantic: priming (which answers a refused body on each route) must not need it."""
    spec = tpl.functions()[logical_id]
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT")}
    env.update(spec.environment)
    env.update({"PYTHONPATH": os.pathsep.join([str(spec.code_dir), str(tpl.REPO_ROOT / "layers" / "common")]),
                "AUTH_SIGNING_KEY": "snapstart-test-signing-key-" + "k" * 40})
    result = subprocess.run([sys.executable, "-c", PRIMED], cwd=spec.code_dir, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


PRIMED_STRIPE = r'''
import json, socket, sys
from lectern import snapstart, stripe_gateway

def refuse(*args, **kwargs):
    raise AssertionError("priming opened a connection")

socket.socket.connect = socket.socket.connect_ex = refuse  # what urllib3 and http.client connect through
snapstart._prime_stripe()
print(json.dumps({"modules": sorted(m for m in sys.modules if m in ("stripe.checkout._session", "stripe._object_classes")),
                  "pools": len(stripe_gateway.http_client()._pool.pools)}))
'''


def test_priming_makes_one_stripe_call_answered_in_memory(tmp_path):
    """The classes the SDK builds from a session's answer (imported at its first one) go into the
    snapshot, and no connection does."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_ENDPOINT")}
    # The SDK's telemetry id is written under XDG_CONFIG_HOME: not into the home of whoever runs the tests.
    env.update({"PYTHONPATH": str(tpl.REPO_ROOT / "layers" / "common"), "XDG_CONFIG_HOME": str(tmp_path)})
    result = subprocess.run([sys.executable, "-c", PRIMED_STRIPE], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "modules": ["stripe._object_classes", "stripe.checkout._session"], "pools": 0}

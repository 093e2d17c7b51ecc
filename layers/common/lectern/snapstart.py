"""Lambda SnapStart: prime an environment before its snapshot, renew what restored copies must not share.

With the template's `SnapStart` parameter Enabled, Lambda runs an API function's init once, when
a version is published, snapshots the initialised environment (memory and disk) and starts each
new environment of that version from a copy of the snapshot (docs/performance.md, "SnapStart").
Each API handler registers two hooks with one line, `snapstart.prepare(app)`:

- **before the snapshot** (`prime`): what the first request would otherwise build, built once
  into the snapshot: the modules imported lazily, the Tracer applied to the handler, every botocore
  client the function's code uses (one per PynamoDB model of the function's tables, the shared
  transaction connection, S3, SES, Secrets Manager, SSM) with its endpoint rules, serializer, signer,
  parser and nested shapes exercised by a dry run of each operation the code calls, answered in
  memory as AWS answers (nothing leaves the process), a presigned URL, the Stripe SDK's
  services and one call of it answered in memory (a checkout session), the function's secrets
  (and the RS256 playback key parsed from its PEM), and each route run once through the resolver
  (canned events: a body its request model refuses, or a GET signed in as nobody) with DynamoDB
  answered in memory and any other AWS call failing unsent.
  No connection is left open in the snapshot.
- **after each restore** (`renew`): what copies restored from one snapshot would otherwise share
  or hold stale: `random` is reseeded, python-ulid's monotonic state (the last timestamp and
  randomness, which a ULID made in the same millisecond would increment) is reset, secrets and
  parameters older than their age are dropped (Powertools Parameters), and every botocore
  connection pool and the Stripe client's pool are closed, so the first request opens its own
  connections.

Outside Lambda's runtime (tests, `make bench`, the local stack) `snapshot_restore_py` is absent:
the same registration is kept here, and `run_before_snapshot()` / `run_after_restore()` run the
hooks as Lambda does (before-snapshot hooks in the reverse order of registration, after-restore
hooks in order). Without SnapStart the runtime never calls them: registering costs nothing.
"""
from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

try:  # Lambda's Python runtimes ship it (3.12 and later); nowhere else
    from snapshot_restore_py import (get_after_restore, get_before_snapshot, register_after_restore,
                                     register_before_snapshot)
except ImportError:  # local runs and tests: the same registry
    _before: list[tuple[Callable, tuple, dict]] = []
    _after: list[tuple[Callable, tuple, dict]] = []

    def register_before_snapshot(func: Callable, *args: Any, **kwargs: Any) -> Callable:
        _before.append((func, args, kwargs))
        return func

    def register_after_restore(func: Callable, *args: Any, **kwargs: Any) -> Callable:
        _after.append((func, args, kwargs))
        return func

    def get_before_snapshot() -> list[tuple[Callable, tuple, dict]]:
        return _before

    def get_after_restore() -> list[tuple[Callable, tuple, dict]]:
        return _after


_renew_registered = False


def prepare(app: Any, bodies: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
    """Register the hooks for this function: prime `app` (its resolver) before the snapshot, renew
    the process's shared state after each restore (once per process, whatever the number of apps).

    `bodies`: for a route that takes a body ((method, path) as the resolver writes it), one its model
    accepts and that matches nothing, so priming runs the route past its validation. Only for routes
    whose every path stays within DynamoDB (answered in memory while priming): never one that may call
    Stripe or send mail."""
    global _renew_registered
    app.priming_bodies = dict(bodies or {})
    register_before_snapshot(prime, app)
    if not _renew_registered:
        register_after_restore(renew)
        _renew_registered = True


def run_before_snapshot() -> None:
    """What the runtime does before taking the snapshot (local runs and tests)."""
    for func, args, kwargs in reversed(get_before_snapshot()):
        func(*args, **kwargs)


def run_after_restore() -> None:
    """What the runtime does when an environment resumes from the snapshot (local runs and tests)."""
    for func, args, kwargs in get_after_restore():
        func(*args, **kwargs)


# ------------------------------------------------------------------ before the snapshot

def prime(app: Any) -> None:
    """Build into the snapshot what the first request would build (AWS is called only to read the
    function's secrets; every other call is answered in memory)."""
    import gc

    _import_lazy_modules()
    _load_tracer()
    _compile_correlation_path()
    clients = list({id(client): client for client in _build_clients()}.values())  # (models share one)
    for client in clients:
        _dry_run(client)
    _resolve_hosts(clients)
    _prime_presigner()
    _prime_stripe()
    _read_secrets()
    _prime_routes(app)
    _close_connections()  # the secrets' reads leave pooled connections: none goes into the snapshot
    # Long-lived from here on: later collections skip them, so a restored copy does not touch (and
    # page in from the snapshot) every object of the init at its first collection.
    gc.collect()
    gc.freeze()


def _environment_tables() -> set[str]:
    from lectern import config

    current = config.settings()
    return {name for name in (current.catalog_table, current.users_table, current.orders_table,
                              current.entitlements_table, current.stripe_events_table) if name}


def _uses_parameters() -> tuple[bool, bool]:
    """(secrets, ssm): whether this function reads secrets by ARN, or the shop's address from SSM."""
    from lectern import config

    current = config.settings()
    secrets_ = any(getattr(current, name).arn for name, *_ in config.SECRETS)
    return secrets_, current.frontend_url_from_parameter


def _import_lazy_modules() -> None:
    """Modules the routes import on first use (each is what a cold first request pays for)."""
    import importlib

    if any(_uses_parameters()):
        importlib.import_module("aws_lambda_powertools.utilities.parameters")


def _load_tracer() -> None:
    """The X-Ray SDK, imported and patched into botocore and http.client, and applied to the handler:
    lectern.observability does both on the first invocation, so a restored copy would otherwise do them
    on its first request."""
    observability = sys.modules.get("lectern.observability")
    if observability is not None:
        observability.tracer.load()
        observability.tracer.prepare_handlers()


def _compile_correlation_path() -> None:
    """The Logger's correlation id path (API Gateway's request id), which the handler's logging decorator
    would otherwise compile on the first request (jmespath keeps what it compiled)."""
    if "aws_lambda_powertools.logging.correlation_paths" in sys.modules:
        import jmespath
        from aws_lambda_powertools.logging import correlation_paths

        jmespath.compile(correlation_paths.API_GATEWAY_HTTP)


def _models() -> Iterator[type]:
    """Every PynamoDB model imported so far (the handler's imports decide which)."""
    models = sys.modules.get("pynamodb.models")
    if models is None:
        return
    seen: set[type] = set()
    pending = list(models.Model.__subclasses__())
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        pending.extend(model.__subclasses__())
        if getattr(getattr(model, "Meta", None), "table_name", None):
            yield model


def _build_clients() -> Iterator[Any]:
    """Create the botocore clients the function's code uses, as it would on first use."""
    tables = _environment_tables()
    for model in _models():
        if model.Meta.table_name in tables:
            yield model._get_connection().connection.client
    base = sys.modules.get("lectern.models.base")
    if base is not None and tables:
        base.transaction()  # creates the shared transaction connection
        yield base._connection.client
    downloads = sys.modules.get("lectern.learning.downloads")
    if downloads is not None:
        yield downloads._s3()
    email = sys.modules.get("lectern.notifications.email")
    if email is not None:
        yield email._ses()
    secrets_, ssm = _uses_parameters()
    if secrets_ or ssm:
        from aws_lambda_powertools.utilities.parameters import constants, secrets, ssm as ssm_provider

        if secrets_:
            yield constants.DEFAULT_PROVIDERS.setdefault("secrets", secrets.SecretsProvider()).client
        if ssm:
            yield constants.DEFAULT_PROVIDERS.setdefault("ssm", ssm_provider.SSMProvider()).client


# The operations Lectern's code calls, per service, each dry-run once with the parameters its calls send
# and answered as AWS answers them (an item of every attribute type, the consumed capacity PynamoDB asks
# for, item collection metrics; a refused condition with the item, a cancelled transaction with its
# reasons: the first refusal also resolves every error shape of the service): botocore builds an
# operation's shapes, serializer paths and event names on its first call, and resolves each nested shape
# (an AttributeValue's members, a ConsumedCapacity's) the first time a request or an answer holds one.
# (PynamoDB's clients skip parameter validation; the others get valid parameters.)
_TABLE = "snapstart-priming"
_ITEM: dict[str, Any] = {
    "s": {"S": "x"}, "n": {"N": "1"}, "b": {"B": "eA=="}, "ss": {"SS": ["x"]}, "ns": {"NS": ["1"]},
    "bs": {"BS": ["eA=="]}, "m": {"M": {"s": {"S": "x"}}}, "l": {"L": [{"S": "x"}]}, "null": {"NULL": True},
    "bool": {"BOOL": True}}
_SENT_ITEM = {name: ({"B": b"x"} if name == "b" else {"BS": [b"x"]} if name == "bs" else value)
              for name, value in _ITEM.items()}
_KEY = {"pk": {"S": "x"}, "sk": {"S": "x"}}
_CONDITION = {"ConditionExpression": "attribute_exists(#s) AND #n < :n", "ExpressionAttributeNames": {"#s": "s", "#n": "n"},
              "ExpressionAttributeValues": {f":{name}": value for name, value in _SENT_ITEM.items()}}
_UPDATE = {"TableName": _TABLE, "Key": _KEY, "UpdateExpression": "SET #s = :s ADD #n :n", **_CONDITION}
_TOTAL = {"ReturnConsumedCapacity": "TOTAL"}
_CONSUMED = {"TableName": _TABLE, "CapacityUnits": 1.0}
_COLLECTION = {"ItemCollectionKey": {"pk": {"S": "x"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
_WRITTEN = {"Attributes": _ITEM, "ConsumedCapacity": _CONSUMED, "ItemCollectionMetrics": _COLLECTION}
_REFUSED = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                  "message": "The conditional request failed", "Item": _ITEM})
_CANCELLED = (400, {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                               "[ConditionalCheckFailed, None]",
                    "CancellationReasons": [{"Code": "ConditionalCheckFailed", "Message": "The conditional request "
                                             "failed", "Item": _ITEM}, {"Code": "None"}]})
# (operation, parameters, answer): the answer a JSON body, or (status, JSON body) for a refusal.
_DRY_RUNS: dict[str, list[tuple[str, dict[str, Any], Any]]] = {
    "dynamodb": [
        ("get_item", {"TableName": _TABLE, "Key": _KEY, "ConsistentRead": True, "ProjectionExpression": "#s",
                      "ExpressionAttributeNames": {"#s": "s"}, **_TOTAL}, {"Item": _ITEM, "ConsumedCapacity": _CONSUMED}),
        ("query", {"TableName": _TABLE, "IndexName": "priming", "KeyConditionExpression": "#s = :s AND #n > :n",
                   "FilterExpression": "attribute_not_exists(#s)", "ExpressionAttributeNames": {"#s": "s", "#n": "n"},
                   "ExpressionAttributeValues": {":s": {"S": "x"}, ":n": {"N": "1"}}, "Limit": 1, "ScanIndexForward": False,
                   "ExclusiveStartKey": _KEY, "ConsistentRead": False, **_TOTAL},
         {"Items": [_ITEM], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": _KEY, "ConsumedCapacity": _CONSUMED}),
        ("put_item", {"TableName": _TABLE, "Item": _SENT_ITEM, **_CONDITION, "ReturnValues": "ALL_OLD", **_TOTAL}, _WRITTEN),
        ("put_item", {"TableName": _TABLE, "Item": _SENT_ITEM, **_CONDITION,
                      "ReturnValuesOnConditionCheckFailure": "ALL_OLD", **_TOTAL}, _REFUSED),
        ("update_item", {**_UPDATE, "ReturnValues": "ALL_OLD", **_TOTAL}, _WRITTEN),
        ("update_item", {**_UPDATE, **_TOTAL}, _REFUSED),
        ("delete_item", {"TableName": _TABLE, "Key": _KEY, **_CONDITION, "ReturnValues": "ALL_OLD", **_TOTAL}, _WRITTEN),
        ("batch_get_item", {"RequestItems": {_TABLE: {"Keys": [_KEY], "ConsistentRead": True}}, **_TOTAL},
         {"Responses": {_TABLE: [_ITEM]}, "UnprocessedKeys": {_TABLE: {"Keys": [_KEY]}}, "ConsumedCapacity": [_CONSUMED]}),
        ("transact_write_items", {"TransactItems": [
            {"Put": {"TableName": _TABLE, "Item": _SENT_ITEM, **_CONDITION}},
            {"Update": _UPDATE},
            {"Delete": {"TableName": _TABLE, "Key": _KEY, **_CONDITION}},
            {"ConditionCheck": {"TableName": _TABLE, "Key": _KEY, **_CONDITION}}], "ClientRequestToken": "priming", **_TOTAL},
         {"ConsumedCapacity": [_CONSUMED], "ItemCollectionMetrics": {_TABLE: [_COLLECTION]}}),
        ("transact_write_items", {"TransactItems": [{"Update": _UPDATE}, {"Put": {"TableName": _TABLE, "Item": _SENT_ITEM}}],
                                  **_TOTAL}, _CANCELLED),
    ],
    "ses": [("send_email", {"Source": "priming@snapstart.invalid",
                            "Destination": {"ToAddresses": ["priming@snapstart.invalid"]},
                            "Message": {"Subject": {"Data": "-"}, "Body": {"Text": {"Data": "-"}}}},
             b'<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult><MessageId>priming'
             b'</MessageId></SendEmailResult><ResponseMetadata><RequestId>priming</RequestId></ResponseMetadata>'
             b'</SendEmailResponse>')],
    "secretsmanager": [("get_secret_value", {"SecretId": "snapstart-priming"},
                        {"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:snapstart-priming",
                         "Name": "snapstart-priming", "SecretString": "-", "VersionId": "priming",
                         "VersionStages": ["AWSCURRENT"], "CreatedDate": 0})],
    "ssm": [("get_parameter", {"Name": "snapstart-priming"},
             {"Parameter": {"Name": "snapstart-priming", "Type": "String", "Value": "-", "Version": 1,
                            "LastModifiedDate": 0, "ARN": "arn:aws:ssm:us-east-1:000000000000:parameter/snapstart-priming",
                            "DataType": "text"}})],
}


def _dry_run(client: Any) -> None:
    """The client's operations through its whole pipeline (parameters, endpoint rules, serializer,
    signer, retry handler, parser), each HTTP request answered in memory before it is sent."""
    for operation, params, answer in _DRY_RUNS.get(client.meta.service_model.service_name, []):
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        try:
            with _answered_in_memory(lambda _service, request: _in_memory_response(request.url, body, status)):
                getattr(client, operation)(**params)
        except Exception:  # noqa: BLE001 - a refusal raises, as intended; priming is best effort
            pass


def _in_memory_response(url: str, body: bytes, status: int = 200) -> Any:
    """An answer with `body`, as botocore would have read it from the wire."""
    from botocore.awsrequest import AWSResponse

    class _Raw:
        def stream(self, *_args: Any, **_kwargs: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse(url, status, {}, _Raw())


@contextlib.contextmanager
def _answered_in_memory(answer: Callable[[str, Any], Any]) -> Iterator[None]:
    """This thread's botocore requests answered by `answer(service endpoint prefix, request)` where botocore
    would send them; it may raise instead, and then nothing is sent either. Nothing is registered on the
    clients' event emitters: registering or unregistering a handler empties an emitter's cache of the
    handlers of each event name, and a restored copy's first request would build it again (34 look-ups in
    a refresh). Other threads' requests are sent as usual, and one thread at a time answers (so that the
    real sender is always put back). Under moto's in-process mock, moto answers first (before botocore
    sends): tests switch it off around priming."""
    from botocore.endpoint import Endpoint

    with _ANSWERING:
        real, priming = Endpoint._send, threading.get_ident()

        def send(endpoint: Any, request: Any) -> Any:
            if threading.get_ident() != priming:
                return real(endpoint, request)
            return answer(endpoint._endpoint_prefix, request)

        Endpoint._send = send
        try:
            yield
        finally:
            Endpoint._send = real


_ANSWERING = threading.RLock()  # nested use on one thread is fine; another thread waits its turn


def _resolve_hosts(clients: list[Any]) -> None:
    """Look up each endpoint's address once: the resolver's libraries (and the idna codec) load now,
    not in the first request. Nothing is cached by Python; no connection is opened."""
    import socket
    from urllib.parse import urlsplit

    for host, port in {(urlsplit(c.meta.endpoint_url).hostname, urlsplit(c.meta.endpoint_url).port or 443)
                       for c in clients if c.meta.endpoint_url}:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            pass


def _read_secrets() -> None:
    """Read the function's secrets (and the shop's address) as its routes do, and derive what is costly to
    derive from them (the RS256 playback key: ~50 ms to load and check). Best effort: on a stack's first
    deploy the Stripe and playback secrets are still empty and the address not yet written. After a
    restore, values past their age (five minutes) are dropped and read again on first use
    (`_drop_expired_parameters`); the playback key, cached by its PEM, is parsed again only if it changed."""
    import os

    steps: list[Callable[[], Any]] = []
    jwt_tokens = sys.modules.get("lectern.jwt_tokens")
    if jwt_tokens is not None:
        steps.append(jwt_tokens._signing_key)
    playback = sys.modules.get("lectern.learning.playback")
    if playback is not None:
        steps.append(lambda: playback._private_key(playback._signing_key()[1]))
    gateway = sys.modules.get("lectern.stripe_gateway")
    if gateway is not None:
        steps.append(gateway.client)
    config = sys.modules.get("lectern.config")
    if config is not None and config.settings().frontend_url_from_parameter:
        steps.append(config.frontend_url)
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - not there yet: the first request reads it, as without SnapStart
            pass


def _prime_presigner() -> None:
    """A presigned URL for the assets bucket (computed locally, as every download's is): the S3 endpoint
    rules for that bucket are resolved and cached now."""
    downloads = sys.modules.get("lectern.learning.downloads")
    config = sys.modules.get("lectern.config")
    if downloads is None or config is None:
        return
    try:
        downloads._s3().generate_presigned_url("get_object", ExpiresIn=60, Params={
            "Bucket": config.assets_bucket(), "Key": "courses/snapstart-priming",
            "ResponseContentDisposition": 'attachment; filename="x"', "ResponseContentType": "text/plain"})
    except Exception:  # noqa: BLE001 - priming is best effort
        pass


# What the priming call to Stripe is answered: a checkout session with one line item (the classes the
# SDK builds from a session answer, and imports on its first one, are then in the snapshot).
_PRIMING_SESSION = {
    "id": "cs_snapstart_priming", "object": "checkout.session",
    "line_items": {"object": "list", "url": "/v1/checkout/sessions/cs_snapstart_priming/line_items",
                   "has_more": False, "data": [{"id": "li_snapstart_priming", "object": "item"}]},
}


def _prime_stripe() -> None:
    """The Stripe SDK loads its services on first use, and the classes of its answers (with its request
    headers' parts) on its first call: build the services on a throwaway client, and make one call that
    an in-memory transport answers (nothing leaves the process)."""
    gateway = sys.modules.get("lectern.stripe_gateway")
    if gateway is None:
        return
    gateway.http_client()  # the pool the function's clients share (no connection yet)

    class AnsweredInMemory(gateway.stripe.HTTPClient):
        name = "snapstart-priming"

        def request(self, method, url, headers, post_data=None):
            return json.dumps(_PRIMING_SESSION), 200, {}

        def close(self):
            pass

    client = gateway.stripe.StripeClient("sk_snapstart_priming", http_client=AnsweredInMemory(),
                                         max_network_retries=0)
    v1 = client.v1
    for service in (v1.checkout.sessions, v1.promotion_codes, v1.charges, v1.payment_intents, v1.refunds):
        assert service is not None
    try:
        v1.checkout.sessions.retrieve(_PRIMING_SESSION["id"], params={"expand": ["line_items"]})
    except Exception:  # noqa: BLE001 - priming is best effort (the first checkout builds what is missing)
        pass


def _prime_routes(app: Any) -> None:
    """Each route once, through the resolver's whole path, with DynamoDB answered in memory (nothing leaves
    the process, and any other AWS call fails before it is sent): an unknown path (404); each route that
    takes a body with the body `prepare` was given for it (a valid one that matches nothing), else with one
    its request model refuses (422, which runs its compiled validator); and each route without a body, signed
    in as nobody where a priming token can be made, with parameters that match nothing (what its reads find:
    an empty page, or a 404). Other routes that take a body go no further than their validation: their next
    step may call Stripe or send mail."""
    routes = list(getattr(app, "_static_routes", [])) + list(getattr(app, "_dynamic_routes", []))
    token = _priming_token()
    with _dynamodb_answered_in_memory():
        for event in _canned_events(app, routes, token, getattr(app, "priming_bodies", {})):
            try:
                app.resolve(event, _PrimingContext())
            except Exception:  # noqa: BLE001 - priming is best effort
                pass


def _priming_token() -> str | None:
    """An access token for a user that does not exist (its reads find nothing), if this function signs them."""
    jwt_tokens = sys.modules.get("lectern.jwt_tokens")
    try:
        return jwt_tokens.mint("01jsnapstartpriming0000000").token if jwt_tokens else None
    except Exception:  # noqa: BLE001 - no signing key yet (a stack's first deploy): signed-in routes answer 401
        return None


# What any DynamoDB operation parses without error: no item, an empty page.
_NOTHING_FOUND = b'{"Items": [], "Count": 0, "ScannedCount": 0, "Responses": {}, "UnprocessedKeys": {}}'


@contextlib.contextmanager
def _dynamodb_answered_in_memory() -> Iterator[None]:
    """While priming runs routes: every DynamoDB request is answered in memory before it is sent (a read finds
    nothing, a write does nothing), and every other AWS request fails unsent (the secrets the routes read
    are cached already; nothing is cached from a non-answer)."""
    from botocore.exceptions import EndpointConnectionError

    def answer(service: str, request: Any) -> Any:
        if service != "dynamodb":
            raise EndpointConnectionError(endpoint_url=request.url)
        return _in_memory_response(request.url, _NOTHING_FOUND)

    with _answered_in_memory(answer):
        yield


class _PrimingContext:
    function_name = "snapstart-priming"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:snapstart-priming"
    aws_request_id = "snapstart-priming"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def _canned_events(app: Any, routes: list[Any], token: str | None = None,
                   bodies: dict[tuple[str, str], dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """API Gateway payload 2.0 events: a path no route has; for each route given a body in `bodies`, that
    body; for each other route whose body has a required field, an empty JSON object (refused by its
    validation); each GET route. With the priming token, if any."""
    yield _event("GET", "/snapstart-priming/no-such-route")
    for route in routes:
        path = canned_path(route.path)
        body = (bodies or {}).get((route.method, route.path))
        if body is not None:
            yield _event(route.method, path, body=json.dumps(body), token=token)
        elif route.method in ("POST", "PUT", "PATCH") and _refuses_empty_body(app, route):
            yield _event(route.method, path, body="{}")
        elif route.method == "GET":
            yield _event("GET", path, token=token)


def canned_path(route_path: str) -> str:
    """The path priming requests for a route: each parameter `x`, which matches nothing."""
    return "/".join("x" if part.startswith("<") else part for part in route_path.split("/"))


def _refuses_empty_body(app: Any, route: Any) -> bool:
    """The route's body model has a required field, so `{}` is refused before the route runs."""
    refuses = getattr(app, "refuses_an_empty_body", None)
    return bool(refuses and refuses(route))


def _event(method: str, path: str, body: str | None = None, token: str | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/json", "host": "snapstart.local"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "snapstart-priming"},
                           "requestId": "snapstart-priming", "routeKey": "$default", "stage": "$default",
                           "timeEpoch": 0},
        "body": body, "isBase64Encoded": False,
    }


# ------------------------------------------------------------------ after each restore

def renew() -> None:
    """Make this restored copy unlike its siblings: fresh randomness, no cached secrets, own connections."""
    import random

    random.seed()  # from os.urandom: copies of one snapshot would otherwise draw the same sequence
    _reset_ulid()
    _drop_expired_parameters()
    _close_connections()


def _reset_ulid() -> None:
    ulid = sys.modules.get("ulid")
    if ulid is not None and hasattr(ulid.ULID, "provider"):
        # python-ulid increments the last randomness within one millisecond; a fresh provider draws anew.
        ulid.ULID.provider = type(ulid.ULID.provider)()


def _drop_expired_parameters() -> None:
    """Drop the secrets and parameters read more than their age ago (five minutes, lectern.secrets): a
    snapshot is restored for as long as its version serves, days later too, and a value rotated since
    must not be used. Powertools would not serve them (it compares their age with the wall clock, which
    a restore sets right), but they would stay in memory. Younger ones are kept, as in any environment."""
    from datetime import datetime

    constants = sys.modules.get("aws_lambda_powertools.utilities.parameters.constants")
    if constants is None:
        return
    now = datetime.now()
    for provider in list(constants.DEFAULT_PROVIDERS.values()):
        store = getattr(provider, "store", {})
        for key in [key for key, cached in store.items() if cached.ttl <= now]:
            del store[key]


def _clients_built() -> Iterator[Any]:
    """The botocore clients that exist (none is created here)."""
    for model in _models():
        table_connection = getattr(model, "_connection", None)
        client = getattr(getattr(table_connection, "connection", None), "_client", None)
        if client is not None:
            yield client
    base = sys.modules.get("lectern.models.base")
    if base is not None and base._connection is not None and base._connection._client is not None:
        yield base._connection._client
    for module_name, function_name in (("lectern.learning.downloads", "_s3"), ("lectern.notifications.email", "_ses")):
        module = sys.modules.get(module_name)
        cached = getattr(module, function_name, None)
        if cached is not None and cached.cache_info().currsize:
            yield cached()
    constants = sys.modules.get("aws_lambda_powertools.utilities.parameters.constants")
    if constants is not None:
        for provider in constants.DEFAULT_PROVIDERS.values():
            if getattr(provider, "client", None) is not None:
                yield provider.client


def _close_connections() -> None:
    """Close every pooled connection (botocore's, the Stripe client's): a copy must not write on a
    socket of the snapshot (shared with its siblings, and long dead on the other side). The pools
    open new connections on demand."""
    for client in _clients_built():
        endpoint = getattr(client, "_endpoint", None)
        session = getattr(endpoint, "http_session", None)
        if session is not None:
            session.close()
    gateway = sys.modules.get("lectern.stripe_gateway")
    if gateway is not None and gateway.http_client.cache_info().currsize:
        gateway.http_client().close()

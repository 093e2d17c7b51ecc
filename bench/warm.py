"""Warm latency and DynamoDB requests per route, in-process against an embedded AWS.

AWS is moto's server on loopback (the local stack's kind: real HTTP, real botocore
serialisation), the tables come from template.yaml, the catalog is the demo catalog,
Stripe is the local emulator. Each route is called through its function's handler
(lectern_dev's InProcessRunner, API Gateway payload 2.0 events) and compared with its
floor: the raw boto3 calls (and the other unavoidable work: the Stripe call, the
argon2 check, the presigning, the RS256 signature) that the route cannot do without,
made with plain boto3 clients against the same server. Route and floor calls alternate,
so both see the same machine; medians are reported.

DynamoDB requests are counted with a botocore `before-call` hook on every client
(the same hook as tests/support/request_counter.py); a Scan fails the benchmark.
"""
import json
import os
import secrets
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WARMUP = 5  # untimed calls per route first
WEBHOOK_SECRET = "whsec_bench_" + "b" * 24
API_KEY = "sk_test_lectern"
PASSWORD = "bench horse battery staple 42"
COURSE, OTHER_COURSE = "serverless-python-on-aws", "practical-sql-for-analysts"


def quiet_environment() -> None:
    """Before anything imports boto3, PynamoDB or Powertools: fake credentials, no telemetry."""
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true", "LOG_LEVEL": "ERROR",
        # Every checkout comes from one address here: counted (the request stays), never refused.
        "CHECKOUT_LIMIT_PER_IP": "1000000",
    })


# ------------------------------------------------------------------ request counting

class RequestCounter:
    """`before-call` hook on every botocore client: (service, operation) per request, per thread."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.forbid_scan = False  # on while routes run (operator tooling, e.g. `catalog apply`, may Scan)
        self._lock = threading.Lock()

    def __call__(self, event_name: str, **_kwargs):
        _, service, operation = event_name.split(".", 2)
        if self.forbid_scan and service == "dynamodb" and operation == "Scan":
            raise AssertionError("a route used Scan")
        with self._lock:
            self.calls.append((service, operation))

    def take(self) -> list[tuple[str, str]]:
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    def install(self) -> None:
        """Hook every client created from now on (install before the first client exists)."""
        import botocore.session

        original = botocore.session.Session.create_client
        counter = self

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call", counter)
            return client

        botocore.session.Session.create_client = create_client


def dynamodb_ops(calls: list[tuple[str, str]]) -> list[str]:
    return [op for service, op in calls if service == "dynamodb"]


# ------------------------------------------------------------------ the environment

def _forget_clients() -> None:
    """Drop the AWS clients lectern has cached (PynamoDB's per model, the shared transaction connection,
    the lru_cached S3/SES/... clients): each was made for the endpoint of the environment before."""
    import functools
    import sys

    from pynamodb.models import Model

    for name, module in list(sys.modules.items()):
        if not name.startswith("lectern") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if "_connection" in vars(model):
            model._connection = None
    base = sys.modules.get("lectern.models.base")
    if base is not None:
        base._connection = None


class Environment:
    """moto server + Stripe emulator + tables + demo catalog + the functions in-process."""

    def __init__(self):
        quiet_environment()
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's and the emulator's request lines
        import warnings

        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self.counter = RequestCounter()
        self.counter.install()
        from moto.server import ThreadedMotoServer

        from lectern_dev.embedded_aws import moto_models_untracked
        from lectern_dev.stripe_emulator import StripeEmulator

        moto_models_untracked()  # as the local stack's AWS: moto as shipped keeps every item it ever made

        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        _forget_clients()  # a second environment in this process (the restore after the warm run): its own server
        self.stripe = StripeEmulator(port=0, webhook_secret=WEBHOOK_SECRET, api_key=API_KEY)
        self.stripe.start()
        from lectern_dev.dev_keys import local_secrets_environment

        os.environ.update({"STRIPE_API_BASE": self.stripe.base_url, "STRIPE_SECRET_KEY": API_KEY,
                           "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, **local_secrets_environment()})
        from lectern_admin.catalog_cmd import apply_file
        from lectern_dev import aws_resources
        from lectern_dev import template as tpl
        from lectern_dev.runner import InProcessRunner

        aws_resources.create_all()
        apply_file(REPO / "catalog" / "demo.yaml", use_stripe=True, quiet=True)
        self.runner = InProcessRunner(tpl.functions())
        self.routes = {(method, path): spec.logical_id for spec in self.runner.specs.values()
                       for method, path in spec.http_routes}
        self.tables = {name: name for name in ("CatalogTable", "UsersTable", "OrdersTable", "EntitlementsTable",
                                               "StripeEventsTable")}

    def stop(self) -> None:
        self.stripe.stop()
        self.moto.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)

    # ---------------------------------------------------------------- calling the functions
    def function_for(self, method: str, path: str) -> str:
        import re

        for (route_method, route_path), logical_id in self.routes.items():
            if route_path != "$default" and route_method == method:
                if re.match("^" + re.sub(r"\{[^/]+\}", "[^/]+", route_path) + "$", path):
                    return logical_id
        return self.routes[("ANY", "$default")]

    def event(self, method: str, path: str, *, body=None, token: str | None = None, headers=None) -> tuple[str, dict]:
        from lectern_dev.events import http_event

        headers = dict(headers or {})
        if token:
            headers["authorization"] = f"Bearer {token}"
        return self.function_for(method, path), http_event(method, path, body=body, headers=headers)

    def call(self, method: str, path: str, **kwargs) -> dict:
        logical_id, event = self.event(method, path, **kwargs)
        return self.invoke(logical_id, event)

    def invoke(self, logical_id: str, event: dict) -> dict:
        response = self.runner.invoke_dict(logical_id, event)
        if "statusCode" not in response:
            raise RuntimeError(f"{logical_id} crashed: {response}")
        return response

    def webhook_event(self, stripe_event: dict | str) -> dict:
        from lectern_dev.events import function_url_event
        from lectern_dev.stripe_emulator.delivery import sign_payload

        payload = stripe_event if isinstance(stripe_event, str) else json.dumps(stripe_event)
        return function_url_event(payload, {"stripe-signature": sign_payload(payload, WEBHOOK_SECRET)})


# ------------------------------------------------------------------ scenario data

@dataclass
class Fixture:
    access_token: str = ""
    refresh_token: str = ""
    email: str = ""
    user_id: str = ""
    course_id: str = ""
    lesson_slug: str = ""
    resource_id: str = ""
    session_id: str = ""
    order_id: str = ""
    password_hash: str = ""
    video_id: str = ""
    catalog: dict = field(default_factory=dict)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def buy(env: Environment, slug: str, email: str, token: str | None = None) -> dict:
    """POST /checkout, pay at the emulator, deliver checkout.session.completed: the order is paid."""
    created = env.call("POST", "/checkout", body={"course_slug": slug, "email": email}, token=token)
    assert created["statusCode"] == 201, created
    body = json.loads(created["body"])
    session = env.stripe.pay(body["checkout_session_id"])
    completed = [e for e in env.stripe.events
                 if e["type"] == "checkout.session.completed" and e["data"]["object"]["id"] == session["id"]][-1]
    answer = env.invoke("StripeWebhookFunction", env.webhook_event(completed))
    assert answer["statusCode"] == 200, answer
    return body


def prepare(env: Environment) -> Fixture:
    fx = Fixture(email=unique_email("learner"))
    registered = env.call("POST", "/auth/register", body={"name": "Bench", "email": fx.email, "password": PASSWORD})
    assert registered["statusCode"] == 201, registered
    tokens = json.loads(registered["body"])
    fx.access_token, fx.refresh_token, fx.user_id = tokens["access_token"], tokens["refresh_token"], tokens["user"]["id"]
    order = buy(env, COURSE, fx.email, fx.access_token)
    fx.session_id, fx.order_id = order["checkout_session_id"], order["order_id"]
    learn = json.loads(env.call("GET", f"/learn/{COURSE}", token=fx.access_token)["body"])["course"]
    fx.course_id = learn["id"]
    lessons = [lesson for module in learn["modules"] for lesson in module["lessons"]]
    fx.lesson_slug = next(lesson["slug"] for lesson in lessons if not lesson["is_preview"] and lesson["resources"])
    fx.resource_id = next(lesson for lesson in lessons if lesson["slug"] == fx.lesson_slug)["resources"][0]["id"]
    from lectern.models.catalog import CatalogItem, CourseLesson, course_pk
    from lectern.models.users import User

    for item in CatalogItem.query(course_pk(COURSE)):
        if isinstance(item, CourseLesson) and item.slug == fx.lesson_slug:
            fx.video_id = item.stream_video_id
    fx.password_hash = User.get(f"USER#{fx.user_id}", "PROFILE").password_hash
    return fx


# ------------------------------------------------------------------ floors: raw boto3 (+ the unavoidable rest)

class Floors:
    """The calls a route cannot avoid, made with plain boto3 clients (created once, warm)."""

    def __init__(self, env: Environment, fx: Fixture):
        import boto3
        import stripe
        from botocore.config import Config

        self.env, self.fx = env, fx
        self.ddb = boto3.client("dynamodb")
        self.s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
        self.ses = boto3.client("ses")
        self.stripe = stripe.StripeClient(API_KEY, base_addresses={"api": env.stripe.base_url},
                                          http_client=stripe.UrllibClient())
        from argon2 import PasswordHasher, profiles

        self.hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        self.playback_key = load_pem_private_key(os.environ["PLAYBACK_SIGNING_KEY_PEM"].encode(), password=None)
        from lectern.models.catalog import Course, course_pk

        other = Course.get(course_pk(OTHER_COURSE), "COURSE")
        self.other_course_id, self.other_price = other.id, other.stripe_price_id

    @staticmethod
    def s(value: str) -> dict:
        return {"S": value}

    # --- catalog
    def list_courses(self):
        self.ddb.query(TableName="CatalogTable", IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                       ExpressionAttributeValues={":p": self.s("PUBLISHED")}, ScanIndexForward=False, Limit=21)

    def course_detail(self):
        self.ddb.query(TableName="CatalogTable", KeyConditionExpression="pk = :p",
                       ExpressionAttributeValues={":p": self.s(f"COURSE#{COURSE}")})

    # --- checkout
    def checkout_create(self):
        order_id, email = uuid.uuid4().hex, unique_email("floor")
        slot_key = {"pk": self.s(f"CHECKOUTS#{email}"), "sk": self.s(f"{self.other_course_id}#GUEST")}
        self.ddb.get_item(TableName="CatalogTable", Key={"pk": self.s(f"COURSE#{OTHER_COURSE}"), "sk": self.s("COURSE")})
        self.ddb.get_item(TableName="UsersTable", Key={"pk": self.s(f"EMAIL#{email}"), "sk": self.s("EMAIL")},
                          ConsistentRead=True)
        self.ddb.update_item(TableName="OrdersTable", Key={"pk": self.s("THROTTLE#CHECKOUT#IP#127.0.0.1"),
                                                           "sk": self.s("WINDOW")},
                             UpdateExpression="ADD checkouts :one", ExpressionAttributeValues={":one": {"N": "1"}},
                             ReturnValues="ALL_NEW")
        self.ddb.get_item(TableName="OrdersTable", Key=slot_key, ConsistentRead=True)
        new = "attribute_not_exists(pk)"
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "OrdersTable", "ConditionExpression": new, "Item": {
                "pk": self.s(f"ORDER#{order_id}"), "sk": self.s("ORDER"), "status": self.s("pending"),
                "email": self.s(email), "total_amount": {"N": "4900"}}}},
            {"Put": {"TableName": "OrdersTable", "ConditionExpression": new, "Item": {
                "pk": self.s(f"ORDER#{order_id}"), "sk": self.s(f"ITEM#{self.other_course_id}"),
                "unit_amount": {"N": "4900"}}}},
            {"Put": {"TableName": "OrdersTable", "ConditionExpression": new,
                     "Item": {**slot_key, "order_id": self.s(order_id)}}}])
        session = self.stripe.v1.checkout.sessions.create({
            "mode": "payment", "line_items": [{"price": self.other_price, "quantity": 1}],
            "client_reference_id": order_id, "metadata": {"order_id": order_id},
            "payment_intent_data": {"metadata": {"order_id": order_id}}, "customer_email": email,
            "success_url": "http://127.0.0.1/checkout/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://127.0.0.1/checkout/cancel", "allow_promotion_codes": True,
        }, options={"idempotency_key": f"checkout-{order_id}"})
        self.ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "OrdersTable", "Key": {"pk": self.s(f"ORDER#{order_id}"), "sk": self.s("ORDER")},
                        "UpdateExpression": "SET checkout_session_id = :s", "ConditionExpression": "#st = :p",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {":s": self.s(session.id), ":p": self.s("pending")}}},
            {"Put": {"TableName": "OrdersTable", "ConditionExpression": new, "Item": {
                "pk": self.s(f"CHECKOUT#{session.id}"), "sk": self.s("CHECKOUT"), "order_id": self.s(order_id)}}},
            {"Update": {"TableName": "OrdersTable", "Key": slot_key, "UpdateExpression": "SET session_id = :s",
                        "ConditionExpression": "order_id = :o",
                        "ExpressionAttributeValues": {":s": self.s(session.id), ":o": self.s(order_id)}}}])

    def checkout_status(self):
        self.ddb.get_item(TableName="OrdersTable",
                          Key={"pk": self.s(f"CHECKOUT#{self.fx.session_id}"), "sk": self.s("CHECKOUT")})
        self.ddb.query(TableName="OrdersTable", KeyConditionExpression="pk = :p", ConsistentRead=True,
                       ExpressionAttributeValues={":p": self.s(f"ORDER#{self.fx.order_id}")})

    # --- auth
    def login(self):
        email = self.fx.email
        self.ddb.get_item(TableName="UsersTable", Key={"pk": self.s(f"THROTTLE#{email}"), "sk": self.s("LOGIN")},
                          ConsistentRead=True)
        self.ddb.get_item(TableName="UsersTable", Key={"pk": self.s(f"EMAIL#{email}"), "sk": self.s("EMAIL")},
                          ConsistentRead=True)
        self.ddb.get_item(TableName="UsersTable", Key={"pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s("PROFILE")},
                          ConsistentRead=True)
        self.hasher.verify(self.fx.password_hash, PASSWORD)
        self.ddb.delete_item(TableName="UsersTable", Key={"pk": self.s(f"THROTTLE#{email}"), "sk": self.s("LOGIN")})
        self._start_session()

    def _start_session(self):
        family = uuid.uuid4().hex
        self.ddb.put_item(TableName="UsersTable", Item={
            "pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s(f"FAMILY#{family}"),
            "user_id": self.s(self.fx.user_id), "expires_at_epoch": {"N": str(int(time.time()) + 86400 * 31)}})
        self._issue_token(family)
        import jwt

        jwt.encode({"sub": self.fx.user_id, "exp": int(time.time()) + 900}, "k" * 64, algorithm="HS256")

    def _issue_token(self, family: str) -> str:
        raw = secrets.token_urlsafe(32)
        self.ddb.put_item(TableName="UsersTable", ConditionExpression="attribute_not_exists(pk)", Item={
            "pk": self.s(f"TOKEN#{uuid.uuid4().hex}"), "sk": self.s("TOKEN"), "purpose": self.s("refresh"),
            "user_id": self.s(self.fx.user_id), "family_id": self.s(family)})
        return raw

    def refresh(self):
        token_key = {"pk": self.s("TOKEN#floor-token"), "sk": self.s("TOKEN")}  # put back before each call
        self.ddb.get_item(TableName="UsersTable", Key=token_key, ConsistentRead=True)
        self.ddb.update_item(TableName="UsersTable",
                             Key={"pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s("FAMILY#floor")},
                             UpdateExpression="SET expires_at_epoch = :e",
                             ExpressionAttributeValues={":e": {"N": str(int(time.time()) + 86400 * 31)}})
        self.ddb.update_item(TableName="UsersTable", Key=token_key, UpdateExpression="SET used_at = :u",
                             ExpressionAttributeValues={":u": self.s("now")})
        self.ddb.get_item(TableName="UsersTable", Key={"pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s("PROFILE")},
                          ConsistentRead=True)
        self._issue_token("floor")
        import jwt

        jwt.encode({"sub": self.fx.user_id, "exp": int(time.time()) + 900}, "k" * 64, algorithm="HS256")

    # --- learner
    def _progress(self, prefix: str):
        self.ddb.query(TableName="EntitlementsTable", KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
                       ExpressionAttributeValues={":p": self.s(f"USER#{self.fx.user_id}"), ":e": self.s(prefix)})

    def my_courses(self):
        self.ddb.query(TableName="EntitlementsTable", KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
                       ExpressionAttributeValues={":p": self.s(f"USER#{self.fx.user_id}"), ":e": self.s("ENT#")})
        self._progress("PROGRESS#")
        self.course_detail()  # the one course's outline: its next lesson

    def progress(self):
        self.course_detail()
        self.ddb.get_item(TableName="EntitlementsTable", ConsistentRead=True, Key={
            "pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s(f"ENT#{self.fx.course_id}")})
        self.ddb.update_item(
            TableName="EntitlementsTable", ReturnValues="ALL_OLD",
            Key={"pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s(f"PROGRESS#{self.fx.course_id}#floor")},
            UpdateExpression="SET position_seconds = :p, updated_at = :u",
            ExpressionAttributeValues={":p": {"N": "30"}, ":u": self.s("2026-01-01T00:00:00Z")})

    def _authorize(self, *published: tuple[str, str]):
        items = [{"ConditionCheck": {
            "TableName": "EntitlementsTable",
            "Key": {"pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s(f"ENT#{self.fx.course_id}")},
            "ConditionExpression": "#st = :a", "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {":a": self.s("active")}}}]
        for pk, sk in published:
            items.append({"ConditionCheck": {"TableName": "CatalogTable", "Key": {"pk": self.s(pk), "sk": self.s(sk)},
                                             "ConditionExpression": "is_published = :t",
                                             "ExpressionAttributeValues": {":t": {"BOOL": True}}}})
        items.append({"Put": {"TableName": "EntitlementsTable", "Item": {
            "pk": self.s(f"USER#{self.fx.user_id}"), "sk": self.s(f"AUDIT#floor-{uuid.uuid4().hex}"),
            "outcome": self.s("granted")}}})
        self.ddb.transact_write_items(TransactItems=items)

    def learn(self):
        self.course_detail()
        self._authorize()
        self._progress(f"PROGRESS#{self.fx.course_id}#")

    def lesson(self):
        self.course_detail()
        self._authorize()
        import jwt

        jwt.encode({"sub": self.fx.video_id, "kid": "k", "exp": int(time.time()) + 3600}, self.playback_key,
                   algorithm="RS256", headers={"kid": "k"})

    def download(self):
        response = self.ddb.query(TableName="CatalogTable", IndexName="gsi1", Limit=1,
                                  KeyConditionExpression="gsi1pk = :p AND gsi1sk = :r",
                                  ExpressionAttributeValues={":p": self.s(f"RESOURCE#{self.fx.resource_id}"),
                                                             ":r": self.s("RESOURCE")})
        item = response["Items"][0]
        self._authorize((f"COURSE#{COURSE}", "COURSE"), (f"COURSE#{COURSE}", f"LESSON#{item['lesson_id']['S']}"))
        self.s3.generate_presigned_url("get_object", ExpiresIn=300, Params={
            "Bucket": "assetsbucket", "Key": item["storage_key"]["S"],
            "ResponseContentDisposition": "attachment; filename=\"x\"", "ResponseContentType": "text/plain"})

    # --- webhook
    def webhook_record_once(self, event_id: str):
        """#17: one conditional put (an ignored type is put already processed; a duplicate's put fails
        and answers the stored record)."""
        import hashlib
        import hmac

        hmac.new(WEBHOOK_SECRET.encode(), b"1." + event_id.encode(), hashlib.sha256).hexdigest()
        try:
            self.ddb.put_item(TableName="StripeEventsTable", ConditionExpression="attribute_not_exists(stripe_event_id)",
                              Item={"stripe_event_id": self.s(event_id), "status": self.s("processed")},
                              ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except self.ddb.exceptions.ConditionalCheckFailedException:
            pass

    def fulfillment_setup(self, n: int) -> str:
        """A pending order of the floor's own (written outside the timed part)."""
        order_id = f"floor-{n}-{uuid.uuid4().hex[:8]}"
        self.ddb.put_item(TableName="OrdersTable", Item={"pk": self.s(f"ORDER#{order_id}"), "sk": self.s("ORDER"),
                                                         "status": self.s("pending")})
        self.ddb.put_item(TableName="OrdersTable", Item={"pk": self.s(f"ORDER#{order_id}"),
                                                         "sk": self.s(f"ITEM#{self.other_course_id}")})
        return order_id

    def fulfillment(self, order_id: str, session_id: str):
        """A guest's checkout.session.completed: 10 DynamoDB requests, the session from Stripe, two emails."""
        s, ddb, new = self.s, self.ddb, "attribute_not_exists(pk)"
        email, user_id, event_id = unique_email("floor-guest"), uuid.uuid4().hex, f"evt_floor_{uuid.uuid4().hex}"
        order_key = {"pk": s(f"ORDER#{order_id}"), "sk": s("ORDER")}
        ddb.put_item(TableName="StripeEventsTable", ConditionExpression="attribute_not_exists(stripe_event_id)",
                     Item={"stripe_event_id": s(event_id), "status": s("received")})                       # 1
        self.stripe.v1.checkout.sessions.retrieve(session_id, params={"expand": ["line_items"]})
        ddb.query(TableName="OrdersTable", KeyConditionExpression="pk = :p", ConsistentRead=True,
                  ExpressionAttributeValues={":p": s(f"ORDER#{order_id}")})                                  # 2
        ddb.get_item(TableName="UsersTable", Key={"pk": s(f"EMAIL#{email}"), "sk": s("EMAIL")},
                     ConsistentRead=True)                                                                   # 3
        ddb.transact_write_items(TransactItems=[                                                           # 4
            {"Put": {"TableName": "UsersTable", "ConditionExpression": new,
                     "Item": {"pk": s(f"EMAIL#{email}"), "sk": s("EMAIL"), "user_id": s(user_id)}}},
            {"Put": {"TableName": "UsersTable", "ConditionExpression": new,
                     "Item": {"pk": s(f"USER#{user_id}"), "sk": s("PROFILE"), "email": s(email)}}}])
        ddb.transact_write_items(TransactItems=[                                                           # 5
            {"Update": {"TableName": "OrdersTable", "Key": order_key,
                        "UpdateExpression": "SET #st = :paid, user_id = :u, gsi1pk = :g",
                        "ConditionExpression": "#st = :pending AND attribute_not_exists(user_id)",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {":paid": s("paid"), ":pending": s("pending"),
                                                      ":u": s(user_id), ":g": s(f"USER#{user_id}")}}},
            {"Put": {"TableName": "OrdersTable", "Item": {"pk": s(f"PAYMENT_INTENT#pi_{order_id}"),
                                                           "sk": s("PAYMENT_INTENT"), "order_id": s(order_id)}}}])
        ddb.query(TableName="OrdersTable", KeyConditionExpression="pk = :p AND begins_with(sk, :c)",
                  ExpressionAttributeValues={":p": s(f"CHECKOUTS#{email}"), ":c": s(f"{self.other_course_id}#")})  # 6
        ddb.transact_write_items(TransactItems=[                                                           # 7
            {"Put": {"TableName": "EntitlementsTable", "ConditionExpression": new,
                     "Item": {"pk": s(f"USER#{user_id}"), "sk": s(f"ENT#{self.other_course_id}"), "status": s("active")}}},
            {"Put": {"TableName": "EntitlementsTable",
                     "Item": {"pk": s(f"USER#{user_id}"), "sk": s(f"HIST#{self.other_course_id}#1")}}},
            {"ConditionCheck": {"TableName": "OrdersTable", "Key": order_key, "ConditionExpression": "#st = :paid",
                                "ExpressionAttributeNames": {"#st": "status"},
                                "ExpressionAttributeValues": {":paid": s("paid")}}}])
        ddb.update_item(TableName="OrdersTable", Key=order_key, UpdateExpression="SET receipt_sent_at = :t",
                        ConditionExpression="attribute_not_exists(receipt_sent_at)",
                        ExpressionAttributeValues={":t": s("now")})                                         # 8
        self.ses.send_email(Source="no-reply@lectern.example", Destination={"ToAddresses": [email]},
                            Message={"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}})
        token_hash = uuid.uuid4().hex  # the token, the user's live-link hash (it supersedes older links), the stamp
        ddb.transact_write_items(TransactItems=[                                                           # 9
            {"Put": {"TableName": "UsersTable", "ConditionExpression": new, "Item": {
                "pk": s(f"TOKEN#{token_hash}"), "sk": s("TOKEN"), "purpose": s("claim")}}},
            {"Update": {"TableName": "UsersTable", "Key": {"pk": s(f"USER#{user_id}"), "sk": s("PROFILE")},
                        "UpdateExpression": "SET claim_token_hash = :h", "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":h": s(token_hash)}}},
            {"Update": {"TableName": "OrdersTable", "Key": order_key, "UpdateExpression": "SET claim_sent_at = :t",
                        "ConditionExpression": "attribute_not_exists(claim_sent_at)",
                        "ExpressionAttributeValues": {":t": s("now")}}}])
        self.ses.send_email(Source="no-reply@lectern.example", Destination={"ToAddresses": [email]},
                            Message={"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "x"}}})
        ddb.update_item(TableName="StripeEventsTable", Key={"stripe_event_id": s(event_id)},
                        UpdateExpression="SET #st = :p", ExpressionAttributeNames={"#st": "status"},
                        ExpressionAttributeValues={":p": s("processed")})                                   # 10


# ------------------------------------------------------------------ the routes

@dataclass
class Route:
    name: str
    function: str
    floor_requests: int
    floor_note: str
    calls: int
    # prepare(i) → (logical_id, event) for the i-th call (not timed); check(response) after it
    prepare: Callable[[int], tuple[str, dict]]
    floor: Callable[[int], Callable[[], None]]   # floor(i) → the timed floor call
    expect: int = 200
    after: Callable[[dict], None] = lambda response: None   # sees each answer (untimed)


@dataclass
class WarmResult:
    name: str
    function: str
    median_ms: float
    p90_ms: float
    floor_ms: float
    requests: int
    by_operation: dict[str, int]
    floor_requests: int
    floor_note: str
    calls: int

    @property
    def ratio(self) -> float:
        return self.median_ms / self.floor_ms

    @property
    def requests_met(self) -> bool:
        return self.requests <= self.floor_requests


def routes(env: Environment, fx: Fixture, floors: Floors, scale: float = 1.0) -> list[Route]:
    def n(calls: int) -> int:
        return max(5, int(calls * scale))

    def fixed(method, path, **kwargs):
        return lambda _i: env.event(method, path, **kwargs)

    def always(fn):
        return lambda _i: fn

    # checkout create: a guest with a new email each time (so never `already_owned`)
    def checkout_event(_i):
        return env.event("POST", "/checkout", body={"course_slug": OTHER_COURSE, "email": unique_email("guest")})

    # refresh: each call rotates, so the next one presents the token the previous answer gave
    state = {"refresh": fx.refresh_token}

    def refresh_event(_i):
        return env.event("POST", "/auth/refresh", body={"refresh_token": state["refresh"]})

    def refresh_floor(_i):
        floors.ddb.put_item(TableName="UsersTable", Item={"pk": {"S": "TOKEN#floor-token"}, "sk": {"S": "TOKEN"}})
        return floors.refresh

    # the webhook's paid-session completion: one fresh paid session per call, made beforehand
    completions = []
    fulfil_calls = n(30)

    def completion_event(i):
        return "StripeWebhookFunction", env.webhook_event(completions[i])

    def completion_floor(i):
        order_id = floors.fulfillment_setup(i)
        session_id = completions[i]["data"]["object"]["id"]
        return lambda: floors.fulfillment(order_id, session_id)

    def prepare_completions():
        for _ in range(fulfil_calls + WARMUP):
            created = json.loads(env.call("POST", "/checkout", body={"course_slug": OTHER_COURSE,
                                                                     "email": unique_email("guest")})["body"])
            session = env.stripe.pay(created["checkout_session_id"])
            completions.append([e for e in env.stripe.events if e["type"] == "checkout.session.completed"
                                and e["data"]["object"]["id"] == session["id"]][-1])

    prepare_completions()
    processed = [e for e in env.stripe.events if e["type"] == "checkout.session.completed"][0]

    def ignored_event(_i):
        event = {"id": f"evt_ignored_{uuid.uuid4().hex}", "object": "event", "type": "customer.updated",
                 "api_version": processed.get("api_version"), "created": int(time.time()),
                 "data": {"object": {"id": "cus_bench", "object": "customer"}}, "livemode": False}
        return "StripeWebhookFunction", env.webhook_event(event)

    token = fx.access_token
    return [
        Route("GET /courses", "CatalogFunction", 1, "#1", n(100), fixed("GET", "/courses"),
              always(floors.list_courses)),
        Route("GET /courses/{slug}", "CatalogFunction", 1, "#2", n(100), fixed("GET", f"/courses/{COURSE}"),
              always(floors.course_detail)),
        Route("POST /checkout (guest)", "CheckoutFunction", 6,
              "#4 + EMAIL# GetItem (half of #6) + #24 (IP counter) + #23 (open checkout GetItem) + order, item & "
              "slot (1 transaction) + session ref & slot (1 transaction); and Stripe's session create", n(40),
              checkout_event, always(floors.checkout_create), expect=201),
        Route("GET /checkout/{session_id}", "CheckoutFunction", 2, "#10", n(100),
              fixed("GET", f"/checkout/{fx.session_id}"), always(floors.checkout_status)),
        Route("POST /auth/login", "AuthFunction", 6,
              "throttle GetItem + #6 + throttle DeleteItem + session (family PutItem + refresh-token PutItem); "
              "and the argon2 check", n(15), fixed("POST", "/auth/login", body={"email": fx.email, "password": PASSWORD}),
              always(floors.login)),
        Route("POST /auth/refresh", "AuthFunction", 5,
              "#8 (token GetItem + conditional UpdateItem) + family conditional UpdateItem + #5 + next token PutItem",
              n(100), refresh_event, refresh_floor,
              after=lambda response: state.update(refresh=json.loads(response["body"])["refresh_token"])),
        Route("GET /me/courses", "LearnerFunction", 3, "#26b: #14 + #26 + #2 per course (one here)", n(100),
              fixed("GET", "/me/courses", token=token), always(floors.my_courses)),
        Route("GET /learn/{slug}", "LearnerFunction", 3, "#26a: #2 + #13 + #26", n(100),
              fixed("GET", f"/learn/{COURSE}", token=token), always(floors.learn)),
        Route("PUT /learn/{slug}/lessons/{lesson}/progress", "ProgressFunction", 3, "#25a: #2 + #13a + #25", n(100),
              fixed("PUT", f"/learn/{COURSE}/lessons/{fx.lesson_slug}/progress", token=token,
                    body={"position_seconds": 30}), always(floors.progress)),
        Route("GET /learn/{slug}/lessons/{lesson}", "LessonFunction", 2, "#2 + #13; and the RS256 playback token",
              n(100), fixed("GET", f"/learn/{COURSE}/lessons/{fx.lesson_slug}", token=token), always(floors.lesson)),
        Route("GET /resources/{id}/download", "DownloadFunction", 2, "#3a (#3 + #13); and the presigned URL", n(100),
              fixed("GET", f"/resources/{fx.resource_id}/download", token=token), always(floors.download), expect=302),
        Route("webhook: checkout.session.completed (guest)", "StripeWebhookFunction", 10,
              "#17 + #9 + EMAIL# GetItem + #7 + paid transition binding the buyer (1 transaction) + #23 (the "
              "buyer's other open checkouts) + #15 + receipt stamp + claim token with its stamp (1 transaction "
              "with the user's live-link hash) + processed; and the session (with its line items) from Stripe, "
              "two emails",
              fulfil_calls, completion_event, completion_floor),
        Route("webhook: ignored event type", "StripeWebhookFunction", 1, "#17 (put already processed)", n(100),
              ignored_event, lambda i: (lambda: floors.webhook_record_once(f"evt_fi_{uuid.uuid4().hex}"))),
        Route("webhook: duplicate of a processed event", "StripeWebhookFunction", 1,
              "#17 (the condition fails and the put returns the stored record)", n(100),
              lambda _i: ("StripeWebhookFunction", env.webhook_event(processed)),
              lambda i: (lambda: floors.webhook_record_once(processed["id"]))),
    ]


def measure_route(env: Environment, route: Route, warmup: int = None) -> WarmResult:
    warmup = WARMUP if warmup is None else warmup
    import gc

    times, floor_times, counts = [], [], []
    total = route.calls + warmup
    for i in range(total):
        logical_id, event = route.prepare(i)
        floor_call = route.floor(i)
        if i % 25 == 0:
            gc.collect()
        gc.disable()  # no collection inside a timed call (both sides alike)
        env.counter.take()
        env.counter.forbid_scan = True
        started = time.perf_counter()
        response = env.invoke(logical_id, event)
        elapsed = time.perf_counter() - started
        env.counter.forbid_scan = False
        calls = env.counter.take()
        if response["statusCode"] != route.expect:
            raise RuntimeError(f"{route.name}: {response['statusCode']} {response.get('body')}")
        route.after(response)
        started = time.perf_counter()
        floor_call()
        floor_elapsed = time.perf_counter() - started
        gc.enable()
        env.counter.take()
        if i >= warmup:
            times.append(elapsed)
            floor_times.append(floor_elapsed)
            counts.append(Counter(dynamodb_ops(calls)))
    last = counts[-1]
    times.sort()
    return WarmResult(route.name, route.function, statistics.median(times) * 1000,
                      times[int(len(times) * 0.9) - 1] * 1000, statistics.median(floor_times) * 1000,
                      sum(last.values()), dict(last), route.floor_requests, route.floor_note, route.calls)


def run(scale: float = 1.0, progress=lambda text: None) -> list[WarmResult]:
    env = Environment()
    try:
        progress("warm: preparing data (register, buy, paid sessions)")
        fx = prepare(env)
        floors = Floors(env, fx)
        results = []
        for route in routes(env, fx, floors, scale):
            progress(f"warm: {route.name} × {route.calls}")
            results.append(measure_route(env, route))
        return results
    finally:
        env.stop()

"""Webhook burst: N signed Stripe deliveries from 16 threads against a running local stack.

The events are Stripe's own (the stack's emulator made them): `checkout.session.completed`
for sessions bought through POST /checkout and paid on the emulator's hosted page,
`charge.refunded` for some of them, and event types the endpoint does not subscribe to
(`payment_intent.succeeded`, `charge.succeeded`...), which the webhook records and
ignores. 30 % of the deliveries repeat an event; all are shuffled, signed at send time
with the stack's webhook secret and POSTed to its function URL. A 500 is Stripe's cue
to retry, and the sender retries it the way Stripe would (after a pause), so that a
refund arriving before its payment is applied later. Meanwhile the emulator delivers
the same events itself, as Stripe would: more duplicates, racing.

Then the effects are read back: from the stack's DynamoDB (its embedded AWS endpoint)
and from its dev mailbox (/mailbox.json). Exactly once: one paid transition per order
(one `grant` in the buyer's entitlement history), one entitlement (active, or revoked
once for a refunded order), one receipt and one claim email per order; none lost:
every event recorded as processed and every delivery answered 2xx in the end.
"""
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

RECEIPT, CLAIM = "Your Lectern receipt", "Set your password to start learning"
COURSE = "practical-sql-for-analysts"
TIMEOUT = 30


def sign(payload: str, secret: str) -> str:
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class BurstReport:
    n: int
    threads: int
    orders: int
    refunds: int
    ignored: int
    duplicates: int
    seconds: float = 0.0          # the burst itself: every delivery sent, answered, retried ×6 at most
    drain_seconds: float = 0.0    # then the re-sends of what still answered 500
    setup_seconds: float = 0.0
    attempts: int = 0
    retried: int = 0
    late: int = 0        # deliveries still unacknowledged after their first round of retries (re-sent later)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered))) - 1))] * 1000 if ordered else 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (f"{self.n} deliveries ({self.orders} orders completed, {self.refunds} refunded, {self.ignored} ignored "
                f"types, {self.duplicates} duplicates) from {self.threads} threads in {self.seconds:.1f} s: "
                f"{self.throughput:.0f} deliveries/s, p50 {self.percentile(0.5):.0f} ms, p99 {self.percentile(0.99):.0f} ms, "
                f"{self.retried} answered 500 first and were retried ({self.late} re-sent after the burst); "
                f"answers {dict(self.statuses)}")


class Stack:
    """What the burst needs of a running stack: its URLs, and a session per thread."""

    def __init__(self, urls: dict[str, str], webhook_secret: str, api_key: str = "sk_test_lectern"):
        self.urls, self.secret, self.api_key = urls, webhook_secret, api_key
        self.dev = urls["mailbox"].rsplit("/mailbox", 1)[0]
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def stripe(self, method: str, path: str, **params) -> dict:
        response = self.http.request(method, f"{self.urls['stripe']}/v1{path}", params=params if method == "GET" else None,
                                     data=params if method != "GET" else None, timeout=TIMEOUT,
                                     headers={"Authorization": f"Bearer {self.api_key}"})
        response.raise_for_status()
        return response.json()

    def events(self, **filters) -> list[dict]:
        found, after = [], None
        while True:
            page = self.stripe("GET", "/events", limit=100, **filters, **({"starting_after": after} if after else {}))
            found += page["data"]
            if not page.get("has_more"):
                return found
            after = page["data"][-1]["id"]

    def checkout(self, email: str) -> dict:
        """POST /checkout as a guest."""
        created = self.http.post(f"{self.urls['api']}/checkout", json={"course_slug": COURSE, "email": email},
                                 timeout=TIMEOUT)
        if created.status_code != 201:
            raise RuntimeError(f"checkout {created.status_code}: {created.text}")
        return {**created.json(), "email": email}

    def pay(self, order: dict) -> dict:
        """What the buyer's browser does on the emulator's hosted page: a form post."""
        paid = self.http.post(f"{self.urls['stripe']}/pay/{order['checkout_session_id']}", data={"action": "pay"},
                              timeout=TIMEOUT, allow_redirects=False)
        if paid.status_code != 303:
            raise RuntimeError(f"pay {paid.status_code}: {paid.text[:300]}")
        return order

    def deliver(self, payload: str) -> tuple[int, float]:
        started = time.perf_counter()
        response = self.http.post(self.urls["webhook"], data=payload.encode(), timeout=TIMEOUT, headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": sign(payload, self.secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
        return response.status_code, time.perf_counter() - started

    def mailbox(self) -> list[dict]:
        return self.http.get(f"{self.dev}/mailbox.json", timeout=TIMEOUT).json()["messages"]

    def dynamodb(self):
        import boto3

        return boto3.client("dynamodb", endpoint_url=self.urls["aws"], region_name="us-east-1",
                            aws_access_key_id="burst", aws_secret_access_key="burst")


def plan(n: int) -> tuple[int, int, int, int]:
    """(orders, refunds, ignored, duplicates) for n deliveries: 30 % duplicates; of the distinct
    events 60 % completions, 15 % refunds, the rest ignored types."""
    duplicates = round(n * 0.3)
    distinct = n - duplicates
    orders = max(1, round(distinct * 0.6))
    refunds = min(orders, round(distinct * 0.15))
    return orders, refunds, distinct - orders - refunds, duplicates


def run_burst(stack: Stack, n: int = 200, *, threads: int = 16, seed: int = 20250101,
              progress=lambda text: None, phase=lambda name: None) -> BurstReport:
    """`phase("burst")` is called as the deliveries start, `phase("effects")` once they (and the
    re-sends) are done, so a caller can measure the burst apart from its setup."""
    rng = random.Random(seed)
    orders_n, refunds_n, ignored_n, duplicates_n = plan(n)
    report = BurstReport(n, threads, orders_n, refunds_n, ignored_n, duplicates_n)
    tag = uuid.uuid4().hex[:8]

    # ---------------------------------------------------------------- setup: real sessions, paid, some refunded
    started, setup_epoch = time.perf_counter(), time.time()
    progress(f"burst: buying {orders_n} orders through POST /checkout")
    # One checkout at a time (the local stack's runner runs one invocation at a time anyway); the
    # payments, at the emulator, in parallel.
    created = [stack.checkout(f"burst-{tag}-{i}@example.com") for i in range(orders_n)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        orders = list(pool.map(stack.pay, created))
    by_session = {o["checkout_session_id"]: o for o in orders}
    refunded = {o["checkout_session_id"] for o in orders[:refunds_n]}
    for session_id in refunded:
        intent = stack.stripe("GET", f"/checkout/sessions/{session_id}")["payment_intent"]
        stack.stripe("POST", "/refunds", payment_intent=intent)
    events = stack.events()
    completed = [e for e in events if e["type"] == "checkout.session.completed"
                 and e["data"]["object"]["id"] in by_session]
    intents = {stack.stripe("GET", f"/checkout/sessions/{s}")["payment_intent"]: s for s in refunded}
    refund_events = [e for e in events if e["type"] == "charge.refunded"
                     and e["data"]["object"].get("payment_intent") in intents]
    from lectern.payments.webhook import SUBSCRIBED_EVENTS

    # Event types the endpoint does not subscribe to, made by this setup (payment_intent.created, ...).
    others = [e for e in events if e["type"] not in SUBSCRIBED_EVENTS and e["created"] >= int(setup_epoch) - 1]
    ignored = rng.sample(others, min(ignored_n, len(others)))
    if len(completed) != orders_n or len(refund_events) != refunds_n or len(ignored) != ignored_n:
        report.problems.append(f"setup: {len(completed)}/{orders_n} completions, {len(refund_events)}/{refunds_n} "
                               f"refunds, {len(ignored)}/{ignored_n} ignored-type events found at the emulator")
    distinct = completed + refund_events + ignored
    deliveries = distinct + [rng.choice(distinct) for _ in range(duplicates_n)]
    rng.shuffle(deliveries)
    report.setup_seconds = time.perf_counter() - started

    # ---------------------------------------------------------------- the burst
    progress(f"burst: {len(deliveries)} deliveries from {threads} threads")
    lock = threading.Lock()

    def send(event: dict, attempts: int = 6) -> bool:
        """Deliver until 2xx; a 500 is retried after a pause, as Stripe retries (compressed)."""
        payload = json.dumps(event)
        for attempt in range(attempts):
            status, elapsed = stack.deliver(payload)
            with lock:
                report.attempts += 1
                report.latencies.append(elapsed)
                report.statuses[status] += 1
                if attempt == 0 and status >= 500:
                    report.retried += 1
            if 200 <= status < 300:
                return True
            if status < 500:
                with lock:
                    report.problems.append(f"{event['id']} ({event['type']}) answered {status}")
                return True
            time.sleep(min(2.0, 0.25 * 2 ** attempt))
        return False

    phase("burst")
    burst_started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending = [event for event, done in zip(deliveries, pool.map(send, deliveries)) if not done]
        report.seconds = time.perf_counter() - burst_started
        # Stripe keeps retrying for three days; here, until the backlog has drained (a refund waits for
        # its payment's completion, which may sit far behind it in a long burst), or 3 minutes.
        deadline = time.monotonic() + 180
        while pending and time.monotonic() < deadline:
            report.late += len(pending)
            time.sleep(1.0)
            pending = [event for event, done in zip(pending, pool.map(lambda e: send(e, 1), pending)) if not done]
    report.drain_seconds = time.perf_counter() - burst_started - report.seconds
    phase("effects")
    for event in pending:
        report.problems.append(f"{event['id']} ({event['type']}) never answered 2xx")

    # ---------------------------------------------------------------- effects
    progress("burst: reading the effects back")
    verify(stack, report, orders, refunded, distinct)
    return report


def _query(ddb, table: str, pk: str, **extra) -> list[dict]:
    items, start = [], None
    while True:
        kwargs = {"TableName": table, "KeyConditionExpression": "pk = :p", "ConsistentRead": True,
                  "ExpressionAttributeValues": {":p": {"S": pk}}, **extra}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = ddb.query(**kwargs)
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def verify(stack: Stack, report: BurstReport, orders: list[dict], refunded: set[str], distinct: list[dict]) -> None:
    ddb = stack.dynamodb()
    problems = report.problems
    for event in {e["id"]: e for e in distinct}.values():
        record = ddb.get_item(TableName="StripeEventsTable", Key={"stripe_event_id": {"S": event["id"]}},
                              ConsistentRead=True).get("Item")
        if not record or record["status"]["S"] != "processed":
            problems.append(f"event {event['id']} ({event['type']}) is {record and record['status']['S']}")
    # The emulator may still be sending its own (duplicate) deliveries: they change nothing, but
    # give the mailbox a moment to settle before counting.
    deadline = time.monotonic() + 20
    while True:
        mail = Counter((to, m["subject"]) for m in stack.mailbox() for to in m["to"])
        if all(mail[(o["email"], RECEIPT)] >= 1 and mail[(o["email"], CLAIM)] >= 1 for o in orders) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for order in orders:
        items = _query(ddb, "OrdersTable", f"ORDER#{order['order_id']}")
        head = next((i for i in items if i["sk"]["S"] == "ORDER"), None)
        want = "refunded" if order["checkout_session_id"] in refunded else "paid"
        if head is None or head["status"]["S"] != want:
            problems.append(f"order {order['order_id']} is {head and head['status']['S']}, not {want}")
            continue
        user_id = head.get("user_id", {}).get("S")
        course_ids = [i["course_id"]["S"] for i in items if i["sk"]["S"].startswith("ITEM#")]
        if not user_id or len(course_ids) != 1:
            problems.append(f"order {order['order_id']}: user {user_id}, items {course_ids}")
            continue
        history = _query(ddb, "EntitlementsTable", f"USER#{user_id}", KeyConditionExpression=(
            "pk = :p AND begins_with(sk, :h)"), ExpressionAttributeValues={":p": {"S": f"USER#{user_id}"},
                                                                          ":h": {"S": f"HIST#{course_ids[0]}#"}})
        actions = sorted(h["action"]["S"] for h in history)
        expected_actions = ["grant", "revoke"] if want == "refunded" else ["grant"]
        if actions != expected_actions:
            problems.append(f"order {order['order_id']}: entitlement history {actions}, not {expected_actions}")
        entitlement = ddb.get_item(TableName="EntitlementsTable", ConsistentRead=True, Key={
            "pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ENT#{course_ids[0]}"}}).get("Item")
        status = entitlement and entitlement["status"]["S"]
        if status != ("revoked" if want == "refunded" else "active"):
            problems.append(f"order {order['order_id']}: entitlement {status}")
        for subject in (RECEIPT, CLAIM):
            if mail[(order["email"], subject)] != 1:
                problems.append(f"{order['email']}: {mail[(order['email'], subject)]} × {subject!r}")

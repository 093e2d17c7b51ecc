"""Fault drills: DynamoDB (and SES) throttling and timeouts injected into the handlers.

Faults enter through botocore's own event hooks on every client the handlers use
(PynamoDB's and boto3's), the way botocore's Stubber works:
- `before-call` answering an error short-circuits the API call after its retries are
  spent: a throttle (ProvisionedThroughputExceededException / Throttling) or a
  ReadTimeoutError, and nothing reached DynamoDB;
- `after-call` raising a ReadTimeoutError once the request *was* applied: the
  ambiguous failure (the write landed, its answer was lost);
- `before-send` answering a throttle for one attempt: botocore's retry then succeeds.

What must hold: API clients get the error envelope (503 or 500), never a half-written
order; the webhook answers 500 so Stripe redelivers, and the redelivery completes the
work with exactly-once effects (one paid transition, one entitlement, one receipt).
Without faults, against the local stack: tests/stack/test_mixed_burst.py.
"""
import json
import threading
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from lectern.entitlements import service as entitlements
from lectern.models.events import PROCESSED, StripeEvent
from lectern.models.orders import FAILED, PAID, PENDING, CheckoutSessionRef, Order, OrderItem
from support.payments_support import (
    deliver, last_event, sellable_course, sent_emails, start_checkout,
)
from support.request_counter import on_every_client

THROTTLE = {"dynamodb": "ProvisionedThroughputExceededException", "ses": "Throttling"}


# ------------------------------------------------------------------ injection

@dataclass
class Fault:
    """Fail the `nth` (1-based) call matching service/operation, or every matching call when nth is None.
    kind: "throttle" | "timeout" | "conflict" (none reaches AWS; "conflict": a transaction cancelled
    by a TransactionConflict on every item, as when a concurrent transaction holds one of them) |
    "timeout_after" (applied, answer lost)."""

    kind: str
    service: str = "dynamodb"
    operation: str | None = None
    nth: int | None = None
    index: int | None = None          # or: the index-th AWS call of any kind (0-based)
    fired: int = 0


@dataclass
class Injector:
    faults: list[Fault] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _per_op: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pending_after: threading.local = field(default_factory=threading.local)

    def _match(self, service: str, operation: str) -> Fault | None:
        with self._lock:
            index = len(self.calls)
            self.calls.append((service, operation))
            self._per_op[(service, operation)] += 1
            count = self._per_op[(service, operation)]
            for fault in self.faults:
                if fault.index is not None:
                    hit = fault.index == index
                else:
                    hit = fault.service == service and fault.operation in (None, operation) and (
                        fault.nth is None or fault.nth == count)
                if hit:
                    fault.fired += 1
                    return fault
        return None

    def before_call(self, event_name: str, model=None, params=None, **_kwargs):
        _, service, operation = event_name.split(".", 2)
        fault = self._match(service, operation)
        self._pending_after.fault = None
        if fault is None:
            return None
        if fault.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        if fault.kind == "timeout_after":
            self._pending_after.fault = fault
            return None
        response = AWSResponse(f"https://{service}.us-east-1.amazonaws.com/", 400, {}, None)
        if fault.kind == "conflict":
            items = len((params or {}).get("TransactItems") or [None])
            return response, {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                              "CancellationReasons": [{"Code": "TransactionConflict"}] * items,
                              "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}}
        code = THROTTLE[service]
        return response, {"Error": {"Code": code, "Message": "Rate of requests exceeds the allowed throughput."},
                          "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}}

    def after_call(self, event_name: str, **_kwargs):
        if getattr(self._pending_after, "fault", None) is not None:
            self._pending_after.fault = None
            service = event_name.split(".")[1]
            raise ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")

    def aws_calls(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] in ("dynamodb", "ses")]


@contextmanager
def injected(*faults: Fault):
    """The injector on every botocore client the handlers use, cached boto3 ones included."""
    from lectern.learning import downloads
    from lectern.notifications import email

    injector = Injector(list(faults))
    cached = [client() for client in (email._ses, downloads._s3) if client.cache_info().currsize]

    def attach(client):
        # Ahead of every other handler (moto's, the request counter's): first in, first asked.
        client.meta.events.register_first("before-call", injector.before_call)
        client.meta.events.register_last("after-call", injector.after_call)

    def detach(client):
        client.meta.events.unregister("before-call", injector.before_call)
        client.meta.events.unregister("after-call", injector.after_call)

    with on_every_client(attach, detach, cached):
        yield injector


def assert_envelope(response: dict, statuses: tuple[int, ...]) -> str:
    assert response["statusCode"] in statuses, response
    error = response["json"]["error"]
    assert set(error) >= {"code", "message"} and "Traceback" not in response["body"]
    return error["code"]


# ------------------------------------------------------------------ reads

def test_throttled_read_is_a_503_envelope_and_a_transient_throttle_is_retried(api, runner):
    from support.factories import make_course

    make_course("drill-course")
    with injected(Fault("throttle", operation="Query")) as injector:
        response = api.get("/courses")
    assert assert_envelope(response, (503,)) == "service_unavailable"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert injector.aws_calls() == [("dynamodb", "Query")]

    # One throttled attempt: botocore's retry (PynamoDB allows two) gets the answer.
    attempts = []

    def throttle_first_attempt(request, **_kwargs):
        attempts.append(request.url)
        if len(attempts) == 1:
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                               "message": "Rate of requests exceeds the allowed throughput."}).encode()
            return AWSResponse(request.url, 400, {"x-amzn-RequestId": "drill"}, _Raw(body))
        return None

    from lectern.models.catalog import CatalogItem

    client = CatalogItem._get_connection().connection.client
    client.meta.events.register_first("before-send.dynamodb.Query", throttle_first_attempt)
    try:
        response = api.get("/courses")
    finally:
        client.meta.events.unregister("before-send.dynamodb.Query", throttle_first_attempt)
    assert response["statusCode"] == 200 and len(attempts) == 2
    assert [c["slug"] for c in response["json"]["courses"]] == ["drill-course"]


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_kwargs):
        yield self._body


SIGNING_KEY = "drill-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz"

def _cases(operations, kinds):
    # A botocore timeout once crashed lectern.api.app.aws_error_code inside the error handler (a bare 500
    # instead of the envelope); these drills found it and now guard the fix.
    return [pytest.param(op, kind, id=f"{op}-{kind}") for op in operations for kind in kinds]


@pytest.mark.parametrize("operation,kind", _cases(
    ["Query", "TransactWriteItems"], ["throttle", "timeout", "timeout_after"]))
def test_download_under_faults_answers_an_envelope_and_grants_nothing_half_way(api, runner, monkeypatch, kind,
                                                                                operation):
    """The download's two requests (resource Query, audited entitlement transaction), each failing
    every way: the learner gets 503/500, never a URL; the audit trail has no half-written grant."""
    from support.factories import make_course
    from lectern import jwt_tokens
    from lectern.accounts.users import create_user
    from lectern.learning import access
    from lectern.models.catalog import CatalogItem, LessonResource, course_pk

    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)
    course = make_course("drill-downloads")
    user = create_user("drill@example.com", password_hash="unused")
    entitlements.grant(user.id, course.id, course.slug, reason="test", actor="test", require_paid_order=False)
    resource = next(i for i in CatalogItem.query(course_pk(course.slug)) if isinstance(i, LessonResource))
    headers = {"Authorization": f"Bearer {jwt_tokens.mint(user.id).token}", "Accept": "application/json"}

    with injected(Fault(kind, operation=operation)):
        response = api.get(f"/resources/{resource.id}/download", headers=headers)
    code = assert_envelope(response, (500, 503))
    assert "url" not in response["body"] and "X-Amz" not in response["body"]
    trail = access.audit_trail(user.id)
    if kind == "timeout_after" and operation == "TransactWriteItems":
        # The transaction landed and only its answer was lost: the grant is audited (true: access was
        # decided), but no URL left the function.
        assert [a.outcome for a in trail] == ["granted"]
    else:
        assert trail == []
    assert code in ("service_unavailable", "internal_error")

    retried = api.get(f"/resources/{resource.id}/download", headers=headers)  # the client's retry
    assert retried["statusCode"] == 200 and retried["json"]["url"]


# ------------------------------------------------------------------ checkout

def _orders() -> tuple[list[Order], list[OrderItem], list[CheckoutSessionRef]]:
    """Every order, order item and session claim in the table (a test may Scan)."""
    orders = [o for o in Order.scan(consistent_read=True) if o.sk == "ORDER"]
    items = [i for i in OrderItem.scan(consistent_read=True) if i.sk.startswith("ITEM#")]
    refs = [r for r in CheckoutSessionRef.scan(consistent_read=True) if r.sk == "CHECKOUT"]
    return orders, items, refs


@pytest.mark.parametrize("nth_write,kind", _cases(
    [1, 2], ["throttle", "timeout", "timeout_after"]))
def test_checkout_write_failures_leave_no_half_written_order(api, stripe_env, kind, nth_write):
    """POST /checkout writes twice (the pending order with its item; then the session claim). A fault
    on either: an envelope for the buyer, and the order is whole (order + item) or absent; the next
    attempt succeeds; an abandoned order is failed when its session expires."""
    course = sellable_course(stripe_env)
    sessions_before = len(stripe_env.engine.list("checkout.session"))
    with injected(Fault(kind, operation="TransactWriteItems", nth=nth_write)) as injector:
        response = api.post("/checkout", body={"course_slug": course.slug, "email": "drill@example.com"})
    assert assert_envelope(response, (500, 503)) in ("service_unavailable", "internal_error")
    assert [op for _s, op in injector.aws_calls()].count("TransactWriteItems") == nth_write

    orders, items, refs = _orders()
    if nth_write == 1 and kind != "timeout_after":
        assert orders == [] and items == [] and refs == []    # nothing written, no session made
        assert len(stripe_env.engine.list("checkout.session")) == sessions_before
    else:
        # The pending order is whole (one transaction wrote order and item)...
        assert [o.status for o in orders] == [PENDING] and [i.order_id for i in items] == [orders[0].id]
        # ...and never points at a session it does not own.
        if nth_write == 2 and kind != "timeout_after":
            assert refs == [] and orders[0].checkout_session_id is None
    assert not any(entitlements.history(o.user_id) for o in orders if o.user_id)

    retried = api.post("/checkout", body={"course_slug": course.slug, "email": "drill@example.com"})
    assert retried["statusCode"] == 201, retried
    abandoned = [o for o in _orders()[0] if o.id != retried["json"]["order_id"]]
    assert [o.status for o in abandoned] == ([] if nth_write == 1 and kind != "timeout_after" else [PENDING])
    if not abandoned:
        return

    # The abandoned order's session (if one was made) expires at Stripe; its event fails the order.
    for session in stripe_env.engine.list("checkout.session"):
        if session["metadata"].get("order_id") == abandoned[0].id:
            stripe_env.expire(session["id"])
            expired = last_event(stripe_env, "checkout.session.expired", session["id"])
            assert deliver(api.runner, expired)["statusCode"] == 200
            assert Order.get(*Order.key(abandoned[0].id), consistent_read=True).status == FAILED


# ------------------------------------------------------------------ webhook: fail at every step, then redeliver

def _paid_event(api, emu, course, email: str) -> dict:
    created = start_checkout(api, course, email)
    session = emu.pay(created["checkout_session_id"])
    return last_event(emu, "checkout.session.completed", session["id"]) | {"_order_id": created["order_id"]}


def _exactly_once(order_id: str, course, email: str, event_id: str, paid_transitions: list[str]) -> None:
    order = Order.get(*Order.key(order_id), consistent_read=True)
    assert order.status == PAID and order.user_id
    assert paid_transitions.count(order_id) == 1
    assert entitlements.is_active(order.user_id, course.id)
    assert [h.action for h in entitlements.history(order.user_id)] == ["grant"]
    subjects = Counter(m.subject for m in sent_emails(email))
    assert subjects == Counter({"Your Lectern receipt": 1, "Set your password to start learning": 1}), subjects
    assert StripeEvent.get(event_id, consistent_read=True).status == PROCESSED


def _send_waiting_mails() -> None:
    """What MailRetryFunction does once the back-off is over (fast-forwarded)."""
    from lectern.models.users import OUTBOX_PK, OutboxMail
    from lectern.notifications import outbox

    for mail in OutboxMail.query(OUTBOX_PK, consistent_read=True):
        if mail.status == outbox.PENDING:
            mail.update(actions=[OutboxMail.next_attempt_at.set("2000-01-01T00:00:00Z")])
    outbox.retry_due()


def _waiting_mails(order_id: str) -> list[str]:
    from lectern.models.users import OUTBOX_PK, OutboxMail

    return [m.kind for m in OutboxMail.query(OUTBOX_PK, consistent_read=True)
            if m.order_id == order_id and m.status == "pending"]


@pytest.mark.parametrize("kind", ["throttle", "timeout", "conflict"])
def test_webhook_fails_at_every_step_then_redelivery_completes_exactly_once(api, runner, stripe_env, kind,
                                                                            paid_transitions, fulfillment_steps):
    """A guest's checkout.session.completed touches DynamoDB and SES some thirteen times. Fail each of
    those requests in turn (nothing reaches AWS): the webhook answers 500, Stripe redelivers, and
    the redelivery leaves one paid transition, one entitlement, one receipt and one claim email.
    "conflict" cancels each transaction (paid transition, grant...) with a TransactionConflict:
    it decided nothing, so it must not be taken for a refused condition (the grant once was:
    "already granted", event processed, no entitlement).
    A failing SES request is the exception: email never fails a fulfillment, so that delivery
    answers 200 and the mail waits in the outbox, which sends it on its next run, once."""
    course, steps = fulfillment_steps
    assert len(steps) >= 10, steps

    outcomes = {}
    for index, (service, operation) in enumerate(steps):
        if kind == "conflict" and operation != "TransactWriteItems":
            continue
        email = f"drill-{kind}-{index}@example.com"
        event = _paid_event(api, stripe_env, course, email)
        order_id = event.pop("_order_id")
        with injected(Fault(kind, index=index)) as injector:
            first = deliver(runner, event)
        assert injector.faults[0].fired == 1, (index, service, operation)
        outcomes[f"{index}:{service}.{operation}"] = first["statusCode"]
        if service == "ses":
            assert first["statusCode"] == 200, (index, first)
            assert len(_waiting_mails(order_id)) == 1, (index, _waiting_mails(order_id))
            assert deliver(runner, event)["statusCode"] == 200, (index, service, operation)
            _send_waiting_mails()
        else:
            # 500 either way: `processing_failed` once the event is recorded, `internal_error` before.
            assert first["statusCode"] == 500 and first["json"]["error"]["code"] in (
                "processing_failed", "internal_error"), (index, first)
            assert deliver(runner, event)["statusCode"] == 200, (index, service, operation)
        _exactly_once(order_id, course, email, event["id"], paid_transitions)
        # A third delivery (Stripe may still have one in flight) changes nothing.
        assert deliver(runner, event)["statusCode"] == 200
        _exactly_once(order_id, course, email, event["id"], paid_transitions)
    print(f"\nfault drill ({kind}): {len(steps)} steps, first delivery → {sorted(set(outcomes.values()))}, "
          "redelivery → 200 with exactly-once effects at every step")


def _stamp_steps(steps: list[tuple[str, str]]) -> dict[int, str]:
    """The index of each email's stamp write (the write just before its SendEmail: the receipt's
    UpdateItem; for the claim link, the transaction that issues its token and claims its stamp) →
    which email it stamps."""
    stamps, names = {}, iter(["Your Lectern receipt", "Set your password to start learning"])
    for index, (service, _operation) in enumerate(steps):
        if service == "ses":
            back = index - 1
            while steps[back] not in (("dynamodb", "UpdateItem"), ("dynamodb", "TransactWriteItems")):
                back -= 1
            stamps[back] = next(names)
    return stamps


def _landed_then_redelivered(api, runner, emu, course, index: int, tag: str,
                             first_status: int = 500) -> tuple[str, Counter, dict]:
    email = f"drill-{tag}-{index}@example.com"
    event = _paid_event(api, emu, course, email)
    order_id = event.pop("_order_id")
    with injected(Fault("timeout_after", index=index)):
        first = deliver(runner, event)
    assert first["statusCode"] == first_status, (index, first)
    assert deliver(runner, event)["statusCode"] == 200, index
    return order_id, Counter(m.subject for m in sent_emails(email)), event


@pytest.fixture
def fulfillment_steps(api, runner, stripe_env) -> tuple[object, list[tuple[str, str]]]:
    """A sellable course and the AWS requests of one successful guest fulfillment, in order."""
    course = sellable_course(stripe_env)
    dry = _paid_event(api, stripe_env, course, f"dry-run-{uuid.uuid4().hex[:6]}@example.com")
    with injected() as recorder:
        assert deliver(runner, dry)["statusCode"] == 200
    return course, recorder.aws_calls()


def test_webhook_write_that_landed_but_timed_out_is_completed_by_redelivery(api, runner, stripe_env,
                                                                            paid_transitions, fulfillment_steps):
    """The ambiguous failure: each request in turn is applied and its answer lost (a timeout after
    the write). Redelivery still ends with one paid transition, one entitlement, the event processed,
    and each email exactly once, except where the design cannot know: an email whose SendEmail
    answer was lost counts as not sent (the fulfillment completes: 200) and the outbox sends it
    again (at least once; SES has no idempotency key); an email whose stamp write was lost has its
    own test below."""
    course, steps = fulfillment_steps
    stamps = _stamp_steps(steps)
    report = {}
    for index, (service, operation) in enumerate(steps):
        order_id, subjects, event = _landed_then_redelivered(api, runner, stripe_env, course, index, "after",
                                                             200 if service == "ses" else 500)
        order = Order.get(*Order.key(order_id), consistent_read=True)
        # (a transition whose answer was lost is not counted by the fixture, hence ≤ 1; the condition on
        # `pending` is what makes a second one impossible)
        assert order.status == PAID and paid_transitions.count(order_id) <= 1
        assert entitlements.is_active(order.user_id, course.id)
        assert [h.action for h in entitlements.history(order.user_id)] == ["grant"]
        assert StripeEvent.get(event["id"], consistent_read=True).status == PROCESSED
        expected = Counter({"Your Lectern receipt": 1, "Set your password to start learning": 1})
        if service == "ses":
            sent = [name for i, name in stamps.items() if i < index][-1]
            assert len(_waiting_mails(order_id)) == 1, index   # sent, answer lost: kept for the retry...
            _send_waiting_mails()
            subjects = Counter(m.subject for m in sent_emails(f"drill-after-{index}@example.com"))
            expected[sent] = 2                                  # ...which sends it again
        if index not in stamps:
            assert subjects == expected, (index, service, operation, subjects)
        report[f"{index:2}: {service}.{operation}"] = dict(subjects)
    print("\nemails after a landed-but-timed-out request at each step:")
    for step, subjects in report.items():
        print(f"  {step:36} {subjects}")


def test_email_whose_stamp_write_landed_but_timed_out_is_still_sent(api, runner, stripe_env, fulfillment_steps):
    course, steps = fulfillment_steps
    for index, subject in _stamp_steps(steps).items():
        _order_id, subjects, _event = _landed_then_redelivered(api, runner, stripe_env, course, index, "stamp")
        assert subjects[subject] == 1, (index, subject, subjects)

"""Invariant testing of payments: a hypothesis state machine over checkout and Stripe's events.

The machine buys courses (two courses; a guest, a signed-in member, and the member's email
given as a guest), pays (card, or a bank debit that later settles or bounces), lets sessions
expire, refunds (partially and fully), and opens disputes that are won or lost (at once, or
later). Every Stripe object and event comes from the Stripe emulator, so they are shaped like
Stripe's; but the emulator delivers nothing itself: the machine delivers the events to the
webhook function in-process, signed like Stripe, in any order, any number of times, and
through the operator's `events reprocess` too. A `race` step applies one event and, when
its processing reaches a chosen call (binding the buyer, a grant, a revoke), runs another
delivery about the same order to completion first: what two concurrent Lambda invocations
can do.

After every step the tables are read directly and these must hold:
- an entitlement item is never deleted, and there is one per user and course;
- an entitlement is active exactly when its order (the entitlement's `order_id`) is paid
  and no dispute blocks it (open or lost); a refunded order is not paid;
- orders move only along models.orders.TRANSITIONS (every status seen is remembered);
- every recorded StripeEvent is processed, or failed with its processing_error (and the
  only failure is RetryLater: an event that arrived before the one it depends on);
- one user per email; at most one receipt per order, sent exactly when it is stamped;
- a checkout is refused (409) exactly when the buyer's access to the course is on; a checkout
  while the buyer's session for the course is open answers that session (same order).

At the end of each example the undelivered and failed events are delivered again in
creation order (Stripe's retries) until all are acknowledged; then what Lectern holds
must match what Stripe holds: order status, refunded amount, refund records, dispute
status, and access per user and course exactly when one of their orders for it is paid,
not refunded and not blocked by a dispute; an order paid while the course was held through
another (a duplicate) has no receipt and was refunded by Lectern (unless its charge was disputed).

CI runs a fixed, derandomized set of examples (about 40 s). To explore more:
LECTERN_STATEFUL_EXAMPLES=500 .venv/bin/python -m pytest tests/api/test_payment_state_machine.py
(random, not derandomized; a failure prints the steps that reproduce it). The bugs the
machine found are pinned by the plain tests at the end of the file.
"""
import argparse
import contextlib
import copy
import functools
import io
import json
import os
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test,
)
from moto.dynamodb.models import dynamodb_backends
from moto.ses.models import ses_backends

from support.api_client import Api
from support.factories import make_course
from lectern import jwt_tokens
from lectern.accounts.users import create_user, user_id_for_email
from lectern.entitlements import service as entitlements
from lectern.models.entitlements import ACTIVE, Entitlement
from lectern.models.events import FAILED as EVENT_FAILED
from lectern.models.events import PROCESSED, StripeEvent
from lectern.models.orders import (
    DUPLICATE_PURCHASE, FAILED, PAID, PENDING, REFUNDED, TRANSITIONS, Order, RefundRecord, order_pk,
)
from lectern.models.users import User
from lectern.payments import fulfillment, webhook
from lectern_admin import events_cmd
from lectern_dev.runner import LambdaContext
from support.payments_support import (
    API_KEY, WEBHOOK_SECRET, deliver, function_url_event, last_event, sellable_course, sent_emails, signature,
    start_checkout, stripe_client,
)

EXPLORE = int(os.environ.get("LECTERN_STATEFUL_EXAMPLES") or 0)
SETTINGS = settings(
    max_examples=EXPLORE or 35,
    stateful_step_count=25,
    deadline=None,
    derandomize=not EXPLORE,  # CI: the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.filter_too_much],
)

PRICES = (4900, 2500)
MAX_CHECKOUTS = 6  # per example: enough for repeat purchases, and leaves the steps to Stripe's events
MEMBER_EMAIL = "member@example.com"
# Dispute statuses that keep a paid order's access off: still open, or lost.
BLOCKING_DISPUTES = {"needs_response", "under_review", "warning_needs_response", "warning_under_review", "lost"}
RECEIPT_SUBJECT = "Your Lectern receipt"
ACCOUNT_ID, REGION = "123456789012", "us-east-1"  # moto's default account; conftest's region


def table_items(model, keep=lambda raw: True) -> list:
    """Every item of the model's table, read straight from moto's memory: a Scan through the API
    after every step would cost more than the step (moto serializes each response)."""
    table = dynamodb_backends[ACCOUNT_ID][REGION].get_table(model.Meta.table_name)
    raws = (item.to_json()["Attributes"] for item in table.all_items())
    return [model.from_raw_data(raw) for raw in raws if keep(raw)]


def empty_aws() -> None:
    """Empty every table and the SES outbox of the running moto mock: what a fresh
    mock_aws() + create_all() gives, for a fraction of its cost (it runs per example)."""
    for table in dynamodb_backends[ACCOUNT_ID][REGION].tables.values():
        table.items.clear()
    ses_backends[ACCOUNT_ID][REGION].sent_messages.clear()


@dataclass(frozen=True)
class Buyer:
    label: str
    email: str
    signed_in: bool = False

    def __repr__(self) -> str:
        return self.label


BUYERS = (  # two people; the member checks out signed in, or as a guest giving the account's email
    Buyer("ann(guest)", "ann@example.com"),
    Buyer("member(signed in)", MEMBER_EMAIL, signed_in=True),
    Buyer("member(as guest)", MEMBER_EMAIL),
)

# Where a racing delivery may cut into another: just before module.name, called while applying the
# first event's types; the racing event is one about the same order, of the second types if there is one.
_FULFILLING = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
_TAKING_ACCESS = {"charge.refunded", "charge.dispute.created", "charge.dispute.closed"}
RACE_POINTS = {
    "before_revoke": (entitlements, "revoke", _TAKING_ACCESS, _FULFILLING | {"charge.dispute.closed"}),
    "before_grant": (entitlements, "grant", _FULFILLING | {"charge.dispute.closed"}, _TAKING_ACCESS),
    "before_bind_buyer": (fulfillment, "_bind_buyer", _FULFILLING, _FULFILLING | _TAKING_ACCESS),
}


@dataclass
class Purchase:
    alias: str
    order_id: str
    session_id: str
    course: int
    buyer: Buyer


def deliver_beside(runner, event: dict) -> dict:
    """Deliver an event while another delivery is in progress: a second Lambda instance, i.e. the
    handler itself, past the in-process runner's one-invocation-at-a-time lock."""
    payload = json.dumps(event)
    handler = runner.handler("StripeWebhookFunction")
    response = handler(function_url_event(payload, {"stripe-signature": signature(payload)}),
                       LambdaContext("StripeWebhookFunction"))
    response["json"] = json.loads(response["body"])
    return response


@contextlib.contextmanager
def before_first_call(module, name: str, action):
    """Run `action` once, just before the first call of module.name inside the block; yields a
    list that is non-empty once it ran. An exception in `action` is raised at the end of the block
    (inside, the webhook's own error handling would swallow it into a 500)."""
    real = getattr(module, name)
    fired, errors = [], []

    def hooked(*args, **kwargs):
        if not fired:
            fired.append(True)
            setattr(module, name, real)
            try:
                action()
            except BaseException as exc:
                errors.append(exc)
        return real(*args, **kwargs)

    setattr(module, name, hooked)
    try:
        yield fired
    finally:
        setattr(module, name, real)
    if errors:
        raise errors[0]


def _step(method):
    """Marks the machine broken until the step (or invariant) returns, so teardown does not
    pile a drain on top of a failure that hypothesis is already reporting."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        self.broken = True
        result = method(self, *args, **kwargs)
        self.broken = False
        return result
    return run


class PaymentMachine(RuleBasedStateMachine):
    emu = None  # set by the test: the session's Stripe emulator
    runner = None
    price_ids: tuple[str, ...] = ()

    def __init__(self):
        super().__init__()
        self.broken = False
        empty_aws()  # each example starts from empty tables
        self.api = Api(self.runner)
        self.courses = []
        for index, (price, price_id) in enumerate(zip(PRICES, self.price_ids, strict=True)):
            course = make_course(f"machine-course-{index}", price=price, modules=1, lessons_per_module=1)
            course.stripe_price_id = price_id
            course.save()
            self.courses.append(course)
        self.member = create_user(MEMBER_EMAIL, password_hash="argon2-placeholder-hash")
        self.member_token = jwt_tokens.mint(self.member.id).token
        self.checkouts = 0
        with self.emu.state.lock:
            self.cursor = len(self.emu.state["event"])  # the events before this example are not ours
        self.purchases: dict[str, Purchase] = {}  # by order id
        self.alias_of_intent: dict[str, str] = {}
        self.events: list[dict] = []  # this example's subscribed events, creation order
        self.labels: dict[str, dict] = {}  # readable label → event
        self.acked: dict[str, bool] = {}  # event id → last delivery answered 200
        self.recorded: set[str] = set()  # event ids delivered at least once (so the operator can reprocess them)
        self.statuses_seen: dict[str, list[str]] = {}
        self.entitlement_keys: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ emulator state

    def _collect(self) -> None:
        with self.emu.state.lock:
            new = copy.deepcopy(list(self.emu.state["event"].values())[self.cursor:])
            self.cursor += len(new)
        for event in new:
            if event["type"] not in webhook.SUBSCRIBED_EVENTS:
                continue
            label = f"e{len(self.events) + 1}:{event['type']}:{self._alias_of(event['data']['object'])}"
            self.events.append(event)
            self.labels[label] = event
            self.acked[event["id"]] = False

    def _alias_of(self, obj: dict) -> str:
        order_id = (obj.get("metadata") or {}).get("order_id")
        if order_id in self.purchases:
            return self.purchases[order_id].alias
        return self.alias_of_intent.get(obj.get("payment_intent") or "", "?")

    def _session(self, purchase: Purchase) -> dict:
        return self.emu.engine.get("checkout.session", purchase.session_id)

    def _intent(self, purchase: Purchase) -> dict | None:
        intent_id = self._session(purchase)["payment_intent"]
        return self.emu.engine.get("payment_intent", intent_id) if intent_id else None

    def _charge(self, purchase: Purchase) -> dict | None:
        intent = self._intent(purchase)
        if intent is None or not intent["latest_charge"]:
            return None
        return self.emu.engine.get("charge", intent["latest_charge"])

    def _dispute(self, charge: dict) -> dict | None:
        disputes = self.emu.engine.list("dispute", lambda d: d["charge"] == charge["id"])  # newest first
        return disputes[0] if disputes else None

    def _where(self, keep) -> list[str]:
        return [p.alias for p in self.purchases.values() if keep(p)]

    def _purchase(self, alias: str) -> Purchase:
        return next(p for p in self.purchases.values() if p.alias == alias)

    def _open(self) -> list[str]:
        return self._where(lambda p: self._session(p)["status"] == "open")

    def _processing(self) -> list[str]:
        return self._where(lambda p: (self._intent(p) or {}).get("status") == "processing")

    def _refundable(self) -> list[str]:
        def keep(p):
            charge = self._charge(p)
            if charge is None or charge["amount_refunded"] >= charge["amount"]:
                return False
            dispute = self._dispute(charge)
            return not charge["disputed"] or (dispute is not None and dispute["status"] == "won")
        return self._where(keep)

    def _disputable(self) -> list[str]:
        def keep(p):
            charge = self._charge(p)
            return charge is not None and not charge["disputed"]
        return self._where(keep)

    def _open_disputes(self) -> list[str]:
        def keep(p):
            charge = self._charge(p)
            dispute = charge and self._dispute(charge)
            return bool(dispute) and dispute["status"] not in ("won", "lost", "warning_closed")
        return self._where(keep)

    # ------------------------------------------------------------ deliveries

    def _deliver(self, event: dict, via: str = "webhook", *, concurrent: bool = False) -> int:
        if via == "operator":
            return self._reprocess(event)
        self.recorded.add(event["id"])
        if concurrent:
            response = deliver_beside(self.runner, event)
        else:
            response = deliver(self.runner, event)
        self._collect()  # what the webhook did at Stripe: other sessions expired, a duplicate refunded
        status = response["statusCode"]
        assert status in (200, 500), response
        if status == 500:
            assert response["json"]["error"]["code"] == "processing_failed", response
            record = StripeEvent.get(event["id"], consistent_read=True)
            if record.status != PROCESSED:  # else a racing delivery of the same event finished it
                assert record.status == EVENT_FAILED, record.status
                assert record.processing_error.startswith("RetryLater"), \
                    f"{event['type']} failed: {record.processing_error}"
        self.acked[event["id"]] = status == 200
        return status

    def _reprocess(self, event: dict) -> int:
        """`python -m lectern_admin events reprocess <id>`: re-applies a recorded event, processed or not."""
        out = io.StringIO()
        applied = events_cmd.run_reprocess(argparse.Namespace(event_id=event["id"]), out)
        self._collect()
        if applied == 0:
            return 200
        assert f"{event['type']}  FAILED: RetryLater" in out.getvalue(), out.getvalue()
        return 500

    # ------------------------------------------------------------ rules: buyers and Stripe

    @initialize(buyer=st.sampled_from(BUYERS), course=st.sampled_from(range(len(PRICES))), delayed=st.booleans())
    @_step
    def first_purchase(self, buyer: Buyer, course: int, delayed: bool):
        """Every example starts with a checkout paid at Stripe (its events not delivered yet)."""
        self._pay(self._checkout(buyer, course), delayed)

    @precondition(lambda self: self.checkouts < MAX_CHECKOUTS)
    @rule(buyer=st.sampled_from(BUYERS), course=st.sampled_from(range(len(PRICES))),
          then=st.sampled_from(("leave open", "pay by card", "pay by bank debit")))
    @_step
    def checkout(self, buyer: Buyer, course: int, then: str):
        """A checkout; the buyer may go straight on to pay on the hosted page."""
        purchase = self._checkout(buyer, course)
        if purchase is not None and then != "leave open":
            self._pay(purchase, delayed=then == "pay by bank debit")

    def _checkout(self, buyer: Buyer, course: int) -> Purchase | None:
        self.checkouts += 1
        target = self.courses[course]
        owner = self.member.id if buyer.signed_in else user_id_for_email(buyer.email)
        owned = bool(owner) and entitlements.is_active(owner, target.id)
        kwargs = {"body": {"course_slug": target.slug}}
        if buyer.signed_in:
            kwargs["headers"] = {"authorization": f"Bearer {self.member_token}"}
        else:
            kwargs["body"]["email"] = buyer.email
        response = self.api.post("/checkout", **kwargs)
        if owned:  # a second purchase while the first one's access is on
            assert response["statusCode"] == 409, response
            assert response["json"]["error"]["code"] == "already_owned"
            return None
        assert response["statusCode"] == 201, response
        created = response["json"]
        if created["order_id"] in self.purchases:  # the buyer's open session for the course, reused
            reused = self.purchases[created["order_id"]]
            assert (reused.session_id, reused.course) == (created["checkout_session_id"], course)
            assert self._session(reused)["status"] == "open"
            return reused
        alias = f"o{len(self.purchases) + 1}"
        purchase = Purchase(alias, created["order_id"], created["checkout_session_id"], course, buyer)
        self.purchases[purchase.order_id] = purchase
        self._collect()
        return purchase

    @precondition(lambda self: self._open())
    @rule(data=st.data(), delayed=st.booleans())
    @_step
    def pay(self, data, delayed: bool):
        self._pay(self._purchase(data.draw(st.sampled_from(self._open()), label="order")), delayed)

    def _pay(self, purchase: Purchase, delayed: bool) -> None:
        session = self.emu.pay(purchase.session_id, delayed=delayed)
        self.alias_of_intent[session["payment_intent"]] = purchase.alias
        self._collect()

    @precondition(lambda self: self._processing())
    @rule(data=st.data(), succeed=st.booleans())
    @_step
    def settle_delayed_payment(self, data, succeed: bool):
        purchase = self._purchase(data.draw(st.sampled_from(self._processing()), label="order"))
        self.emu.settle_delayed(purchase.session_id, succeed=succeed)
        self._collect()

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    @_step
    def expire(self, data):
        purchase = self._purchase(data.draw(st.sampled_from(self._open()), label="order"))
        self.emu.expire(purchase.session_id)
        self._collect()

    @precondition(lambda self: self._refundable())
    @rule(data=st.data(), full=st.booleans())
    @_step
    def refund(self, data, full: bool):
        purchase = self._purchase(data.draw(st.sampled_from(self._refundable()), label="order"))
        charge = self._charge(purchase)
        left = charge["amount"] - charge["amount_refunded"]
        amount = None if full or left == 1 else data.draw(st.integers(1, left - 1), label="amount")
        self.emu.refund(charge["id"], amount=amount)
        self._collect()

    @precondition(lambda self: self._disputable())
    @rule(data=st.data(), then=st.sampled_from(("stays open", "won", "lost")))
    @_step
    def open_dispute(self, data, then: str):
        """A chargeback; the bank may decide it at once (both events then wait to be delivered)."""
        purchase = self._purchase(data.draw(st.sampled_from(self._disputable()), label="order"))
        dispute = self.emu.dispute(self._charge(purchase)["id"])
        if then != "stays open":
            self.emu.close_dispute(dispute["id"], won=then == "won")
        self._collect()

    @precondition(lambda self: self._open_disputes())
    @rule(data=st.data(), won=st.booleans())
    @_step
    def close_dispute(self, data, won: bool):
        purchase = self._purchase(data.draw(st.sampled_from(self._open_disputes()), label="order"))
        self.emu.close_dispute(self._dispute(self._charge(purchase))["id"], won=won)
        self._collect()

    # ------------------------------------------------------------ rules: webhook deliveries

    @precondition(lambda self: self.events)
    @rule(data=st.data(), how=st.sampled_from(("first", "again", "operator")))
    @_step
    def deliver_event(self, data, how: str):
        """first: a first delivery, or Stripe's retry of one that failed, in any order; again: any
        event again (a duplicate, or a late one); operator: the runbook's `events reprocess`,
        which re-applies a recorded event even when it was processed."""
        labels = self._labels()
        if how == "first":
            labels = [label for label in labels if not self.acked[self.labels[label]["id"]]] or labels
        elif how == "operator":
            labels = self._labels(recorded=True)
            if not labels:  # nothing recorded yet: nothing to reprocess
                how, labels = "first", self._labels()
        self._deliver(self.labels[data.draw(st.sampled_from(labels), label="event")],
                      "operator" if how == "operator" else "webhook")

    def _race_points(self) -> list[str]:
        return [point for point, (_, _, first_types, _) in RACE_POINTS.items() if self._labels(first_types)]

    @precondition(lambda self: self._race_points())
    @rule(data=st.data())
    @_step
    def race(self, data):
        """Apply an event that calls the point's function: delivered by the webhook if Stripe has
        not had a 200 for it yet, else reprocessed by the operator (which re-applies a processed
        event); when its processing gets there, another delivery about the same order (possibly
        of the same event) runs to completion first: what two concurrent invocations can do."""
        point = data.draw(st.sampled_from(self._race_points()), label="point")
        module, name, first_types, second_types = RACE_POINTS[point]
        first = self.labels[data.draw(st.sampled_from(self._labels(first_types)), label="event")]
        via = "operator" if self.acked[first["id"]] else "webhook"
        alias = self._alias_of(first["data"]["object"])
        seconds = [lb for lb in self._labels(second_types) if lb.endswith(f":{alias}")] or \
            [lb for lb in self._labels() if lb.endswith(f":{alias}")]
        second = self.labels[data.draw(st.sampled_from(seconds), label="racing event")]

        def racing_delivery():
            self._track_statuses()
            self._deliver(second, concurrent=True)
            self._track_statuses()

        with before_first_call(module, name, racing_delivery) as fired:
            self._deliver(first, via)
        if not fired:  # the first never got there (a duplicate, or an early refund): one after the other
            self._deliver(second)

    def _labels(self, types=None, *, recorded: bool = False) -> list[str]:
        """Event labels, newest first (hypothesis favours the first of a list; the newest are the
        ones the last Stripe actions made, and not yet delivered)."""
        return [label for label, event in reversed(self.labels.items())
                if (types is None or event["type"] in types) and (not recorded or event["id"] in self.recorded)]

    # ------------------------------------------------------------ invariants

    def _orders(self) -> dict[str, Order]:
        return {o.id: o for o in table_items(Order, lambda raw: raw["sk"] == {"S": "ORDER"})}

    def _entitlements(self) -> list[Entitlement]:
        return table_items(Entitlement, lambda raw: raw["sk"]["S"].startswith("ENT#"))

    def _track_statuses(self) -> dict[str, Order]:
        """Orders are never deleted and move only along TRANSITIONS. Called after every step, and
        around a racing delivery too (a delivery makes at most one transition, so none is missed;
        except a duplicate purchase, paid and refunded by one delivery, recognised by its reason)."""
        orders = self._orders()
        assert set(self.statuses_seen) <= set(orders), "an order disappeared"
        for order_id, order in orders.items():
            seen = self.statuses_seen.setdefault(order_id, [order.status])
            if order.status != seen[-1]:
                if (seen[-1], order.status) == (PENDING, REFUNDED) and order.refund_reason == DUPLICATE_PURCHASE:
                    seen.append(PAID)  # a duplicate is paid and refunded within one delivery
                assert order.status in TRANSITIONS[seen[-1]], \
                    f"order {self._name(order_id)}: {' → '.join(seen)} → {order.status} is not allowed"
                seen.append(order.status)
        return orders

    @invariant()
    @_step
    def tables_are_consistent(self):
        orders = self._track_statuses()
        assert set(orders) == set(self.purchases), "orders other than the 201 answers exist"

        # One item per user and course, never deleted; active exactly when its order is paid, unblocked.
        items = self._entitlements()
        keys = [(e.user_id, e.course_id) for e in items]
        assert len(keys) == len(set(keys))
        assert self.entitlement_keys <= set(keys), "an entitlement item was deleted"
        self.entitlement_keys = set(keys)
        for ent in items:
            order = orders.get(ent.order_id)
            assert order is not None, f"entitlement without a known order: {ent.attribute_values}"
            should = order.status == PAID and order.dispute_status not in BLOCKING_DISPUTES
            assert (ent.status == ACTIVE) == should, (
                f"entitlement of {self._name(order.id)} is {ent.status}, but its order is {order.status} "
                f"with dispute {order.dispute_status}")
            assert order.user_id == ent.user_id and self.purchases[order.id].course == self._course_index(ent)

        # Every recorded event is processed, or failed with its error (and only ever RetryLater).
        for record in table_items(StripeEvent):
            if record.status == PROCESSED:
                assert record.processing_error is None
            else:
                assert record.status == EVENT_FAILED and record.processing_error, (record.status, record.outcome)
                assert record.processing_error.startswith("RetryLater"), record.processing_error

        # One account per email; one receipt per order, sent exactly when stamped.
        emails = [u.email for u in table_items(User, lambda raw: raw["sk"] == {"S": "PROFILE"})]
        assert len(emails) == len(set(emails)), emails
        receipts = [re.search(r"Order (\S+) ", m.body).group(1) for m in sent_emails() if m.subject == RECEIPT_SUBJECT]
        assert len(receipts) == len(set(receipts)), "a receipt was sent twice"
        assert set(receipts) == {o.id for o in orders.values() if o.receipt_sent_at}

    def _name(self, order_id: str) -> str:
        purchase = self.purchases.get(order_id)
        return f"{purchase.alias} ({purchase.buyer!r}, course {purchase.course})" if purchase else order_id

    def _course_index(self, ent: Entitlement) -> int:
        return next(i for i, c in enumerate(self.courses) if c.id == ent.course_id)

    # ------------------------------------------------------------ the end: Stripe's retries, then convergence

    def teardown(self):
        if not self.broken:
            self._drain()
            self.tables_are_consistent()
            self._converged()

    def _drain(self) -> None:
        for _ in range(5):
            pending = [e for e in self.events if not self.acked[e["id"]]]
            if not pending:
                return
            for event in pending:
                self._deliver(event)
                self.tables_are_consistent()  # every delivery is a step: each status change is seen
        stuck = [lb for lb, e in self.labels.items() if not self.acked[e["id"]]]
        assert not stuck, f"never acknowledged after Stripe's retries: {stuck}"

    def _expected(self, purchase: Purchase) -> tuple[str, int, str | None, bool]:
        """What Stripe says the order should be: (status, amount refunded, dispute status, gives access)."""
        session = self._session(purchase)
        if session["status"] == "open":
            return PENDING, 0, None, False
        if session["status"] == "expired":
            return FAILED, 0, None, False
        if session["payment_status"] != "paid":
            intent = self._intent(purchase)
            return (PENDING if intent["status"] == "processing" else FAILED), 0, None, False
        charge = self._charge(purchase)
        dispute = self._dispute(charge)
        dispute_status = dispute["status"] if dispute else None
        if charge["refunded"]:
            return REFUNDED, charge["amount_refunded"], dispute_status, False
        return PAID, charge["amount_refunded"], dispute_status, dispute_status not in BLOCKING_DISPUTES

    def _converged(self) -> None:
        assert all(r.status == PROCESSED for r in table_items(StripeEvent))
        orders = self._orders()
        owed: dict[tuple[str, str], list[str]] = {}  # (user, course) → orders that should give access
        for order_id, purchase in self.purchases.items():
            order = orders[order_id]
            status, refunded, dispute_status, access = self._expected(purchase)
            name = self._name(order_id)
            assert order.status == status, f"{name}: {order.status}, Stripe says {status}"
            assert (order.amount_refunded or 0) == refunded, f"{name}: refunded {order.amount_refunded}, not {refunded}"
            assert order.dispute_status == dispute_status, \
                f"{name}: dispute {order.dispute_status}, not {dispute_status}"
            if status in (PAID, REFUNDED):
                expected_user = self.member.id if purchase.buyer.signed_in else user_id_for_email(purchase.buyer.email)
                assert order.user_id == expected_user and order.gsi1pk == f"USER#{expected_user}", name
                if order.duplicate_of:  # paid while another order gave the course: refunded, no receipt
                    assert not order.receipt_sent_at, f"{name}: a receipt for a duplicate"
                    # (unless its charge was disputed first: then the bank decides)
                    assert status == REFUNDED or dispute_status, f"{name}: a duplicate not refunded"
                    assert status != REFUNDED or order.refund_reason == DUPLICATE_PURCHASE, name
                else:
                    assert order.receipt_sent_at, f"{name}: no receipt"
                charge = self._charge(purchase)
                refunds = [r for r in self.emu.engine.list("refund", lambda r: r["charge"] == charge["id"])]
                records = list(RefundRecord.query(order_pk(order_id), RefundRecord.sk.startswith("REFUND#")))
                assert sorted(r.stripe_refund_id for r in records) == sorted(r["id"] for r in refunds), name
            key = (order.user_id, self.courses[purchase.course].id)
            if access:
                owed.setdefault(key, []).append(order_id)
            elif order.user_id:
                owed.setdefault(key, [])
        for (user_id, course_id), paid_orders in owed.items():
            ent = entitlements.get(user_id, course_id)
            active = ent is not None and ent.status == ACTIVE
            names = [self._name(o) for o in paid_orders]
            assert active == bool(paid_orders), (
                f"access to course {course_id} is {'on' if active else 'off'} for user {user_id}; "
                f"orders that paid for it and stand: {names}; the entitlement names "
                f"{self._name(ent.order_id) if ent else None}")
            if active:
                assert ent.order_id in paid_orders


@pytest.fixture
def machine(aws, emulator, runner, monkeypatch):
    monkeypatch.setenv("STRIPE_API_BASE", emulator.base_url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("AUTH_SIGNING_KEY", "state-machine-signing-key-" + "s" * 40)
    client = stripe_client(emulator)
    price_ids = tuple(client.v1.prices.create(params={
        "currency": "usd", "unit_amount": price, "product_data": {"name": f"Machine course {index}"}}).id
        for index, price in enumerate(PRICES))
    monkeypatch.setattr(PaymentMachine, "emu", emulator)
    monkeypatch.setattr(PaymentMachine, "runner", runner)
    monkeypatch.setattr(PaymentMachine, "price_ids", price_ids)
    return PaymentMachine


@pytest.mark.timeout(600)  # about 40 s; the rest is for hypothesis to shrink a failure before reporting it
def test_payments_keep_their_invariants_under_any_delivery_order(machine):
    run_state_machine_as_test(machine, settings=SETTINGS)


# ------------------------------------------------------------------ what the machine found, pinned down

def _paid_checkout(api, emu, course, email: str) -> tuple[str, dict]:
    created = start_checkout(api, course, email)
    return created["order_id"], emu.pay(created["checkout_session_id"])


def _charge(emu, session: dict) -> str:
    return emu.engine.get("payment_intent", session["payment_intent"])["latest_charge"]


def _access(course, email: str) -> tuple[bool, str | None]:
    ent = entitlements.get(user_id_for_email(email), course.id)
    return ent is not None and ent.status == ACTIVE, ent and ent.order_id


def test_a_dispute_opened_while_fulfillment_grants_leaves_access_off(api, stripe_env, runner):
    """The grant re-checks the order's dispute in its transaction (it checked only `paid`): a
    dispute recorded after fulfillment read the order, but before its grant, kept access on."""
    course = sellable_course(stripe_env)
    order_id, session = _paid_checkout(api, stripe_env, course, "racer@example.com")
    dispute = stripe_env.dispute(_charge(stripe_env, session))
    created = last_event(stripe_env, "charge.dispute.created", dispute["id"])

    with before_first_call(entitlements, "grant",
                           lambda: deliver_beside(runner, created)) as fired:  # after _bind_buyer: applies
        assert deliver(runner, last_event(stripe_env, "checkout.session.completed", session["id"]))["statusCode"] == 200
    assert fired
    order = Order.get(*Order.key(order_id), consistent_read=True)
    assert (order.status, order.dispute_status) == (PAID, "needs_response")
    assert _access(course, "racer@example.com")[0] is False


def test_a_dispute_won_while_its_opening_is_applied_leaves_access_on(api, stripe_env, runner):
    """A dispute-opened revoke requires, in its transaction, that the order no longer gives access:
    a "closed: won" applied between the opened event's dispute write and its revoke lost access."""
    course = sellable_course(stripe_env)
    order_id, session = _paid_checkout(api, stripe_env, course, "winner@example.com")
    assert deliver(runner, last_event(stripe_env, "checkout.session.completed", session["id"]))["statusCode"] == 200
    dispute = stripe_env.dispute(_charge(stripe_env, session))
    stripe_env.close_dispute(dispute["id"], won=True)
    closed = last_event(stripe_env, "charge.dispute.closed", dispute["id"])

    with before_first_call(entitlements, "revoke", lambda: deliver_beside(runner, closed)) as fired:
        assert deliver(runner, last_event(stripe_env, "charge.dispute.created", dispute["id"]))["statusCode"] == 200
    assert fired
    order = Order.get(*Order.key(order_id), consistent_read=True)
    assert (order.status, order.dispute_status) == (PAID, "won")
    assert _access(course, "winner@example.com") == (True, order_id)


def test_paying_twice_for_a_course_refunds_the_second_payment(api, stripe_env, runner):
    """Two checkouts for one course and buyer, both paid at Stripe before either is fulfilled (the
    first session was already complete when the second checkout was made, so it could not be
    reused). The first fulfillment grants; the second finds the course held through the first
    order and gives its payment back: one receipt, the second order refunded as a duplicate. (Both
    used to stay paid, access moving to the second when the first was refunded.)"""
    course = sellable_course(stripe_env)
    first_id, first = _paid_checkout(api, stripe_env, course, "twice@example.com")
    second_id, second = _paid_checkout(api, stripe_env, course, "twice@example.com")
    assert second_id != first_id
    for session in (first, second):
        assert deliver(runner, last_event(stripe_env, "checkout.session.completed", session["id"]))["statusCode"] == 200
    assert _access(course, "twice@example.com") == (True, first_id)
    duplicate = Order.get(*Order.key(second_id), consistent_read=True)
    assert (duplicate.status, duplicate.refund_reason, duplicate.duplicate_of) == (REFUNDED, DUPLICATE_PURCHASE,
                                                                                   first_id)
    assert _charge_of(stripe_env, second)["refunded"] is True
    receipts = [m for m in sent_emails("twice@example.com") if m.subject == RECEIPT_SUBJECT]
    assert len(receipts) == 1 and first_id in receipts[0].body

    # Stripe's charge.refunded for the duplicate records the refund and changes nothing else.
    assert deliver(runner, last_event(stripe_env, "charge.refunded", _charge(stripe_env, second)))["statusCode"] == 200
    assert _access(course, "twice@example.com") == (True, first_id)
    # Refunding the first takes access away: nothing else pays for the course now.
    stripe_env.refund(first["payment_intent"])
    assert deliver(runner, last_event(stripe_env, "charge.refunded", _charge(stripe_env, first)))["statusCode"] == 200
    assert Order.get(*Order.key(first_id), consistent_read=True).status == REFUNDED
    assert _access(course, "twice@example.com") == (False, first_id)


def _charge_of(emu, session: dict) -> dict:
    return emu.engine.get("charge", _charge(emu, session))

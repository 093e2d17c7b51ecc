"""Concurrent deliveries: Stripe retries, redelivers and sends related events at once.
Whatever the interleaving, one paid transition, one entitlement, one email of each kind."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from lectern.entitlements import service as entitlements
from lectern.models.events import PROCESSED, StripeEvent
from lectern.models.orders import PAID, Order
from lectern.models.users import User
from support.payments_support import (
    deliver, last_event, sellable_course, sent_emails, start_checkout,
)

THREADS = 20
pytestmark = pytest.mark.usefixtures("atomic_aws_requests")


@pytest.fixture(scope="module")
def pool():
    # Reused across the module's tests: each new thread builds its own botocore session
    # (PynamoDB keeps them per thread), which is most of what 20 fresh threads cost.
    with ThreadPoolExecutor(max_workers=THREADS) as executor:
        yield executor


def _deliver_together(pool, runner, events: list[dict]) -> list[int]:
    """Deliver every event from its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(events))

    def send(event):
        barrier.wait(timeout=30)
        return deliver(runner, event)["statusCode"]

    return list(pool.map(send, events, timeout=60))


@pytest.fixture
def course(stripe_env):
    return sellable_course(stripe_env)


def test_one_event_delivered_twenty_times_at_once_applies_once(pool, api, runner, stripe_env, course,
                                                               paid_transitions):
    created = start_checkout(api, course, "crowd@example.com")
    session = stripe_env.pay(created["checkout_session_id"])
    completed = last_event(stripe_env, "checkout.session.completed", session["id"])

    assert _deliver_together(pool, runner, [completed] * THREADS) == [200] * THREADS

    order = Order.get(*Order.key(created["order_id"]), consistent_read=True)
    assert order.status == PAID and paid_transitions == [order.id]
    assert [u.email for u in User.scan() if u.sk == "PROFILE"] == ["crowd@example.com"]
    assert entitlements.is_active(order.user_id, course.id)
    assert [h.action for h in entitlements.history(order.user_id)] == ["grant"]
    subjects = sorted(m.subject for m in sent_emails("crowd@example.com"))
    assert subjects == ["Set your password to start learning", "Your Lectern receipt"]
    assert StripeEvent.get(completed["id"]).status == PROCESSED


def test_completed_and_async_succeeded_at_once_make_one_paid_transition(pool, api, runner, stripe_env, course,
                                                                         paid_transitions):
    created = start_checkout(api, course, "bank@example.com")
    session = stripe_env.pay(created["checkout_session_id"], delayed=True)
    stripe_env.settle_delayed(session["id"], succeed=True)
    events = [last_event(stripe_env, "checkout.session.completed", session["id"]),
              last_event(stripe_env, "checkout.session.async_payment_succeeded", session["id"])]

    # Both events (each redelivered a few times) race; both read the session as paid now.
    assert _deliver_together(pool, runner, events * 5) == [200] * 10

    order = Order.get(*Order.key(created["order_id"]), consistent_read=True)
    assert order.status == PAID and paid_transitions == [order.id]
    assert [h.action for h in entitlements.history(order.user_id)] == ["grant"]
    assert len(sent_emails("bank@example.com")) == 2


def test_concurrent_fulfillment_and_full_refund_end_refunded_without_access(pool, api, runner, stripe_env, course):
    created = start_checkout(api, course, "racer@example.com")
    session = stripe_env.pay(created["checkout_session_id"])
    completed = last_event(stripe_env, "checkout.session.completed", session["id"])
    assert deliver(runner, completed)["statusCode"] == 200
    charge = stripe_env.engine.get("payment_intent", session["payment_intent"])["latest_charge"]
    stripe_env.refund(charge)
    refunded = last_event(stripe_env, "charge.refunded", charge)

    assert set(_deliver_together(pool, runner, [completed, refunded] * 5)) == {200}

    order = Order.get(*Order.key(created["order_id"]), consistent_read=True)
    assert order.status == "refunded"
    assert not entitlements.is_active(order.user_id, course.id)

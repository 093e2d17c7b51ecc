"""Shared pieces of the payment tests: the Stripe emulator, sellable courses, and
webhook deliveries signed exactly like Stripe's, sent to the function in-process."""
import hashlib
import hmac
import json
import threading
import time
import uuid

import pytest
import stripe

from lectern.accounts.users import user_id_for_email
from lectern.entitlements import service as entitlements
from lectern.models.events import StripeEvent
from lectern.models.orders import Order
from lectern_dev.events import function_url_event  # noqa: F401  (re-exported for the tests)
from lectern_dev.stripe_emulator import StripeEmulator
from support.factories import make_course

WEBHOOK_SECRET = "whsec_test_lectern"
API_KEY = "sk_test_lectern"


@pytest.fixture(scope="session")
def emulator():
    """One emulator for the session (stopping one takes half a second); tests use their own objects.
    No webhook_url: the tests deliver events themselves, in order or not, as often as they like."""
    emu = StripeEmulator(port=0, webhook_secret=WEBHOOK_SECRET, api_key=API_KEY)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def stripe_env(aws, emulator, monkeypatch):
    monkeypatch.setenv("STRIPE_API_BASE", emulator.base_url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return emulator


@pytest.fixture
def atomic_aws_requests(monkeypatch):
    """Make moto handle one AWS request at a time, as DynamoDB makes each request atomic.

    moto's TransactWriteItems is not isolated: it applies items one by one and, when
    one fails, restores a deep copy of the whole table taken before, erasing writes
    other threads made meanwhile. Real DynamoDB never does that; threads still
    interleave freely between requests, which is the concurrency under test."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    real = BotocoreStubber.process_request

    def one_at_a_time(self, request):
        with lock:
            return real(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", one_at_a_time)


@pytest.fixture
def paid_transitions(monkeypatch) -> list[str]:
    """The order id of each pending → paid write that lands (the transaction that commits)."""
    from lectern.payments import fulfillment

    landed: list[str] = []
    real = fulfillment._mark_paid

    def counting(order, session, *args, **kwargs):
        changed = real(order, session, *args, **kwargs)
        if changed:
            landed.append(order.id)
        return changed

    monkeypatch.setattr(fulfillment, "_mark_paid", counting)
    return landed


def stripe_client(emu: StripeEmulator) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emu.base_url}, http_client=stripe.UrllibClient())


def sellable_course(emu: StripeEmulator, slug: str | None = None, *, price: int = 4900):
    """A published course with a Stripe price in the emulator."""
    slug = slug or f"course-{uuid.uuid4().hex[:10]}"
    course = make_course(slug, price=price, modules=1, lessons_per_module=1)
    stripe_price = stripe_client(emu).v1.prices.create(
        params={"currency": "usd", "unit_amount": price, "product_data": {"name": course.title}})
    course.stripe_price_id = stripe_price.id
    course.save()
    return course


def promotion_code(emu: StripeEmulator, *, percent_off: float = 20, active: bool = True,
                   minimum_amount: int | None = None) -> str:
    client = stripe_client(emu)
    coupon = client.v1.coupons.create(params={"percent_off": percent_off, "duration": "once"})
    code = f"SAVE{uuid.uuid4().hex[:8].upper()}"
    params = {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code, "active": active}
    if minimum_amount is not None:
        params["restrictions"] = {"minimum_amount": minimum_amount, "minimum_amount_currency": "usd"}
    client.v1.promotion_codes.create(params=params)
    return code


def start_checkout(api, course, email: str = "buyer@example.com", **extra) -> dict:
    response = api.post("/checkout", body={"course_slug": course.slug, "email": email, **extra})
    assert response["statusCode"] == 201, response
    return response["json"]


# ------------------------------------------------------------------ webhook deliveries

def signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    # Written out here rather than borrowed from the emulator, so the test checks both against Stripe's scheme.
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(runner, event: dict | str, **kwargs) -> dict:
    """POST one event to the webhook function, signed now with the right secret."""
    payload = event if isinstance(event, str) else json.dumps(event)
    return deliver_raw(runner, payload, {"stripe-signature": signature(payload)}, **kwargs)


def deliver_raw(runner, payload: str, headers: dict[str, str], **kwargs) -> dict:
    response = runner.invoke_dict("StripeWebhookFunction", function_url_event(payload, headers, **kwargs))
    response["json"] = json.loads(response["body"]) if response.get("body") else None
    return response


def events_for(emu: StripeEmulator, event_type: str, object_id: str | None = None) -> list[dict]:
    """The emulator's events of one type (about one object), oldest first."""
    return [e for e in emu.events
            if e["type"] == event_type and (object_id is None or e["data"]["object"]["id"] == object_id)]


def last_event(emu: StripeEmulator, event_type: str, object_id: str | None = None) -> dict:
    found = events_for(emu, event_type, object_id)
    assert found, f"no {event_type} event for {object_id}"
    return found[-1]


def sent_emails(to: str | None = None) -> list:
    from moto.ses.models import ses_backends

    messages = ses_backends["123456789012"]["us-east-1"].sent_messages
    return [m for m in messages if to is None or to in m.destinations.get("ToAddresses", [])]


# ------------------------------------------------------------------ one buyer's journey

@pytest.fixture
def shop(api, stripe_env, runner):
    return Shop(api, stripe_env, runner)


class Shop:
    """One buyer's journey: checkout, pay at the (emulated) hosted page, deliver Stripe's events."""

    def __init__(self, api, emu, runner):
        self.api, self.emu, self.runner = api, emu, runner
        self.course = sellable_course(emu)

    def checkout(self, email="buyer@example.com", **extra) -> dict:
        return start_checkout(self.api, self.course, email, **extra)

    def deliver(self, event: dict) -> dict:
        return deliver(self.runner, event)

    def event(self, event_type: str, object_id: str) -> dict:
        return last_event(self.emu, event_type, object_id)

    def paid(self, email="buyer@example.com", **extra) -> tuple[Order, dict]:
        """Checkout, pay by card, deliver checkout.session.completed. Returns (order, session)."""
        created = self.checkout(email, **extra)
        session = self.emu.pay(created["checkout_session_id"])
        assert self.deliver(self.event("checkout.session.completed", session["id"]))["statusCode"] == 200
        return order_of(created), session

    def charge_of(self, session: dict) -> str:
        return self.emu.engine.get("payment_intent", session["payment_intent"])["latest_charge"]

    def has_access(self, order: Order) -> bool:
        user_id = order.user_id or user_id_for_email(order.email)
        return bool(user_id) and entitlements.is_active(user_id, self.course.id)


def order_of(created: dict) -> Order:
    return Order.get(*Order.key(created["order_id"]), consistent_read=True)


def stored(event_id: str) -> StripeEvent:
    return StripeEvent.get(event_id, consistent_read=True)


def emails(subject_word: str, to: str = "buyer@example.com") -> list:
    return [m for m in sent_emails(to) if subject_word in m.subject]

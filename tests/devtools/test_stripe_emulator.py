"""Tests for the local Stripe emulator, driven through the official SDK over loopback HTTP.

Needs `devtools` on the import path (the project's pytest config adds it;
by hand: PYTHONPATH=devtools .venv/bin/python -m pytest tests/devtools -q).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import stripe

from lectern_dev.stripe_emulator import ApiError, StripeEmulator
from lectern_dev.stripe_emulator.forms import parse_form
from lectern_dev.stripe_emulator.store import DEFAULT_FIXTURES_PATH, REQUIRED_RESOURCES

API_KEY = "sk_test_lectern"
SECRET = "whsec_test_secret"
FAST_RETRIES = (0.05, 0.05, 0.05)
HTTP_TIMEOUT = 5  # seconds, for every plain `requests` call

FIXTURES = json.loads(DEFAULT_FIXTURES_PATH.read_text())["resources"]


# --------------------------------------------------------------------------- helpers


def assert_stripe_shape(obj, resource: str) -> None:
    """Every key of Stripe's sample object is present (extra keys allowed)."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    missing = set(FIXTURES[resource]) - set(data)
    assert not missing, f"{resource} lacks {sorted(missing)}"
    assert data["livemode"] is False


def sdk(emu: StripeEmulator, api_key: str = API_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": emu.base_url}, max_network_retries=0)


class WebhookReceiver:
    """A tiny HTTP server that records webhook deliveries.

    Answers with the queued `statuses` first, then `default_status`."""

    def __init__(self, statuses=(), default_status: int = 200):
        self.statuses = list(statuses)
        self.default_status = default_status
        self.received: list[tuple[dict, str]] = []  # (headers, body)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/webhook"

    def event_types(self) -> list[str]:
        with self.lock:
            return [json.loads(body)["type"] for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def emu():
    emulator = StripeEmulator(webhook_secret=SECRET, api_key=API_KEY, retry_delays=FAST_RETRIES)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def client(emu):
    return sdk(emu)


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def hooked_emu(receiver):
    """An emulator of its own that delivers webhooks to `receiver`."""
    emulator = StripeEmulator(
        webhook_url=receiver.url, webhook_secret=SECRET, api_key=API_KEY, retry_delays=FAST_RETRIES
    )
    emulator.start()
    yield emulator
    emulator.stop()


def make_price(client, unit_amount=5000, currency="eur"):
    product = client.v1.products.create(params={"name": "Python for Teams", "metadata": {"course_id": "c-1"}})
    return client.v1.prices.create(
        params={"product": product.id, "unit_amount": unit_amount, "currency": currency, "metadata": {"sku": "py"}}
    )


def make_promotion_code(client, percent_off=20, code=None):
    coupon = client.v1.coupons.create(params={"percent_off": percent_off, "name": f"{percent_off}% off"})
    code = code or f"SAVE{time.time_ns() % 10**9}"
    return client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code})


def make_session(client, price, **extra):
    params = {
        "mode": "payment",
        "line_items": [{"price": price.id, "quantity": 2}],
        "customer_email": "ada@example.com",
        "client_reference_id": "order-42",
        "metadata": {"order_id": "order-42"},
        "payment_intent_data": {"metadata": {"order_id": "order-42"}},
        "success_url": "http://127.0.0.1:9/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/cancel",
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)


def post_pay_page(session, **form):
    return requests.post(session.url, data=form, allow_redirects=False, timeout=HTTP_TIMEOUT)


# --------------------------------------------------------------------------- form parsing


def test_parse_form_builds_nested_dicts_and_lists():
    raw = (
        "line_items[0][price]=price_a&line_items[0][quantity]=2&line_items[1][price]=price_b"
        "&metadata[order_id]=42&metadata[0]=zero&payment_intent_data[metadata][order_id]=42"
        "&expand[]=line_items&expand[]=payment_intent&discounts[0][promotion_code]=promo_1&mode=payment"
    )
    assert parse_form(raw) == {
        "line_items": [{"price": "price_a", "quantity": "2"}, {"price": "price_b"}],
        "metadata": {"order_id": "42", "0": "zero"},
        "payment_intent_data": {"metadata": {"order_id": "42"}},
        "expand": ["line_items", "payment_intent"],
        "discounts": [{"promotion_code": "promo_1"}],
        "mode": "payment",
    }


def test_missing_fixtures_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="fixtures"):
        StripeEmulator(fixtures_path=tmp_path / "nope.json")


def test_default_fixtures_ship_inside_the_repository():
    # A fresh clone has nothing beside it: Stripe's sample objects are the emulator's own data.
    repo_root = Path(__file__).resolve().parents[2]
    assert DEFAULT_FIXTURES_PATH.resolve().is_relative_to(repo_root)
    assert DEFAULT_FIXTURES_PATH.is_file()
    assert set(REQUIRED_RESOURCES) <= set(FIXTURES)


# --------------------------------------------------------------------------- catalog


def test_catalog_objects_have_stripe_shape_and_filters_work(client):
    product = client.v1.products.create(params={"name": "Rust Basics", "description": "Intro", "metadata": {"a": "1"}})
    assert product.id.startswith("prod_") and product.object == "product"
    assert_stripe_shape(product, "product")

    price = client.v1.prices.create(
        params={"product": product.id, "unit_amount": 1999, "currency": "EUR", "lookup_key": f"rust-{product.id}"}
    )
    assert price.id.startswith("price_") and price.currency == "eur" and str(price.unit_amount_decimal) == "1999"
    assert_stripe_shape(price, "price")

    updated = client.v1.products.update(
        product.id, params={"default_price": price.id, "metadata": {"a": "", "b": "2"}, "name": "Rust Basics 2"}
    )
    assert updated.default_price == price.id and updated.metadata.to_dict() == {"b": "2"}
    assert updated.name == "Rust Basics 2"

    client.v1.prices.update(price.id, params={"active": False})
    listed = client.v1.prices.list(params={"product": product.id, "active": False})
    assert [p.id for p in listed.data] == [price.id]
    assert client.v1.prices.list(params={"product": product.id, "active": True}).data == []

    percent = client.v1.coupons.create(params={"percent_off": 25.5, "name": "quarter"})
    assert percent.percent_off == 25.5 and percent.valid is True
    assert_stripe_shape(percent, "coupon")
    fixed = client.v1.coupons.create(params={"amount_off": 500, "currency": "eur"})
    assert fixed.amount_off == 500 and fixed.currency == "eur"
    assert client.v1.coupons.retrieve(fixed.id).id == fixed.id

    promo = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": percent.id}, "code": f"Q{product.id[-6:]}"}
    )
    assert promo.id.startswith("promo_") and promo.promotion.coupon == percent.id and promo.active is True
    assert_stripe_shape(promo, "promotion_code")
    legacy = client.v1.promotion_codes.create(params={"coupon": fixed.id, "active": False})
    assert legacy.promotion.coupon == fixed.id and legacy.active is False

    found = client.v1.promotion_codes.list(params={"code": promo.code.lower(), "active": True})
    assert [p.id for p in found.data] == [promo.id]
    client.v1.promotion_codes.update(promo.id, params={"active": False})
    assert client.v1.promotion_codes.list(params={"code": promo.code, "active": True}).data == []
    assert client.v1.promotion_codes.retrieve(promo.id).active is False


def test_list_pagination_newest_first(client):
    ids = [client.v1.coupons.create(params={"amount_off": 100 + i, "currency": "usd"}).id for i in range(3)]
    page = client.v1.coupons.list(params={"limit": 2})
    assert page.object == "list" and page.url == "/v1/coupons" and page.has_more is True
    assert [c.id for c in page.data] == ids[::-1][:2]
    rest = client.v1.coupons.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert rest.data[0].id == ids[0]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.coupons.list(params={"limit": 101})


# --------------------------------------------------------------------------- checkout


def test_checkout_session_create_retrieve_and_line_items(emu, client):
    price = make_price(client, unit_amount=5000)
    promo = make_promotion_code(client, percent_off=20)
    session = make_session(client, price, discounts=[{"promotion_code": promo.id}])

    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert_stripe_shape(session, "checkout.session")
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert session.amount_subtotal == 10000
    assert session.total_details.amount_discount == 2000
    assert session.amount_total == 8000
    assert session.currency == "eur"
    assert session.url == f"{emu.base_url}/pay/{session.id}"
    assert session.expires_at == session.created + 24 * 3600
    assert session.success_url.endswith("{CHECKOUT_SESSION_ID}")
    assert session.client_reference_id == "order-42" and session.metadata.order_id == "order-42"
    assert session.payment_intent is None  # created only when the buyer pays
    assert session.discounts[0].promotion_code == promo.id

    expanded = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items", "payment_intent"]})
    (item,) = expanded.line_items.data
    assert_stripe_shape(item, "item")
    assert item.id.startswith("li_") and item.price.id == price.id and item.quantity == 2
    assert (item.amount_subtotal, item.amount_discount, item.amount_total) == (10000, 2000, 8000)
    assert item.description == "Python for Teams"

    line_items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [li.id for li in line_items.data] == [item.id]
    assert line_items.url == f"/v1/checkout/sessions/{session.id}/line_items"


def test_checkout_session_rejects_bad_promotion_codes(client):
    price = make_price(client)
    promo = make_promotion_code(client)
    client.v1.promotion_codes.update(promo.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as inactive:
        make_session(client, price, discounts=[{"promotion_code": promo.id}])
    assert inactive.value.param == "discounts[0][promotion_code]"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        make_session(client, price, discounts=[{"promotion_code": "promo_nope"}])
    assert unknown.value.code == "resource_missing"


def test_pay_through_hosted_page_redirects_and_records_payment(emu, client):
    session = make_session(client, make_price(client, unit_amount=2500))

    page = requests.get(session.url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    for text in ("Python for Teams", "50.00 EUR", "ada@example.com", 'value="pay"', 'value="pay_delayed"', 'value="cancel"'):
        assert text in page.text.replace("'", '"')

    response = post_pay_page(session, action="pay")
    assert response.status_code == 303
    assert response.headers["Location"] == f"http://127.0.0.1:9/success?session_id={session.id}"

    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.customer_details.email == "ada@example.com"
    intent = paid.payment_intent
    assert_stripe_shape(intent, "payment_intent")
    assert intent.id.startswith("pi_") and intent.status == "succeeded" and intent.amount == 5000
    assert intent.metadata.to_dict() == {"order_id": "order-42"}

    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert_stripe_shape(charge, "charge")
    assert charge.id.startswith("ch_") and charge.payment_intent == intent.id
    assert (charge.amount, charge.status, charge.paid) == (5000, "succeeded", True)
    assert charge.billing_details.email == "ada@example.com"
    assert charge.metadata.to_dict() == {"order_id": "order-42"}

    completed = [e for e in emu.events if e["type"] == "checkout.session.completed" and e["data"]["object"]["id"] == session.id]
    assert len(completed) == 1
    event = client.v1.events.retrieve(completed[0]["id"])
    assert_stripe_shape(event, "event")
    assert event.id.startswith("evt_") and event.api_version == stripe.api_version
    assert event.data.object.payment_status == "paid" and event.data.object.payment_intent == intent.id

    # Paying twice is not possible.
    assert post_pay_page(session, action="pay").status_code == 400


def test_hosted_page_promotion_code_and_cancel(client):
    promo = make_promotion_code(client, percent_off=50)
    session = make_session(client, make_price(client, unit_amount=1000), allow_promotion_codes=True)
    assert 'name="promotion_code"' in requests.get(session.url, timeout=HTTP_TIMEOUT).text.replace("'", '"')

    bad = post_pay_page(session, action="apply_promotion_code", promotion_code="NOT-A-CODE")
    assert bad.status_code == 400 and "invalid" in bad.text

    applied = post_pay_page(session, action="apply_promotion_code", promotion_code=promo.code.lower())
    assert applied.status_code == 303
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert (session.amount_subtotal, session.total_details.amount_discount, session.amount_total) == (2000, 1000, 1000)

    cancelled = post_pay_page(session, action="cancel")
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == "http://127.0.0.1:9/cancel"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_fully_discounted_session_needs_no_payment(emu, client):
    session = make_session(client, make_price(client), discounts=[{"coupon": client.v1.coupons.create(params={"percent_off": 100}).id}])
    assert session.amount_total == 0
    done = emu.pay(session.id)
    assert (done["status"], done["payment_status"], done["payment_intent"]) == ("complete", "no_payment_required", None)


@pytest.mark.parametrize("succeed", [True, False])
def test_delayed_payment_settles(emu, client, succeed):
    session = make_session(client, make_price(client))
    assert post_pay_page(session, action="pay_delayed").status_code == 303

    pending = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert pending.payment_intent.status == "processing" and pending.payment_intent.latest_charge is None

    emu.settle_delayed(session.id, succeed=succeed)
    settled = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    types = [e["type"] for e in emu.events if e["data"]["object"].get("id") == session.id]
    if succeed:
        assert settled.payment_status == "paid" and settled.payment_intent.status == "succeeded"
        charge = client.v1.charges.retrieve(settled.payment_intent.latest_charge)
        assert charge.amount == settled.amount_total
        assert types == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    else:
        assert settled.payment_status == "unpaid" and settled.payment_intent.status == "requires_payment_method"
        assert settled.payment_intent.latest_charge is None
        assert types == ["checkout.session.completed", "checkout.session.async_payment_failed"]
    with pytest.raises(ApiError):  # nothing left to settle
        emu.settle_delayed(session.id)


def test_expire_via_api_and_helper(emu, client):
    price = make_price(client)
    by_api = make_session(client, price)
    expired = client.v1.checkout.sessions.expire(by_api.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(by_api.id)
    assert "expired" in requests.get(by_api.url, timeout=HTTP_TIMEOUT).text

    by_helper = make_session(client, price)
    emu.expire(by_helper.id)
    expired_ids = [e["data"]["object"]["id"] for e in emu.events if e["type"] == "checkout.session.expired"]
    assert by_api.id in expired_ids and by_helper.id in expired_ids
    api_event = next(e for e in emu.events if e["type"] == "checkout.session.expired" and e["data"]["object"]["id"] == by_api.id)
    assert api_event["request"]["id"].startswith("req_")


# --------------------------------------------------------------------------- refunds and disputes


def paid_charge(emu, client):
    session = make_session(client, make_price(client, unit_amount=3000))
    emu.pay(session.id)
    intent = client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).payment_intent)
    return client.v1.charges.retrieve(intent.latest_charge)


def test_partial_then_full_refund(emu, client):
    charge = paid_charge(emu, client)  # 6000

    partial = client.v1.refunds.create(params={"payment_intent": charge.payment_intent, "amount": 1000})
    assert_stripe_shape(partial, "refund")
    assert partial.id.startswith("re_") and (partial.amount, partial.charge, partial.status) == (1000, charge.id, "succeeded")
    after_partial = client.v1.charges.retrieve(charge.id)
    assert (after_partial.amount_refunded, after_partial.refunded) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 5001})
    assert too_much.value.code == "amount_too_large"

    rest = emu.refund(charge.id)
    assert rest["amount"] == 5000
    refunded = client.v1.charges.retrieve(charge.id)
    assert (refunded.amount_refunded, refunded.refunded) == (6000, True)
    assert client.v1.refunds.retrieve(rest["id"]).amount == 5000

    events = [e for e in emu.events if e["type"] == "charge.refunded" and e["data"]["object"]["id"] == charge.id]
    assert [e["data"]["object"]["amount_refunded"] for e in events] == [1000, 6000]
    assert [r["id"] for r in events[-1]["data"]["object"]["refunds"]["data"]] == [rest["id"], partial.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"charge": charge.id})


@pytest.mark.parametrize("won", [True, False])
def test_dispute_opened_and_closed(emu, client, won):
    charge = paid_charge(emu, client)
    dispute = emu.dispute(charge.id)
    assert_stripe_shape(dispute, "dispute")
    assert dispute["id"].startswith("dp_") and dispute["status"] == "needs_response"
    assert client.v1.charges.retrieve(charge.id).disputed is True

    emu.close_dispute(dispute["id"], won=won)
    assert client.v1.disputes.retrieve(dispute["id"]).status == ("won" if won else "lost")
    types = [e["type"] for e in emu.events if e["data"]["object"].get("id") == dispute["id"]]
    assert types == ["charge.dispute.created", "charge.dispute.closed"]


# --------------------------------------------------------------------------- API behaviour


def test_idempotency_keys(client):
    product = client.v1.products.create(params={"name": "Once"}, options={"idempotency_key": "idem-product-1"})
    again = client.v1.products.create(params={"name": "Once"}, options={"idempotency_key": "idem-product-1"})
    assert again.id == product.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.products.create(params={"name": "Twice"}, options={"idempotency_key": "idem-product-1"})


def test_authentication_and_unknown_ids(emu, client):
    with pytest.raises(stripe.AuthenticationError):
        sdk(emu, "sk_test_wrong").v1.products.list()
    missing_key = requests.get(f"{emu.base_url}/v1/products", timeout=HTTP_TIMEOUT)
    assert missing_key.status_code == 401 and missing_key.json()["error"]["type"] == "invalid_request_error"

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.checkout.sessions.retrieve("cs_test_doesnotexist")
    assert unknown.value.http_status == 404 and unknown.value.code == "resource_missing"
    for retrieve in (client.v1.charges.retrieve, client.v1.payment_intents.retrieve, client.v1.events.retrieve):
        with pytest.raises(stripe.InvalidRequestError):
            retrieve("x_unknown")


# --------------------------------------------------------------------------- webhooks


def test_webhook_signature_round_trips_and_retries_until_success(hooked_emu, receiver):
    client = sdk(hooked_emu)
    # Subscribe to checkout events only, so the receiver sees one event.
    hooked_emu.enabled_events = ["checkout.session.*"]
    receiver.statuses = [500, 503]  # the first two attempts fail, then 200
    session = make_session(client, make_price(client))
    post_pay_page(session, action="pay")
    assert hooked_emu.wait_idle(timeout=10)

    assert receiver.event_types() == ["checkout.session.completed"] * 3
    headers, body = receiver.received[-1]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert event.type == "checkout.session.completed" and event.data.object.id == session.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_other")

    assert [outcome for event_id, outcome, _ in hooked_emu.delivery_log if event_id == event.id] == [500, 503, 200]
    assert client.v1.events.list(params={"delivery_success": False}).data == []
    delivered = client.v1.events.list(params={"delivery_success": True})
    assert [e.id for e in delivered.data] == [event.id]
    assert all(e["pending_webhooks"] == 0 for e in hooked_emu.events)
    # Other event types are recorded all the same, just not sent.
    assert {"payment_intent.created", "charge.succeeded"} <= {e["type"] for e in hooked_emu.events}


def test_failed_deliveries_are_listed_and_can_be_redelivered(hooked_emu, receiver):
    client = sdk(hooked_emu)
    receiver.default_status = 500
    session = make_session(client, make_price(client))
    hooked_emu.pay(session.id)
    assert hooked_emu.wait_idle(timeout=10)

    failed = client.v1.events.list(params={"delivery_success": False, "type": "checkout.session.completed"})
    assert [e.data.object.id for e in failed.data] == [session.id]
    attempts = [o for event_id, o, _ in hooked_emu.delivery_log if event_id == failed.data[0].id]
    assert attempts == [500] * (1 + len(FAST_RETRIES))

    receiver.default_status = 200
    assert hooked_emu.deliver_pending() == len(hooked_emu.events)
    assert hooked_emu.wait_idle(timeout=10)
    assert client.v1.events.list(params={"delivery_success": False}).data == []


def test_manual_delivery_controls_ordering(hooked_emu, receiver):
    client = sdk(hooked_emu)
    hooked_emu.auto_deliver = False
    session = make_session(client, make_price(client))
    hooked_emu.pay(session.id, delayed=True)
    hooked_emu.settle_delayed(session.id)
    assert hooked_emu.wait_idle(timeout=5) and receiver.received == []

    by_type = {e["type"]: e["id"] for e in hooked_emu.events}
    # Deliver out of order, as Stripe may.
    assert hooked_emu.deliver_event(by_type["checkout.session.async_payment_succeeded"]) == 200
    assert hooked_emu.deliver_event(by_type["checkout.session.completed"]) == 200
    assert receiver.event_types() == ["checkout.session.async_payment_succeeded", "checkout.session.completed"]


def test_events_without_webhook_url_count_as_undelivered(emu, client):
    session = make_session(client, make_price(client))
    emu.expire(session.id)
    undelivered = client.v1.events.list(params={"delivery_success": False, "type": "checkout.session.expired", "limit": 100})
    assert session.id in [e.data.object.id for e in undelivered.data]


# --------------------------------------------------------------------------- dashboard


def test_dashboard_lists_objects_and_runs_actions(emu, client):
    charge = paid_charge(emu, client)
    page = requests.get(f"{emu.base_url}/dashboard", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200 and charge.id in page.text

    response = requests.post(
        f"{emu.base_url}/dashboard/action",
        data={"action": "refund", "id": charge.id, "amount": "700"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/dashboard")
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 700

    requests.post(f"{emu.base_url}/dashboard/action", data={"action": "dispute", "id": charge.id}, timeout=HTTP_TIMEOUT)
    assert client.v1.charges.retrieve(charge.id).disputed is True

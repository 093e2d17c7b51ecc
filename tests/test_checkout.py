"""POST /checkout and GET /checkout/{id}: against moto and the Stripe emulator on 127.0.0.1."""
import socket

import pytest

from lectern.accounts.users import create_user
from lectern.entitlements import service as entitlements
from lectern.models.orders import FAILED, PENDING, CheckoutSessionRef, Order, OrderItem, order_pk
from payments_support import (  # noqa: F401  (fixtures)
    emulator, promotion_code, sellable_course, start_checkout, stripe_env,
)


def _session(emu, session_id: str) -> dict:
    return emu.engine.get("checkout.session", session_id)


def _orders() -> list[Order]:
    return [o for o in Order.scan(Order.sk == "ORDER")]


def test_checkout_creates_pending_order_and_session(api, stripe_env):
    course = sellable_course(stripe_env, price=4900)
    response = api.post("/checkout", body={"course_slug": course.slug, "email": " Buyer@Example.COM "})

    assert response["statusCode"] == 201
    assert response["headers"]["Cache-Control"] == "no-store"
    body = response["json"]
    assert set(body) == {"order_id", "checkout_session_id", "checkout_url", "expires_at"}
    assert body["checkout_session_id"].startswith("cs_")
    assert body["checkout_url"].endswith(f"/pay/{body['checkout_session_id']}")
    assert body["expires_at"].endswith("Z")

    order = Order.get(*Order.key(body["order_id"]))
    assert (order.status, order.email, order.checkout_session_id) == (PENDING, "buyer@example.com",
                                                                      body["checkout_session_id"])
    assert (order.subtotal_amount, order.discount_amount, order.total_amount, order.currency) == (4900, 0, 4900, "usd")
    [item] = OrderItem.query(order_pk(order.id), OrderItem.sk.startswith("ITEM#"))
    assert (item.course_id, item.unit_amount, item.quantity) == (course.id, 4900, 1)
    assert CheckoutSessionRef.get(*CheckoutSessionRef.key(body["checkout_session_id"])).order_id == order.id

    session = _session(stripe_env, body["checkout_session_id"])
    extras = stripe_env.state.session_extras[session["id"]]
    assert session["mode"] == "payment"
    assert [(li["price"]["id"], li["quantity"]) for li in extras.line_items] == [(course.stripe_price_id, 1)]
    assert session["client_reference_id"] == order.id
    assert session["metadata"] == {"order_id": order.id, "course_id": course.id}
    assert extras.payment_intent_metadata == {"order_id": order.id}
    assert session["customer_email"] == "buyer@example.com"
    assert session["allow_promotion_codes"] is True
    assert session["success_url"] == "http://127.0.0.1:3002/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    assert session["cancel_url"] == f"http://127.0.0.1:3002/checkout/cancel?course={course.slug}"


def test_unknown_unpublished_and_unpriced_courses_are_404(api, stripe_env):
    from factories import make_course

    make_course("draft-course", published=False)
    make_course("free-course", price=None)
    for slug in ("no-such-course", "draft-course", "free-course", "Not A Slug"):
        response = api.post("/checkout", body={"course_slug": slug, "email": "a@example.com"})
        assert response["statusCode"] == 404, slug
        assert response["json"]["error"]["code"] == "not_found"
    assert _orders() == []


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a@@example.com", "a b@example.com", "a@-x.com",
                                   ".a@example.com", "a..b@example.com", "a@example..com", "x" * 65 + "@example.com"])
def test_bad_email_is_422(api, stripe_env, email):
    course = sellable_course(stripe_env)
    response = api.post("/checkout", body={"course_slug": course.slug, "email": email})
    assert response["statusCode"] == 422
    assert response["json"]["error"] == {"code": "validation_failed", "message": "Some fields are not valid.",
                                         "details": {"email": ["not a valid email address"]}}


def test_guest_without_email_is_422(api, stripe_env):
    course = sellable_course(stripe_env)
    response = api.post("/checkout", body={"course_slug": course.slug})
    assert response["statusCode"] == 422
    assert "email" in response["json"]["error"]["details"]


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"'])
def test_bad_json_is_400(api, stripe_env, body):
    response = api.post("/checkout", body=body, headers={"content-type": "application/json"})
    assert response["statusCode"] == 400
    assert response["json"]["error"]["code"] == "bad_request"


def test_unknown_or_inactive_promotion_code_is_422(api, stripe_env):
    course = sellable_course(stripe_env)
    inactive = promotion_code(stripe_env, active=False)
    for code in ("NOSUCHCODE", inactive):
        response = api.post("/checkout", body={"course_slug": course.slug, "email": "a@example.com",
                                               "promotion_code": code})
        assert response["statusCode"] == 422, code
        assert list(response["json"]["error"]["details"]) == ["promotion_code"]
    assert _orders() == []


def test_valid_promotion_code_is_applied_to_the_session(api, stripe_env):
    course = sellable_course(stripe_env, price=5000)
    code = promotion_code(stripe_env, percent_off=20)
    body = start_checkout(api, course, promotion_code=code)
    session = _session(stripe_env, body["checkout_session_id"])
    assert not session["allow_promotion_codes"]
    assert session["discounts"][0]["promotion_code"].startswith("promo_")
    assert (session["amount_subtotal"], session["amount_total"]) == (5000, 4000)
    assert Order.get(*Order.key(body["order_id"])).promotion_code == code


def test_promotion_code_whose_rules_exclude_the_purchase_is_422(api, stripe_env):
    course = sellable_course(stripe_env, price=1000)
    code = promotion_code(stripe_env, minimum_amount=5000)
    response = api.post("/checkout", body={"course_slug": course.slug, "email": "a@example.com",
                                           "promotion_code": code})
    assert response["statusCode"] == 422
    assert list(response["json"]["error"]["details"]) == ["promotion_code"]
    assert [o.status for o in _orders()] == [FAILED]  # never a pending order without a session


def test_course_already_owned_by_the_email_is_409(api, stripe_env):
    course = sellable_course(stripe_env)
    user = create_user("owner@example.com")
    entitlements.grant(user.id, course.id, course.slug, reason="test", actor="operator:test")
    response = api.post("/checkout", body={"course_slug": course.slug, "email": "Owner@example.com"})
    assert response["statusCode"] == 409
    assert response["json"]["error"]["code"] == "already_owned"
    assert _orders() == []


def test_signed_in_buyer_uses_account_email_and_409_when_owned(api, stripe_env, monkeypatch):
    from lectern import jwt_tokens

    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-signing-key-" + "x" * 40)
    course = sellable_course(stripe_env)
    user = create_user("member@example.com")
    token = jwt_tokens.mint(user.id).token
    headers = {"authorization": f"Bearer {token}"}

    response = api.post("/checkout", body={"course_slug": course.slug, "email": "ignored@example.com"},
                        headers=headers)
    assert response["statusCode"] == 201
    order = Order.get(*Order.key(response["json"]["order_id"]))
    assert (order.email, order.user_id) == ("member@example.com", user.id)

    entitlements.grant(user.id, course.id, course.slug, reason="test", actor="operator:test")
    response = api.post("/checkout", body={"course_slug": course.slug}, headers=headers)
    assert response["statusCode"] == 409

    response = api.post("/checkout", body={"course_slug": course.slug}, headers={"authorization": "Bearer nope"})
    assert response["statusCode"] == 401


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections are refused


def test_stripe_unreachable_is_503_and_the_order_is_failed(api, stripe_env, monkeypatch):
    course = sellable_course(stripe_env)
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{_closed_port()}")
    response = api.post("/checkout", body={"course_slug": course.slug, "email": "a@example.com"})
    assert response["statusCode"] == 503
    assert response["json"]["error"]["code"] == "payment_provider_unavailable"
    [order] = _orders()
    assert order.status == FAILED and order.failed_at and order.checkout_session_id is None


def test_stripe_5xx_is_503(api, stripe_env, monkeypatch):
    import stripe

    from lectern import stripe_gateway

    course = sellable_course(stripe_env)

    def server_error(*_args, **_kwargs):
        raise stripe.APIError("boom", http_status=502)

    monkeypatch.setattr(stripe_gateway.client().v1.checkout.sessions, "create", server_error)
    response = api.post("/checkout", body={"course_slug": course.slug, "email": "a@example.com"})
    assert response["statusCode"] == 503
    assert [o.status for o in _orders()] == [FAILED]


def test_stripe_client_times_out(monkeypatch):
    """A Stripe that accepts the connection and never answers must not hold the function."""
    import time

    import stripe

    from lectern import stripe_gateway

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        silent_stripe = f"http://127.0.0.1:{server.getsockname()[1]}"
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": silent_stripe},
                                     http_client=stripe_gateway.TimeoutUrllibClient(timeout=0.3))
        started = time.monotonic()
        with pytest.raises(stripe.APIConnectionError) as raised:
            client.v1.prices.list()
        assert time.monotonic() - started < 5
    assert stripe_gateway.is_unavailable(raised.value)


def test_status_of_a_checkout(api, stripe_env):
    course = sellable_course(stripe_env)
    body = start_checkout(api, course)
    response = api.get(f"/checkout/{body['checkout_session_id']}")
    assert response["statusCode"] == 200
    assert response["json"] == {"order_id": body["order_id"], "status": "pending",
                                "courses": [{"slug": course.slug, "title": course.title}]}
    assert "buyer@example.com" not in response["body"]

    for unknown in ("cs_test_unknown", "not-a-session"):
        response = api.get(f"/checkout/{unknown}")
        assert response["statusCode"] == 404
        assert response["json"]["error"]["code"] == "not_found"


def test_wrong_method_on_checkout_is_405(api, stripe_env):
    response = api.request("DELETE", "/checkout")
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"


def test_checkout_status_is_two_requests(api, stripe_env):
    """Access pattern #10: the session claim, then one Query of the order's partition."""
    from request_counter import count_requests

    course = sellable_course(stripe_env)
    created = api.post("/checkout", body={"course_slug": course.slug, "email": "count@example.com"})
    assert created["statusCode"] == 201, created["body"]
    with count_requests() as counter:
        response = api.get(f"/checkout/{created['json']['checkout_session_id']}")
    assert response["statusCode"] == 200
    assert response["json"]["courses"] == [{"slug": course.slug, "title": course.title}]
    assert counter.by_operation() == {"GetItem": 1, "Query": 1}

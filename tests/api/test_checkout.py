"""POST /checkout and GET /checkout/{id}: against moto and the Stripe emulator on 127.0.0.1."""
import dataclasses
import json
import socket

import pytest

from lectern.accounts.users import create_user
from lectern.entitlements import service as entitlements
from lectern.models.orders import FAILED, PENDING, CheckoutSessionRef, Order, OrderItem, order_pk
from support.payments_support import (
    promotion_code, sellable_course, start_checkout,
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
    from support.factories import make_course

    make_course("draft-course", published=False)
    make_course("draft-free-course", published=False, price=None)
    make_course("no-stripe-price", price=4900)  # priced in the catalog, but never synced to Stripe
    for slug in ("no-such-course", "draft-course", "draft-free-course", "no-stripe-price", "Not A Slug"):
        response = api.post("/checkout", body={"course_slug": slug, "email": "a@example.com"})
        assert response["statusCode"] == 404, slug
        assert response["json"]["error"]["code"] == "not_found"
    assert _orders() == []


def test_a_free_course_is_409_free_course_pointing_at_enrolment(api, stripe_env):
    """A published course without a price is not for sale: it is free, and the answer says so
    (it said "No such course.")."""
    from support.factories import make_course

    make_course("free-course", price=None)
    response = api.post("/checkout", body={"course_slug": "free-course", "email": "a@example.com"})
    assert response["statusCode"] == 409
    assert response["json"]["error"]["code"] == "free_course"
    assert "free" in response["json"]["error"]["message"] and "enrol" in response["json"]["error"]["message"]
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
                                     http_client=stripe_gateway.PooledHttpClient(timeout=0.3))
        started = time.monotonic()
        with pytest.raises(stripe.APIConnectionError) as raised:
            client.v1.prices.list()
        assert time.monotonic() - started < 5
    assert stripe_gateway.is_unavailable(raised.value)


class _CountingStripe:
    """A loopback HTTP/1.1 server answering every request with an empty Stripe list, counting the
    connections it accepts and the requests it reads. With `drop_reused`, a connection's second
    request is not answered: the server hangs up on it (a kept connection the other side closed just
    as it was reused). With `hang_up_after`, every request is hung up on after that many seconds."""

    def __init__(self, drop_reused: bool = False, hang_up_after: float | None = None):
        import http.server
        import threading
        import time

        counter = self
        self.connections = self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                counter.connections += 1
                self.answered = False

            def do_GET(self):
                counter.requests += 1
                if hang_up_after is not None:
                    time.sleep(hang_up_after)
                if (drop_reused and self.answered) or hang_up_after is not None:
                    self.close_connection = True
                    return
                body = b'{"object": "list", "data": [], "has_more": false, "url": "/v1/prices"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.answered = True

            def log_message(self, *_args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def _stripe_through(server: _CountingStripe, key: str = "sk_test_x", **settings):
    import stripe

    from lectern import stripe_gateway

    http = stripe_gateway.PooledHttpClient(timeout=2)
    for name, value in settings.items():
        setattr(http, name, value)
    # max_network_retries=0: the SDK's own retry would hide what the client did
    return http, stripe.StripeClient(key, base_addresses={"api": server.url}, http_client=http,
                                     max_network_retries=0)


@pytest.mark.parametrize("drop_reused", [False, True], ids=["kept", "hung up on when reused"])
def test_stripe_calls_share_a_kept_connection(drop_reused):
    """A warm environment pays one connection (TLS, at Stripe) for its calls, not one per call; a kept
    connection the other side hangs up on is replaced at once, not a failed call."""
    server = _CountingStripe(drop_reused)
    http, client = _stripe_through(server)
    try:
        for _ in range(3):
            assert client.v1.prices.list().data == []
        assert server.connections == (3 if drop_reused else 1)
        http.close()  # what lectern.snapstart does after a restore
        client.v1.prices.list()
        assert server.connections == (4 if drop_reused else 2)
    finally:
        server.close()


def test_a_stripe_connection_left_idle_is_not_reused():
    """One silently dropped on the way would cost a whole read timeout: after IDLE_SECONDS, a new one."""
    import time

    server = _CountingStripe()
    _http, client = _stripe_through(server, IDLE_SECONDS=0.3)
    try:
        client.v1.prices.list()
        client.v1.prices.list()
        assert server.connections == 1
        time.sleep(0.5)
        client.v1.prices.list()
        assert server.connections == 2
    finally:
        server.close()


def test_a_slow_hang_up_is_left_to_the_sdk_retry():
    """Only a hang-up within HANG_UP_SECONDS is sent again at once: one after Stripe may have worked on
    the request is the SDK's to retry, with its back-off (each attempt would otherwise double)."""
    import stripe

    server = _CountingStripe(hang_up_after=0.4)
    _http, client = _stripe_through(server, HANG_UP_SECONDS=0.2)
    try:
        with pytest.raises(stripe.APIConnectionError) as raised:
            client.v1.prices.list()
        assert server.requests == 1
        assert raised.value.should_retry
    finally:
        server.close()


def test_a_key_http_refuses_is_a_connection_error_not_retried():
    """A secret stored with a line break: the SDK's error (503 for the buyer), never a bare ValueError."""
    import stripe

    server = _CountingStripe()
    _http, client = _stripe_through(server, key="sk_test_x\n")
    try:
        with pytest.raises(stripe.APIConnectionError) as raised:
            client.v1.prices.list()
        assert not raised.value.should_retry
        assert server.requests == 0
    finally:
        server.close()


def test_status_of_a_checkout(api, stripe_env):
    course = sellable_course(stripe_env)
    body = start_checkout(api, course)
    response = api.get(f"/checkout/{body['checkout_session_id']}")
    assert response["statusCode"] == 200
    assert response["json"] == {"order_id": body["order_id"], "status": "pending", "refund_reason": None,
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
    from support.request_counter import count_requests

    course = sellable_course(stripe_env)
    created = api.post("/checkout", body={"course_slug": course.slug, "email": "count@example.com"})
    assert created["statusCode"] == 201, created["body"]
    with count_requests() as counter:
        response = api.get(f"/checkout/{created['json']['checkout_session_id']}")
    assert response["statusCode"] == 200
    assert response["json"]["courses"] == [{"slug": course.slug, "title": course.title}]
    assert counter.by_operation() == {"GetItem": 1, "Query": 1}


# ------------------------------------------------------------------ one open checkout per buyer and course

def _created(response: dict) -> dict:
    assert response["statusCode"] == 201, response
    return response["json"]


def test_a_repeated_checkout_answers_the_buyers_open_session(api, stripe_env):
    """Five checkouts for one email and course made five orders and five sessions: now the
    buyer's open session is answered again (same order, same URL), and nothing new is made."""
    course = sellable_course(stripe_env)
    sessions_before = len(stripe_env.engine.list("checkout.session"))
    answers = [_created(api.post("/checkout", body={"course_slug": course.slug, "email": e}))
               for e in ("flood@example.com", "Flood@Example.com", " flood@example.com ", "flood@example.com",
                         "FLOOD@example.com")]
    assert len({(a["order_id"], a["checkout_session_id"], a["checkout_url"], a["expires_at"]) for a in answers}) == 1
    assert [o.id for o in _orders()] == [answers[0]["order_id"]]
    assert len(stripe_env.engine.list("checkout.session")) == sessions_before + 1

    # Another course, or another buyer, is another checkout.
    other_course = sellable_course(stripe_env)
    assert _created(api.post("/checkout", body={"course_slug": other_course.slug, "email": "flood@example.com"})
                    )["order_id"] != answers[0]["order_id"]
    assert _created(api.post("/checkout", body={"course_slug": course.slug, "email": "other@example.com"})
                    )["order_id"] != answers[0]["order_id"]


def test_a_signed_in_buyer_gets_their_own_open_session_back(api, stripe_env, monkeypatch):
    from lectern import jwt_tokens

    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-signing-key-" + "x" * 40)
    course = sellable_course(stripe_env)
    user = create_user("member@example.com")
    headers = {"authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}
    first = _created(api.post("/checkout", body={"course_slug": course.slug}, headers=headers))
    again = _created(api.post("/checkout", body={"course_slug": course.slug}, headers=headers))
    assert again == first
    # Same email as a guest: not the same buyer (a guest is told nothing about the account's checkout).
    guest = _created(api.post("/checkout", body={"course_slug": course.slug, "email": "member@example.com"}))
    assert guest["order_id"] != first["order_id"]


def test_a_session_no_longer_open_is_not_answered_again(api, stripe_env):
    course = sellable_course(stripe_env)
    expired = start_checkout(api, course, "late@example.com")
    stripe_env.expire(expired["checkout_session_id"])
    fresh = start_checkout(api, course, "late@example.com")
    assert fresh["order_id"] != expired["order_id"]
    assert _session(stripe_env, fresh["checkout_session_id"])["status"] == "open"

    paying = start_checkout(api, course, "slow@example.com")
    stripe_env.pay(paying["checkout_session_id"], delayed=True)  # complete, the bank debit not settled yet
    assert start_checkout(api, course, "slow@example.com")["order_id"] != paying["order_id"]


def test_another_promotion_code_replaces_the_open_session(api, stripe_env, monkeypatch):
    """Decision: a checkout with another promotion code (or none where there was one) replaces the
    buyer's open one. A signed-in buyer's old session is expired at Stripe first, so only the new
    one can be paid; a guest's is left open (a guest is an email anyone can type: a stranger must
    not cancel it), and if both are paid the later one is refunded as a duplicate."""
    from lectern import jwt_tokens

    course = sellable_course(stripe_env, price=5000)
    code = promotion_code(stripe_env, percent_off=20)
    plain = start_checkout(api, course, "codes@example.com")
    with_code = start_checkout(api, course, "codes@example.com", promotion_code=code)
    assert with_code["order_id"] != plain["order_id"]
    assert _session(stripe_env, plain["checkout_session_id"])["status"] == "open"
    assert _session(stripe_env, with_code["checkout_session_id"])["amount_total"] == 4000
    # The same code again (Stripe matches codes case-insensitively): the open session is answered.
    assert start_checkout(api, course, "codes@example.com", promotion_code=code.lower()) == with_code

    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-signing-key-" + "x" * 40)
    user = create_user("member@example.com")
    headers = {"authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}
    mine = _created(api.post("/checkout", body={"course_slug": course.slug}, headers=headers))
    replaced = _created(api.post("/checkout", body={"course_slug": course.slug, "promotion_code": code},
                                 headers=headers))
    assert replaced["order_id"] != mine["order_id"]
    assert _session(stripe_env, mine["checkout_session_id"])["status"] == "expired"
    assert _session(stripe_env, replaced["checkout_session_id"])["status"] == "open"


def _from(ip: str):
    """api.post with API Gateway's sourceIp set to `ip`."""
    from lectern_dev.events import http_event

    def post(api, body: dict) -> dict:
        event = http_event("POST", "/checkout", body=body)
        event["requestContext"]["http"]["sourceIp"] = ip
        response = api.runner.invoke_dict("CheckoutFunction", event)
        response["json"] = json.loads(response["body"])
        return response
    return post


def test_checkouts_from_one_address_are_limited(api, stripe_env, monkeypatch):
    """Fifty checkouts from one address in seconds made fifty orders and sessions: after the limit
    an address gets 429 `rate_limited` with Retry-After, and nothing is made; another address
    is not affected."""
    monkeypatch.setenv("CHECKOUT_LIMIT_PER_IP", "3")
    course = sellable_course(stripe_env)
    attacker, neighbour = _from("203.0.113.7"), _from("198.51.100.20")
    for n in range(3):
        assert attacker(api, {"course_slug": course.slug, "email": f"victim{n}@example.com"})["statusCode"] == 201
    sessions_before = len(stripe_env.engine.list("checkout.session"))
    blocked = attacker(api, {"course_slug": course.slug, "email": "victim9@example.com"})
    assert blocked["statusCode"] == 429, blocked
    assert blocked["json"]["error"]["code"] == "rate_limited"
    assert 0 < int(blocked["headers"]["Retry-After"]) <= 600
    assert len(_orders()) == 3 and len(stripe_env.engine.list("checkout.session")) == sessions_before
    assert neighbour(api, {"course_slug": course.slug, "email": "victim9@example.com"})["statusCode"] == 201


def test_replacing_ones_checkout_again_and_again_is_limited(api, stripe_env, monkeypatch):
    monkeypatch.setenv("CHECKOUT_LIMIT_PER_BUYER", "2")
    course = sellable_course(stripe_env)
    code = promotion_code(stripe_env)
    start_checkout(api, course, "churn@example.com")  # the first checkout for a course is not counted
    start_checkout(api, course, "churn@example.com", promotion_code=code)
    start_checkout(api, course, "churn@example.com")
    blocked = api.post("/checkout", body={"course_slug": course.slug, "email": "churn@example.com",
                                          "promotion_code": code})
    assert blocked["statusCode"] == 429 and blocked["json"]["error"]["code"] == "rate_limited"
    assert int(blocked["headers"]["Retry-After"]) > 0
    # The open one is still answered (a reuse makes nothing), and other buyers are not affected.
    assert api.post("/checkout", body={"course_slug": course.slug, "email": "churn@example.com"})["statusCode"] == 201
    assert api.post("/checkout", body={"course_slug": course.slug, "email": "calm@example.com",
                                       "promotion_code": code})["statusCode"] == 201


def _another_instance(body: dict) -> dict:
    """The same checkout in another Lambda instance (its domain call: the resolver of this one is busy)."""
    from lectern.api import request_binding, request_validators
    from lectern.payments import checkout

    request = request_binding.bind(request_validators.ROUTES[("POST", "/checkout")], body, None, {})["body"]
    return dataclasses.asdict(checkout.start_checkout(request, None, "127.0.0.1"))


def test_a_checkout_racing_another_for_the_same_buyer_gets_its_session(api, stripe_env, monkeypatch):
    """Two checkouts of one buyer and course at once (a double click): one makes the order and
    session, the other answers the same session instead of making a second."""
    from lectern.payments import checkout

    course = sellable_course(stripe_env)
    body = {"course_slug": course.slug, "email": "double@example.com"}
    inner = {}
    real = checkout._create_pending_order

    def after_the_slot_was_read(*args, **kwargs):
        # The other click runs to completion between this one's read of the slot and its write.
        if not inner:
            inner["running"] = True
            inner.update(_another_instance(body))
            del inner["running"]
        return real(*args, **kwargs)

    monkeypatch.setattr(checkout, "_create_pending_order", after_the_slot_was_read)
    outer = _created(api.post("/checkout", body=body))
    assert inner == outer
    assert [o.id for o in _orders()] == [outer["order_id"]]


def test_a_checkout_arriving_while_another_creates_its_session_waits_for_it(api, stripe_env, monkeypatch):
    """The second click arrives while the first is at Stripe: it waits for that session."""
    import threading

    from lectern.payments import checkout

    course = sellable_course(stripe_env)
    body = {"course_slug": course.slug, "email": "waiting@example.com"}
    second: dict = {}
    real = checkout._create_session

    def second_click_meanwhile(*args, **kwargs):
        monkeypatch.setattr(checkout, "_create_session", real)  # (the second click must not come here)
        thread = threading.Thread(target=lambda: second.update(_another_instance(body)))
        thread.start()
        second_click_meanwhile.thread = thread
        checkout.time.sleep(0.5)  # the second has read the slot by now: no session in it yet
        return real(*args, **kwargs)

    monkeypatch.setattr(checkout, "_create_session", second_click_meanwhile)
    first = _created(api.post("/checkout", body=body))
    second_click_meanwhile.thread.join(10)
    assert second == first
    assert len(_orders()) == 1


# ------------------------------------------------------------------ a write retried after it had landed

@pytest.fixture
def answer_lost_once():
    """The `nth` TransactWriteItems reaches DynamoDB and is applied, but its answer is lost (a read
    timeout): botocore retries the very same request. Real DynamoDB recognises the retry by its
    ClientRequestToken and answers success; an endpoint that does not (moto server, emulators: the
    local stack pointed at an external AWS endpoint) applies the conditions again, and they fail on
    what the first attempt wrote: "TransactionCanceled: ConditionalCheckFailed" on every item."""
    from botocore.exceptions import ReadTimeoutError
    from moto.core.models import botocore_stubber

    from support.request_counter import on_every_client

    state = {"nth": None, "seen": 0, "retried": 0}

    def before_send(request, **_kwargs):
        state["seen"] += 1
        if state["seen"] == state["nth"]:
            botocore_stubber.process_request(request)  # applied...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and its answer lost
        if state["seen"] == (state["nth"] or 0) + 1:
            state["retried"] += 1
        return None

    def attach(client):
        client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", before_send)

    def detach(client):
        client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", before_send)

    with on_every_client(attach, detach):
        yield state


@pytest.mark.parametrize("nth,write", [(1, "order"), (2, "session claim")])
def test_a_checkout_write_retried_after_it_landed_is_not_a_500(api, stripe_env, answer_lost_once, nth, write):
    """700 checkouts against an external AWS endpoint gave 4 answers of 500 from _attach_session:
    its transaction had landed, the answer was lost, botocore's retry was refused on both items.
    The refusal is now read back: the checkout goes on, whole, and the buyer gets the session."""
    course = sellable_course(stripe_env)
    answer_lost_once["nth"] = nth
    response = api.post("/checkout", body={"course_slug": course.slug, "email": "retried@example.com"})
    assert answer_lost_once["retried"] == 1  # the retry happened (and was refused on its conditions)
    assert response["statusCode"] == 201, response["body"]
    body = response["json"]
    [order] = _orders()
    assert (order.id, order.status, order.checkout_session_id) == (body["order_id"], PENDING,
                                                                  body["checkout_session_id"])
    assert CheckoutSessionRef.get(*CheckoutSessionRef.key(body["checkout_session_id"])).order_id == order.id
    assert _session(stripe_env, body["checkout_session_id"])["status"] == "open"
    # The buyer's open checkout is recorded too: asking again answers the same session.
    assert start_checkout(api, course, "retried@example.com") == body


def test_a_session_id_already_claimed_by_another_order_is_a_503_not_a_500(api, stripe_env, monkeypatch):
    """A Stripe-compatible API that hands out a session id twice: the second order cannot claim it,
    gets nothing, is failed, and the buyer gets 503 (it was a bare 500)."""
    from lectern.payments import checkout

    course = sellable_course(stripe_env)
    first = start_checkout(api, course, "first@example.com")
    real = checkout._create_session

    def same_session_again(order, course, promotion_id):
        session = real(order, course, promotion_id)
        return type("Session", (), {"id": first["checkout_session_id"], "url": session.url,
                                    "expires_at": session.expires_at})()

    monkeypatch.setattr(checkout, "_create_session", same_session_again)
    response = api.post("/checkout", body={"course_slug": course.slug, "email": "second@example.com"})
    assert response["statusCode"] == 503 and response["json"]["error"]["code"] == "payment_provider_unavailable"
    second = next(o for o in _orders() if o.email == "second@example.com")
    assert second.status == FAILED and second.checkout_session_id is None
    assert CheckoutSessionRef.get(*CheckoutSessionRef.key(first["checkout_session_id"])).order_id == first["order_id"]
    assert _session(stripe_env, first["checkout_session_id"])["status"] == "open"  # still the first buyer's

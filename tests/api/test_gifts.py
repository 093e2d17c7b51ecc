"""Gifts: POST /checkout with `gift`, the webhook's fulfillment of a gift order (the recipient gets the
course, the buyer does not), refunds, and POST /me/orders/{order_id}/resend-gift. Moto + the Stripe emulator."""
import re
import uuid

import pytest

from lectern import jwt_tokens
from lectern.accounts.users import create_user, get_user, user_id_for_email
from lectern.entitlements import service as entitlements
from lectern.models.entitlements import ACTIVE, REVOKED
from lectern.models.orders import PAID, REFUNDED, OpenCheckout, Order
from lectern.models.users import OUTBOX_PK, OutboxMail
from support.payments_support import deliver, last_event, sellable_course, sent_emails
from support.request_counter import count_requests

SIGNING_KEY = "test-only-hs256-signing-key-gifts-" + "g" * 30
PASSWORD = "Correct-horse-42"


@pytest.fixture(autouse=True)
def auth_key(monkeypatch):
    monkeypatch.setenv("AUTH_SIGNING_KEY", SIGNING_KEY)


def bearer(user) -> dict:
    return {"authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def gift_checkout(api, course, gift: dict, email: str | None = "buyer@example.com", headers=None) -> dict:
    body = {"course_slug": course.slug, "gift": gift, **({"email": email} if email else {})}
    return api.post("/checkout", body=body, headers=headers or {})


def pay(emu, runner, created: dict) -> Order:
    session = emu.pay(created["checkout_session_id"])
    assert deliver(runner, last_event(emu, "checkout.session.completed", session["id"]))["statusCode"] == 200
    return Order.get(*Order.key(created["order_id"]), consistent_read=True)


def mails(to: str, word: str = "") -> list:
    return [m for m in sent_emails(to) if word.lower() in m.subject.lower()]


def claim_tokens(to: str) -> list[str]:
    return [t for m in sent_emails(to) for t in re.findall(r"/claim\?token=([A-Za-z0-9_\-%]+)", m.body)]


GIFT = {"recipient_email": "Friend@Example.com", "recipient_name": "Grace",
        "message": "Happy birthday!\nEnjoy it."}


# ------------------------------------------------------------------ checkout

@pytest.mark.parametrize(("gift", "field"), [
    ({}, "gift.recipient_email"),
    ({"recipient_email": "not-an-email"}, "gift.recipient_email"),
    ({"recipient_email": "f@example.com", "recipient_name": "x" * 101}, "gift.recipient_name"),
    ({"recipient_email": "f@example.com", "recipient_name": "Grace\r\nBcc: victim@example.com"}, "gift.recipient_name"),
    ({"recipient_email": "f@example.com", "recipient_name": "Gr\u202eace"}, "gift.recipient_name"),
    ({"recipient_email": "f@example.com", "message": "x" * 501}, "gift.message"),
    ({"recipient_email": "f@example.com", "message": "hi\x00there"}, "gift.message"),
    ({"recipient_email": "f@example.com", "message": "hi\x1b[31m red"}, "gift.message"),
    ({"recipient_email": "f@example.com", "message": "line\u2028Subject: x"}, "gift.message"),
    ({"recipient_email": "buyer@example.com"}, "gift.recipient_email"),  # to oneself: refused
])
def test_an_invalid_gift_is_422_in_the_envelope_and_makes_no_order(api, stripe_env, gift, field):
    course = sellable_course(stripe_env)
    response = gift_checkout(api, course, gift)
    assert response["statusCode"] == 422, response
    error = response["json"]["error"]
    assert error["code"] == "validation_failed" and list(error["details"]) == [field]
    assert list(Order.scan(Order.sk == "ORDER")) == []


def test_a_gift_to_ones_own_account_address_is_422_when_signed_in(api, stripe_env):
    course = sellable_course(stripe_env)
    member = create_user("member@example.com", password_hash="argon2-hash")
    response = gift_checkout(api, course, {"recipient_email": "MEMBER@example.com"}, email=None, headers=bearer(member))
    assert response["statusCode"] == 422
    assert list(response["json"]["error"]["details"]) == ["gift.recipient_email"]


def test_a_message_of_exactly_500_characters_and_crlf_lines_is_accepted(api, stripe_env):
    course = sellable_course(stripe_env)
    message = ("a" * 248 + "\r\n") * 2  # 500 characters as sent; CRLF is stored as LF
    response = gift_checkout(api, course, {"recipient_email": "f@example.com", "message": message})
    assert response["statusCode"] == 201, response
    order = Order.get(*Order.key(response["json"]["order_id"]))
    assert order.gift_message == "a" * 248 + "\n" + "a" * 248


def test_a_gift_checkout_stores_the_gift_on_the_order_and_nothing_of_it_at_stripe(api, stripe_env):
    course = sellable_course(stripe_env)
    buyer = create_user("buyer@example.com", name="Ada", password_hash="argon2-hash")
    response = gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))
    assert response["statusCode"] == 201
    order = Order.get(*Order.key(response["json"]["order_id"]))
    assert (order.email, order.user_id) == ("buyer@example.com", buyer.id)
    assert (order.gift_recipient_email, order.gift_recipient_name, order.gift_message, order.gift_sender_name) == (
        "friend@example.com", "Grace", "Happy birthday!\nEnjoy it.", "Ada")
    assert order.gift_recipient_user_id is None and order.is_gift
    session = stripe_env.engine.get("checkout.session", response["json"]["checkout_session_id"])
    assert session["metadata"] == {"order_id": order.id, "course_id": course.id}
    assert "friend" not in str(session).lower() and "birthday" not in str(session).lower()

    # The buyer's own checkout of the course is another slot: not answered with the gift's session.
    own = api.post("/checkout", body={"course_slug": course.slug}, headers=bearer(buyer))["json"]
    assert own["order_id"] != order.id
    # The same gift again is the same open checkout; another message is a new one.
    assert gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))["json"]["order_id"] == order.id
    other = gift_checkout(api, course, {**GIFT, "message": "Another note"}, email=None, headers=bearer(buyer))
    assert other["json"]["order_id"] not in (order.id, own["order_id"])
    slots = {s.sk for s in OpenCheckout.query("CHECKOUTS#buyer@example.com")}
    assert slots == {f"{course.id}#USER#{buyer.id}", f"{course.id}#GIFT#friend@example.com#USER#{buyer.id}"}


def test_a_recipient_who_has_the_course_is_409_already_owned(api, stripe_env):
    course = sellable_course(stripe_env)
    friend = create_user("friend@example.com")
    entitlements.grant(friend.id, course.id, course.slug, reason="test", actor="test", source="free")
    response = gift_checkout(api, course, GIFT)
    assert response["statusCode"] == 409 and response["json"]["error"]["code"] == "already_owned"
    assert "recipient" in response["json"]["error"]["message"]
    # The buyer owning it is no reason to refuse a gift to someone else.
    buyer = create_user("buyer@example.com")
    entitlements.grant(buyer.id, course.id, course.slug, reason="test", actor="test", source="free")
    assert gift_checkout(api, course, {"recipient_email": "other@example.com"})["statusCode"] == 201


# ------------------------------------------------------------------ fulfillment

def test_a_paid_gift_grants_the_recipient_once_and_mails_everyone_once(api, stripe_env, runner):
    course = sellable_course(stripe_env)
    created = gift_checkout(api, course, GIFT, email="buyer@example.com")["json"]
    session = stripe_env.pay(created["checkout_session_id"])
    completed = last_event(stripe_env, "checkout.session.completed", session["id"])
    with count_requests() as counter:
        assert deliver(runner, completed)["statusCode"] == 200
    floor = sum(counter.by_operation().values())
    order = Order.get(*Order.key(created["order_id"]), consistent_read=True)

    recipient_id, buyer_id = user_id_for_email("friend@example.com"), user_id_for_email("buyer@example.com")
    assert recipient_id and buyer_id and recipient_id != buyer_id
    assert get_user(recipient_id).password_hash is None  # a new account, as for a guest purchase
    assert (order.status, order.user_id, order.gift_recipient_user_id) == (PAID, buyer_id, recipient_id)
    entitlement = entitlements.get(recipient_id, course.id)
    assert (entitlement.status, entitlement.source, entitlement.order_id) == (ACTIVE, "gift", order.id)
    assert entitlements.get(buyer_id, course.id) is None  # the buyer gets no access

    [gift_mail] = mails("friend@example.com")
    assert gift_mail.subject == "You have been given a course on Lectern"
    assert "Hello Grace," in gift_mail.body and course.title in gift_mail.body
    assert "buyer@example.com has given you a course" in gift_mail.body
    assert "> Happy birthday!\n> Enjoy it." in gift_mail.body
    assert len(claim_tokens("friend@example.com")) == 1
    [receipt] = mails("buyer@example.com", "receipt")
    assert "a gift for Grace (friend@example.com)" in receipt.body and "not yours" in receipt.body
    [buyer_claim] = mails("buyer@example.com", "password")  # a guest buyer's account, for the order history
    assert "as a gift" in buyer_claim.body

    # Stripe delivers the same event again, and another event for the session: nothing new.
    for event in (completed, dict(completed, id=f"evt_again_{uuid.uuid4().hex[:12]}")):
        assert deliver(runner, event)["statusCode"] == 200
    assert len(sent_emails("friend@example.com")) == 1 and len(sent_emails("buyer@example.com")) == 2
    assert [h.action for h in entitlements.history(recipient_id)] == ["grant"]
    assert floor == 15, counter.by_operation()  # documented in docs/data-model.md (gift completion)

    # The recipient claims the account through the emailed link and finds the course; the buyer's
    # orders show the gift.
    claimed = api.post("/auth/claim", body={"token": claim_tokens("friend@example.com")[0], "password": PASSWORD})
    assert claimed["statusCode"] == 200
    recipient_headers = {"authorization": f"Bearer {claimed['json']['access_token']}"}
    library = api.get("/me/courses", headers=recipient_headers)["json"]["courses"]
    assert [c["slug"] for c in library] == [course.slug]
    assert api.get("/me/orders", headers=recipient_headers)["json"]["orders"] == []
    [entry] = api.get("/me/orders", headers=bearer(get_user(buyer_id)))["json"]["orders"]
    assert entry["gift"] == {"recipient_email": "friend@example.com", "recipient_name": "Grace"}
    assert api.get("/me/courses", headers=bearer(get_user(buyer_id)))["json"]["courses"] == []


def test_an_existing_recipient_gets_a_sign_in_link_and_no_new_account(api, stripe_env, runner):
    course = sellable_course(stripe_env)
    friend = create_user("friend@example.com", password_hash="argon2-hash")
    order = pay(stripe_env, runner, gift_checkout(api, course, {"recipient_email": "friend@example.com"})["json"])
    assert order.gift_recipient_user_id == friend.id and entitlements.is_active(friend.id, course.id)
    [gift_mail] = sent_emails("friend@example.com")
    assert "/login?next=%2Flibrary" in gift_mail.body and "/claim?token=" not in gift_mail.body
    assert gift_mail.body.startswith("Hello,\n")


def test_the_message_is_quoted_as_plain_text_whatever_is_stored(api, stripe_env, runner):
    """Validation refuses control characters; the mail does not rely on it (an order written some other way)."""
    course = sellable_course(stripe_env)
    created = gift_checkout(api, course, {"recipient_email": "friend@example.com", "message": "hello"})["json"]
    order = Order.get(*Order.key(created["order_id"]))
    order.update(actions=[Order.gift_message.set("<b>hi</b>\nClaim here: evil\x1b[0m\u202e\n\nLectern team"),
                          Order.gift_recipient_name.set("Eve\r\nBcc: x@example.com")])
    pay(stripe_env, runner, created)
    [gift_mail] = sent_emails("friend@example.com")
    assert "Hello Eve Bcc: x@example.com," in gift_mail.body  # one line: no header, no line of ours
    assert "> <b>hi</b>\n> Claim here: evil [0m\n>\n> Lectern team" in gift_mail.body
    assert "\x1b" not in gift_mail.body and "\u202e" not in gift_mail.body
    assert gift_mail.subject == "You have been given a course on Lectern"


def test_a_recipient_who_got_the_course_before_payment_means_a_refund_not_a_second_grant(api, stripe_env, runner):
    course = sellable_course(stripe_env)
    created = gift_checkout(api, course, {"recipient_email": "friend@example.com"})["json"]
    friend = create_user("friend@example.com")
    first = entitlements.grant(friend.id, course.id, course.slug, reason="test", actor="test", source="free")
    order = pay(stripe_env, runner, created)
    assert (order.status, order.refund_reason) == (REFUNDED, "duplicate_purchase")
    assert order.duplicate_of == f"free:{first.entitlement.id}"
    entitlement = entitlements.get(friend.id, course.id)
    assert (entitlement.source, entitlement.id) == ("free", first.entitlement.id)
    [refund] = stripe_env.engine.list("refund", lambda r: r["payment_intent"] == order.payment_intent_id)
    assert refund["reason"] == "duplicate"
    assert sent_emails("friend@example.com") == [] and mails("buyer@example.com", "receipt") == []


def test_a_refund_revokes_the_recipients_access_found_through_the_order(api, stripe_env, runner):
    course = sellable_course(stripe_env)
    buyer = create_user("buyer@example.com", password_hash="argon2-hash")
    # The buyer also owns the course through an order of their own: a gift refunded must not hand
    # the recipient's access over to it (nor touch the buyer's).
    own = pay(stripe_env, runner, api.post("/checkout", body={"course_slug": course.slug},
                                           headers=bearer(buyer))["json"])
    order = pay(stripe_env, runner, gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))["json"])
    recipient_id = order.gift_recipient_user_id
    assert entitlements.is_active(recipient_id, course.id) and entitlements.is_active(buyer.id, course.id)
    stripe_env.refund(order.payment_intent_id)
    charge = stripe_env.engine.get("payment_intent", order.payment_intent_id)["latest_charge"]
    assert deliver(runner, last_event(stripe_env, "charge.refunded", charge))["statusCode"] == 200
    assert Order.get(*Order.key(order.id), consistent_read=True).status == REFUNDED
    revoked = entitlements.get(recipient_id, course.id)
    assert (revoked.status, revoked.revoke_reason) == (REVOKED, "refund")
    assert entitlements.get(buyer.id, course.id).order_id == own.id  # the buyer's own access stays


def test_a_dispute_revokes_the_recipient_and_winning_it_restores_them(api, stripe_env, runner):
    course = sellable_course(stripe_env)
    order = pay(stripe_env, runner, gift_checkout(api, course, {"recipient_email": "friend@example.com"})["json"])
    charge = stripe_env.engine.get("payment_intent", order.payment_intent_id)["latest_charge"]
    dispute = stripe_env.dispute(charge)
    assert deliver(runner, last_event(stripe_env, "charge.dispute.created", dispute["id"]))["statusCode"] == 200
    assert not entitlements.is_active(order.gift_recipient_user_id, course.id)
    stripe_env.close_dispute(dispute["id"], won=True)
    assert deliver(runner, last_event(stripe_env, "charge.dispute.closed", dispute["id"]))["statusCode"] == 200
    restored = entitlements.get(order.gift_recipient_user_id, course.id)
    assert (restored.status, restored.source) == (ACTIVE, "gift")
    assert entitlements.get(order.user_id, course.id) is None


def test_a_gift_email_ses_refuses_is_sent_by_the_outbox_and_access_is_there_meanwhile(api, stripe_env, runner,
                                                                                     ses_sandbox):
    from lectern.notifications import outbox

    ses_sandbox("friend@example.com")
    course = sellable_course(stripe_env)
    order = pay(stripe_env, runner, gift_checkout(api, course, GIFT)["json"])
    assert entitlements.is_active(order.gift_recipient_user_id, course.id)
    assert sent_emails("friend@example.com") == [] and order.gift_sent_at
    mail = OutboxMail.get(OUTBOX_PK, f"MAIL#gift:{order.id}", consistent_read=True)
    assert (mail.kind, mail.to, mail.status) == ("gift", "friend@example.com", outbox.PENDING)
    ses_sandbox("")
    assert outbox.resend(f"gift:{order.id}").outcome == outbox.SENT
    [gift_mail] = sent_emails("friend@example.com")
    assert "> Happy birthday!" in gift_mail.body and len(claim_tokens("friend@example.com")) == 1


# ------------------------------------------------------------------ resend-gift

def resend(api, order_id: str, headers: dict, ip: str = "192.0.2.10") -> dict:
    return api.post(f"/me/orders/{order_id}/resend-gift", headers=headers, source_ip=ip)


def test_only_the_buyer_of_a_paid_gift_can_resend_it_and_it_is_limited(api, stripe_env, runner):
    course = sellable_course(stripe_env)
    buyer = create_user("buyer@example.com", password_hash="argon2-hash")
    order = pay(stripe_env, runner, gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))["json"])
    plain = pay(stripe_env, runner, api.post("/checkout", body={"course_slug": sellable_course(stripe_env).slug},
                                             headers=bearer(buyer))["json"])
    pending = gift_checkout(api, sellable_course(stripe_env), GIFT, email=None, headers=bearer(buyer))["json"]
    stranger = create_user("stranger@example.com", password_hash="argon2-hash")
    recipient = get_user(order.gift_recipient_user_id)

    assert resend(api, order.id, {})["statusCode"] == 401
    not_found = [resend(api, order.id, bearer(stranger)), resend(api, order.id, bearer(recipient)),
                 resend(api, plain.id, bearer(buyer)), resend(api, pending["order_id"], bearer(buyer)),
                 resend(api, "01" + "X" * 24, bearer(buyer)), resend(api, "not-an-order", bearer(buyer))]
    assert [r["statusCode"] for r in not_found] == [404] * 6
    assert len({str(r["json"]) for r in not_found}) == 1
    assert len(sent_emails("friend@example.com")) == 1

    with count_requests() as counter:
        again = resend(api, order.id, bearer(buyer))
    assert again["statusCode"] == 202 and again["json"] == {"sent": True}
    assert again["headers"]["Cache-Control"] == "no-store"
    # #26: the client's counter, the order (#9), the recipient (#5), the address's counter, the order's resend
    # count, the claim token (#18).
    assert counter.by_operation() == {"UpdateItem": 3, "Query": 1, "GetItem": 1, "TransactWriteItems": 1}
    first, second = claim_tokens("friend@example.com")
    assert "> Happy birthday!" in sent_emails("friend@example.com")[-1].body
    # The new link supersedes the first.
    assert api.post("/auth/claim", body={"token": first, "password": PASSWORD})["statusCode"] == 400

    # Purchase mails are not counted; the address's resends are: two more this hour, then 429 with Retry-After.
    assert [resend(api, order.id, bearer(buyer))["statusCode"] for _ in range(2)] == [202, 202]
    limited = resend(api, order.id, bearer(buyer))
    assert limited["statusCode"] == 429 and int(limited["headers"]["Retry-After"]) > 0
    assert limited["json"]["error"]["code"] == "rate_limited"
    assert len(sent_emails("friend@example.com")) == 4

    # A refunded gift cannot be resent.
    stripe_env.refund(order.payment_intent_id)
    charge = stripe_env.engine.get("payment_intent", order.payment_intent_id)["latest_charge"]
    assert deliver(runner, last_event(stripe_env, "charge.refunded", charge))["statusCode"] == 200
    assert resend(api, order.id, bearer(buyer), ip="192.0.2.77")["statusCode"] == 404


def test_one_client_asking_for_too_many_mails_gets_429(api, stripe_env, runner, monkeypatch):
    monkeypatch.setenv("MAIL_LIMIT_PER_CLIENT", "2")
    course = sellable_course(stripe_env)
    buyer = create_user("buyer@example.com", password_hash="argon2-hash")
    order = pay(stripe_env, runner, gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))["json"])
    assert [resend(api, order.id, bearer(buyer), ip="198.51.100.7")["statusCode"] for _ in range(3)] == [
        202, 202, 429]
    # Another client: its own share of requests, but the address has had 3 resends this hour after that one.
    assert [resend(api, order.id, bearer(buyer), ip="198.51.100.8")["statusCode"] for _ in range(2)] == [202, 429]


def test_a_gift_is_resent_a_few_times_a_year_not_three_times_every_hour_for_ever(api, stripe_env, runner,
                                                                              monkeypatch):
    """The address's counter forgets after an hour: without a cap per order, one cheap gift lets its buyer
    mail the recipient (with the buyer's own message, from Lectern's address) 72 times a day, for ever.
    Modelled by lifting the hourly limits; the gift's own cap still holds: 409 `conflict`, nothing sent."""
    from lectern.payments import gifts

    monkeypatch.setenv("MAIL_LIMIT_PER_ADDRESS", "1000")
    monkeypatch.setenv("MAIL_LIMIT_PER_CLIENT", "1000")
    course = sellable_course(stripe_env)
    buyer = create_user("buyer@example.com", password_hash="argon2-hash")
    order = pay(stripe_env, runner, gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))["json"])
    answers = [resend(api, order.id, bearer(buyer))["statusCode"] for _ in range(gifts.RESENDS_PER_GIFT)]
    assert answers == [202] * gifts.RESENDS_PER_GIFT
    capped = resend(api, order.id, bearer(buyer))
    assert capped["statusCode"] == 409 and capped["json"]["error"]["code"] == "conflict"
    assert len(sent_emails("friend@example.com")) == 1 + gifts.RESENDS_PER_GIFT


def test_a_disputed_gift_is_not_resent(api, stripe_env, runner):
    """While its payment is disputed (or once the dispute is lost) the recipient has no access: the gift
    email ("the course is in your library") is not sent again, by the buyer or by the outbox."""
    from lectern.payments import purchase_mails
    from lectern.models.users import OutboxMail

    course = sellable_course(stripe_env)
    buyer = create_user("buyer@example.com", password_hash="argon2-hash")
    order = pay(stripe_env, runner, gift_checkout(api, course, GIFT, email=None, headers=bearer(buyer))["json"])
    charge = stripe_env.engine.get("payment_intent", order.payment_intent_id)["latest_charge"]
    dispute = stripe_env.dispute(charge)
    assert deliver(runner, last_event(stripe_env, "charge.dispute.created", dispute["id"]))["statusCode"] == 200
    answer = resend(api, order.id, bearer(buyer))
    assert answer["statusCode"] == 404 and answer["json"]["error"]["code"] == "not_found"
    assert len(sent_emails("friend@example.com")) == 1
    assert purchase_mails.MAIL_BUILDERS[purchase_mails.GIFT](OutboxMail(kind=purchase_mails.GIFT, ref=order.id)) is None

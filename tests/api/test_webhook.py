"""The Stripe webhook: signatures, recording, and what each event does to orders and access.

Events come from the Stripe emulator (so their shapes are Stripe's) and are
delivered by the test, signed like Stripe signs them, to the function in-process.
"""
import argparse
import io
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from lectern.accounts.users import user_id_for_email
from lectern.entitlements import service as entitlements
from lectern.models.events import FAILED as EVENT_FAILED
from lectern.models.events import PROCESSED, StripeEvent
from lectern.models.orders import FAILED, PAID, PENDING, REFUNDED, Order, PaymentIntentRef, RefundRecord, order_pk
from lectern.models.users import OUTBOX_PK, OneTimeToken, OutboxMail
from lectern.notifications import outbox
from lectern_dev.template import REPO_ROOT
from support.payments_support import (
    Shop, emails, order_of, stored,
    deliver_raw, promotion_code, sellable_course, sent_emails, signature, start_checkout,
)


# ------------------------------------------------------------------ signatures

def _completed_payload(shop) -> str:
    session = shop.emu.pay(shop.checkout()["checkout_session_id"])
    return json.dumps(shop.event("checkout.session.completed", session["id"]))


@pytest.mark.parametrize("header", [
    None,                                                     # missing
    "garbage",                                                # malformed
    "t=notanumber,v1=abc",                                    # malformed timestamp
    "t=1700000000",                                           # no v1 signature
    "wrong-secret",                                           # signed with another secret
    "stale",                                                  # signed 301 s ago
    "tampered",                                               # body changed after signing
])
def test_bad_signatures_are_400_and_nothing_is_stored(shop, header):
    payload = _completed_payload(shop)
    event_id = json.loads(payload)["id"]
    body = payload
    headers = {}
    if header == "wrong-secret":
        headers["stripe-signature"] = signature(payload, secret="whsec_other")
    elif header == "stale":
        headers["stripe-signature"] = signature(payload, timestamp=int(time.time()) - 301)
    elif header == "tampered":
        headers["stripe-signature"] = signature(payload)
        body = payload.replace('"paid"', '"unpaid"', 1)
    elif header is not None:
        headers["stripe-signature"] = header

    response = deliver_raw(shop.runner, body, headers)
    assert response["statusCode"] == 400
    assert response["json"]["error"]["code"] == "invalid_signature"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert list(StripeEvent.scan()) == []
    assert event_id  # the event was real; only its delivery was not


def test_base64_body_is_verified_after_decoding(shop):
    payload = _completed_payload(shop)
    response = deliver_raw(shop.runner, payload, {"stripe-signature": signature(payload)}, base64_body=True)
    assert response["statusCode"] == 200
    assert response["json"] == {"received": True}
    assert stored(json.loads(payload)["id"]).status == PROCESSED


def test_get_is_405(shop):
    from support.payments_support import function_url_event

    event = function_url_event("")
    event["requestContext"]["http"]["method"] = "GET"
    response = shop.runner.invoke_dict("StripeWebhookFunction", event)
    assert response["statusCode"] == 405


# ------------------------------------------------------------------ checkout completion

def test_paid_checkout_grants_access_binds_the_guest_and_emails_once(shop):
    order, session = shop.paid(email="guest@example.com")

    assert order.status == PAID and order.paid_at
    assert (order.subtotal_amount, order.discount_amount, order.total_amount) == (4900, 0, 4900)
    assert order.payment_intent_id == session["payment_intent"]
    assert PaymentIntentRef.get(*PaymentIntentRef.key(session["payment_intent"])).order_id == order.id
    user_id = user_id_for_email("guest@example.com")
    assert order.user_id == user_id and order.gsi1pk == f"USER#{user_id}" and order.gsi1sk == order.created_at
    assert [o.id for o in Order.by_user.query(f"USER#{user_id}")] == [order.id]
    assert shop.has_access(order)
    entitlement = entitlements.get(user_id, shop.course.id)
    assert entitlement.order_id == order.id and entitlement.source == "order"

    [receipt] = emails("receipt", "guest@example.com")
    assert "49.00 USD" in receipt.body and shop.course.title in receipt.body
    [claim] = emails("password", "guest@example.com")
    assert "http://127.0.0.1:3002/claim?token=" in claim.body
    assert order.receipt_sent_at and order.claim_sent_at
    [token] = [t for t in OneTimeToken.scan() if t.purpose == "claim"]
    assert (token.user_id, token.order_id) == (user_id, order.id)

    # The same event again: 200, nothing new happens.
    completed = shop.event("checkout.session.completed", session["id"])
    assert shop.deliver(completed)["statusCode"] == 200
    assert len(sent_emails("guest@example.com")) == 2
    record = stored(completed["id"])
    assert (record.status, record.outcome, record.type) == (PROCESSED, "fulfilled", "checkout.session.completed")
    assert json.loads(record.payload)["id"] == completed["id"]


def test_a_guest_completion_is_ten_requests(shop):
    """#17, #9 (the order and its items in one Query), #6's EMAIL# GetItem and #7 (the guest's account,
    made before the transition), the paid transition binding the order to it (1 transaction), #23 (the
    buyer's other open checkouts for the course, to expire them), #15, the receipt stamp, the claim
    token with its stamp (one transaction with the user's live-link hash, which supersedes older links),
    and the event's processed UpdateItem; no reload of the order after the transition."""
    from support.request_counter import count_requests

    created = shop.checkout(email="count@example.com")
    session = shop.emu.pay(created["checkout_session_id"])
    with count_requests() as counter:
        assert shop.deliver(shop.event("checkout.session.completed", session["id"]))["statusCode"] == 200
    assert counter.by_operation() == {"PutItem": 1, "Query": 2, "TransactWriteItems": 4, "GetItem": 1,
                                      "UpdateItem": 2}
    # The receipt was written from the order as the transition left it, without reading it back.
    order = order_of(created)
    assert (order.user_id, order.gsi1pk) == (user_id_for_email("count@example.com"), f"USER#{order.user_id}")
    assert order.gsi1sk == order.created_at and order.claim_sent_at and order.receipt_sent_at
    assert len(emails("Set your password", "count@example.com")) == 1
    [receipt] = emails("receipt", "count@example.com")
    assert order.status == PAID and f"Order {order.id} ({order.paid_at})" in receipt.body
    assert "Total paid: 49.00 USD" in receipt.body


def test_a_paid_session_with_a_customer_records_it_in_the_same_requests(shop):
    """Stripe made a Customer for the session (customer_creation=always, or an existing one):
    the order keeps its id, written by the paid transition itself (still ten requests)."""
    from support.request_counter import count_requests

    created = shop.checkout(email="customer@example.com")
    session_id = created["checkout_session_id"]
    with shop.emu.state.lock:  # what Stripe's session carries when it created a Customer
        shop.emu.state["checkout.session"][session_id]["customer"] = "cus_test_lectern42"
    shop.emu.pay(session_id)
    with count_requests() as counter:
        assert shop.deliver(shop.event("checkout.session.completed", session_id))["statusCode"] == 200
    assert sum(counter.by_operation().values()) == 10  # the guest floor: no more
    order = order_of(created)
    assert order.status == PAID and order.stripe_customer_id == "cus_test_lectern42"


def test_a_paid_session_without_a_customer_records_none(shop):
    order, session = shop.paid(email="nocustomer@example.com")
    assert session["customer"] is None
    assert order.status == PAID and order.stripe_customer_id is None


def test_a_duplicate_of_a_processed_event_is_one_request(shop):
    """Stripe delivers at least once: a redelivery of a processed event is the conditional put of #17
    alone, which answers with the stored record (ReturnValuesOnConditionCheckFailure), no second read."""
    from support.request_counter import count_requests

    created = shop.checkout(email="dup@example.com")
    session = shop.emu.pay(created["checkout_session_id"])
    completed = shop.event("checkout.session.completed", session["id"])
    assert shop.deliver(completed)["statusCode"] == 200
    with count_requests() as counter:
        response = shop.deliver(completed)
    assert response["statusCode"] == 200 and counter.by_operation() == {"PutItem": 1}
    assert len(emails("receipt", "dup@example.com")) == 1
    assert (stored(completed["id"]).status, stored(completed["id"]).outcome) == (PROCESSED, "fulfilled")


def test_a_cold_environment_builds_one_dynamodb_client_for_every_table(shop, monkeypatch):
    """A completion reads and writes a dozen models over four tables; PynamoDB would build a botocore
    client (on a botocore session of its own, ~0.1 s of CPU) for each model at its first request.
    They share the one client of lectern.models.base.connection(), as do its transactions."""
    import botocore.session
    from pynamodb.models import Model

    from lectern.models import base

    created = shop.checkout(email="cold@example.com")
    completed = shop.event("checkout.session.completed", shop.emu.pay(created["checkout_session_id"])["id"])
    pending = list(Model.__subclasses__())  # as a fresh environment: no connection, no client yet
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if "_connection" in vars(model):
            monkeypatch.setattr(model, "_connection", None)
    monkeypatch.setattr(base, "_connection", None)
    built = Counter()
    original = botocore.session.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        built[service_name] += 1
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    assert shop.deliver(completed)["statusCode"] == 200
    assert built["dynamodb"] == 1
    shared = base.connection().client
    assert Order._get_connection().connection.client is shared
    assert StripeEvent._get_connection().connection.client is shared
    assert OutboxMail._get_connection().connection.client is shared


def test_a_model_with_other_client_settings_keeps_its_own_client(aws):
    from pynamodb.attributes import UnicodeAttribute

    from lectern.models import base

    class Patient(base.KeyedModel):
        class Meta(base.meta("ORDERS_TABLE")):
            read_timeout_seconds = 30

    class Alike(base.KeyedModel):
        Meta = base.meta("ORDERS_TABLE")
        note = UnicodeAttribute(null=True)

    shared = base.connection().client
    assert Alike._get_connection().connection.client is shared
    assert Patient._get_connection().connection.client is not shared


def test_the_shared_client_sends_a_user_agent_made_once(aws, monkeypatch):
    """botocore rebuilds its default User-Agent for every request (a tenth of the webhook's CPU); the
    shared DynamoDB client sends botocore's classic one, made when the client is."""
    import botocore.session
    from botocore.useragent import UserAgentString

    from lectern.models import base

    monkeypatch.setattr(base, "_connection", None)
    client = base.connection().client
    sent = []
    client.meta.events.register("before-send.dynamodb.*", lambda request, **_: sent.append(request.headers["User-Agent"]))
    monkeypatch.setattr(UserAgentString, "_build_feature_metadata",
                        lambda self: pytest.fail("the User-Agent was rebuilt for a request"))
    assert StripeEvent.count("evt_none") == 0
    with pytest.raises(StripeEvent.DoesNotExist):
        StripeEvent.get("evt_none")
    classic = botocore.session.get_session().user_agent().encode()
    assert len(sent) == 2 and all(agent.startswith(classic) for agent in sent)  # (and Powertools' PT/...)


def test_a_completion_for_an_order_already_paid_is_eight_requests(shop):
    """Another event about a session already fulfilled (a replay, or Stripe's async success after
    the completion): #17, #9, the buyer's GetItem, the grant (cancelled: already active) and the
    entitlement read back, the receipt stamp and the claim token's transaction (both cancelled: the
    stamps are set) and processed. No paid transition is attempted and the order is not read again;
    nothing is sent twice, and no second claim token is stored."""
    from support.request_counter import count_requests

    created = shop.checkout(email="again@example.com")
    session = shop.emu.pay(created["checkout_session_id"])
    first = shop.event("checkout.session.completed", session["id"])
    assert shop.deliver(first)["statusCode"] == 200
    again = dict(first, id=f"evt_again_{uuid.uuid4().hex[:12]}")
    with count_requests() as counter:
        assert shop.deliver(again)["statusCode"] == 200
    assert counter.by_operation() == {"PutItem": 1, "Query": 1, "GetItem": 2, "TransactWriteItems": 2,
                                      "UpdateItem": 2}
    assert len(emails("receipt", "again@example.com")) == 1
    assert len(emails("Set your password", "again@example.com")) == 1
    order = order_of(created)
    assert sum(t.purpose == "claim" for t in OneTimeToken.scan() if t.user_id == order.user_id) == 1
    assert shop.has_access(order_of(created))


def test_a_buyer_with_a_password_gets_a_receipt_but_no_claim_email(shop):
    from lectern.accounts.users import create_user

    user = create_user("member@example.com", password_hash="argon2-hash")
    order, _ = shop.paid(email="member@example.com")
    assert order.user_id == user.id and shop.has_access(order)
    assert len(emails("receipt", "member@example.com")) == 1
    assert emails("password", "member@example.com") == []


def test_discounted_amounts_come_from_the_session(shop):
    shop.course = sellable_course(shop.emu, price=5000)
    order, _ = shop.paid(promotion_code=promotion_code(shop.emu, percent_off=20))
    assert (order.subtotal_amount, order.discount_amount, order.total_amount) == (5000, 1000, 4000)
    [receipt] = emails("receipt")  # written from the order in memory after the transition
    assert "Subtotal: 50.00 USD" in receipt.body and "Discount: -10.00 USD" in receipt.body
    assert "Total paid: 40.00 USD" in receipt.body


def test_delayed_payment_grants_only_when_it_settles(shop):
    created = shop.checkout()
    session = shop.emu.pay(created["checkout_session_id"], delayed=True)
    completed = shop.event("checkout.session.completed", session["id"])
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert shop.deliver(completed)["statusCode"] == 200
    order = order_of(created)
    assert order.status == PENDING and not shop.has_access(order)
    assert stored(completed["id"]).outcome == "awaiting_payment"
    assert sent_emails() == []

    shop.emu.settle_delayed(session["id"], succeed=True)
    assert shop.deliver(shop.event("checkout.session.async_payment_succeeded", session["id"]))["statusCode"] == 200
    order = order_of(created)
    assert order.status == PAID and shop.has_access(order)
    assert len(emails("receipt")) == 1


def test_delayed_payment_failure_fails_the_order(shop):
    created = shop.checkout()
    session = shop.emu.pay(created["checkout_session_id"], delayed=True)
    shop.deliver(shop.event("checkout.session.completed", session["id"]))
    shop.emu.settle_delayed(session["id"], succeed=False)
    failed = shop.event("checkout.session.async_payment_failed", session["id"])
    assert shop.deliver(failed)["statusCode"] == 200
    order = order_of(created)
    assert order.status == FAILED and order.failed_at and not shop.has_access(order)
    assert stored(failed["id"]).outcome == "order_failed"
    assert api_status(shop, created) == "failed"


def test_expired_session_fails_the_order(shop):
    created = shop.checkout()
    shop.emu.expire(created["checkout_session_id"])
    assert shop.deliver(shop.event("checkout.session.expired", created["checkout_session_id"]))["statusCode"] == 200
    order = order_of(created)
    assert order.status == FAILED and not shop.has_access(order)
    assert sent_emails() == []


def api_status(shop, created: dict) -> str:
    return shop.api.get(f"/checkout/{created['checkout_session_id']}")["json"]["status"]


# ------------------------------------------------------------------ refunds

def test_full_refund_ends_the_order_and_revokes_access(shop):
    order, session = shop.paid()
    refund = shop.emu.refund(session["payment_intent"])
    refunded = shop.event("charge.refunded", shop.charge_of(session))
    assert shop.deliver(refunded)["statusCode"] == 200

    order = Order.get(*Order.key(order.id), consistent_read=True)
    assert order.status == REFUNDED and order.refunded_at and order.amount_refunded == 4900
    assert (order.total_amount, order.subtotal_amount) == (4900, 4900)  # money fields never change
    assert not shop.has_access(order)
    assert entitlements.get(order.user_id, shop.course.id).revoke_reason == "refund"
    [record] = RefundRecord.query(order_pk(order.id), RefundRecord.sk.startswith("REFUND#"))
    assert (record.stripe_refund_id, record.amount) == (refund["id"], 4900)
    assert stored(refunded["id"]).outcome == "refunded"
    assert api_status(shop, {"checkout_session_id": session["id"]}) == "refunded"


def test_partial_refund_is_recorded_and_access_stays(shop):
    order, session = shop.paid()
    shop.emu.refund(session["payment_intent"], amount=1000)
    first = shop.event("charge.refunded", shop.charge_of(session))
    assert shop.deliver(first)["statusCode"] == 200
    shop.emu.refund(session["payment_intent"], amount=900)
    second = shop.event("charge.refunded", shop.charge_of(session))
    assert shop.deliver(second)["statusCode"] == 200
    assert shop.deliver(first)["statusCode"] == 200  # a late redelivery of the older event lowers nothing

    order = Order.get(*Order.key(order.id), consistent_read=True)
    assert order.status == PAID and order.amount_refunded == 1900
    assert shop.has_access(order)
    records = RefundRecord.query(order_pk(order.id), RefundRecord.sk.startswith("REFUND#"))
    assert sorted(r.amount for r in records) == [900, 1000]
    assert stored(second["id"]).outcome == "partially_refunded"


def test_refund_for_an_unknown_order_is_recorded_and_200(shop):
    order, session = shop.paid()
    shop.emu.refund(session["payment_intent"])
    refunded = shop.event("charge.refunded", shop.charge_of(session))
    # A charge Lectern never sold: no order id anywhere.
    charge = refunded["data"]["object"]
    charge.update(id="ch_foreign", payment_intent=None, metadata={})
    refunded["id"] = "evt_foreign_refund"
    shop.emu.engine.state["charge"]["ch_foreign"] = dict(charge)

    assert shop.deliver(refunded)["statusCode"] == 200
    assert (stored("evt_foreign_refund").status, stored("evt_foreign_refund").outcome) == (PROCESSED, "unknown_order")
    assert Order.get(*Order.key(order.id), consistent_read=True).status == PAID


def test_refund_before_completion_is_retried_until_the_order_is_paid(shop):
    created = shop.checkout()
    session = shop.emu.pay(created["checkout_session_id"])
    shop.emu.refund(session["payment_intent"])
    refunded = shop.event("charge.refunded", shop.charge_of(session))
    completed = shop.event("checkout.session.completed", session["id"])

    response = shop.deliver(refunded)  # out of order: the payment is not fulfilled yet
    assert response["statusCode"] == 500
    assert response["json"]["error"]["code"] == "processing_failed"
    record = stored(refunded["id"])
    assert record.status == EVENT_FAILED and "RetryLater" in record.processing_error and record.attempts == 1
    assert order_of(created).status == PENDING

    assert shop.deliver(completed)["statusCode"] == 200
    assert shop.deliver(refunded)["statusCode"] == 200  # Stripe's retry
    order = order_of(created)
    assert order.status == REFUNDED and not shop.has_access(order)
    record = stored(refunded["id"])
    assert (record.status, record.processing_error, record.attempts) == (PROCESSED, None, 2)


# ------------------------------------------------------------------ disputes

def _dispute(shop, session) -> dict:
    dispute = shop.emu.dispute(shop.charge_of(session))
    assert shop.deliver(shop.event("charge.dispute.created", dispute["id"]))["statusCode"] == 200
    return dispute


def test_lost_dispute_revokes_access_for_good(shop):
    order, session = shop.paid()
    dispute = _dispute(shop, session)
    assert not shop.has_access(order)
    assert Order.get(*Order.key(order.id)).dispute_status == "needs_response"

    shop.emu.close_dispute(dispute["id"], won=False)
    assert shop.deliver(shop.event("charge.dispute.closed", dispute["id"]))["statusCode"] == 200
    order = Order.get(*Order.key(order.id), consistent_read=True)
    assert (order.status, order.dispute_status) == (PAID, "lost")
    assert not shop.has_access(order)
    # Redelivering the completion must not hand access back.
    assert shop.deliver(shop.event("checkout.session.completed", session["id"]))["statusCode"] == 200
    assert not shop.has_access(order)


def test_won_dispute_restores_access(shop):
    order, session = shop.paid()
    dispute = _dispute(shop, session)
    assert not shop.has_access(order)
    shop.emu.close_dispute(dispute["id"], won=True)
    closed = shop.event("charge.dispute.closed", dispute["id"])
    assert shop.deliver(closed)["statusCode"] == 200
    order = Order.get(*Order.key(order.id), consistent_read=True)
    assert (order.status, order.dispute_status) == (PAID, "won")
    assert shop.has_access(order)
    assert stored(closed["id"]).outcome == "access_restored"
    # A late redelivery of "created" after the close takes nothing away.
    assert shop.deliver(shop.event("charge.dispute.created", dispute["id"]))["statusCode"] == 200
    assert shop.has_access(order)


# ------------------------------------------------------------------ other events, failures, operators

def test_unhandled_event_types_are_recorded_as_ignored_in_one_request(shop):
    """A type no handler reads is put already processed (#17: the one conditional PutItem), and a
    redelivery of it is the same one request, answered as a duplicate."""
    from support.request_counter import count_requests

    session = shop.emu.pay(shop.checkout()["checkout_session_id"])
    succeeded = shop.event("payment_intent.succeeded", session["payment_intent"])
    with count_requests() as counter:
        assert shop.deliver(succeeded)["json"] == {"received": True}
    assert counter.by_operation() == {"PutItem": 1}
    record = stored(succeeded["id"])
    assert (record.status, record.outcome, record.attempts) == (PROCESSED, "ignored", 1)
    assert record.processed_at == record.received_at and record.payload is not None
    with count_requests() as counter:
        assert shop.deliver(succeeded)["statusCode"] == 200
    assert counter.by_operation() == {"PutItem": 1}
    assert stored(succeeded["id"]).attempts == 1


def test_completion_for_a_session_stripe_does_not_know_is_unknown_order(shop):
    session = shop.emu.pay(shop.checkout()["checkout_session_id"])
    completed = shop.event("checkout.session.completed", session["id"])
    completed["id"], completed["data"]["object"]["id"] = "evt_other_account", "cs_test_not_ours"
    assert shop.deliver(completed)["statusCode"] == 200
    assert stored("evt_other_account").outcome == "unknown_order"


@pytest.mark.parametrize("mail", ["receipt", "claim"])
def test_a_refused_claim_leaves_the_stamp_another_delivery_set_in_the_same_second(shop, monkeypatch, mail):
    """Two deliveries claim a mail's stamp in the same second (stamps have seconds precision) and
    DynamoDB refuses the second one's write (a conflict with the first one's transaction: a 4xx, so
    nothing was written). The second must not release the stamp holding its value: it is the first
    delivery's, and releasing it would let the mail go out again."""
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import TransactWriteError, UpdateError

    from lectern.accounts import tokens
    from lectern.accounts.users import get_user
    from lectern.models import orders
    from lectern.payments import fulfillment, purchase_mails

    order, _session = shop.paid(email=f"same-second-{mail}@example.com")
    stamp = Order.receipt_sent_at if mail == "receipt" else Order.claim_sent_at
    claimed = getattr(order, stamp.attr_name)
    assert claimed
    monkeypatch.setattr(fulfillment, "iso", lambda *_: claimed)  # the second delivery, in the same second
    code = "TransactionConflictException" if mail == "receipt" else "TransactionCanceledException"
    refused = ClientError({"Error": {"Code": code, "Message": "conflict"}, "ResponseMetadata": {"HTTPStatusCode": 400},
                           "CancellationReasons": [{"Code": "None"}, {"Code": "None"}, {"Code": "TransactionConflict"}]},
                          "UpdateItem" if mail == "receipt" else "TransactWriteItems")
    if mail == "receipt":
        real_update, refusals = Order.update, []

        def update(self, *args, **kwargs):
            if not refusals:  # the claim; a release would go through
                refusals.append(True)
                raise UpdateError("Failed to update item", cause=refused)
            return real_update(self, *args, **kwargs)

        monkeypatch.setattr(Order, "update", update)
    else:
        def issue(*_args, **_kwargs):
            raise TransactWriteError("Failed to write transaction items", cause=refused)

        monkeypatch.setattr(tokens, "issue", issue)
    with pytest.raises((UpdateError, TransactWriteError)):
        if mail == "receipt":
            fulfillment._send_once(order, stamp, purchase_mails.RECEIPT, lambda: pytest.fail("built"))
        else:
            fulfillment._send_claim_once(order, orders.items_of(order.id, consistent_read=True), get_user(order.user_id))
    assert getattr(Order.get(*Order.key(order.id), consistent_read=True), stamp.attr_name) == claimed


def test_a_failure_midway_is_stored_and_a_redelivery_finishes_exactly_once(shop, monkeypatch):
    from lectern.payments import fulfillment

    created = shop.checkout()
    session = shop.emu.pay(created["checkout_session_id"])
    completed = shop.event("checkout.session.completed", session["id"])
    real_grant = fulfillment.entitlements.grant

    def flaky_grant(*args, **kwargs):
        monkeypatch.setattr(fulfillment.entitlements, "grant", real_grant)  # fail once only
        raise RuntimeError("DynamoDB went away")

    monkeypatch.setattr(fulfillment.entitlements, "grant", flaky_grant)
    response = shop.deliver(completed)
    assert response["statusCode"] == 500 and response["json"]["error"]["code"] == "processing_failed"
    assert "Traceback" not in response["body"]
    record = stored(completed["id"])
    assert record.status == EVENT_FAILED and record.processing_error == "RuntimeError: DynamoDB went away"
    order = order_of(created)
    assert order.status == PAID and not shop.has_access(order)  # paid, but access not granted yet
    assert sent_emails() == []

    for _ in range(2):
        assert shop.deliver(completed)["statusCode"] == 200
    order = order_of(created)
    assert shop.has_access(order)
    assert len(emails("receipt")) == 1 and len(emails("password")) == 1
    assert len(entitlements.history(order.user_id)) == 1
    assert stored(completed["id"]).status == PROCESSED


def test_email_failure_releases_the_claim_so_the_retry_sends_it(shop, monkeypatch):
    from lectern.payments import fulfillment

    created = shop.checkout()
    session = shop.emu.pay(created["checkout_session_id"])
    completed = shop.event("checkout.session.completed", session["id"])
    real_send = fulfillment.email.send

    def ses_down(message):
        monkeypatch.setattr(fulfillment.email, "send", real_send)
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(fulfillment.email, "send", ses_down)
    assert shop.deliver(completed)["statusCode"] == 500
    assert order_of(created).receipt_sent_at is None
    assert shop.deliver(completed)["statusCode"] == 200
    assert len(emails("receipt")) == 1 and order_of(created).receipt_sent_at


def test_reprocess_command_reruns_a_stored_event(shop):
    from lectern_admin import events_cmd

    order, session = shop.paid()
    completed = shop.event("checkout.session.completed", session["id"])
    out = io.StringIO()
    assert events_cmd.run_reprocess(argparse.Namespace(event_id=completed["id"]), out) == 0
    assert f"{completed['id']}  checkout.session.completed  already_fulfilled" in out.getvalue()
    assert len(emails("receipt")) == 1
    assert events_cmd.run_reprocess(argparse.Namespace(event_id="evt_unknown"), io.StringIO()) == 1


def test_replay_command_applies_undelivered_events(api, runner, aws, monkeypatch):
    from lectern_admin import events_cmd
    from lectern_dev.stripe_emulator import StripeEmulator
    from support.payments_support import API_KEY, WEBHOOK_SECRET

    # Its own emulator: "every undelivered event" must mean this test's events only.
    with StripeEmulator(port=0, webhook_secret=WEBHOOK_SECRET, api_key=API_KEY) as emu:
        monkeypatch.setenv("STRIPE_API_BASE", emu.base_url)
        monkeypatch.setenv("STRIPE_SECRET_KEY", API_KEY)
        shop = Shop(api, emu, runner)
        created = shop.checkout()
        session = emu.pay(created["checkout_session_id"])  # no webhook endpoint: nothing was delivered
        out = io.StringIO()
        since = argparse.Namespace(since=events_cmd._iso_datetime("2000-01-01T00:00:00Z"))
        assert events_cmd.run_replay(since, out) == 0
        order = order_of(created)
        assert order.status == PAID and shop.has_access(order)
        completed = shop.event("checkout.session.completed", session["id"])
        assert f"{completed['id']}  checkout.session.completed  fulfilled" in out.getvalue()
        assert "payment_intent.succeeded  ignored" in out.getvalue()

        out = io.StringIO()  # replaying again changes nothing
        assert events_cmd.run_replay(since, out) == 0
        assert "checkout.session.completed  duplicate" in out.getvalue()
        assert len(emails("receipt")) == 1


# ------------------------------------------------------------------ email never blocks access

MAIL_RETRY_EVENT = json.loads((REPO_ROOT / "events" / "mail_retry.json").read_text())


@pytest.fixture
def auth_key(monkeypatch):
    """For the tests that claim the account at the end (a claim signs in)."""
    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-only-hs256-signing-key-" + "s" * 40)


def outbox_mails() -> dict[str, OutboxMail]:
    return {m.id: m for m in OutboxMail.query(OUTBOX_PK, consistent_read=True)}


def make_due() -> None:
    """Move every waiting mail's next attempt into the past (the back-off, fast-forwarded)."""
    for mail in OutboxMail.query(OUTBOX_PK, consistent_read=True):
        if mail.status == outbox.PENDING:
            mail.update(actions=[OutboxMail.next_attempt_at.set("2000-01-01T00:00:00Z")])


def run_mail_retry(runner) -> dict:
    """One scheduled run of MailRetryFunction, with its sample event."""
    result = runner.invoke_dict("MailRetryFunction", MAIL_RETRY_EVENT)
    assert "errorMessage" not in result, result
    return result


def verify_in_ses(address: str) -> None:
    import boto3

    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=address)


def test_a_buyer_ses_refuses_gets_access_and_the_mails_once_ses_takes_them(shop, ses_sandbox, auth_key):
    """A new AWS account's SES is in its sandbox: every unverified recipient is refused
    (MessageRejected). The purchase completes anyway (200, paid, access, event processed); the
    mails wait in the outbox, are retried with back-off, and go out once SES takes them."""
    ses_sandbox("*@sandbox.example")
    order, session = shop.paid(email="guest@sandbox.example")      # delivered: 200 (it was 500, for days)
    completed = shop.event("checkout.session.completed", session["id"])
    assert (stored(completed["id"]).status, stored(completed["id"]).outcome) == (PROCESSED, "fulfilled")
    assert order.status == PAID and shop.has_access(order) and order.receipt_sent_at and order.claim_sent_at
    assert sent_emails("guest@sandbox.example") == []

    mails = outbox_mails()
    assert set(mails) == {f"receipt:{order.id}", f"purchase_claim:{order.id}"}
    for mail in mails.values():   # what, to whom, why, when next
        assert (mail.status, int(mail.attempts), mail.to, mail.order_id) == (
            "pending", 1, "guest@sandbox.example", order.id)
        assert mail.last_error.startswith("MessageRejected: Email address is not verified")
        assert mail.next_attempt_at > mail.last_attempt_at

    # Stripe redelivers: 200, nothing sent or recorded again (the order's stamps hold).
    assert shop.deliver(completed)["statusCode"] == 200
    assert {i: int(m.attempts) for i, m in outbox_mails().items()} == {i: 1 for i in mails}

    assert run_mail_retry(shop.runner)["attempted"] == 0             # not due yet
    make_due()
    assert run_mail_retry(shop.runner)["outcomes"] == {"failed": 2}  # still refused: the wait doubles
    for mail in outbox_mails().values():
        assert int(mail.attempts) == 2 and "MessageRejected" in mail.last_error
        waited = datetime.fromisoformat(mail.next_attempt_at) - datetime.fromisoformat(mail.last_attempt_at)
        assert waited.total_seconds() == outbox.backoff_seconds(2) == 120

    verify_in_ses("guest@sandbox.example")                          # the operator verifies it, or leaves the sandbox
    make_due()
    assert run_mail_retry(shop.runner)["outcomes"] == {"sent": 2}
    assert Counter(m.subject for m in sent_emails("guest@sandbox.example")) == Counter(
        {"Your Lectern receipt": 1, "Set your password to start learning": 1})
    assert {m.status for m in outbox_mails().values()} == {"sent"}
    make_due()
    assert run_mail_retry(shop.runner)["attempted"] == 0 and len(sent_emails("guest@sandbox.example")) == 2

    [claim] = emails("password", "guest@sandbox.example")
    token = claim.body.split("/claim?token=", 1)[1].split()[0]
    assert shop.api.post("/auth/claim", body={"token": token, "password": "Correct-horse-42"})["statusCode"] == 200


@pytest.mark.parametrize("failure", ["MessageRejected", "Throttling", "connection", "connect_timeout",
                                     "read_timeout"])
def test_every_ses_failure_is_recorded_for_the_retry_never_a_500(shop, monkeypatch, failure):
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    from lectern.notifications import email

    endpoint = "https://email.us-east-1.amazonaws.com"
    errors = {
        "MessageRejected": ClientError({"Error": {"Code": "MessageRejected", "Message": "Email address is not "
                                                  "verified."}}, "SendEmail"),
        "Throttling": ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}},
                                  "SendEmail"),
        "connection": EndpointConnectionError(endpoint_url=endpoint),
        "connect_timeout": ConnectTimeoutError(endpoint_url=endpoint),
        "read_timeout": ReadTimeoutError(endpoint_url=endpoint),
    }

    def send_email(**_kwargs):
        raise errors[failure]

    monkeypatch.setattr(email._ses(), "send_email", send_email)
    order, _ = shop.paid(email="buyer@example.com")                   # 200
    assert order.status == PAID and shop.has_access(order)
    mails = outbox_mails()
    assert set(mails) == {f"receipt:{order.id}", f"purchase_claim:{order.id}"}
    assert all(type(errors[failure]).__name__ in m.last_error or failure in m.last_error for m in mails.values())

    monkeypatch.undo()                                                # SES is back
    make_due()
    assert run_mail_retry(shop.runner)["outcomes"] == {"sent": 2}
    assert len(emails("receipt")) == len(emails("password")) == 1


def test_retries_back_off_give_up_and_the_operator_lists_and_resends(shop, ses_sandbox):
    from lectern_admin import mail_cmd

    ses_sandbox("*@sandbox.example")
    order, _ = shop.paid(email="late@sandbox.example")
    receipt_id = f"receipt:{order.id}"
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        make_due()
        run_mail_retry(shop.runner)
        mail = outbox_mails()[receipt_id]
        if mail.next_attempt_at:
            waits.append(int((datetime.fromisoformat(mail.next_attempt_at)
                              - datetime.fromisoformat(mail.last_attempt_at)).total_seconds()))
    assert waits == [120, 240, 480, 960, 1920, 3840]                   # exponential back-off
    assert (mail.status, int(mail.attempts)) == ("gave_up", outbox.MAX_ATTEMPTS)
    make_due()
    assert run_mail_retry(shop.runner)["attempted"] == 0               # given up: only an operator sends it now

    out = io.StringIO()
    assert mail_cmd.run_failed(argparse.Namespace(all=False), out) == 0
    listed = out.getvalue()
    assert f"{receipt_id}  gave_up  to=late@sandbox.example  attempts=8" in listed
    assert "MessageRejected: Email address is not verified" in listed and "2 mail(s)" in listed

    out = io.StringIO()                                               # still refused: says so, exit 1
    assert mail_cmd.run_resend(argparse.Namespace(mail_ids=[receipt_id], due=False, all=False), out) == 1
    assert f"{receipt_id}  gave_up  MessageRejected" in out.getvalue()

    verify_in_ses("late@sandbox.example")
    out = io.StringIO()
    assert mail_cmd.run_resend(argparse.Namespace(mail_ids=[], due=False, all=True), out) == 0
    assert f"{receipt_id}  sent" in out.getvalue() and f"purchase_claim:{order.id}  sent" in out.getvalue()
    assert len(emails("receipt", "late@sandbox.example")) == 1

    out = io.StringIO()                                               # never twice
    assert mail_cmd.run_resend(argparse.Namespace(mail_ids=[receipt_id], due=False, all=False), out) == 1
    assert f"{receipt_id}  already_sent" in out.getvalue()
    assert mail_cmd.run_resend(argparse.Namespace(mail_ids=["receipt:nope"], due=False, all=False),
                               io.StringIO()) == 2
    assert len(emails("receipt", "late@sandbox.example")) == 1
    out = io.StringIO()
    mail_cmd.run_failed(argparse.Namespace(all=False), out)
    assert out.getvalue().strip() == "0 mail(s)"


def test_concurrent_senders_send_a_waiting_mail_once(shop, ses_sandbox, atomic_aws_requests):
    ses_sandbox("*@sandbox.example")
    order, _ = shop.paid(email="race@sandbox.example")
    verify_in_ses("race@sandbox.example")
    make_due()
    receipt_id = f"receipt:{order.id}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda _: outbox.resend(receipt_id).outcome, range(4)))
    assert outcomes.count("sent") == 1 and set(outcomes) <= {"sent", "busy", "already_sent"}
    assert len(emails("receipt", "race@sandbox.example")) == 1


def test_a_claim_link_that_is_not_wanted_any_more_is_not_sent(shop, ses_sandbox, auth_key):
    from lectern.accounts import tokens

    ses_sandbox("*@sandbox.example")
    order, _ = shop.paid(email="quick@sandbox.example")
    # The buyer set a password meanwhile (say, through a link sent by the success page later on).
    raw = tokens.issue(tokens.CLAIM, order.user_id).raw
    assert shop.api.post("/auth/claim", body={"token": raw, "password": "Correct-horse-42"})["statusCode"] == 200
    verify_in_ses("quick@sandbox.example")
    make_due()
    assert run_mail_retry(shop.runner)["outcomes"] == {"sent": 1, "obsolete": 1}
    assert outbox_mails()[f"purchase_claim:{order.id}"].status == "obsolete"
    assert [m.subject for m in sent_emails("quick@sandbox.example")] == ["Your Lectern receipt"]


# ------------------------------------------------------------------ the success page: the claim link again

def resend_claim(api, session_id: str, ip: str = "192.0.2.10") -> dict:
    return api.post(f"/checkout/{session_id}/resend-claim", source_ip=ip)


def claim_links(to: str) -> list[str]:
    return [m.body.split("/claim?token=", 1)[1].split()[0] for m in sent_emails(to) if "/claim?token=" in m.body]


def test_the_success_page_can_ask_for_the_claim_link_again(shop, auth_key):
    order, session = shop.paid(email="guest@example.com")
    [first] = claim_links("guest@example.com")
    response = resend_claim(shop.api, session["id"])
    assert response["statusCode"] == 202 and response["headers"]["Cache-Control"] == "no-store"
    assert "email used at checkout" in response["json"]["message"]
    first_again, second = claim_links("guest@example.com")
    assert first_again == first
    # The new link supersedes the first; only the newest works.
    assert shop.api.post("/auth/claim", body={"token": first, "password": "Correct-horse-42"})["statusCode"] == 400
    assert shop.api.post("/auth/claim", body={"token": second, "password": "Correct-horse-42"})["statusCode"] == 200
    # Claimed: the same answer, and no more links.
    assert resend_claim(shop.api, session["id"])["json"] == response["json"]
    assert len(claim_links("guest@example.com")) == 2


def test_resend_claim_sends_only_for_a_paid_unclaimed_guest_order_and_tells_nothing(shop):
    from lectern.accounts.users import create_user

    paid_order, paid = shop.paid(email="guest@example.com")
    pending = shop.checkout(email="pending@example.com")["checkout_session_id"]
    create_user("member@example.com", password_hash="argon2-hash")
    _member_order, member = shop.paid(email="member@example.com")
    answers = [resend_claim(shop.api, session_id) for session_id in
               (pending, member["id"], "cs_test_unknown_session_0000")]
    assert {a["statusCode"] for a in answers} == {202} and len({json.dumps(a["json"]) for a in answers}) == 1
    assert sent_emails("pending@example.com") == [] and claim_links("member@example.com") == []
    malformed = resend_claim(shop.api, "not-a-session")
    assert malformed["statusCode"] == 404 and malformed["json"]["error"]["code"] == "not_found"

    # At most three mails an hour to one address, then silently nothing (the same 202)...
    for _ in range(5):
        assert resend_claim(shop.api, paid["id"])["json"] == answers[0]["json"]
    assert len(claim_links("guest@example.com")) == 1 + 3
    # ...and each client has its share of mail requests, then 429 with Retry-After.
    for _ in range(20):
        last = resend_claim(shop.api, "cs_test_unknown_session_0000", ip="192.0.2.99")
    assert last["statusCode"] == 202
    blocked = resend_claim(shop.api, paid["id"], ip="192.0.2.99")
    assert blocked["statusCode"] == 429 and int(blocked["headers"]["Retry-After"]) > 0
    assert len(claim_links("guest@example.com")) == 4 and paid_order.status == PAID


# ------------------------------------------------------------------ an order is paid only by its own session

def _foreign_session(emu, order_id: str, *, names: str = "both", amount: int = 100, currency: str = "eur",
                     intent_metadata: bool = False) -> dict:
    """A Checkout Session some other integration on the Stripe account made (or a Payment Link whose
    visitor set client_reference_id), naming our order: 1.00 EUR by default."""
    from support.payments_support import stripe_client

    client = stripe_client(emu)
    price = client.v1.prices.create(params={"currency": currency, "unit_amount": amount,
                                            "product_data": {"name": "Something else"}})
    params = {"mode": "payment", "line_items": [{"price": price.id, "quantity": 1}],
              "success_url": "https://elsewhere.example/ok", "cancel_url": "https://elsewhere.example/no"}
    if names in ("both", "client_reference_id"):  # ("none": only the PaymentIntent metadata, if asked)
        params["client_reference_id"] = order_id
    if names in ("both", "metadata"):
        params["metadata"] = {"order_id": order_id}
    if intent_metadata:
        params["payment_intent_data"] = {"metadata": {"order_id": order_id}}
    return client.v1.checkout.sessions.create(params).to_dict()


@pytest.mark.parametrize("names", ["client_reference_id", "metadata", "both"])
def test_another_session_naming_the_order_pays_for_nothing(shop, names):
    """A 1.00 EUR session naming a 79.00 USD order in client_reference_id or metadata.order_id
    fulfilled it: access, and a receipt saying "1.00 EUR". Only the order's own session may."""
    shop.course = sellable_course(shop.emu, price=7900)
    created = shop.checkout(email="victim@example.com")
    foreign = shop.emu.pay(_foreign_session(shop.emu, created["order_id"], names=names)["id"],
                           email="victim@example.com")
    completed = shop.event("checkout.session.completed", foreign["id"])
    response = shop.deliver(completed)
    assert response["statusCode"] == 200
    record = stored(completed["id"])
    assert (record.status, record.outcome) == (PROCESSED, "session_mismatch")
    order = order_of(created)
    assert (order.status, order.total_amount, order.currency) == (PENDING, 7900, "usd")
    assert order.payment_intent_id is None and not shop.has_access(order) and user_id_for_email(order.email) is None
    assert sent_emails() == []
    assert shop.api.get(f"/checkout/{foreign['id']}")["statusCode"] == 404

    # The order's own session still pays for it, at its own price.
    session = shop.emu.pay(created["checkout_session_id"])
    assert shop.deliver(shop.event("checkout.session.completed", session["id"]))["statusCode"] == 200
    order = order_of(created)
    assert order.status == PAID and shop.has_access(order)
    [receipt] = emails("receipt", "victim@example.com")
    assert "79.00 USD" in receipt.body and "EUR" not in receipt.body


def test_another_session_naming_the_order_cannot_settle_or_fail_it_either(shop):
    created = shop.checkout()
    delayed = shop.emu.pay(_foreign_session(shop.emu, created["order_id"])["id"], delayed=True)
    shop.emu.settle_delayed(delayed["id"], succeed=True)
    succeeded = shop.event("checkout.session.async_payment_succeeded", delayed["id"])
    assert shop.deliver(succeeded)["statusCode"] == 200
    assert stored(succeeded["id"]).outcome == "session_mismatch"

    expiring = _foreign_session(shop.emu, created["order_id"])
    shop.emu.expire(expiring["id"])
    expired = shop.event("checkout.session.expired", expiring["id"])
    assert shop.deliver(expired)["statusCode"] == 200
    assert stored(expired["id"]).outcome == "session_mismatch"
    bounced = shop.emu.pay(_foreign_session(shop.emu, created["order_id"])["id"], delayed=True)
    shop.emu.settle_delayed(bounced["id"], succeed=False)
    failed = shop.event("checkout.session.async_payment_failed", bounced["id"])
    assert shop.deliver(failed)["statusCode"] == 200
    assert stored(failed["id"]).outcome == "session_mismatch"

    order = order_of(created)
    assert order.status == PENDING and not shop.has_access(order) and sent_emails() == []


def _tamper(emu, session_id: str, change: str) -> None:
    """What a session the order recorded could disagree with (a Stripe-compatible API that lies,
    a price edited under the session): the emulator's state is changed directly."""
    with emu.state.lock:
        session = emu.state["checkout.session"][session_id]
        line = emu.state.session_extras[session_id].line_items[0]
        if change == "currency":
            session["currency"] = "eur"
        elif change == "price":
            line["price"] = dict(line["price"], id="price_someone_elses")
        elif change == "quantity":
            line["quantity"] = 2
        elif change == "subtotal":
            session["amount_subtotal"] = session["amount_total"] = 100
        elif change == "total":
            session["amount_total"] = 100
        elif change == "coupon":  # a discount that no promotion code gave
            session["amount_total"] -= 1000
            session["total_details"] = dict(session["total_details"], amount_discount=1000)
            session["discounts"] = [{"coupon": "some_coupon", "promotion_code": None}]


@pytest.mark.parametrize("change", ["currency", "price", "quantity", "subtotal", "total", "coupon"])
def test_the_orders_own_session_must_charge_what_the_order_says(shop, change):
    created = shop.checkout()
    session = shop.emu.pay(created["checkout_session_id"])
    _tamper(shop.emu, session["id"], change)
    completed = shop.event("checkout.session.completed", session["id"])
    assert shop.deliver(completed)["statusCode"] == 200
    assert stored(completed["id"]).outcome == "amount_mismatch"
    order = order_of(created)
    assert order.status == PENDING and not shop.has_access(order) and sent_emails() == []


def test_a_promotion_code_entered_on_stripes_page_is_the_orders_own(shop):
    shop.course = sellable_course(shop.emu, price=5000)
    code = promotion_code(shop.emu, percent_off=20)
    created = shop.checkout()  # no code given: the session lets the buyer enter one
    session = shop.emu.pay(created["checkout_session_id"], promotion_code=code)
    assert shop.deliver(shop.event("checkout.session.completed", session["id"]))["statusCode"] == 200
    order = order_of(created)
    assert (order.status, order.total_amount, order.discount_amount) == (PAID, 4000, 1000)


def test_refunds_and_disputes_of_a_payment_that_is_not_the_orders_change_nothing(shop):
    """A charge whose PaymentIntent metadata names our order (any integration on the account can
    write it): its refund revoked the buyer's access and marked the order refunded; its dispute
    took access away. Now: outcome payment_mismatch, nothing changes."""
    order, _ = shop.paid()
    foreign = shop.emu.pay(_foreign_session(shop.emu, order.id, names="none", intent_metadata=True)["id"])
    assert shop.emu.engine.get("payment_intent", foreign["payment_intent"])["metadata"] == {"order_id": order.id}
    shop.emu.refund(foreign["payment_intent"])
    refunded = shop.event("charge.refunded", shop.charge_of(foreign))
    assert shop.deliver(refunded)["statusCode"] == 200
    assert stored(refunded["id"]).outcome == "payment_mismatch"

    other = shop.emu.pay(_foreign_session(shop.emu, order.id, names="none", intent_metadata=True)["id"])
    dispute = shop.emu.dispute(shop.charge_of(other))
    opened = shop.event("charge.dispute.created", dispute["id"])
    assert shop.deliver(opened)["statusCode"] == 200
    assert stored(opened["id"]).outcome == "payment_mismatch"
    shop.emu.close_dispute(dispute["id"], won=False)
    closed = shop.event("charge.dispute.closed", dispute["id"])
    assert shop.deliver(closed)["statusCode"] == 200
    assert stored(closed["id"]).outcome == "payment_mismatch"

    order = order_of({"order_id": order.id})
    assert (order.status, order.amount_refunded, order.dispute_status) == (PAID, 0, None)
    assert shop.has_access(order)
    assert list(RefundRecord.query(order_pk(order.id), RefundRecord.sk.startswith("REFUND#"))) == []


def test_a_foreign_refund_naming_a_pending_order_is_not_retried_forever(shop):
    """Before the order is paid, a refund naming it waited (500, "RetryLater") for a fulfillment
    that would never come: Stripe retried it for three days. Its session's PaymentIntent is not
    this one: outcome payment_mismatch, 200."""
    created = shop.checkout()
    foreign = shop.emu.pay(_foreign_session(shop.emu, created["order_id"], names="none", intent_metadata=True)["id"])
    shop.emu.refund(foreign["payment_intent"])
    refunded = shop.event("charge.refunded", shop.charge_of(foreign))
    assert shop.deliver(refunded)["statusCode"] == 200
    assert stored(refunded["id"]).outcome == "payment_mismatch"
    assert order_of(created).status == PENDING


# ------------------------------------------------------------------ one course, one payment

def _signed_in(monkeypatch, email: str):
    from lectern import jwt_tokens
    from lectern.accounts.users import create_user

    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-signing-key-" + "x" * 40)
    user = create_user(email, password_hash="argon2-hash")
    return user, {"authorization": f"Bearer {jwt_tokens.mint(user.id).token}"}


def test_a_paid_order_expires_the_buyers_other_open_sessions_for_the_course(shop, monkeypatch):
    """The member's own checkout and one made as a guest with the member's email are two open
    sessions; paying one made the other payable still. Now it is expired at Stripe (and its
    event fails its order); a checkout for another course stays open."""
    user, headers = _signed_in(monkeypatch, "member@example.com")
    mine = shop.api.post("/checkout", body={"course_slug": shop.course.slug}, headers=headers)["json"]
    as_guest = start_checkout(shop.api, shop.course, "member@example.com")
    other_course = start_checkout(shop.api, sellable_course(shop.emu), "member@example.com")
    assert len({mine["order_id"], as_guest["order_id"]}) == 2

    session = shop.emu.pay(mine["checkout_session_id"])
    assert shop.deliver(shop.event("checkout.session.completed", session["id"]))["statusCode"] == 200
    assert shop.emu.engine.get("checkout.session", as_guest["checkout_session_id"])["status"] == "expired"
    assert shop.emu.engine.get("checkout.session", other_course["checkout_session_id"])["status"] == "open"
    expired = shop.event("checkout.session.expired", as_guest["checkout_session_id"])
    assert shop.deliver(expired)["statusCode"] == 200
    assert order_of(as_guest).status == FAILED and order_of(mine).status == PAID


def _paid_twice(shop, email: str = "twice@example.com") -> tuple[dict, dict, dict, dict]:
    """Two checkouts of one course and buyer, both paid at Stripe before either is fulfilled:
    the first is paid by bank debit (complete, not settled), so the second could not reuse it."""
    first = shop.checkout(email)
    first_session = shop.emu.pay(first["checkout_session_id"], delayed=True)
    second = shop.checkout(email)
    assert second["order_id"] != first["order_id"]
    second_session = shop.emu.pay(second["checkout_session_id"])
    shop.emu.settle_delayed(first_session["id"], succeed=True)
    return first, shop.emu.engine.get("checkout.session", first_session["id"]), second, second_session


def test_a_second_payment_for_a_course_is_refunded_once_and_sends_no_receipt(shop, monkeypatch):
    """Both orders were `paid`, with two receipts. Now the one fulfilled second is refunded at
    Stripe (reason duplicate, idempotency key from the order, metadata naming it), marked
    refunded with refund_reason duplicate_purchase where the buyer looks, and sends nothing."""
    user, headers = _signed_in(monkeypatch, "twice@example.com")
    first, first_session, second, second_session = _paid_twice(shop)
    assert shop.deliver(shop.event("checkout.session.completed", second_session["id"]))["statusCode"] == 200
    late = shop.event("checkout.session.async_payment_succeeded", first_session["id"])
    for _ in range(2):  # delivered twice: still one refund
        assert shop.deliver(late)["statusCode"] == 200
    assert stored(late["id"]).outcome == "duplicate_refunded"

    duplicate, kept = order_of(first), order_of(second)
    assert (kept.status, duplicate.status) == (PAID, REFUNDED)
    assert (duplicate.refund_reason, duplicate.duplicate_of, duplicate.user_id) == ("duplicate_purchase", kept.id,
                                                                                   user.id)
    assert duplicate.receipt_sent_at is None and len(emails("receipt", "twice@example.com")) == 1
    [refund] = shop.emu.engine.list("refund", lambda r: r["payment_intent"] == first_session["payment_intent"])
    assert (refund["reason"], refund["amount"], refund["metadata"]["order_id"]) == ("duplicate", 4900, duplicate.id)
    assert entitlements.get(user.id, shop.course.id).order_id == kept.id and shop.has_access(kept)

    status = shop.api.get(f"/checkout/{first['checkout_session_id']}")["json"]
    assert (status["status"], status["refund_reason"]) == ("refunded", "duplicate_purchase")
    history = {o["id"]: o for o in shop.api.get("/me/orders", headers=headers)["json"]["orders"]}
    assert (history[duplicate.id]["status"], history[duplicate.id]["refund_reason"]) == ("refunded",
                                                                                       "duplicate_purchase")
    assert (history[kept.id]["status"], history[kept.id]["refund_reason"]) == ("paid", None)

    # Stripe's charge.refunded for it records the refund and changes nothing else.
    refunded = shop.event("charge.refunded", shop.charge_of(first_session))
    assert shop.deliver(refunded)["statusCode"] == 200
    assert order_of(first).amount_refunded == 4900 and shop.has_access(kept)


def test_stripe_down_while_expiring_the_others_does_not_stop_the_fulfillment(shop, monkeypatch):
    import stripe

    from lectern import stripe_gateway

    user, headers = _signed_in(monkeypatch, "down@example.com")
    mine = shop.api.post("/checkout", body={"course_slug": shop.course.slug}, headers=headers)["json"]
    as_guest = start_checkout(shop.api, shop.course, "down@example.com")
    session = shop.emu.pay(as_guest["checkout_session_id"])
    tried = []

    def unreachable(session_id, *args, **kwargs):
        tried.append(session_id)
        raise stripe.APIConnectionError("Network error talking to Stripe", should_retry=True)

    monkeypatch.setattr(stripe_gateway.client().v1.checkout.sessions, "expire", unreachable)
    completed = shop.event("checkout.session.completed", session["id"])
    assert shop.deliver(completed)["statusCode"] == 200
    assert tried == [mine["checkout_session_id"]]
    assert stored(completed["id"]).outcome == "fulfilled"
    assert shop.has_access(order_of(as_guest)) and len(emails("receipt", "down@example.com")) == 1


def test_stripe_down_during_the_duplicate_refund_is_retried_until_refunded(shop, monkeypatch):
    """Decision: the duplicate's event answers 500, so Stripe redelivers it until the refund is
    made (the first order's fulfillment is not affected); nothing is sent meanwhile."""
    import stripe

    from lectern import stripe_gateway

    first, first_session, second, second_session = _paid_twice(shop, "retry@example.com")
    assert shop.deliver(shop.event("checkout.session.completed", second_session["id"]))["statusCode"] == 200
    refunds = stripe_gateway.client().v1.refunds
    real = refunds.create

    def down(*args, **kwargs):
        raise stripe.APIConnectionError("Network error talking to Stripe", should_retry=True)

    monkeypatch.setattr(refunds, "create", down)
    late = shop.event("checkout.session.async_payment_succeeded", first_session["id"])
    response = shop.deliver(late)
    assert response["statusCode"] == 500 and response["json"]["error"]["code"] == "processing_failed"
    assert stored(late["id"]).status == EVENT_FAILED and "APIConnectionError" in stored(late["id"]).processing_error
    assert order_of(first).status == PAID and order_of(second).status == PAID
    assert len(emails("receipt", "retry@example.com")) == 1

    monkeypatch.setattr(refunds, "create", real)
    assert shop.deliver(late)["statusCode"] == 200  # Stripe's redelivery
    assert (order_of(first).status, order_of(first).refund_reason) == (REFUNDED, "duplicate_purchase")
    assert len(shop.emu.engine.list("refund", lambda r: r["payment_intent"] == first_session["payment_intent"])) == 1
    assert len(emails("receipt", "retry@example.com")) == 1

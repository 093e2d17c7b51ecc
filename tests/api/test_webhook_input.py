"""The webhook against hostile and odd input: a signed body that cannot be an event is a 400 and
leaves nothing behind; an event that can never apply is a 200 whose record says why (so Stripe stops
retrying what can never succeed); a payload too large for its record is kept in the assets bucket;
nothing is ever a 500 that a retry cannot fix."""
import argparse
import io
import json

import boto3
import pytest
from lectern.models.events import PROCESSED, StripeEvent
from lectern.models.orders import PAID, REFUNDED, Order
from lectern.payments import webhook
from support.payments_support import deliver, deliver_raw, order_of, signature, stored
from support.webhook_bodies import NOT_EVENTS, event_body

BUCKET = "assetsbucket"


@pytest.mark.parametrize("body", list(NOT_EVENTS.values()), ids=list(NOT_EVENTS))
def test_a_signed_body_that_cannot_be_an_event_is_400_and_nothing_is_stored(stripe_env, runner, body):
    response = deliver_raw(runner, body, {"stripe-signature": signature(body)})
    assert response["statusCode"] == 400, response
    assert response["json"]["error"]["code"] == "bad_request"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert list(StripeEvent.scan()) == []


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(stripe_env, runner):
    body = event_body({"id": "ch_1", "description": "x" * webhook.MAX_BODY_BYTES})
    response = deliver_raw(runner, body, {"stripe-signature": signature(body)})
    assert response["statusCode"] == 413 and response["json"]["error"]["code"] == "payload_too_large"
    base64_response = deliver_raw(runner, body, {"stripe-signature": signature(body)}, base64_body=True)
    assert base64_response["statusCode"] == 413
    assert list(StripeEvent.scan()) == []


def test_types_we_ignore_may_have_objects_without_an_id_or_with_a_chosen_one(stripe_env, runner):
    for event_id, obj in [("evt_balance", {"object": "balance", "available": []}),
                          ("evt_coupon", {"id": "summer-sale 2026", "object": "coupon"})]:
        response = deliver(runner, event_body(obj, event_type="coupon.updated", event_id=event_id))
        assert response["statusCode"] == 200, response
        assert stored(event_id).outcome == "ignored"


# ------------------------------------------------------------------ events that can never apply

def _refundedevent_body(shop) -> tuple[Order, dict]:
    order, session = shop.paid()
    shop.emu.refund(session["payment_intent"])
    return order, shop.event("charge.refunded", shop.charge_of(session))


@pytest.mark.parametrize(("field", "value"), [
    ("amount", "4900"), ("amount", None), ("amount_refunded", True), ("refunded", "yes"),
    ("metadata", "order_id=1"), ("metadata", {"order_id": 7}), ("payment_intent", 12),
    ("payment_intent", {"object": "payment_intent"}), ("refunds", {"data": [{"id": "re_1", "amount": "900"}]}),
    ("refunds", {"data": "none"}), ("id", None),
])
def test_a_refund_whose_object_is_not_what_stripe_sends_is_200_and_recorded_as_invalid(shop, field, value):
    order, refunded = _refundedevent_body(shop)
    refunded["data"]["object"][field] = value
    response = shop.deliver(refunded)
    assert response["statusCode"] == 200 and response["json"] == {"received": True}
    record = stored(refunded["id"])
    assert (record.status, record.outcome) == (PROCESSED, "invalid_object")
    assert field in record.outcome_detail and record.processing_error is None
    assert order_of({"order_id": order.id}).status == PAID  # nothing was applied


@pytest.mark.parametrize(("event_type", "field", "value"), [
    ("charge.dispute.created", "status", None),
    ("charge.dispute.closed", "charge", ["ch_1"]),
    ("checkout.session.expired", "client_reference_id", {"order": 1}),
    ("checkout.session.completed", "id", "cs_not an id"),
])
def test_disputes_and_sessions_whose_object_is_not_what_stripe_sends_are_200_and_recorded(
        stripe_env, runner, event_type, field, value):
    obj = {"id": "du_1" if "dispute" in event_type else "cs_1", "status": "needs_response", "metadata": {}}
    obj[field] = value
    body = event_body(obj, event_type=event_type)
    assert deliver(runner, body)["statusCode"] == 200
    record = stored("evt_odd_1")
    assert (record.status, record.outcome) == (PROCESSED, "invalid_object") and field in record.outcome_detail


@pytest.mark.parametrize(("event_type", "obj", "unknown"), [
    ("charge.refunded", {"id": "ch_unknown_to_stripe", "payment_intent": None, "amount": 4900,
                         "amount_refunded": 4900, "refunded": True, "metadata": {}}, "charge ch_unknown_to_stripe"),
    ("charge.refunded", {"id": "ch_x", "payment_intent": "pi_unknown_to_stripe", "amount": 4900,
                         "metadata": {}}, "payment intent pi_unknown_to_stripe"),
    ("charge.dispute.created", {"id": "du_x", "charge": "ch_unknown_to_stripe", "status": "needs_response",
                                "metadata": {}}, "charge ch_unknown_to_stripe"),
])
def test_an_event_about_a_charge_stripe_does_not_know_is_200_and_the_record_says_why(
        stripe_env, runner, event_type, obj, unknown):
    response = deliver(runner, event_body(obj, event_type=event_type, event_id="evt_unknown_charge"))
    assert response["statusCode"] == 200, response
    record = stored("evt_unknown_charge")
    assert (record.status, record.outcome) == (PROCESSED, "unknown_order")
    assert record.outcome_detail == f"Stripe does not know {unknown}"


def test_an_unknown_charge_whose_metadata_names_an_order_changes_nothing(shop):
    """Metadata is anyone's to write: a charge Stripe does not know cannot refund the order it names."""
    order, refunded = _refundedevent_body(shop)
    refunded["data"]["object"].update(id="ch_gone", payment_intent=None, metadata={"order_id": order.id})
    assert shop.deliver(refunded)["statusCode"] == 200
    assert stored(refunded["id"]).outcome == "unknown_order"
    assert order_of({"order_id": order.id}).status == PAID


# ------------------------------------------------------------------ large payloads

def test_an_event_over_dynamodbs_item_limit_is_applied_and_kept_in_the_assets_bucket(shop):
    order, refunded = _refundedevent_body(shop)
    refunded["data"]["object"]["description"] = "a very long description " * 20_000  # 480 KB
    payload = json.dumps(refunded)
    assert len(payload) > 400 * 1024

    response = shop.deliver(payload)
    assert response["statusCode"] == 200, response
    record = stored(refunded["id"])
    assert (record.status, record.outcome) == (PROCESSED, "refunded")
    assert record.payload is None and record.payload_key == f"stripe-events/{refunded['id']}.json"
    kept = boto3.client("s3").get_object(Bucket=BUCKET, Key=record.payload_key)["Body"].read().decode()
    assert kept == payload  # byte for byte what Stripe signed
    assert order_of({"order_id": order.id}).status == REFUNDED

    assert shop.deliver(payload)["json"] == {"received": True}  # a redelivery is a duplicate
    from lectern_admin import events_cmd

    out = io.StringIO()
    assert events_cmd.run_reprocess(argparse.Namespace(event_id=refunded["id"]), out) == 0
    assert f"{refunded['id']}  charge.refunded  refunded" in out.getvalue()
    assert stored(refunded["id"]).attempts == 2


def test_small_payloads_stay_in_the_record(shop):
    order, refunded = _refundedevent_body(shop)
    assert shop.deliver(refunded)["statusCode"] == 200
    record = stored(refunded["id"])
    assert record.payload and record.payload_key is None

"""The webhook against hostile and odd input: a signed body that cannot be an event is a 400 and
leaves nothing behind; an event that can never apply is a 200 whose record says why (so Stripe stops
retrying what can never succeed); a payload too large for its record is kept in the assets bucket;
nothing is ever a 500 that a retry cannot fix."""
import argparse
import io
import json

import boto3
import pytest
import requests

from lectern.models.events import PROCESSED, StripeEvent
from lectern.models.orders import PAID, REFUNDED, Order
from lectern.payments import webhook
from payments_support import (  # noqa: F401  (fixtures)
    deliver, deliver_raw, emulator, signature, stripe_env,
)
from stack_process import E2E_WEBHOOK_SECRET
from test_webhook import order_of, shop, stored  # noqa: F401  (shop: fixture)

BUCKET = "assetsbucket"


def _event(obj, event_type="charge.refunded", event_id="evt_odd_1") -> str:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})


NOT_EVENTS = {
    "a list": "[1]",
    "null": "null",
    "a string": '"evt_1"',
    "a number": "42",
    "not json": "evt_1 charge.refunded",
    "an empty object": "{}",
    "nested brackets": "[" * 12_000,
    "a 5000-digit number": '{"id": ' + "9" * 5_000 + "}",
    "an integer event id": json.dumps({"id": 42, "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}),
    "an event id with a path in it": _event({"id": "ch_1"}, event_id="evt_../../x"),
    "no type": json.dumps({"id": "evt_1", "data": {"object": {"id": "ch_1"}}}),
    "a type that is not a string": json.dumps({"id": "evt_1", "type": ["charge.refunded"], "data": {"object": {}}}),
    "no data": json.dumps({"id": "evt_1", "type": "charge.refunded"}),
    "data.object a string": _event("ch_1"),
    "data.object a list": _event([{"id": "ch_1"}]),
    "an integer object id": _event({"id": 42}),
    "half a surrogate pair": _event({"id": "ch_1", "metadata": {"order_id": "\ud800"}}),
}


@pytest.mark.parametrize("body", list(NOT_EVENTS.values()), ids=list(NOT_EVENTS))
def test_a_signed_body_that_cannot_be_an_event_is_400_and_nothing_is_stored(stripe_env, runner, body):
    response = deliver_raw(runner, body, {"stripe-signature": signature(body)})
    assert response["statusCode"] == 400, response
    assert response["json"]["error"]["code"] == "bad_request"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert list(StripeEvent.scan()) == []


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(stripe_env, runner):
    body = _event({"id": "ch_1", "description": "x" * webhook.MAX_BODY_BYTES})
    response = deliver_raw(runner, body, {"stripe-signature": signature(body)})
    assert response["statusCode"] == 413 and response["json"]["error"]["code"] == "payload_too_large"
    base64_response = deliver_raw(runner, body, {"stripe-signature": signature(body)}, base64_body=True)
    assert base64_response["statusCode"] == 413
    assert list(StripeEvent.scan()) == []


def test_types_we_ignore_may_have_objects_without_an_id_or_with_a_chosen_one(stripe_env, runner):
    for event_id, obj in [("evt_balance", {"object": "balance", "available": []}),
                          ("evt_coupon", {"id": "summer-sale 2026", "object": "coupon"})]:
        response = deliver(runner, _event(obj, event_type="coupon.updated", event_id=event_id))
        assert response["statusCode"] == 200, response
        assert stored(event_id).outcome == "ignored"


# ------------------------------------------------------------------ events that can never apply

def _refunded_event(shop) -> tuple[Order, dict]:
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
    order, refunded = _refunded_event(shop)
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
    body = _event(obj, event_type=event_type)
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
    response = deliver(runner, _event(obj, event_type=event_type, event_id="evt_unknown_charge"))
    assert response["statusCode"] == 200, response
    record = stored("evt_unknown_charge")
    assert (record.status, record.outcome) == (PROCESSED, "unknown_order")
    assert record.outcome_detail == f"Stripe does not know {unknown}"


def test_an_unknown_charge_whose_metadata_names_an_order_changes_nothing(shop):
    """Metadata is anyone's to write: a charge Stripe does not know cannot refund the order it names."""
    order, refunded = _refunded_event(shop)
    refunded["data"]["object"].update(id="ch_gone", payment_intent=None, metadata={"order_id": order.id})
    assert shop.deliver(refunded)["statusCode"] == 200
    assert stored(refunded["id"]).outcome == "unknown_order"
    assert order_of({"order_id": order.id}).status == PAID


# ------------------------------------------------------------------ large payloads

def test_an_event_over_dynamodbs_item_limit_is_applied_and_kept_in_the_assets_bucket(shop):
    order, refunded = _refunded_event(shop)
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
    order, refunded = _refunded_event(shop)
    assert shop.deliver(refunded)["statusCode"] == 200
    record = stored(refunded["id"])
    assert record.payload and record.payload_key is None


# ------------------------------------------------------------------ over HTTP, through the function URL

@pytest.mark.stack
@pytest.mark.parametrize("body", [NOT_EVENTS["a list"], NOT_EVENTS["data.object a string"],
                                  NOT_EVENTS["an integer event id"], NOT_EVENTS["nested brackets"]],
                         ids=["a list", "data.object a string", "an integer event id", "nested brackets"])
def test_over_http_a_signed_body_that_cannot_be_an_event_is_400(local_stack, body):
    response = requests.post(local_stack.urls["webhook"], data=body.encode(), timeout=10, headers={
        "Content-Type": "application/json", "Stripe-Signature": signature(body, secret=E2E_WEBHOOK_SECRET)})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.stack
def test_over_http_a_refund_of_a_charge_stripe_does_not_know_is_200(local_stack):
    body = _event({"id": "ch_nobody_knows", "payment_intent": None, "amount": 100, "metadata": {}},
                  event_id="evt_http_unknown_charge")
    response = requests.post(local_stack.urls["webhook"], data=body.encode(), timeout=10, headers={
        "Content-Type": "application/json", "Stripe-Signature": signature(body, secret=E2E_WEBHOOK_SECRET)})
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}

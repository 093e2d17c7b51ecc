"""Stripe webhook events: verify, record, apply.

`verify` checks the signature over the raw body, then that the body is an
event at all (else 400: nothing Stripe sends). `apply_event` is the one
path every verified event takes, from the webhook function and from the
operator commands (reprocess, replay) alike:
1. record it in StripeEvent with a conditional put, before acting (a body
   too large for a DynamoDB item is kept in the assets bucket);
2. a duplicate of a processed event stops there;
3. anything else (new, failed before, or a concurrent delivery in flight) is
   applied: every effect is a conditional write, so running it twice at once
   is safe;
4. the outcome (or the error, for Stripe's retry) is stored on the record. An
   event that can never apply (its object lacks what its type needs, or names
   a charge Stripe does not know) is processed with that outcome and why.
"""
import json
import re
from collections.abc import Callable
from typing import Any

import stripe
from botocore.exceptions import ClientError
from pynamodb.constants import ALL_OLD, PUT_ITEM
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from lectern import config, stripe_gateway
from lectern import safe_json
from lectern.errors import InvalidInput, InvalidSignature, ProcessingFailed
from lectern.clock import iso
from lectern.models.events import FAILED, PROCESSED, RECEIVED, StripeEvent
from lectern.observability import logger
from lectern.payments import fulfillment
from lectern.payments.stripe_values import (
    INVALID_OBJECT, ChargeValue, CheckoutSessionValue, DisputeValue, InvalidStripeObject,
)

config.require("ASSETS_BUCKET")  # at import: where payloads too large for their record are kept

TOLERANCE_SECONDS = 300
DUPLICATE, IGNORED = "duplicate", "ignored"  # INVALID_OBJECT: lectern.payments.stripe_values
# Stripe events are tens of KB (lists are embedded 10 entries at most, metadata is capped at 50 keys
# of 500 characters); a Lambda request is at most 6 MB. Larger → 413.
MAX_BODY_BYTES = 2 * 1024 * 1024
# A DynamoDB item is at most 400 KB; a larger body goes to the assets bucket, leaving room for the rest.
MAX_INLINE_PAYLOAD_BYTES = 300 * 1024
PAYLOAD_PREFIX = "stripe-events/"

# Ids Stripe generates (evt_…, cs_…, ch_…, pi_…, du_…, re_…); the event id also names its S3 key.
_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_TYPE = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")  # charge.dispute.created; lenient with types we ignore

_Handler = Callable[[dict[str, Any], str], str]  # (event's data.object, actor) → outcome


def _fulfill_session(session: dict[str, Any], actor: str) -> str:
    return fulfillment.fulfill_checkout(CheckoutSessionValue.from_stripe(session).id, actor=actor)


def _fail_session(session: dict[str, Any], _actor: str) -> str:
    return fulfillment.fail_checkout(CheckoutSessionValue.from_stripe(session))


def _refund(charge: dict[str, Any], actor: str) -> str:
    return fulfillment.apply_refund(ChargeValue.from_stripe(charge), actor=actor)


def _dispute_opened(dispute: dict[str, Any], actor: str) -> str:
    return fulfillment.apply_dispute_opened(DisputeValue.from_stripe(dispute), actor=actor)


def _dispute_closed(dispute: dict[str, Any], actor: str) -> str:
    return fulfillment.apply_dispute_closed(DisputeValue.from_stripe(dispute), actor=actor)


HANDLERS: dict[str, _Handler] = {
    "checkout.session.completed": _fulfill_session,
    "checkout.session.async_payment_succeeded": _fulfill_session,
    "checkout.session.async_payment_failed": _fail_session,
    "checkout.session.expired": _fail_session,
    "charge.refunded": _refund,
    "charge.dispute.created": _dispute_opened,
    "charge.dispute.closed": _dispute_closed,
}
SUBSCRIBED_EVENTS = sorted(HANDLERS)


def verify(payload: str, signature_header: str | None) -> dict[str, Any]:
    """The event in a genuine Stripe delivery; InvalidSignature for anything else, InvalidInput for a
    signed body that cannot be an event (Stripe never sends one: only a holder of the secret can)."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, stripe_gateway.webhook_secret(),
                                              TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        raise InvalidSignature() from None
    try:
        event = safe_json.loads(payload)
    except safe_json.NotJson:  # signed by our secret, but not JSON (or nested beyond reading)
        raise InvalidInput("The body is not a JSON event.") from None
    problem = envelope_problem(event)
    if problem:
        raise InvalidInput(f"The body is not a Stripe event: {problem}.")
    return event


def envelope_problem(event: Any) -> str | None:
    """What keeps `event` from being a Stripe event object we can record, or None."""
    if not isinstance(event, dict):
        return "not a JSON object"
    if not isinstance(event.get("id"), str) or not _ID.fullmatch(event["id"]):
        return "`id` is not an event id"
    if not isinstance(event.get("type"), str) or not _TYPE.fullmatch(event["type"]):
        return "`type` is not an event type"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "`data.object` is not an object"
    object_id = data["object"].get("id")  # some objects have none; coupons and plans may have chosen ones
    if object_id is not None and not (isinstance(object_id, str) and len(object_id) <= 255):
        return "`data.object.id` is not an id"
    if safe_json.has_lone_surrogate(event):
        return "a string is not valid Unicode"
    return None


def apply_event(event: dict[str, Any], payload: str, *, force: bool = False) -> str:
    """Record and apply a verified event; returns its outcome. `force` re-applies a
    processed one (operator reprocess). Raises ProcessingFailed when it could not be applied."""
    record, is_new = _record(event, payload)
    if not is_new and record.status == PROCESSED and not force:
        return DUPLICATE
    context = {"stripe_event_id": event["id"], "type": event["type"]}
    if is_new and record.status == PROCESSED:  # a type no handler reads: recorded as ignored, done
        logger.info("Stripe event applied", extra={**context, "outcome": IGNORED})
        return IGNORED
    detail = None
    try:
        outcome = process(event)
    except fulfillment.CannotApply as exc:  # no retry can change it: done, and the record says why
        outcome, detail = exc.outcome, str(exc)
        logger.warning(f"Stripe event cannot apply: {detail}", extra={**context, "outcome": outcome})
    except fulfillment.RetryLater as exc:  # expected when events arrive out of order
        logger.warning(f"Stripe event deferred: {exc}", extra=context)
        _mark_failed(record, exc)
        raise ProcessingFailed() from exc
    except Exception as exc:
        logger.exception("Stripe event failed", extra=context)
        _mark_failed(record, exc)
        raise ProcessingFailed() from exc
    _mark_processed(record, outcome, detail)
    logger.info("Stripe event applied", extra={**context, "outcome": outcome})
    return outcome


def process(event: dict[str, Any]) -> str:
    """Apply one event's effects (all idempotent) and say what happened."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return IGNORED
    problem = object_problem(event["type"], event["data"]["object"])
    if problem:
        raise fulfillment.CannotApply(INVALID_OBJECT, f"{event['type']}: {problem}")
    try:
        return handler(event["data"]["object"], f"stripe:{event['id']}")
    except InvalidStripeObject as exc:
        raise fulfillment.CannotApply(INVALID_OBJECT, f"{event['type']}: {exc}") from None


# ------------------------------------------------------------------ what each handled type reads

def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _is_expandable(value: Any) -> bool:
    """An id field: null, the id, or the object expanded in its place."""
    return value is None or _is_id(value) or (isinstance(value, dict) and _is_id(value.get("id")))


def _is_metadata(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


def _is_refund(value: Any) -> bool:
    return (isinstance(value, dict) and _is_id(value.get("id")) and _is_int(value.get("amount"))
            and all(value.get(name) is None or isinstance(value[name], str) for name in ("status", "currency")))


def _is_refund_list(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, dict) or not _optional(lambda v: isinstance(v, bool))(value.get("has_more")):
        return False
    data = value.get("data")
    return data is None or (isinstance(data, list) and all(_is_refund(refund) for refund in data))


_SESSION = {"id": _is_id, "metadata": _is_metadata,
            "client_reference_id": _optional(lambda value: isinstance(value, str) and len(value) <= 200)}
_DISPUTE = {"id": _is_id, "payment_intent": _is_expandable, "charge": _is_expandable, "metadata": _is_metadata,
            "status": lambda value: isinstance(value, str)}
# The fields lectern.payments.fulfillment reads from each type's object, and what they must be.
OBJECT_FIELDS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "checkout.session.completed": _SESSION,
    "checkout.session.async_payment_succeeded": _SESSION,
    "checkout.session.async_payment_failed": _SESSION,
    "checkout.session.expired": _SESSION,
    "charge.refunded": {"id": _is_id, "payment_intent": _is_expandable, "metadata": _is_metadata,
                        "amount": _is_int, "amount_refunded": _optional(_is_int),
                        "refunded": _optional(lambda value: isinstance(value, bool)), "refunds": _is_refund_list},
    "charge.dispute.created": _DISPUTE,
    "charge.dispute.closed": _DISPUTE,
}


def object_problem(event_type: str, obj: dict[str, Any]) -> str | None:
    """Which field of a handled event's object is missing or not what Stripe sends, or None."""
    bad = [name for name, check in OBJECT_FIELDS.get(event_type, {}).items() if not check(obj.get(name))]
    return f"data.object has no valid {', '.join(bad)}" if bad else None


# ------------------------------------------------------------------ the record

def _record(event: dict[str, Any], payload: str) -> tuple[StripeEvent, bool]:
    """(the record, True) if this delivery created it, else (the stored record, False). A type no
    handler reads is recorded processed (outcome `ignored`) by that one put: nothing is left to do."""
    now = iso()
    record = StripeEvent(event["id"], type=event["type"], status=RECEIVED,
                         object_id=event["data"]["object"].get("id"), received_at=now)
    if event["type"] not in HANDLERS:
        record.status, record.processed_at, record.outcome, record.attempts = PROCESSED, now, IGNORED, 1
    if len(payload.encode("utf-8", "surrogatepass")) > MAX_INLINE_PAYLOAD_BYTES:
        record.payload_key = _archive_payload(event["id"], payload)  # before the record that points at it
    else:
        record.payload = payload
    recorded = _save_new(record)
    return (record, True) if recorded is None else (recorded, False)


def _save_new(record: StripeEvent) -> StripeEvent | None:
    """Put the record unless its event is recorded already (None), else the stored record: read by the
    same conditional put (ReturnValuesOnConditionCheckFailure = ALL_OLD, the item as the failed
    condition saw it), so a duplicate delivery costs one request, not a put and a consistent read."""
    kwargs = record.get_save_kwargs_from_instance(condition=StripeEvent.stripe_event_id.does_not_exist(),
                                                  return_values_on_condition_failure=ALL_OLD)
    try:
        StripeEvent._get_connection().connection.dispatch(PUT_ITEM, kwargs)
        return None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise PutError("Failed to put item", exc) from exc
        stored_item = getattr(exc.__cause__, "response", {}).get("Item")
    if not stored_item:  # the condition failed, so the item exists and DynamoDB returned it
        raise PutError("Conditional put failed without returning the stored item")
    return StripeEvent.from_raw_data(stored_item)


def _s3():
    import boto3  # only for the rare event too large for its record: no cold-start cost

    return boto3.client("s3", region_name=config.region())


def _archive_payload(event_id: str, payload: str) -> str:
    """Keep the body as signed in the assets bucket (same key on redelivery: overwritten with the same bytes)."""
    key = f"{PAYLOAD_PREFIX}{event_id}.json"
    _s3().put_object(Bucket=config.assets_bucket(), Key=key, Body=payload.encode("utf-8"),
                     ContentType="application/json")
    return key


def _mark_processed(record: StripeEvent, outcome: str, detail: str | None = None) -> None:
    record.update(actions=[StripeEvent.status.set(PROCESSED), StripeEvent.processed_at.set(iso()),
                           StripeEvent.outcome.set(outcome), StripeEvent.processing_error.remove(),
                           StripeEvent.outcome_detail.set(detail[:2000]) if detail
                           else StripeEvent.outcome_detail.remove(),
                           StripeEvent.attempts.add(1)])


def _mark_failed(record: StripeEvent, exc: Exception) -> None:
    try:  # a concurrent delivery that succeeded wins: the event is applied
        record.update(actions=[StripeEvent.status.set(FAILED),
                               StripeEvent.processing_error.set(f"{type(exc).__name__}: {exc}"[:2000]),
                               StripeEvent.attempts.add(1)],
                      condition=StripeEvent.status != PROCESSED)
    except UpdateError:
        logger.exception("Could not record the failure", extra={"stripe_event_id": record.stripe_event_id})


def stored(event_id: str) -> tuple[dict[str, Any], str]:
    """A recorded event and its raw payload, for reprocessing; KeyError if unknown."""
    try:
        record = StripeEvent.get(event_id, consistent_read=True)
    except DoesNotExist:
        raise KeyError(event_id) from None
    payload = record.payload
    if payload is None and record.payload_key:
        body = _s3().get_object(Bucket=config.assets_bucket(), Key=record.payload_key)["Body"]
        payload = body.read().decode("utf-8")
    return json.loads(payload), payload

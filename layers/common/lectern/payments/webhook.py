"""Stripe webhook events: verify, record, apply.

`verify` checks the signature over the raw body. `apply_event` is the one
path every verified event takes, from the webhook function and from the
operator commands (reprocess, replay) alike:
1. record it in StripeEvent with a conditional put, before acting;
2. a duplicate of a processed event stops there;
3. anything else (new, failed before, or a concurrent delivery in flight) is
   applied: every effect is a conditional write, so running it twice at once
   is safe;
4. the outcome (or the error, for Stripe's retry) is stored on the record.
"""
import json
from collections.abc import Callable
from typing import Any

import stripe
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from lectern.api.errors import BadRequest, InvalidSignature, ProcessingFailed
from lectern.clock import iso
from lectern.models.events import FAILED, PROCESSED, RECEIVED, StripeEvent
from lectern.observability import logger
from lectern.payments import fulfillment, stripe_gateway

TOLERANCE_SECONDS = 300
DUPLICATE, IGNORED = "duplicate", "ignored"

_Handler = Callable[[dict[str, Any], str], str]  # (event's data.object, actor) → outcome
HANDLERS: dict[str, _Handler] = {
    "checkout.session.completed": lambda session, actor: fulfillment.fulfill_checkout(session["id"], actor=actor),
    "checkout.session.async_payment_succeeded":
        lambda session, actor: fulfillment.fulfill_checkout(session["id"], actor=actor),
    "checkout.session.async_payment_failed": lambda session, _actor: fulfillment.fail_checkout(session),
    "checkout.session.expired": lambda session, _actor: fulfillment.fail_checkout(session),
    "charge.refunded": lambda charge, actor: fulfillment.apply_refund(charge, actor=actor),
    "charge.dispute.created": lambda dispute, actor: fulfillment.apply_dispute_opened(dispute, actor=actor),
    "charge.dispute.closed": lambda dispute, actor: fulfillment.apply_dispute_closed(dispute, actor=actor),
}
SUBSCRIBED_EVENTS = sorted(HANDLERS)


def verify(payload: str, signature_header: str | None) -> dict[str, Any]:
    """The event in a genuine Stripe delivery; InvalidSignature for anything else."""
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, stripe_gateway.webhook_secret(),
                                               tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        raise InvalidSignature() from None
    except ValueError:  # signed by our secret, but not JSON: never Stripe
        raise BadRequest("The body is not a JSON event.") from None
    event = event.to_dict()
    if not event.get("id") or not event.get("type") or not isinstance(event.get("data"), dict):
        raise BadRequest("The body is not a Stripe event.")
    return event


def apply_event(event: dict[str, Any], payload: str, *, force: bool = False) -> str:
    """Record and apply a verified event; returns its outcome. `force` re-applies a
    processed one (operator reprocess). Raises ProcessingFailed when it could not be applied."""
    record, is_new = _record(event, payload)
    if not is_new and record.status == PROCESSED and not force:
        return DUPLICATE
    context = {"stripe_event_id": event["id"], "type": event["type"]}
    try:
        outcome = process(event)
    except fulfillment.RetryLater as exc:  # expected when events arrive out of order
        logger.warning(f"Stripe event deferred: {exc}", extra=context)
        _mark_failed(record, exc)
        raise ProcessingFailed() from exc
    except Exception as exc:
        logger.exception("Stripe event failed", extra=context)
        _mark_failed(record, exc)
        raise ProcessingFailed() from exc
    _mark_processed(record, outcome)
    logger.info("Stripe event applied", extra={**context, "outcome": outcome})
    return outcome


def process(event: dict[str, Any]) -> str:
    """Apply one event's effects (all idempotent) and say what happened."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return IGNORED
    return handler(event["data"]["object"], f"stripe:{event['id']}")


def _record(event: dict[str, Any], payload: str) -> tuple[StripeEvent, bool]:
    record = StripeEvent(event["id"], type=event["type"], status=RECEIVED, payload=payload,
                         object_id=(event["data"].get("object") or {}).get("id"), received_at=iso())
    try:
        record.save(condition=StripeEvent.stripe_event_id.does_not_exist())
        return record, True
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    return StripeEvent.get(event["id"], consistent_read=True), False


def _mark_processed(record: StripeEvent, outcome: str) -> None:
    record.update(actions=[StripeEvent.status.set(PROCESSED), StripeEvent.processed_at.set(iso()),
                           StripeEvent.outcome.set(outcome), StripeEvent.processing_error.remove(),
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
    return json.loads(record.payload), record.payload

"""Stripe events table: a webhook's raw body in an item of its own, which expires.

- payload:  stripe_event_id = <event id>#payload   (expires through `payload_expires_at_epoch`, the table's TTL)

DynamoDB's TTL removes whole items, so the body cannot expire while it sits on the event's
summary item (`StripeEvent`: type, status, outcome, ids), which is kept for good; a body kept
here goes PAYLOAD_RETENTION_DAYS after it arrived. That is as long as Stripe itself keeps
events, so `lectern_admin events replay` can still fetch any event whose body is gone.
"""
import time

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from lectern.models.base import LecternModel, meta

PAYLOAD_RETENTION_DAYS = 30
PAYLOAD_KEY_SUFFIX = "#payload"


class StripeEventPayload(LecternModel):
    Meta = meta("STRIPE_EVENTS_TABLE")

    stripe_event_id = UnicodeAttribute(hash_key=True)  # "<event id>#payload": never an event id itself
    payload = UnicodeAttribute()  # the verified JSON body
    payload_expires_at_epoch = NumberAttribute()  # the table's TTL attribute (template.yaml)

    @classmethod
    def for_event(cls, event_id: str, payload: str, *, now: float | None = None) -> "StripeEventPayload":
        received = time.time() if now is None else now
        return cls(f"{event_id}{PAYLOAD_KEY_SUFFIX}", payload=payload,
                   payload_expires_at_epoch=int(received) + PAYLOAD_RETENTION_DAYS * 86400)

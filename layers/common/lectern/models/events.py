"""Stripe events table: every verified webhook event, recorded before it is acted on.

Key: `stripe_event_id` alone; the first delivery creates the item with a
conditional write, so the id is unique and a processed event is never
applied twice.
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from lectern.models.base import LecternModel, meta

RECEIVED, PROCESSED, FAILED = "received", "processed", "failed"


class StripeEvent(LecternModel):
    Meta = meta("STRIPE_EVENTS_TABLE")

    stripe_event_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()
    status = UnicodeAttribute(default=RECEIVED)
    # The verified JSON body, kept for reprocessing. A body too large for a DynamoDB item (400 KB)
    # is kept in the assets bucket instead, under `payload_key`, and `payload` is not set.
    payload = UnicodeAttribute(null=True)
    payload_key = UnicodeAttribute(null=True)
    object_id = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute()
    processed_at = UnicodeAttribute(null=True)
    processing_error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    outcome = UnicodeAttribute(null=True)  # what processing did, for operators
    outcome_detail = UnicodeAttribute(null=True)  # why, when the event could not apply (e.g. an unknown charge)

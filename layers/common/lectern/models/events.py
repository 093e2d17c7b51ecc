"""Stripe events table: every verified webhook event, recorded before it is acted on.

Key: `stripe_event_id` alone; the first delivery creates the item with a
conditional write, so the id is unique and a processed event is never
applied twice.
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from lectern.models.base import meta

RECEIVED, PROCESSED, FAILED = "received", "processed", "failed"


class StripeEvent(Model):
    Meta = meta("STRIPE_EVENTS_TABLE", "StripeEventsTable")

    stripe_event_id = UnicodeAttribute(hash_key=True)
    type = UnicodeAttribute()
    status = UnicodeAttribute(default=RECEIVED)
    payload = UnicodeAttribute()  # the verified JSON body, kept for reprocessing
    object_id = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute()
    processed_at = UnicodeAttribute(null=True)
    processing_error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    outcome = UnicodeAttribute(null=True)  # what processing did, for operators

"""Users table: addresses SES reported undeliverable (a permanent bounce) or that complained.

- undeliverable:   pk = UNDELIVERABLE#<email>, sk = EMAIL

Written by the EmailFeedbackFunction from the SES configuration set's notifications
(notifications/feedback.py). SES itself stops sending to such an address (its
suppression list); this item is Lectern's record of why, for operators and support.
"""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from lectern.models.base import KeyedModel, meta
from lectern.models.users import normalize_email


class UndeliverableEmail(KeyedModel):
    Meta = meta("USERS_TABLE")

    reason = UnicodeAttribute()  # bounce | complaint (the latest)
    detail = UnicodeAttribute(default="")  # bounce type/subtype, or the complaint's feedback type
    first_reported_at = UnicodeAttribute()
    last_reported_at = UnicodeAttribute()
    reports = NumberAttribute(default=0)
    last_ses_message_id = UnicodeAttribute(null=True)  # the message that bounced or was complained about

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"UNDELIVERABLE#{normalize_email(email)}", "EMAIL"

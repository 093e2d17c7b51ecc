"""Entitlements table: who may open which course, its history and access audit.

- entitlement: pk = USER#<user_id>, sk = ENT#<course_id>
  One item per user and course, so "one active entitlement per user+course"
  holds by construction; grant and revoke flip `status` with a condition and
  never delete it.
- history:     pk = USER#<user_id>, sk = HIST#<course_id>#<ulid>  (every grant/revoke, with reason)
- audit:       pk = USER#<user_id>, sk = AUDIT#<ulid>             (every authorization attempt)
"""
from pynamodb.attributes import UnicodeAttribute

from lectern.models.base import KeyedModel, meta

_META = meta("ENTITLEMENTS_TABLE")

ACTIVE, REVOKED = "active", "revoked"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class Entitlement(KeyedModel):
    Meta = _META

    id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_slug = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)  # None for an operator grant
    source = UnicodeAttribute(default="purchase")  # purchase | operator
    status = UnicodeAttribute()
    granted_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
    revoke_reason = UnicodeAttribute(null=True)

    @staticmethod
    def key(user_id: str, course_id: str) -> tuple[str, str]:
        return user_pk(user_id), f"ENT#{course_id}"


class EntitlementHistory(KeyedModel):
    Meta = _META

    user_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    action = UnicodeAttribute()  # grant | revoke
    reason = UnicodeAttribute()
    actor = UnicodeAttribute()  # stripe:<event id> | operator:<name>
    order_id = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class AccessAudit(KeyedModel):
    Meta = _META

    user_id = UnicodeAttribute()
    action = UnicodeAttribute()  # download | playback | learn
    target = UnicodeAttribute()
    outcome = UnicodeAttribute()  # granted | denied
    reason = UnicodeAttribute(null=True)
    at = UnicodeAttribute()

"""Entitlements table: who may open which course, its history and access audit.

- entitlement: pk = USER#<user_id>, sk = ENT#<course_id>
  One item per user and course, so "one active entitlement per user+course"
  holds by construction; grant and revoke flip `status` with a condition and
  never delete it.
- history:     pk = USER#<user_id>, sk = HIST#<course_id>#<ulid>  (every grant/revoke, with reason)
- audit:       pk = USER#<user_id>, sk = AUDIT#<ulid>             (every authorization attempt)
"""
from collections.abc import Iterator

from pynamodb.attributes import UnicodeAttribute

from lectern.models.base import KeyedModel, meta

_META = meta("ENTITLEMENTS_TABLE")

ACTIVE, REVOKED = "active", "revoked"

# Where an entitlement came from: a paid order of the user's own, a free course's enrolment, a paid
# order someone else made as a gift to the user, an operator's grant. Items written before the
# sources were named say "purchase": that is an order, and it is read as ORDER (SourceAttribute).
ORDER, FREE, GIFT, OPERATOR = "order", "free", "gift", "operator"
SOURCES = (ORDER, FREE, GIFT, OPERATOR)
LEGACY_SOURCES = {"purchase": ORDER}


class SourceAttribute(UnicodeAttribute):
    """An entitlement's source, normalised on read: a legacy value ("purchase") becomes the one it
    means now ("order"), so no caller ever sees it; new writes only ever store SOURCES."""

    def deserialize(self, value: str) -> str:
        value = super().deserialize(value)
        return LEGACY_SOURCES.get(value, value)


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


class Entitlement(KeyedModel):
    Meta = _META

    id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_slug = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)  # None for a free enrolment or an operator grant
    source = SourceAttribute(default=ORDER)  # order | free | gift | operator ("purchase" is read as order)
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


# ------------------------------------------------------------------ access patterns (docs/data-model.md)

def entitlements_of(user_id: str) -> Iterator[Entitlement]:
    """#14 (before the status filter): a user's entitlements."""
    return Entitlement.query(user_pk(user_id), Entitlement.sk.startswith("ENT#"))


def history_key(user_id: str, course_id: str, entry_id: str) -> tuple[str, str]:
    return user_pk(user_id), f"HIST#{course_id}#{entry_id}"


def history_of(user_id: str) -> Iterator[EntitlementHistory]:
    """#16: a user's entitlement history."""
    return EntitlementHistory.query(user_pk(user_id), EntitlementHistory.sk.startswith("HIST#"))


def audit_key(user_id: str, entry_id: str) -> tuple[str, str]:
    return user_pk(user_id), f"AUDIT#{entry_id}"


def audit_of(user_id: str, *, limit: int | None = None) -> Iterator[AccessAudit]:
    """#16: a user's access audit, newest first (ULID sort keys order by time)."""
    return AccessAudit.query(user_pk(user_id), AccessAudit.sk.startswith("AUDIT#"), scan_index_forward=False,
                             limit=limit)

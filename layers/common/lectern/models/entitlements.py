"""Entitlements table: who may open which course, its history and access audit.

- entitlement: pk = USER#<user_id>, sk = ENT#<course_id>
  One item per user and course, so "one active entitlement per user+course"
  holds by construction; grant and revoke flip `status` with a condition and
  never delete it.
- history:     pk = USER#<user_id>, sk = HIST#<course_id>#<ulid>  (every grant/revoke, with reason)
- audit:       pk = USER#<user_id>, sk = AUDIT#<ulid>             (every authorization attempt)
- progress:    pk = USER#<user_id>, sk = PROGRESS#<course_id>#<lesson_id> (position, completion)
- certificate: pk = USER#<user_id>, sk = CERT#<course_id>         (one per user and course)
- code lookup: pk = CERTCODE#<code>, sk = CERTIFICATE            (public verification → the certificate)
"""
from collections.abc import Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

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


# ------------------------------------------------------------------ lesson progress and certificates

PROGRESS_PREFIX = "PROGRESS#"
CERTIFICATE_PREFIX = "CERT#"
VALID = "valid"  # a certificate's status; REVOKED once access to its course was lost


class LessonProgress(KeyedModel):
    """pk = USER#<user_id>, sk = PROGRESS#<course_id>#<lesson_id>: one item per user and lesson, so a
    user's progress in every course is one Query (`begins_with(sk, "PROGRESS#")`), and in one course
    one Query of `PROGRESS#<course_id>#`. Written only by `record_progress` (one UpdateItem)."""

    Meta = _META

    user_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    lesson_id = UnicodeAttribute()
    lesson_slug = UnicodeAttribute()
    position_seconds = NumberAttribute(default=0)
    completed_at = UnicodeAttribute(null=True)  # set once (if_not_exists), never removed
    updated_at = UnicodeAttribute()

    @staticmethod
    def key(user_id: str, course_id: str, lesson_id: str) -> tuple[str, str]:
        return user_pk(user_id), f"{PROGRESS_PREFIX}{course_id}#{lesson_id}"


class Certificate(KeyedModel):
    """pk = USER#<user_id>, sk = CERT#<course_id>: at most one per user and course by construction
    (issued with a conditional Put). `code` is the public, unguessable identity; the code lookup
    item (CertificateCode) points back here."""

    Meta = _META

    code = UnicodeAttribute()
    user_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_slug = UnicodeAttribute()
    course_title = UnicodeAttribute()
    learner_name = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    status = UnicodeAttribute(default=VALID)  # valid | revoked
    revoked_at = UnicodeAttribute(null=True)
    revoke_reason = UnicodeAttribute(null=True)
    pdf_key = UnicodeAttribute(null=True)  # set once the PDF is in the assets bucket

    @staticmethod
    def key(user_id: str, course_id: str) -> tuple[str, str]:
        return user_pk(user_id), f"{CERTIFICATE_PREFIX}{course_id}"


class CertificateCode(KeyedModel):
    """pk = CERTCODE#<code>, sk = CERTIFICATE: the code's lookup (public verification), written with
    the certificate in one transaction, `attribute_not_exists(pk)`: a code names one certificate."""

    Meta = _META

    user_id = UnicodeAttribute()
    course_id = UnicodeAttribute()

    @staticmethod
    def key(code: str) -> tuple[str, str]:
        return f"CERTCODE#{code}", "CERTIFICATE"


def record_progress(user_id: str, course_id: str, lesson_id: str, lesson_slug: str, *, position_seconds: int,
                    complete: bool, now: str) -> str | None:
    """#25: ONE UpdateItem: set the position and `updated_at`, and, when `complete`, `completed_at` if it
    is not there yet (so completion is never undone nor moved). Returns the `completed_at` the item had
    BEFORE this write (ReturnValues ALL_OLD): None means this write is the one that completed it (when
    `complete`), or that the lesson is still not completed."""
    pk, sk = LessonProgress.key(user_id, course_id, lesson_id)
    actions = [LessonProgress.user_id.set(user_id), LessonProgress.course_id.set(course_id),
               LessonProgress.lesson_id.set(lesson_id), LessonProgress.lesson_slug.set(lesson_slug),
               LessonProgress.position_seconds.set(position_seconds), LessonProgress.updated_at.set(now)]
    if complete:
        actions.append(LessonProgress.completed_at.set(LessonProgress.completed_at | now))  # if_not_exists
    answer = LessonProgress._get_connection().update_item(pk, sk, actions=actions, return_values="ALL_OLD")
    before = (answer or {}).get("Attributes") or {}
    return (before.get("completed_at") or {}).get("S")


def progress_in_course(user_id: str, course_id: str, *, consistent_read: bool = False) -> list[LessonProgress]:
    """#26: a user's progress in one course (Query `begins_with(sk, "PROGRESS#<course_id>#")`)."""
    return list(LessonProgress.query(user_pk(user_id), LessonProgress.sk.startswith(f"{PROGRESS_PREFIX}{course_id}#"),
                                     consistent_read=consistent_read))


def progress_of_user(user_id: str) -> list[LessonProgress]:
    """#26: a user's progress in every course (one Query, `begins_with(sk, "PROGRESS#")`)."""
    return list(LessonProgress.query(user_pk(user_id), LessonProgress.sk.startswith(PROGRESS_PREFIX)))


def certificates_of(user_id: str) -> list[Certificate]:
    """#27: a user's certificates (Query `begins_with(sk, "CERT#")`)."""
    return list(Certificate.query(user_pk(user_id), Certificate.sk.startswith(CERTIFICATE_PREFIX)))


def certificate_by_code(code: str) -> Certificate | None:
    """#28: a certificate by its code: GetItem of the lookup, then GetItem of the certificate."""
    try:
        ref = CertificateCode.get(*CertificateCode.key(code))
        return Certificate.get(*Certificate.key(ref.user_id, ref.course_id))
    except DoesNotExist:
        return None


def _move_certificate(user_id: str, course_id: str, *, from_status: str, actions: list) -> bool:
    """One conditional UpdateItem: the certificate must exist and be `from_status`. False when it is not."""
    pk, sk = Certificate.key(user_id, course_id)
    try:
        Certificate._get_connection().update_item(
            pk, sk, actions=actions, condition=Certificate.pk.exists() & (Certificate.status == from_status))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def revoke_certificate(user_id: str, course_id: str, *, reason: str, at: str) -> bool:
    """#29: mark the user's certificate for the course revoked: one conditional UpdateItem (it must exist
    and be valid). False when there is none, or it is revoked already."""
    return _move_certificate(user_id, course_id, from_status=VALID, actions=[
        Certificate.status.set(REVOKED), Certificate.revoked_at.set(at), Certificate.revoke_reason.set(reason)])


def restore_certificate(user_id: str, course_id: str) -> bool:
    """An operator's correction (lectern_admin certificates restore): a revoked certificate is valid
    again. One conditional UpdateItem (it must exist and be revoked); False when there is none, or it
    is valid already. Whether the learner has the course again is the caller's check."""
    return _move_certificate(user_id, course_id, from_status=REVOKED, actions=[
        Certificate.status.set(VALID), Certificate.revoked_at.remove(), Certificate.revoke_reason.remove()])

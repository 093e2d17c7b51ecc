"""Entitlement checks for paid content, each one written as an AccessAudit record.

`authorize` is ONE DynamoDB request: a TransactWriteItems that
  - ConditionChecks the entitlement item `status = active` (strongly consistent,
    so a revoke is effective on the very next request: nothing is cached),
  - optionally ConditionChecks that catalog items are still published,
  - Puts the AccessAudit record with outcome "granted".
The record exists iff access was granted. When the transaction is cancelled,
the cancellation reasons say which check failed, and the "denied" record is
written with one more PutItem (see docs/security.md for why that is the
design).
"""
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model

from lectern.clock import iso
from lectern.errors import NotEntitled, NotFound, ServiceUnavailable
from lectern.ids import new_id
from lectern.models.base import transaction
from lectern.models.entitlements import ACTIVE, AccessAudit, Entitlement, audit_key, audit_of
from lectern.observability import logger

GRANTED, DENIED = "granted", "denied"
LEARN, PLAYBACK, DOWNLOAD = "learn", "playback", "download"


@dataclass(frozen=True)
class MustBePublished:
    """A catalog item (Course, CourseModule or CourseLesson key) that must still have
    `is_published = true` (and, for a lesson, still be in `module_id`, the module checked with it)."""

    model: type[Model]
    pk: str
    sk: str
    module_id: str | None = None

    def condition(self) -> Any:
        condition = self.model.is_published == True  # noqa: E712 - DynamoDB condition
        if self.module_id is not None:
            condition &= self.model.module_id == self.module_id
        return condition


def _audit(user_id: str, action: str, target: str, outcome: str, reason: str | None) -> AccessAudit:
    return AccessAudit(*audit_key(user_id, new_id()), user_id=user_id, action=action, target=target,
                       outcome=outcome, reason=reason, at=iso())


def record_denial(user_id: str, action: str, target: str, reason: str) -> None:
    _audit(user_id, action, target, DENIED, reason).save()


def authorize(user_id: str, course_id: str, *, action: str, target: str,
              published: Sequence[MustBePublished] = ()) -> None:
    """Return when `user_id` may open `target` now; raise NotEntitled (403) or NotFound (404).
    Either way the attempt is on the user's audit trail."""
    entitlement_key = Entitlement.key(user_id, course_id)
    try:
        with transaction() as write:
            write.condition_check(Entitlement, *entitlement_key, condition=Entitlement.status == ACTIVE)
            for item in published:
                write.condition_check(item.model, item.pk, item.sk, condition=item.condition())
            write.save(_audit(user_id, action, target, GRANTED, None))
        return
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        reasons = [reason.code if reason else None for reason in exc.cancellation_reasons or []]
    failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
    # Condition checks are sent first, in the order added: 0 = entitlement, 1.. = catalog items.
    if failed & set(range(1, len(published) + 1)):
        record_denial(user_id, action, target, "not_found")
        raise NotFound()
    if 0 in failed:
        record_denial(user_id, action, target, "not_entitled")
        raise NotEntitled()
    # e.g. TransactionConflict with a concurrent grant/revoke: nothing was decided, the client may retry.
    logger.warning("Access transaction cancelled", extra={"reasons": reasons})
    raise ServiceUnavailable()


def audit_trail(user_id: str, limit: int | None = None) -> list[AccessAudit]:
    """A user's access audit, newest first (ULID sort keys order by time)."""
    return list(audit_of(user_id, limit=limit))


def require_entitled(user_id: str, course_id: str) -> None:
    """The entitlement check of a write that opens no content (lesson progress, #13a): one strongly
    consistent GetItem, so a revoke counts from the very next request. Not audited: a heartbeat every
    few seconds would bury the trail, and it hands out nothing (docs/security.md)."""
    try:
        entitlement = Entitlement.get(*Entitlement.key(user_id, course_id), consistent_read=True)
    except DoesNotExist:
        raise NotEntitled() from None
    if entitlement.status != ACTIVE:
        raise NotEntitled()

"""Grant, revoke and check entitlements.

There is one entitlement item per (user, course). Grant and revoke are
conditional updates of its `status`, written in one transaction with a
history record, so:
- a second grant while active changes nothing (one active entitlement);
- a revoke only applies to the grant it names (a refund of an old order
  cannot take away access bought with a newer one);
- a purchase grant can require its order to still give access (`paid`, and
  no dispute open or lost) in the same transaction, so a refund or a dispute
  racing a late grant cannot leave access behind;
- a revoke for an order can require that the order no longer gives access,
  in the same transaction, so a dispute won while its "opened" event was
  being applied cannot end with access taken away.

Losing access revokes the learner's certificate of the course, if any (one conditional
UpdateItem after the revoke, also when the entitlement was revoked already: a retried refund or
dispute event finishes what a failed attempt left). A later grant gives access back, not the
certificate: once revoked it stays revoked (docs/data-model.md, *Certificates*).
"""
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from lectern.clock import iso
from lectern.ids import new_id
from lectern.models.base import condition_failed, transaction
from lectern.models.entitlements import (
    ACTIVE, GIFT, OPERATOR, ORDER, REVOKED, SOURCES, Entitlement, EntitlementHistory, entitlements_of, history_key,
    history_of, revoke_certificate,
)

# A dispute in one of these may still go either way: access stays off meanwhile.
OPEN_DISPUTE = frozenset({"needs_response", "under_review", "warning_needs_response", "warning_under_review"})
# A paid order with its dispute in one of these gives no access: still open, or lost.
DISPUTE_BLOCKS_ACCESS = OPEN_DISPUTE | {"lost"}


def _check_order(write, order_id: str, *, gives_access: bool) -> None:
    """Inside a grant (or revoke) transaction: the order gives access (or no longer does). The Orders model
    is imported here: only grants and revokes by an order need it, not the learner's reads."""
    from lectern.models.orders import PAID, Order

    gives = (Order.status == PAID) & (Order.dispute_status.does_not_exist()
                                      | ~Order.dispute_status.is_in(*DISPUTE_BLOCKS_ACCESS))
    order_key = Order.key(order_id)
    write.condition_check(Order, order_key[0], order_key[1], condition=gives if gives_access else ~gives)


@dataclass
class Change:
    changed: bool
    entitlement: Entitlement | None = None


def _history(user_id: str, course_id: str, action: str, reason: str, actor: str,
             order_id: str | None, at: str) -> EntitlementHistory:
    return EntitlementHistory(*history_key(user_id, course_id, new_id()), user_id=user_id,
                              course_id=course_id, action=action, reason=reason, actor=actor,
                              order_id=order_id, at=at)


def get(user_id: str, course_id: str) -> Entitlement | None:
    pk, sk = Entitlement.key(user_id, course_id)
    try:
        return Entitlement.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def is_active(user_id: str, course_id: str) -> bool:
    entitlement = get(user_id, course_id)
    return entitlement is not None and entitlement.status == ACTIVE


def grant(user_id: str, course_id: str, course_slug: str, *, reason: str, actor: str,
          order_id: str | None = None, require_paid_order: bool = True, source: str | None = None) -> Change:
    """Make the entitlement active. No-op (changed=False) if it already is, or
    (for a purchase) if the order no longer gives access when the write lands
    (not paid, or a dispute open or lost). `source` (models.entitlements.SOURCES) defaults to
    `order` with an order, `operator` without; a gift's order grants with `gift`, and a free
    course's enrolment with `free`."""
    source = source or (ORDER if order_id else OPERATOR)
    if source not in SOURCES or (source in (ORDER, GIFT)) != (order_id is not None):
        raise ValueError(f"entitlement source {source!r} with order {order_id!r}")
    now = iso()
    pk, sk = Entitlement.key(user_id, course_id)
    entitlement = Entitlement(pk, sk, id=new_id(), user_id=user_id, course_id=course_id,
                              course_slug=course_slug, order_id=order_id,
                              source=source, status=ACTIVE, granted_at=now)
    try:
        with transaction() as write:
            write.save(entitlement, condition=Entitlement.pk.does_not_exist() | (Entitlement.status == REVOKED))
            write.save(_history(user_id, course_id, "grant", reason, actor, order_id, now))
            if order_id and require_paid_order:
                _check_order(write, order_id, gives_access=True)
    except TransactWriteError as exc:
        if condition_failed(exc):
            return Change(changed=False, entitlement=get(user_id, course_id))
        raise
    return Change(changed=True, entitlement=entitlement)


def revoke(user_id: str, course_id: str, *, reason: str, actor: str, order_id: str | None = None,
           require_lapsed_order: bool = True) -> Change:
    """Revoke the active entitlement; with `order_id`, only if it was granted by that order
    and (unless `require_lapsed_order` is False) that order no longer gives access when the
    write lands (refunded, or a dispute open or lost)."""
    now = iso()
    current = get(user_id, course_id)
    if current is None:
        return Change(changed=False, entitlement=current)
    if current.status != ACTIVE:
        revoke_certificate(user_id, course_id, reason=current.revoke_reason or reason, at=current.revoked_at or now)
        return Change(changed=False, entitlement=current)
    condition = (Entitlement.status == ACTIVE) & (Entitlement.id == current.id)
    if order_id is not None:
        condition &= Entitlement.order_id == order_id
    try:
        with transaction() as write:
            write.update(current, actions=[Entitlement.status.set(REVOKED), Entitlement.revoked_at.set(now),
                                           Entitlement.revoke_reason.set(reason)], condition=condition)
            write.save(_history(user_id, course_id, "revoke", reason, actor, order_id, now))
            if order_id is not None and require_lapsed_order:
                _check_order(write, order_id, gives_access=False)
    except TransactWriteError as exc:
        if condition_failed(exc):
            return Change(changed=False, entitlement=get(user_id, course_id))
        raise
    current.status, current.revoked_at, current.revoke_reason = REVOKED, now, reason
    revoke_certificate(user_id, course_id, reason=reason, at=now)
    return Change(changed=True, entitlement=current)


def active_for_user(user_id: str) -> list[Entitlement]:
    return [e for e in entitlements_of(user_id)
            if e.status == ACTIVE]


def history(user_id: str) -> list[EntitlementHistory]:
    return list(history_of(user_id))

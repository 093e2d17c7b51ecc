"""The signed-in learner's profile, courses and orders.

The profile's and the orders' modules (the accounts package, the Users and Orders models: about 10 ms
of the learner's cold start) are imported by the one route that reads each, when it first runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from lectern import config, wire
from lectern.catalog.queries import load_outline
from lectern.catalog.views import course_summary
from lectern.entitlements import service as entitlements
from lectern.errors import NotFound, NotSignedIn
from lectern.learning import progress
from lectern.learning.schemas import (
    Library, LibraryCourse, OrderGift, OrderHistory, OrderHistoryEntry, OrderHistoryItem,
)
from lectern.models import entitlements as store

if TYPE_CHECKING:
    from lectern.accounts.schemas import UserEnvelope
    from lectern.models.orders import Order, OrderItem

config.require("USERS_TABLE", "ORDERS_TABLE")  # at init, though their models load on first use: fail fast


def me(user_id: str) -> UserEnvelope:
    from lectern.accounts.schemas import UserEnvelope
    from lectern.accounts.sessions import user_view
    from lectern.accounts.users import get_user

    user = get_user(user_id)
    if user is None:  # a valid token for an account that no longer exists
        raise NotSignedIn()
    return UserEnvelope(user=user_view(user))


def my_courses(user_id: str) -> Library:
    """Active entitlements to published courses, most recently granted first, each with the learner's
    progress and next lesson. 2 + N requests (N = active entitlements): Query the entitlements (#14),
    Query the learner's progress in every course (#26, one Query per user), and each course's
    outline (#2: the order of its published lessons, for `next_lesson`). A learner holds a handful."""
    active = entitlements.active_for_user(user_id)
    if not active:
        return Library(courses=[])
    done = progress.by_lesson(store.progress_of_user(user_id))
    library = []
    for entitlement in active:
        try:
            outline = load_outline(entitlement.course_slug)
        except NotFound:  # unpublished since
            continue
        if outline.course.id != entitlement.course_id:
            continue
        course_progress, next_lesson = progress.summary(outline, done)
        library.append(LibraryCourse(**wire.values(course_summary(outline.course)), granted_at=entitlement.granted_at,
                                     progress=course_progress, next_lesson=next_lesson))
    return Library(courses=sorted(library, key=lambda c: c.granted_at, reverse=True))


def _order_view(order: Order, items: list[OrderItem]) -> OrderHistoryEntry:
    return OrderHistoryEntry(
        id=order.id, status=order.status, subtotal_amount=int(order.subtotal_amount),
        discount_amount=int(order.discount_amount), total_amount=int(order.total_amount),
        currency=order.currency, created_at=order.created_at, paid_at=order.paid_at,
        refunded_at=order.refunded_at, refund_reason=order.refund_reason,
        items=[OrderHistoryItem(course_id=i.course_id, course_slug=i.course_slug, course_title=i.course_title,
                                unit_amount=int(i.unit_amount), quantity=int(i.quantity)) for i in items],
        gift=OrderGift(recipient_email=order.gift_recipient_email, recipient_name=order.gift_recipient_name)
        if order.is_gift else None,
    )


def my_orders(user_id: str) -> OrderHistory:
    """Newest first. Orders come from gsi1 (`USER#<id>`); their items live in each order's
    own partition (written at checkout, before a guest order has a user), so each order
    costs one more Query. A learner has a handful of orders, so 1 + N stays small."""
    from lectern.models import orders

    views = []
    for order in list(orders.by_user(user_id, newest_first=True)):
        items = orders.items_of(order.id)
        views.append(_order_view(order, items))
    return OrderHistory(orders=views)

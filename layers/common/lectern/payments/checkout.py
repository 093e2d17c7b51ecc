"""Starting a purchase: a pending order, then a Stripe Checkout Session for it.

Order of work, so that nothing half-made can pass for a sale:
1. every check that can fail cheaply (course, buyer, ownership, promotion code);
2. the pending Order and its OrderItem, in one transaction;
3. the Checkout Session (idempotency key = the order id, so an SDK retry
   cannot create a second one); if Stripe cannot be reached the order is
   marked `failed` and the caller gets 503;
4. the order points at its session, and the session id is claimed unique.
Access is granted only by the webhook (payments/fulfillment.py), never here.
"""
import re
from dataclasses import dataclass

import stripe
from pynamodb.exceptions import DoesNotExist, UpdateError

from lectern import config, stripe_gateway
from lectern.accounts.users import get_user, user_id_for_email
from lectern.catalog.queries import is_slug
from lectern.clock import iso, iso_from_unix
from lectern.entitlements import service as entitlements
from lectern.errors import (
    AlreadyOwned, NotFound, NotSignedIn, PaymentProviderUnavailable, ValidationFailed,
)
from lectern.ids import new_id
from lectern.models.base import transaction
from lectern.models.catalog import Course, course_pk
from lectern.models.orders import (
    FAILED, PENDING, CheckoutSessionRef, Order, OrderItem, load_order_with_items,
)
from lectern.observability import logger
from lectern.payments.schemas import CheckoutCreated, CheckoutRequest, CheckoutStatus, CourseRef

_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")


# ------------------------------------------------------------------ creating

@dataclass
class _Buyer:
    email: str
    user_id: str | None  # set when signed in


def start_checkout(request: CheckoutRequest, user_id: str | None) -> CheckoutCreated:
    course = _purchasable_course(request.course_slug)
    buyer = _buyer(request, user_id)
    owner = buyer.user_id or user_id_for_email(buyer.email)
    if owner and entitlements.is_active(owner, course.id):
        raise AlreadyOwned()
    promotion_id = _promotion_code_id(request.promotion_code) if request.promotion_code else None

    order = _create_pending_order(course, buyer, request.promotion_code)
    try:
        session = _create_session(order, course, promotion_id)
    except stripe.StripeError as exc:
        _mark_failed(order)
        if stripe_gateway.is_unavailable(exc):
            logger.warning("Stripe unavailable; order marked failed", extra={"order_id": order.id})
            raise PaymentProviderUnavailable() from exc
        if isinstance(exc, stripe.InvalidRequestError) and (exc.param or "").startswith("discounts"):
            # An active code whose rules exclude this purchase (minimum amount, first order only…).
            raise ValidationFailed(details={"promotion_code": ["cannot be applied to this purchase"]}) from exc
        raise  # any other request Stripe rejects is our bug (a bad price id…): 500, logged by the resolver
    _attach_session(order, session.id)
    return CheckoutCreated(order_id=order.id, checkout_session_id=session.id, checkout_url=session.url,
                           expires_at=iso_from_unix(session.expires_at))


def _purchasable_course(slug: str) -> Course:
    """Unknown, unpublished and unpriced courses all answer the same 404."""
    if not is_slug(slug):
        raise NotFound("No such course.")
    try:
        course = Course.get(course_pk(slug), Course.sort_key())
    except DoesNotExist:
        raise NotFound("No such course.") from None
    if not course.is_published or course.price_amount is None or not course.stripe_price_id:
        raise NotFound("No such course.")
    return course


def _buyer(request: CheckoutRequest, user_id: str | None) -> _Buyer:
    if user_id:
        user = get_user(user_id)
        if user is None:  # a valid token for a deleted account
            raise NotSignedIn()
        return _Buyer(email=user.email, user_id=user.id)
    if not request.email:
        raise ValidationFailed(details={"email": ["is required unless you are signed in"]})
    return _Buyer(email=request.email, user_id=None)


def _promotion_code_id(code: str) -> str:
    """The id of an active Stripe promotion code; unknown or inactive → 422."""
    try:
        found = stripe_gateway.client().v1.promotion_codes.list(
            params={"code": code, "active": True, "limit": 1})
    except stripe.StripeError as exc:
        if stripe_gateway.is_unavailable(exc):
            raise PaymentProviderUnavailable() from exc
        raise
    if not found.data:
        raise ValidationFailed(details={"promotion_code": ["is not a valid or active promotion code"]})
    return found.data[0].id


def _create_pending_order(course: Course, buyer: _Buyer, promotion_code: str | None) -> Order:
    order_id, now = new_id(), iso()
    amount = int(course.price_amount)
    order = Order(*Order.key(order_id), id=order_id, status=PENDING, email=buyer.email, user_id=buyer.user_id,
                  promotion_code=promotion_code, currency=course.currency, subtotal_amount=amount,
                  discount_amount=0, total_amount=amount, created_at=now)
    item = OrderItem(*OrderItem.key(order_id, course.id), order_id=order_id, course_id=course.id,
                     course_slug=course.slug, course_title=course.title, unit_amount=amount, quantity=1,
                     currency=course.currency)
    with transaction() as write:
        write.save(order, condition=Order.pk.does_not_exist())
        write.save(item, condition=OrderItem.pk.does_not_exist())
    return order


def _create_session(order: Order, course: Course, promotion_id: str | None):
    frontend = config.frontend_url()
    params = {
        "mode": "payment",
        "line_items": [{"price": course.stripe_price_id, "quantity": 1}],
        "client_reference_id": order.id,
        "metadata": {"order_id": order.id, "course_id": course.id},
        # Refund and dispute events carry the PaymentIntent, not the session: this finds the order.
        "payment_intent_data": {"metadata": {"order_id": order.id}},
        "customer_email": order.email,
        # Stripe fills in {CHECKOUT_SESSION_ID} itself; it must reach Stripe unformatted.
        "success_url": f"{frontend}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{frontend}/checkout/cancel?course={course.slug}",
    }
    if promotion_id:
        params["discounts"] = [{"promotion_code": promotion_id}]
    else:
        params["allow_promotion_codes"] = True
    return stripe_gateway.client().v1.checkout.sessions.create(
        params, options={"idempotency_key": f"checkout-{order.id}"})


def _mark_failed(order: Order) -> None:
    try:
        order.update(actions=[Order.status.set(FAILED), Order.failed_at.set(iso())],
                     condition=Order.status == PENDING)
    except UpdateError:
        # The 503 still stands; an order we could not mark stays pending without a session and
        # is never paid: only a webhook for a paid session can turn an order into a sale.
        logger.exception("Could not mark order failed", extra={"order_id": order.id})


def _attach_session(order: Order, session_id: str) -> None:
    ref = CheckoutSessionRef(*CheckoutSessionRef.key(session_id), order_id=order.id)
    with transaction() as write:
        write.update(order, actions=[Order.checkout_session_id.set(session_id)],
                     condition=(Order.status == PENDING) & Order.checkout_session_id.does_not_exist())
        write.save(ref, condition=CheckoutSessionRef.pk.does_not_exist())


# ------------------------------------------------------------------ status

def checkout_status(session_id: str) -> CheckoutStatus:
    """What the success page polls: no email, no amounts, nothing personal."""
    if not _SESSION_ID.match(session_id):
        raise NotFound("No such checkout session.")
    try:
        ref = CheckoutSessionRef.get(*CheckoutSessionRef.key(session_id))
    except DoesNotExist:
        raise NotFound("No such checkout session.") from None
    order, items = load_order_with_items(ref.order_id)
    if order is None:
        raise NotFound("No such checkout session.")
    return CheckoutStatus(order_id=order.id, status=order.status,
                          courses=[CourseRef(slug=i.course_slug, title=i.course_title) for i in items])

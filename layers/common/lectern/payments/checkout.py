"""Starting a purchase: a pending order, then a Stripe Checkout Session for it.

Order of work, so that nothing half-made can pass for a sale:
1. every check that can fail cheaply (course, buyer, ownership);
2. the buyer's open checkout for this course (OpenCheckout): while Stripe says its session is
   open and the promotion code is the same, that session is the answer (no new order);
3. the flood limits (429): checkouts per client IP (step 2 included: it may call Stripe), and
   replaced checkouts per buyer (the first one for a course is bounded by the slot itself);
4. the promotion code, then the pending Order, its OrderItem and the buyer's OpenCheckout
   slot, in one transaction (a signed-in buyer replacing their open session with another code
   has it expired at Stripe first);
5. the Checkout Session (idempotency key = the order id, so an SDK retry cannot create a
   second one); if Stripe cannot be reached the order is marked `failed` and the caller gets 503;
6. the order points at its session, the session id is claimed unique and the slot records it.
Access is granted only by the webhook (payments/fulfillment.py), never here.

A write whose answer was lost is retried by botocore; DynamoDB makes a retried transaction
idempotent (its ClientRequestToken), but an endpoint that does not (moto, emulators) refuses
the retry on the conditions the first attempt satisfied. So a refused create or attach is
read back before it is taken for a refusal: if it landed, the checkout goes on.
"""
from __future__ import annotations  # the request models are pydantic: named here for their shape only

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import stripe
from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError

from lectern import config, stripe_gateway
from lectern.accounts import throttle
from lectern.accounts.users import get_user, user_id_for_email
from lectern.catalog.queries import published_course
from lectern.clock import iso, iso_from_unix
from lectern.entitlements import service as entitlements
from lectern.errors import (
    AlreadyOwned, CheckoutInProgress, FreeCourse, NotFound, NotSignedIn, PaymentProviderUnavailable, RateLimited,
    ValidationFailed,
)
from lectern.ids import new_id
from lectern.models.base import condition_failed, transaction
from lectern.models.catalog import Course
from lectern.models.orders import (
    FAILED, PENDING, CheckoutSessionRef, CheckoutThrottle, OpenCheckout, Order, OrderItem, load_order_with_items,
)
from lectern.observability import logger
from lectern.payments.schemas import CheckoutCreated, CheckoutStatus, CourseRef

if TYPE_CHECKING:  # the route hands over the validated body with these fields (lectern.api.request_binding)
    from lectern.payments.request_models import CheckoutRequest, GiftRequest

_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")

# Flood limits per window. Environment variables override them (0 turns one off), e.g. for a load
# test from one address (the local stack's clients all share 127.0.0.1).
LIMIT_WINDOW_SECONDS = 10 * 60
LIMIT_PER_IP = 30  # checkouts answered (new or reused) per client IP
LIMIT_PER_BUYER = 10  # checkouts replacing the buyer's earlier one, per guest email or signed-in user
_REUSE_MARGIN_SECONDS = 5 * 60  # a session about to expire is not handed out again
_IN_FLIGHT_SECONDS = 30  # a slot younger than this without a session: its session is being created
_WAIT_ATTEMPTS, _WAIT_SECONDS = 10, 0.3  # how long a concurrent checkout waits for that session
_SLOT_TTL_SECONDS = 2 * 24 * 60 * 60  # kept a while after its session expired, then DynamoDB deletes it


# ------------------------------------------------------------------ creating

@dataclass
class _Buyer:
    email: str
    user_id: str | None  # set when signed in
    name: str | None = None  # the signed-in account's name


def _gift_digest(gift: GiftRequest | None) -> str | None:
    """What must match for an open gift checkout to be answered again: the same recipient, name and message."""
    if gift is None:
        return None
    raw = json.dumps([gift.recipient_email, gift.recipient_name, gift.message], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


class _SlotTaken(Exception):
    """A concurrent checkout of the same buyer and course claimed the OpenCheckout slot first."""


def start_checkout(request: CheckoutRequest, user_id: str | None, client_ip: str | None = None) -> CheckoutCreated:
    course = _purchasable_course(request.course_slug)
    buyer = _buyer(request, user_id)
    gift = request.gift
    if gift is not None and gift.recipient_email == buyer.email:
        raise ValidationFailed(details={"gift.recipient_email": [
            "is your own address: buy the course for yourself, without `gift`"]})
    # Whoever the order would give the course to must not have it already: the buyer, or the gift's recipient.
    owner = (user_id_for_email(gift.recipient_email) if gift is not None
             else buyer.user_id or user_id_for_email(buyer.email))
    if owner and entitlements.is_active(owner, course.id):
        raise AlreadyOwned("The recipient already has this course." if gift is not None else None)
    code = request.promotion_code
    digest = _gift_digest(gift)
    slot_key = OpenCheckout.key(buyer.email, course.id, buyer.user_id,
                                gift.recipient_email if gift is not None else None)

    if client_ip:  # every attempt that may reach Stripe counts for its address, a reuse too
        _limit(("IP", client_ip), "CHECKOUT_LIMIT_PER_IP", LIMIT_PER_IP)
    slot = _get_slot(slot_key)
    if slot is not None and slot.session_id is None and _in_flight(slot):
        slot = _settled_slot(slot_key)  # a double click: wait for the first one's session
    if slot is not None and slot.session_id and _same_code(slot.promotion_code, code) and slot.gift_digest == digest:
        reused = _reuse(slot)
        if reused is not None:
            return reused

    if slot is not None:
        # A buyer holds one open checkout per course; what a flood of one buyer can still do is replace
        # it again and again (another code, each time a new order and session): that is counted.
        _limit(("USER", buyer.user_id) if buyer.user_id else ("EMAIL", buyer.email), "CHECKOUT_LIMIT_PER_BUYER",
               LIMIT_PER_BUYER)
    promotion_id = _promotion_code_id(code) if code else None
    if slot is not None and slot.session_id and buyer.user_id and not (_same_code(slot.promotion_code, code)
                                                                      and slot.gift_digest == digest):
        # Replaced by its signed-in owner: the old session can no longer be paid. A guest is only an email
        # anyone can type, so a guest's replacement leaves the old one be (if both get paid, the later
        # payment is refunded as a duplicate): a stranger must not be able to cancel someone's checkout.
        _expire_quietly(slot.session_id)
    try:
        order = _create_pending_order(course, buyer, code, promotion_id, slot_key, slot, gift)
    except _SlotTaken:
        slot = _settled_slot(slot_key)
        reused = (_reuse(slot) if slot and slot.session_id and _same_code(slot.promotion_code, code)
                  and slot.gift_digest == digest else None)
        if reused is None:
            raise CheckoutInProgress() from None
        return reused

    try:
        session = _create_session(order, course, promotion_id)
    except stripe.StripeError as exc:
        _mark_failed(order)
        _release_slot(slot_key, order.id)
        if isinstance(exc, stripe.InvalidRequestError) and (exc.param or "").startswith("discounts"):
            # An active code whose rules exclude this purchase (minimum amount, first order only…).
            raise ValidationFailed(details={"promotion_code": ["cannot be applied to this purchase"]}) from exc
        if stripe_gateway.is_unavailable(exc):
            logger.warning("Stripe unavailable; order marked failed", extra={"order_id": order.id})
        else:  # Stripe refused what we asked (a price archived at Stripe, a revoked key): a person must look
            logger.exception("Stripe refused the Checkout Session; order marked failed",
                             extra={"order_id": order.id, "course_id": course.id})
        raise PaymentProviderUnavailable() from exc
    try:
        _attach_session(order, session, slot_key)
    except Exception:
        _release_slot(slot_key, order.id)  # the buyer's retry must not wait for this one
        raise
    return CheckoutCreated(order_id=order.id, checkout_session_id=session.id, checkout_url=session.url,
                           expires_at=iso_from_unix(session.expires_at))


def _purchasable_course(slug: str) -> Course:
    """Unknown, unpublished and unsellable courses all answer the same 404; a published course
    without a price is free (409 `free_course`: enrolment, not a purchase)."""
    course = published_course(slug)
    if course.price_amount is None:
        raise FreeCourse()
    if not course.stripe_price_id:
        raise NotFound("No such course.")
    return course


def _buyer(request: CheckoutRequest, user_id: str | None) -> _Buyer:
    if user_id:
        user = get_user(user_id)
        if user is None:  # a valid token for a deleted account
            raise NotSignedIn()
        return _Buyer(email=user.email, user_id=user.id, name=user.name or None)
    if not request.email:
        raise ValidationFailed(details={"email": ["is required unless you are signed in"]})
    return _Buyer(email=request.email, user_id=None)


def _promotion_code_id(code: str) -> str:
    """The id of an active Stripe promotion code; unknown or inactive → 422."""
    try:
        found = stripe_gateway.client().v1.promotion_codes.list(
            params={"code": code, "active": True, "limit": 1})
    except stripe.StripeError as exc:
        if not stripe_gateway.is_unavailable(exc):
            logger.exception("Stripe refused a promotion code lookup")
        raise PaymentProviderUnavailable() from exc
    if not found.data:
        raise ValidationFailed(details={"promotion_code": ["is not a valid or active promotion code"]})
    return found.data[0].id


# ------------------------------------------------------------------ one open checkout per buyer and course

def _same_code(a: str | None, b: str | None) -> bool:
    return (a or "").upper() == (b or "").upper()  # Stripe matches codes case-insensitively


def _get_slot(key: tuple[str, str]) -> OpenCheckout | None:
    try:
        return OpenCheckout.get(*key, consistent_read=True)
    except DoesNotExist:
        return None


def _in_flight(slot: OpenCheckout) -> bool:
    return int(slot.created_at_epoch) > time.time() - _IN_FLIGHT_SECONDS


def _settled_slot(key: tuple[str, str]) -> OpenCheckout | None:
    """The slot once the checkout that holds it has its session (or gave up); a slot still
    without a session after a few seconds: 409 `checkout_in_progress`."""
    for attempt in range(_WAIT_ATTEMPTS):
        slot = _get_slot(key)
        if slot is None or slot.session_id or not _in_flight(slot):
            return slot
        if attempt < _WAIT_ATTEMPTS - 1:
            time.sleep(_WAIT_SECONDS)
    raise CheckoutInProgress()


def _reuse(slot: OpenCheckout) -> CheckoutCreated | None:
    """The slot's session again, while Stripe says it is open; None when it is not (paid, expired)."""
    if slot.session_expires_at is not None and slot.session_expires_at < time.time() + _REUSE_MARGIN_SECONDS:
        return None
    try:
        session = stripe_gateway.client().v1.checkout.sessions.retrieve(slot.session_id)
    except stripe.StripeError as exc:
        if stripe_gateway.is_unavailable(exc):
            raise PaymentProviderUnavailable() from exc
        # Not ours any more, or refused: make a new one (should both get paid, one is refunded).
        logger.warning("Open checkout not reusable", extra={"session_id": slot.session_id, "reason": str(exc)[:200]})
        return None
    if session.status != "open" or not session.url or session.expires_at < time.time() + _REUSE_MARGIN_SECONDS:
        return None
    return CheckoutCreated(order_id=slot.order_id, checkout_session_id=session.id, checkout_url=session.url,
                           expires_at=iso_from_unix(session.expires_at))


def _expire_quietly(session_id: str) -> bool:
    """Expire a session at Stripe. One that is no longer open (paid, expired) stays as it is: a
    payment that lands anyway is refunded by fulfillment as a duplicate. False when Stripe refused."""
    try:
        stripe_gateway.client().v1.checkout.sessions.expire(session_id)
        return True
    except stripe.StripeError as exc:
        if stripe_gateway.is_unavailable(exc):
            raise PaymentProviderUnavailable() from exc
        logger.info("Session not expired", extra={"session_id": session_id, "reason": str(exc)[:200]})
        return False


def _release_slot(key: tuple[str, str], order_id: str) -> None:
    """Free the slot of a checkout that failed half way, so the buyer's next try is not made to
    wait for it (best effort: the caller is answering an error already)."""
    try:
        OpenCheckout(*key).delete(condition=OpenCheckout.order_id == order_id)
    except DeleteError:
        logger.info("Open checkout slot not released", extra={"order_id": order_id})


# ------------------------------------------------------------------ flood limits

def _limit_for(variable: str, default: int) -> int:
    """The limit set for this deployment (a whole number >= 0, 0 = off; lectern.config checks it)."""
    return getattr(config.settings(), variable.lower())


def _limit(key: tuple[str, str], variable: str, default: int) -> None:
    """429 once `key` (an IP, a user, an email) has started more checkouts than its limit in the
    window; counted with the login throttle's atomic counter (never read-modify-write)."""
    limit = _limit_for(variable, default)
    if limit <= 0:
        return
    item = CheckoutThrottle(*CheckoutThrottle.key(*key))
    throttle.count_in_window(item, CheckoutThrottle.checkouts, CheckoutThrottle.expires_at_epoch,
                             LIMIT_WINDOW_SECONDS)
    if (item.checkouts or 0) > limit:
        retry_after = max(1, int(item.expires_at_epoch) - int(time.time()))
        raise RateLimited("Too many checkouts started; try again later.", retry_after_seconds=retry_after)


# ------------------------------------------------------------------ writes

def _create_pending_order(course: Course, buyer: _Buyer, promotion_code: str | None, promotion_id: str | None,
                          slot_key: tuple[str, str], seen_slot: OpenCheckout | None,
                          gift: GiftRequest | None = None) -> Order:
    """The order, its item and the buyer's slot for the course in one transaction. The slot must
    still be the one read before (or absent): else a concurrent checkout took it (_SlotTaken).
    A gift is part of the order from here on (fulfillment reads it from the order, nowhere else)."""
    order_id, now = new_id(), iso()
    amount = int(course.price_amount)
    order = Order(*Order.key(order_id), id=order_id, status=PENDING, email=buyer.email, user_id=buyer.user_id,
                  promotion_code=promotion_code, promotion_code_id=promotion_id, currency=course.currency,
                  subtotal_amount=amount, discount_amount=0, total_amount=amount, created_at=now)
    if gift is not None:
        order.gift_recipient_email, order.gift_recipient_name = gift.recipient_email, gift.recipient_name
        order.gift_message, order.gift_sender_name = gift.message, buyer.name
    item = OrderItem(*OrderItem.key(order_id, course.id), order_id=order_id, course_id=course.id,
                     course_slug=course.slug, course_title=course.title, unit_amount=amount, quantity=1,
                     currency=course.currency, stripe_price_id=course.stripe_price_id)
    epoch = int(time.time())
    slot = OpenCheckout(*slot_key, order_id=order_id, promotion_code=promotion_code, created_at_epoch=epoch,
                        expires_at_epoch=epoch + _SLOT_TTL_SECONDS, gift_digest=_gift_digest(gift))
    slot_unchanged = (OpenCheckout.pk.does_not_exist() if seen_slot is None
                      else OpenCheckout.order_id == seen_slot.order_id)
    try:
        with transaction() as write:
            write.save(order, condition=Order.pk.does_not_exist())
            write.save(item, condition=OrderItem.pk.does_not_exist())
            write.save(slot, condition=slot_unchanged)
    except TransactWriteError as exc:
        if condition_failed(exc):
            if _stored_order(order_id, lambda stored: stored.created_at == now and stored.email == buyer.email):
                return order  # our own write, retried after it had landed
            raise _SlotTaken() from exc
        _release_slot(slot_key, order_id)  # in case it landed with its answer lost
        raise
    except Exception:
        _release_slot(slot_key, order_id)
        raise
    return order


def _stored_order(order_id: str, is_ours) -> bool:
    try:
        return bool(is_ours(Order.get(*Order.key(order_id), consistent_read=True)))
    except DoesNotExist:
        return False


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


def _attach_session(order: Order, session, slot_key: tuple[str, str]) -> None:
    """The order's session, its unique lookup item and the buyer's slot, in one transaction."""
    ref = CheckoutSessionRef(*CheckoutSessionRef.key(session.id), order_id=order.id)
    try:
        with transaction() as write:
            write.update(order, actions=[Order.checkout_session_id.set(session.id)],
                         condition=(Order.status == PENDING) & Order.checkout_session_id.does_not_exist())
            write.save(ref, condition=CheckoutSessionRef.pk.does_not_exist())
            write.update(OpenCheckout(*slot_key), actions=[
                OpenCheckout.session_id.set(session.id), OpenCheckout.session_expires_at.set(session.expires_at),
                OpenCheckout.expires_at_epoch.set(int(session.expires_at) + _SLOT_TTL_SECONDS),
            ], condition=OpenCheckout.order_id == order.id)
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        if _stored_order(order.id, lambda stored: stored.checkout_session_id == session.id):
            return  # our own write, retried after it had landed (the lookup and the slot came with it)
        # Nothing was attached: the session id is already another order's (a Stripe-compatible API
        # that reuses ids: never expire it, it is theirs), or the slot went to a concurrent checkout
        # (then our session, whose URL nobody has, is expired). Hand out nothing.
        _mark_failed(order)
        owner = _session_owner(session.id)
        logger.error("Checkout session not attached; order marked failed",
                     extra={"order_id": order.id, "session_id": session.id, "session_owner": owner})
        if owner is not None and owner != order.id:
            raise PaymentProviderUnavailable() from exc
        try:
            _expire_quietly(session.id)
        except PaymentProviderUnavailable:
            pass  # unpayable anyway: its URL was never handed out
        raise CheckoutInProgress() from exc


def _session_owner(session_id: str) -> str | None:
    try:
        return CheckoutSessionRef.get(*CheckoutSessionRef.key(session_id), consistent_read=True).order_id
    except DoesNotExist:
        return None


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
    return CheckoutStatus(order_id=order.id, status=order.status, refund_reason=order.refund_reason,
                          courses=[CourseRef(slug=i.course_slug, title=i.course_title) for i in items])

"""What Stripe's events do to orders and entitlements.

Every function here is safe to run any number of times, concurrently, in any
order of arrival: each effect is a conditional write (an order moves only
along models.orders.TRANSITIONS, an entitlement is granted or revoked with a
condition, an email is sent only after claiming its `*_sent_at` stamp). A
function that meets an order in the wrong state for it yet raises RetryLater,
so the webhook answers 500 and Stripe's retry applies the event later, once
the state has caught up: the final state equals in-order delivery.

Each returns a short outcome string, stored on the StripeEvent for operators.
"""
import functools
from collections.abc import Callable
from typing import Any

import stripe
from pynamodb.attributes import Attribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from lectern import stripe_gateway
from lectern.accounts import tokens
from lectern.accounts.users import ensure_user_for_email, get_user
from lectern.clock import iso
from lectern.entitlements import service as entitlements
from lectern.models.base import condition_failed, may_have_landed, transaction
from lectern.models.entitlements import ACTIVE, GIFT, ORDER
from lectern.models import orders
from lectern.models.orders import (
    DUPLICATE_PURCHASE, FAILED, PAID, PENDING, REFUNDED, CheckoutSessionRef, OpenCheckout, Order, OrderItem,
    PaymentIntentRef, RefundRecord, checkouts_prefix, is_gift_slot, load_order_with_items, open_checkouts_pk,
)
from lectern.models.users import User
from lectern.notifications import email, outbox
from lectern.observability import logger
from lectern.payments import purchase_mails, receipts, rules
from lectern.payments.stripe_values import ChargeValue, CheckoutSessionValue, DisputeValue, RefundValue, id_of

# The payment rules (which statuses mean paid, open, won, counted) are lectern.payments.rules.
_OPEN_DISPUTE = entitlements.OPEN_DISPUTE  # the same sets as rules'; conditions on writes use them


class RetryLater(Exception):
    """The event depends on one not applied yet (a refund before its payment): let Stripe retry it."""


class CannotApply(Exception):
    """The event can never apply, however often Stripe retries it (it names a charge Stripe does not
    know): the webhook records it as processed with `outcome` and this message, and answers 200."""

    def __init__(self, outcome: str, detail: str):
        super().__init__(detail)
        self.outcome = outcome


class _Mismatch(Exception):
    """The object names an order it does not belong to (another integration on the Stripe account,
    a Payment Link whose visitor set client_reference_id, metadata copied from an order...): the
    event changes nothing. `outcome` is stored on the event; operators find it in the error log."""

    def __init__(self, outcome: str, **details: Any):
        super().__init__(outcome)
        self.outcome, self.details = outcome, details


def _refusing_mismatches(handler: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> str:
        try:
            return handler(*args, **kwargs)
        except _Mismatch as mismatch:
            logger.error(f"Stripe object does not belong to the order it names: {mismatch.outcome}; nothing done",
                         extra={"outcome": mismatch.outcome, **mismatch.details})
            return mismatch.outcome
    return run


# ------------------------------------------------------------------ lookups

def _load_order(order_id: str | None) -> Order | None:
    if not order_id:
        return None
    try:
        return Order.get(*Order.key(order_id), consistent_read=True)
    except DoesNotExist:
        return None


def _items(order: Order) -> list[OrderItem]:
    return orders.items_of(order.id, consistent_read=True)


def _session_owner(session_id: str) -> str | None:
    """The order this session was made for, by the lookup item checkout wrote with it."""
    try:
        return CheckoutSessionRef.get(*CheckoutSessionRef.key(session_id), consistent_read=True).order_id
    except DoesNotExist:
        return None


def _order_of_session(session: CheckoutSessionValue, load: Callable[[str], tuple[Order | None, list[OrderItem]]], *,
                      unattached_ok: bool = False) -> tuple[Order | None, list[OrderItem]]:
    """The order `session` was created for, and its items. An order is only ever acted on by its
    own session: the one recorded on it (`checkout_session_id`, written in one transaction with the
    session's unique lookup item). The ids the session carries are tried first (no extra read on
    the usual path), then the lookup item. `unattached_ok`: an order whose session was never
    recorded (its URL was never handed out, so it cannot be paid) may be failed by the session
    naming it. A session that names an order but is not its session: _Mismatch."""
    claimed = session.order_id_hint  # a hint only: anyone who can create a session may write it
    order, items = load(claimed) if claimed else (None, [])
    if order is not None and (order.checkout_session_id == session.id
                              or (unattached_ok and order.checkout_session_id is None)):
        return order, items
    owner = _session_owner(session.id)
    if owner is not None and owner != claimed:
        owned, owned_items = load(owner)
        if owned is not None and owned.checkout_session_id == session.id:
            return owned, owned_items
    if order is not None:
        raise _Mismatch("session_mismatch", order_id=order.id, session_id=session.id,
                        recorded_session_id=order.checkout_session_id)
    return None, []


def _order_for_payment(payment_intent_id: str | None, charge_id: str | None,
                       metadata_order_id: str | None) -> Order | None:
    """The order behind a charge or dispute: our PaymentIntentRef (written at fulfillment), else
    the order the PaymentIntent's metadata at Stripe (fulfillment may not have run yet), or the
    object's own metadata, names; anyone on the account can write those, so that order must
    really own the payment (its recorded PaymentIntent, or its session's), else _Mismatch."""
    client = stripe_gateway.client()
    unknown = None  # what Stripe said it does not know: no retry will change that
    if not payment_intent_id and charge_id:
        try:
            payment_intent_id = id_of(client.v1.charges.retrieve(charge_id).to_dict().get("payment_intent"))
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise
            unknown = f"charge {charge_id}"
    claimed = None
    if payment_intent_id:
        try:
            ref = PaymentIntentRef.get(*PaymentIntentRef.key(payment_intent_id), consistent_read=True)
            return _load_order(ref.order_id)
        except DoesNotExist:
            try:
                intent = client.v1.payment_intents.retrieve(payment_intent_id).to_dict()
                claimed = (intent.get("metadata") or {}).get("order_id")
            except stripe.InvalidRequestError as exc:
                if exc.code != "resource_missing":
                    raise
                unknown = f"payment intent {payment_intent_id}"
    if unknown:  # whatever order the metadata names, it cannot own a payment Stripe does not know
        raise CannotApply("unknown_order", f"Stripe does not know {unknown}")
    order = _load_order(claimed or metadata_order_id)
    if order is None:
        return None
    if payment_intent_id and _owns_payment(order, payment_intent_id):
        return order
    raise _Mismatch("payment_mismatch", order_id=order.id, payment_intent_id=payment_intent_id,
                    charge_id=charge_id, recorded_payment_intent_id=order.payment_intent_id)


def _owns_payment(order: Order, payment_intent_id: str) -> bool:
    session_intent = None
    if not order.payment_intent_id and order.status == PENDING and order.checkout_session_id:
        # paid at Stripe, not fulfilled yet: the session's PaymentIntent
        session_intent = CheckoutSessionValue.from_stripe(stripe_gateway.client().v1.checkout.sessions.retrieve(
            order.checkout_session_id).to_dict()).payment_intent_id
    return rules.owns_payment(recorded_payment_intent_id=order.payment_intent_id,
                              payment_intent_id=payment_intent_id, session_payment_intent_id=session_intent)


def _fulfilled_order(order: Order | None) -> Order | None:
    """Refunds and disputes act on a fulfilled order; before that they must wait."""
    if order is not None and (order.status == PENDING or (order.status == PAID and not order.gsi1pk)
                              or (order.status == PAID and order.is_gift and not order.gift_recipient_user_id)):
        raise RetryLater(f"order {order.id} is not fulfilled yet")
    return order


def _source(order: Order) -> str:
    return GIFT if order.is_gift else ORDER


# ------------------------------------------------------------------ checkout

@_refusing_mismatches
def fulfill_checkout(session_id: str, *, actor: str) -> str:
    """Stripe's fulfillment pattern: one re-runnable function, driven by the session as
    Stripe reports it now (not the event's snapshot), granting only when it is paid, and only
    for the order it was created for, when it charges what the order says."""
    try:
        raw = stripe_gateway.client().v1.checkout.sessions.retrieve(
            session_id, params={"expand": ["line_items"]}).to_dict()
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":  # not a session of this Stripe account: no retry will find it
            return "unknown_order"
        raise
    session = CheckoutSessionValue.from_stripe(raw, _line_items(raw))
    order, items = _order_of_session(session, load_order_with_items)  # #9: one Query
    if order is None:
        return "unknown_order"
    _check_amounts(order, items, session)
    if not rules.is_paid(session):
        return "awaiting_payment"
    # Only a pending order can become paid; one already past it (a later event about the same
    # session, a replay) was just read consistently: no doomed transition, no second read.
    # The buyer's account is found (or made, for a guest) first, so the transition binds it too.
    changed, user = False, None
    if order.status == PENDING:
        user = _buyer_account(order)
        changed = _mark_paid(order, session, user)
        if not changed:  # another delivery (or an expiry) moved it first
            order = _load_order(order.id)
            if order.status == PENDING:  # the transition's other condition: the order names another buyer
                raise RuntimeError(f"order {order.id} is bound to another user")
    if order.status != PAID:
        if order.status == FAILED:  # paid at Stripe, but we gave the order up: needs a person
            logger.error("Paid session for a failed order", extra={"order_id": order.id, "session_id": session_id})
        return f"order_{order.status}"

    if changed:  # the buyer's other checkouts for these courses can no longer be paid
        _expire_other_checkouts(order, items)
    user = _bind_buyer(order, user)
    # A gift's course goes to its recipient (from the order Lectern wrote at checkout, never from anything
    # the session carries), whose account is made for a new address as a guest buyer's is; never to the buyer.
    grantee = _bind_recipient(order) if order.is_gift else user
    held_through = None  # another order (or, for a gift, any other grant) that already gives the grantee these
    if not rules.dispute_blocks_access(order.dispute_status):  # a redelivered completion must not undo a chargeback
        for item in items:
            change = entitlements.grant(grantee.id, item.course_id, item.course_slug, reason="purchase",
                                        actor=actor, order_id=order.id, require_paid_order=True,
                                        source=_source(order))
            holder = change.entitlement
            if not change.changed and holder is not None and holder.status == ACTIVE \
                    and holder.order_id != order.id and (holder.order_id is not None or order.is_gift):
                held_through = holder.order_id or f"{holder.source}:{holder.id}"
    if held_through is not None:  # one course, one payment: this one goes back
        return _refund_duplicate(order, held_through)
    _send_once(order, Order.receipt_sent_at, purchase_mails.RECEIPT, lambda: receipts.receipt(order, items))
    if user.password_hash is None:  # a guest account: send the link that sets its password
        _send_claim_once(order, items, user)
    if order.is_gift:
        _send_once(order, Order.gift_sent_at, purchase_mails.GIFT,
                   lambda: purchase_mails.gift_message(order, items, grantee), to_user=grantee.id)
    return "fulfilled" if changed else "already_fulfilled"


def _check_amounts(order: Order, items: list[OrderItem], session: CheckoutSessionValue) -> None:
    """The session charges what the order says (rules.session_problems); otherwise
    _Mismatch("amount_mismatch")."""
    problems = rules.session_problems(
        session, currency=order.currency, promotion_code_id=order.promotion_code_id,
        items=[(item.stripe_price_id, int(item.quantity), int(item.unit_amount)) for item in items])
    if problems:
        raise _Mismatch("amount_mismatch", order_id=order.id, session_id=session.id, problems=problems,
                        currency=session.currency, amount_total=session.amount_total)


def _line_items(session: dict[str, Any]) -> list[dict[str, Any]]:
    """The session's line items (expanded with the session, else listed)."""
    listed = session.get("line_items") or {}
    lines = listed.get("data")
    if lines is None or listed.get("has_more"):
        page = stripe_gateway.client().v1.checkout.sessions.line_items.list(session["id"], params={"limit": 100})
        lines = [line.to_dict() for line in page.auto_paging_iter()]
    return lines


def _mark_paid(order: Order, session: CheckoutSessionValue, buyer: User) -> bool:
    """pending → paid with the final amounts, bound to `buyer` (the order's user and its "orders by
    user" index key), once; False if another delivery got there first, or the order names another
    buyer. When it lands, `order` is updated in memory to match, so the caller need not read it back."""
    intent_id = session.payment_intent_id
    paid = {
        "status": PAID, "paid_at": iso(),
        "subtotal_amount": session.amount_subtotal,
        "discount_amount": session.amount_discount,
        "total_amount": session.amount_total,
        "currency": session.currency,
        **_binding(order, buyer),
    }
    if intent_id:
        paid["payment_intent_id"] = intent_id
    if customer_id := session.customer_id:
        paid["stripe_customer_id"] = customer_id
    actions = [getattr(Order, name).set(value) for name, value in paid.items()]
    try:
        with transaction() as write:
            write.update(order, actions=actions, condition=(Order.status == PENDING) & _unbound_or(buyer))
            if intent_id:
                write.save(PaymentIntentRef(*PaymentIntentRef.key(intent_id), order_id=order.id))
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    # The condition held: the order was pending, and nothing fulfillment reads changes while it is.
    for name, value in paid.items():
        setattr(order, name, value)
    return True


def _binding(order: Order, buyer: User) -> dict[str, str]:
    """What binds an order to its buyer: its user, and its key in the "orders by user" index."""
    return {"user_id": buyer.id, "gsi1pk": orders.by_user_key(buyer.id), "gsi1sk": order.created_at}


def _unbound_or(buyer: User):
    """The condition of binding: the order names no user yet, or this one."""
    return Order.user_id.does_not_exist() | (Order.user_id == buyer.id)


def _buyer_account(order: Order) -> User:
    """The account the order names, or, for a guest's, the one that owns its email (created
    password-less if none does)."""
    if order.user_id:
        user = get_user(order.user_id)
        if user is None:
            raise RuntimeError(f"order {order.id} belongs to missing user {order.user_id}")
        return user
    user, _created = ensure_user_for_email(order.email)
    return user


def _bind_buyer(order: Order, user: User | None = None) -> User:
    """The buyer's account (`user` when the caller has it), recorded on the order and its "orders by
    user" index. The paid transition records it; an order paid without (before that was so) is bound here."""
    if user is None or (order.user_id and order.user_id != user.id):
        user = _buyer_account(order)
    if order.gsi1pk is None:
        try:
            order.update(actions=[getattr(Order, name).set(value) for name, value in _binding(order, user).items()],
                         condition=_unbound_or(user))
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            raise RuntimeError(f"order {order.id} is bound to another user") from exc
    return user


def _bind_recipient(order: Order) -> User:
    """A gift's recipient: the account that owns the order's recipient address (created password-less
    for a new one, concurrency-safe as for a guest buyer), recorded on the order once."""
    if order.gift_recipient_user_id:
        recipient = get_user(order.gift_recipient_user_id)
        if recipient is None:
            raise RuntimeError(f"order {order.id} is a gift to missing user {order.gift_recipient_user_id}")
        return recipient
    recipient, _created = ensure_user_for_email(order.gift_recipient_email)
    try:
        order.update(actions=[Order.gift_recipient_user_id.set(recipient.id)],
                     condition=Order.gift_recipient_user_id.does_not_exist()
                     | (Order.gift_recipient_user_id == recipient.id))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        raise RuntimeError(f"order {order.id} is a gift bound to another user") from exc
    return recipient


def _expire_other_checkouts(order: Order, items: list[OrderItem]) -> None:
    """Expire the buyer's other open sessions for the courses just paid for (their OpenCheckout
    slots, all under the order's email: one Query per course): for a purchase, the buyer's own
    checkouts of the course; for a gift, the buyer's checkouts of it as a gift to the same
    recipient (gifts to others, and a purchase for oneself, stay payable). Best effort: Stripe
    being down must not stop this fulfillment, and a session paid anyway is refunded as a duplicate."""
    client = stripe_gateway.client()
    for item in items:
        prefix = checkouts_prefix(item.course_id, order.gift_recipient_email)
        slots = OpenCheckout.query(open_checkouts_pk(order.email), OpenCheckout.sk.startswith(prefix))
        for slot in slots:
            if slot.order_id == order.id or not slot.session_id or (not order.is_gift and is_gift_slot(slot.sk)):
                continue
            try:
                client.v1.checkout.sessions.expire(slot.session_id)
            except stripe.StripeError as exc:  # not open any more (paid, expired), or Stripe unreachable
                logger.warning("Could not expire another checkout of the buyer",
                               extra={"order_id": order.id, "other_order_id": slot.order_id,
                                      "session_id": slot.session_id, "reason": str(exc)[:200]})


def _refund_duplicate(order: Order, first_order_id: str) -> str:
    # (For a gift whose recipient got the course some other way meanwhile, `first_order_id` may be
    # `<source>:<entitlement id>`: a free enrolment or an operator's grant; then it is refunded too.)
    """The buyer already had the course through `first_order_id` when this order's payment landed
    (two checkouts paid at once): give this payment back, with no receipt. The refund's idempotency
    key is derived from the order, so however often this runs there is one refund. If Stripe cannot
    be reached this raises: the webhook answers 500 and Stripe's redelivery refunds it."""
    logger.warning("Duplicate purchase: refunding it", extra={"order_id": order.id, "first_order_id": first_order_id})
    if order.payment_intent_id:
        try:
            stripe_gateway.client().v1.refunds.create(
                params={"payment_intent": order.payment_intent_id, "reason": "duplicate",
                        "metadata": {"order_id": order.id, "lectern_reason": DUPLICATE_PURCHASE}},
                options={"idempotency_key": f"duplicate-refund-{order.id}"})
        except stripe.InvalidRequestError as exc:
            if exc.code == "charge_disputed":  # the bank holds the money now; the dispute decides
                logger.error("Duplicate purchase is disputed: not refunded", extra={"order_id": order.id})
                order.update(actions=[Order.duplicate_of.set(first_order_id)])
                return "duplicate_disputed"
            if exc.code != "charge_already_refunded":  # (already refunded: by us before, or by hand)
                raise
    # paid → refunded, marked so the buyer's order history says why (the charge.refunded event
    # that follows records the refund itself, and finds the order already refunded).
    now = iso()
    order.update(actions=[Order.status.set(REFUNDED), Order.refunded_at.set(Order.refunded_at | now),
                          Order.refund_reason.set(DUPLICATE_PURCHASE), Order.duplicate_of.set(first_order_id)],
                 condition=Order.status.is_in(PAID, REFUNDED))
    return "duplicate_refunded"


def _send_once(order: Order, stamp: Attribute, kind: str, build: Callable[[], email.Message], *,
               to_user: str | None = None) -> bool:
    """Claim the stamp, then hand the mail over: sent, or, if SES does not take it, recorded in
    the outbox, whose retry sends it (the stamp stays: the outbox is its only sender now). Email
    never fails a fulfillment. If claiming, building or recording fails, the stamp is released
    and the error raised, so Stripe's redelivery sends it."""
    now = iso()
    try:
        order.update(actions=[stamp.set(now)], condition=stamp.does_not_exist())
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        if may_have_landed(exc):  # with its answer lost (a refusal: the stamp, if set, is another delivery's)
            _release(order, stamp, now)
        raise
    return _deliver_claimed(order, stamp, now, kind, build, to_user=to_user)


def _send_claim_once(order: Order, items: list[OrderItem], user: User) -> bool:
    """The guest buyer's claim link, once, as _send_once sends a mail; its stamp is claimed in the
    transaction that issues the link's token (#18), one request instead of two."""
    stamp, now = Order.claim_sent_at, iso()
    try:
        token = tokens.issue(tokens.CLAIM, user.id, order_id=order.id, claiming=(order, stamp, now))
    except tokens.StampTaken:
        return False
    except tokens.NoSuchUser:  # cancelled by its condition: nothing was written
        raise
    except Exception as exc:
        if may_have_landed(exc):  # with its answer lost (a refusal: the stamp, if set, is another delivery's)
            _release(order, stamp, now)
        raise
    return _deliver_claimed(order, stamp, now, purchase_mails.PURCHASE_CLAIM,
                            lambda: receipts.claim(order, items, token.raw, token.expires_at))


def _deliver_claimed(order: Order, stamp: Attribute, claimed_at: str, kind: str,
                     build: Callable[[], email.Message], *, to_user: str | None = None) -> bool:
    """Send (or record in the outbox) a mail whose stamp this delivery claimed at `claimed_at`; if
    building or recording it fails, release the stamp and raise."""
    try:
        outbox.deliver(kind, order.id, build(), user_id=to_user or order.user_id, order_id=order.id)
    except Exception:
        _release(order, stamp, claimed_at)
        raise
    return True


def _release(order: Order, stamp: Attribute, claimed_at: str) -> None:
    try:
        order.update(actions=[stamp.remove()], condition=stamp == claimed_at)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


@_refusing_mismatches
def fail_checkout(session: CheckoutSessionValue) -> str:
    """Expired session, or a delayed payment that bounced: pending → failed, no access. Only the
    order's own session can fail it (or any session naming an order that never recorded one)."""
    order, _ = _order_of_session(session, lambda order_id: (_load_order(order_id), []), unattached_ok=True)
    if order is None:
        return "unknown_order"
    try:
        order.update(actions=[Order.status.set(FAILED), Order.failed_at.set(iso())],
                     condition=Order.status == PENDING)
    except UpdateError as exc:
        if condition_failed(exc):
            return f"order_already_{_load_order(order.id).status}"
        raise
    return "order_failed"


# ------------------------------------------------------------------ refunds

@_refusing_mismatches
def apply_refund(charge: ChargeValue, *, actor: str) -> str:
    """Record the charge's refunds; a full refund also ends the order (paid → refunded)
    and revokes the access it bought. A partial refund keeps access."""
    order = _fulfilled_order(_order_for_payment(charge.payment_intent_id, charge.id, charge.order_id_hint))
    if order is None:
        return "unknown_order"
    if order.status == FAILED:
        logger.error("Refund for a failed order", extra={"order_id": order.id, "charge_id": charge.id})
        return "order_failed"
    for refund in _refunds_of(charge):
        _record_refund(order, refund)
    refunded = charge.amount_refunded
    try:  # Stripe's running total; never lowered by a late, older event
        order.update(actions=[Order.amount_refunded.set(refunded)],
                     condition=Order.amount_refunded.does_not_exist() | (Order.amount_refunded < refunded))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    if not rules.is_full_refund(charge):
        return "partially_refunded"
    try:
        order.update(actions=[Order.status.set(REFUNDED), Order.refunded_at.set(iso())],
                     condition=Order.status == PAID)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
    _revoke_all(order, reason="refund", actor=actor)
    return "refunded"


def _refunds_of(charge: ChargeValue) -> tuple[RefundValue, ...]:
    # Charges no longer embed `refunds` by default (API 2022-11-15): ask when it is missing or partial.
    if charge.refunds is not None:
        return charge.refunds
    listing = stripe_gateway.client().v1.refunds.list(params={"charge": charge.id, "limit": 100})
    return tuple(RefundValue.from_stripe(refund.to_dict()) for refund in listing.auto_paging_iter())


def _record_refund(order: Order, refund: RefundValue) -> None:
    if not rules.refund_counts(refund):
        return
    record = RefundRecord(*orders.refund_key(order.id, refund.id), order_id=order.id,
                          stripe_refund_id=refund.id, amount=refund.amount,
                          currency=refund.currency or order.currency, created_at=iso())
    try:
        record.save(condition=RefundRecord.sk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


# ------------------------------------------------------------------ disputes

def _order_for_dispute(dispute: DisputeValue) -> Order | None:
    return _fulfilled_order(_order_for_payment(dispute.payment_intent_id, dispute.charge_id, dispute.order_id_hint))


@_refusing_mismatches
def apply_dispute_opened(dispute: DisputeValue, *, actor: str) -> str:
    """A chargeback: access is off while the bank decides. The order stays paid."""
    order = _order_for_dispute(dispute)
    if order is None:
        return "unknown_order"
    try:  # a late "created" after the dispute already closed must not take access away again
        order.update(actions=[Order.dispute_status.set(dispute.status)],
                      condition=Order.dispute_status.does_not_exist() | Order.dispute_status.is_in(*_OPEN_DISPUTE))
    except UpdateError as exc:
        if condition_failed(exc):
            return "dispute_already_closed"
        raise
    _revoke_all(order, reason="dispute", actor=actor)
    return "access_revoked"


@_refusing_mismatches
def apply_dispute_closed(dispute: DisputeValue, *, actor: str) -> str:
    """Won: access comes back (the order is still paid). Lost: it stays off."""
    order = _order_for_dispute(dispute)
    if order is None:
        return "unknown_order"
    order.update(actions=[Order.dispute_status.set(dispute.status)])
    if rules.dispute_won(dispute.status):
        for item in _items(order):
            entitlements.grant(order.grantee_id, item.course_id, item.course_slug, reason="dispute_won",
                               actor=actor, order_id=order.id, require_paid_order=True, source=_source(order))
        return "access_restored"
    _revoke_all(order, reason="dispute_lost", actor=actor)  # already off; repeated in case "created" was missed
    return "dispute_lost"


def _revoke_all(order: Order, *, reason: str, actor: str) -> None:
    """Revoke what the order granted, from whoever it granted it to: the buyer, or a gift's recipient
    (the order names them: `grantee_id`). Only the entitlement this order granted is touched."""
    grantee = order.grantee_id
    if not grantee:
        return  # never bound, so nothing was granted
    for item in _items(order):
        entitlements.revoke(grantee, item.course_id, reason=reason, actor=actor, order_id=order.id)
        _hand_over(order, item, actor=actor)


def _hand_over(order: Order, item: OrderItem, *, actor: str) -> None:
    """A buyer who paid twice for a course (two checkouts before either was fulfilled: the
    second fulfillment found access already on and changed nothing) keeps access while
    another of their orders for it still gives it: the entitlement moves to that order."""
    grantee = order.grantee_id
    if entitlements.is_active(grantee, item.course_id):
        return
    for other in orders.by_user(grantee):  # the grantee's own purchases (a gift they bought gives them nothing)
        if other.id == order.id or other.is_gift or other.status != PAID \
                or rules.dispute_blocks_access(other.dispute_status):
            continue
        if any(i.course_id == item.course_id for i in _items(other)):
            change = entitlements.grant(grantee, item.course_id, item.course_slug, reason="other_order",
                                        actor=actor, order_id=other.id, require_paid_order=True)
            if change.changed:
                return

"""The payment rules, as pure functions of Stripe values (lectern.payments.stripe_values) and plain
order fields: no I/O, so they are unit-tested without moto or the emulator."""
from collections import Counter
from collections.abc import Iterable

from lectern.payments.stripe_values import ChargeValue, CheckoutSessionValue, RefundValue

# Checkout's payment_status values that mean "the money is in" (a 100 % discount needs no payment).
PAID_STATUSES = frozenset({"paid", "no_payment_required"})
# A dispute in one of these may still go either way: access stays off meanwhile.
OPEN_DISPUTE = frozenset({"warning_needs_response", "warning_under_review", "needs_response", "under_review"})
# Closed in the buyer's favour (lost) or ours (won; warning_closed = an inquiry that never became a chargeback).
DISPUTE_WON = frozenset({"won", "warning_closed"})
DISPUTE_BLOCKS_ACCESS = OPEN_DISPUTE | {"lost"}
REFUND_COUNTS = frozenset({"pending", "succeeded", "requires_action"})  # failed/canceled refunds returned no money

# (price id, quantity, unit amount) of an order item.
ExpectedLine = tuple[str | None, int, int]


def session_problems(session: CheckoutSessionValue, *, currency: str, items: Iterable[ExpectedLine],
                     promotion_code_id: str | None) -> list[str]:
    """What keeps the session from charging what the order says: its currency, its line items (price,
    quantity, unit amount) and subtotal, and a total that is the subtotal less a discount coming from a
    promotion code (the order's own when it named one; any the buyer entered on Stripe's page when the
    session allowed codes). Empty when it matches."""
    items = list(items)
    problems = []
    if (session.currency or "").lower() != currency.lower():
        problems.append("currency")
    expected = [(price, int(quantity), int(unit)) for price, quantity, unit in items]
    charged = [(line.price_id, line.quantity, line.unit_amount) for line in session.line_items]
    if not all(price for price, _q, _u in items):  # older orders did not record the price id
        expected, charged = [e[1:] for e in expected], [c[1:] for c in charged]
    if Counter(charged) != Counter(expected):
        problems.append("line_items")
    subtotal = session.amount_subtotal
    if subtotal != sum(int(unit) * int(quantity) for _p, quantity, unit in items):
        problems.append("amount_subtotal")
    discount = session.amount_discount
    if discount:
        codes = set(session.promotion_codes)
        if not codes or None in codes or (promotion_code_id and codes != {promotion_code_id}):
            problems.append("discount")
    extra = session.amount_tax + session.amount_shipping
    if subtotal is None or session.amount_total != subtotal - discount + extra or discount > subtotal:
        problems.append("amount_total")
    return problems


def is_paid(session: CheckoutSessionValue) -> bool:
    return session.payment_status in PAID_STATUSES


def is_full_refund(charge: ChargeValue) -> bool:
    """A full refund ends the order; a partial one keeps access."""
    return charge.refunded or charge.amount_refunded >= charge.amount


def refund_counts(refund: RefundValue) -> bool:
    """A refund that returned (or is returning) money: recorded on the order."""
    return refund.status in REFUND_COUNTS


def dispute_is_open(status: str | None) -> bool:
    return status in OPEN_DISPUTE


def dispute_won(status: str) -> bool:
    return status in DISPUTE_WON


def dispute_blocks_access(status: str | None) -> bool:
    return status in DISPUTE_BLOCKS_ACCESS


def owns_payment(*, recorded_payment_intent_id: str | None, payment_intent_id: str,
                 session_payment_intent_id: str | None = None) -> bool:
    """Does an order own this payment: its recorded PaymentIntent, else (paid at Stripe, not
    fulfilled yet) its session's."""
    if recorded_payment_intent_id:
        return recorded_payment_intent_id == payment_intent_id
    return session_payment_intent_id is not None and session_payment_intent_id == payment_intent_id

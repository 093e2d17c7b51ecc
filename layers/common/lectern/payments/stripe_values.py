"""Stripe objects as small typed values: the gateway's translation of Stripe's dicts.

The payment rules (lectern.payments.rules) and fulfilment read these, never the raw
dicts, so each rule can be tested on plain values (tests/unit/test_payment_rules.py).
`from_stripe` checks the shape it reads; a malformed object raises InvalidStripeObject,
which the webhook records as its `invalid_object` outcome.
"""
from dataclasses import dataclass
from typing import Any

INVALID_OBJECT = "invalid_object"


class InvalidStripeObject(ValueError):
    """The object lacks what its type needs (the webhook's `invalid_object` outcome)."""

    outcome = INVALID_OBJECT


def id_of(value: Any) -> str | None:
    """An id field that may come expanded into an object."""
    return value.get("id") if isinstance(value, dict) else value


def _int(value: Any, name: str, *, default: int | None = None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidStripeObject(f"`{name}` is not an integer")
    return value


def _dict(obj: Any, kind: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidStripeObject(f"a {kind} is not an object")
    if not isinstance(obj.get("id"), str):
        raise InvalidStripeObject(f"a {kind} has no id")
    return obj


@dataclass(frozen=True)
class LineItemValue:
    price_id: str | None
    quantity: int
    unit_amount: int | None

    @classmethod
    def from_stripe(cls, line: dict[str, Any]) -> "LineItemValue":
        price = line.get("price") if isinstance(line.get("price"), dict) else {"id": line.get("price")}
        return cls(price.get("id"), int(line.get("quantity") or 0), price.get("unit_amount"))


@dataclass(frozen=True)
class CheckoutSessionValue:
    id: str
    currency: str | None
    amount_subtotal: int | None
    amount_total: int | None
    amount_discount: int
    amount_tax: int
    amount_shipping: int
    promotion_codes: tuple[str | None, ...]  # one per discount applied (None: a discount without a code)
    payment_status: str | None
    payment_intent_id: str | None
    customer_id: str | None
    line_items: tuple[LineItemValue, ...] = ()
    order_id_hint: str | None = None  # metadata.order_id, else client_reference_id: anyone may write these

    @classmethod
    def from_stripe(cls, session: dict[str, Any], line_items: list[dict[str, Any]] | None = None
                    ) -> "CheckoutSessionValue":
        session = _dict(session, "checkout session")
        totals = session.get("total_details") or {}
        metadata = session.get("metadata") or {}
        return cls(
            id=session["id"], currency=session.get("currency"),
            amount_subtotal=session.get("amount_subtotal"), amount_total=session.get("amount_total"),
            amount_discount=int(totals.get("amount_discount") or 0),
            amount_tax=int(totals.get("amount_tax") or 0), amount_shipping=int(totals.get("amount_shipping") or 0),
            promotion_codes=tuple(id_of(d.get("promotion_code")) for d in session.get("discounts") or []),
            payment_status=session.get("payment_status"),
            payment_intent_id=id_of(session.get("payment_intent")), customer_id=id_of(session.get("customer")),
            line_items=tuple(LineItemValue.from_stripe(line) for line in line_items or []),
            order_id_hint=metadata.get("order_id") or session.get("client_reference_id") or None,
        )


@dataclass(frozen=True)
class RefundValue:
    id: str
    amount: int
    status: str | None
    currency: str | None

    @classmethod
    def from_stripe(cls, refund: dict[str, Any]) -> "RefundValue":
        refund = _dict(refund, "refund")
        return cls(refund["id"], _int(refund.get("amount"), "amount"), refund.get("status"), refund.get("currency"))


@dataclass(frozen=True)
class ChargeValue:
    id: str
    payment_intent_id: str | None
    order_id_hint: str | None
    amount: int
    amount_refunded: int
    refunded: bool
    refunds: tuple[RefundValue, ...] | None  # None: not embedded (or only partly): list them at Stripe

    @classmethod
    def from_stripe(cls, charge: dict[str, Any]) -> "ChargeValue":
        charge = _dict(charge, "charge")
        embedded = charge.get("refunds") or {}
        refunds = None
        if embedded.get("data") is not None and not embedded.get("has_more"):
            refunds = tuple(RefundValue.from_stripe(r) for r in embedded["data"])
        return cls(id=charge["id"], payment_intent_id=id_of(charge.get("payment_intent")),
                   order_id_hint=(charge.get("metadata") or {}).get("order_id"),
                   amount=_int(charge.get("amount"), "amount", default=0),
                   amount_refunded=_int(charge.get("amount_refunded"), "amount_refunded", default=0),
                   refunded=bool(charge.get("refunded")), refunds=refunds)


@dataclass(frozen=True)
class DisputeValue:
    id: str
    status: str
    payment_intent_id: str | None
    charge_id: str | None
    order_id_hint: str | None

    @classmethod
    def from_stripe(cls, dispute: dict[str, Any]) -> "DisputeValue":
        dispute = _dict(dispute, "dispute")
        if not isinstance(dispute.get("status"), str):
            raise InvalidStripeObject("`status` is not a string")
        return cls(id=dispute["id"], status=dispute["status"], payment_intent_id=id_of(dispute.get("payment_intent")),
                   charge_id=id_of(dispute.get("charge")), order_id_hint=(dispute.get("metadata") or {}).get("order_id"))

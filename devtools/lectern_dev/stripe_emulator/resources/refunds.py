"""Refunds of a charge (in full or in part), unless it was charged back."""

from __future__ import annotations

import copy

from ..errors import ApiError
from ..store import new_id
from .core import money, now
from .disputes import Disputes


class Refunds(Disputes):
    def refund(
        self,
        *,
        charge_id: str | None = None,
        payment_intent_id: str | None = None,
        amount: int | None = None,
        reason: str | None = None,
        metadata: dict | None = None,
        request: dict | None = None,
    ) -> dict:
        with self.state.lock:
            if payment_intent_id:
                intent = self._get("payment_intent", payment_intent_id, param="payment_intent")
                if intent["latest_charge"] is None:
                    raise ApiError.invalid(
                        f"This PaymentIntent ({payment_intent_id}) does not have a successful charge to refund.",
                        param="payment_intent",
                    )
                charge = self.state["charge"][intent["latest_charge"]]
            elif charge_id:
                charge = self._get("charge", charge_id, param="charge")
            else:
                raise ApiError.invalid("One of the following params should be provided: charge, payment_intent.")
            unrefunded = charge["amount"] - charge["amount_refunded"]
            if unrefunded == 0:
                raise ApiError.invalid(
                    f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", param="charge"
                )
            if charge["disputed"] and not self._dispute_won(charge["id"]):
                raise ApiError.invalid(
                    f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
                )
            amount = unrefunded if amount is None else amount
            if amount < 1:
                raise ApiError.invalid("Refund amount must be positive.", param="amount")
            if amount > unrefunded:
                raise ApiError.invalid(
                    f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded amount "
                    f"on charge ({money(unrefunded, charge['currency'])})",
                    param="amount",
                    code="amount_too_large",
                )
            refund = self.fixtures.build(
                "refund",
                id=new_id("re_"),
                amount=amount,
                charge=charge["id"],
                created=now(),
                currency=charge["currency"],
                destination_details=self._refund_destination(charge),
                metadata=metadata or {},
                payment_intent=charge["payment_intent"],
                payment_method=charge["payment_method"],
                reason=reason,
            )
            self.state["refund"][refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
            self._emit("refund.created", refund, request)
            self._emit("charge.refunded", charge, request)
            return copy.deepcopy(refund)

    def _refund_destination(self, charge: dict) -> dict:
        if charge["payment_method_details"]["type"] == "card":
            return self.fixtures.sample("refund")["destination_details"]
        return {"type": "us_bank_transfer", "us_bank_transfer": {"reference": None, "reference_status": "available"}}

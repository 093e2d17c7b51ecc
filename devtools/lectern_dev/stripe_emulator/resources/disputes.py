"""Disputes: a chargeback opened by the cardholder's bank, and its outcome."""

from __future__ import annotations

import copy

from ..errors import ApiError
from ..store import new_id
from .core import now
from .events import Events

DISPUTE_RESPONSE_WINDOW = 7 * 24 * 60 * 60
OPEN_DISPUTE_STATUSES = {"needs_response", "under_review", "warning_needs_response", "warning_under_review"}


class Disputes(Events):
    def open_dispute(self, charge_id: str, reason: str = "fraudulent") -> dict:
        """The cardholder's bank opens a chargeback."""
        with self.state.lock:
            charge = self._get("charge", charge_id, param="charge")
            if charge["disputed"]:
                raise ApiError.invalid(f"Charge {charge_id} is already disputed.", param="charge")
            details = self.fixtures.sample("dispute")["payment_method_details"]
            if charge["payment_method_details"]["type"] == "card":
                details["card"].update(case_type="chargeback")
            else:
                details = {"type": charge["payment_method_details"]["type"]}
            created = now()
            dispute = self.fixtures.build(
                "dispute",
                id=new_id("dp_"),
                amount=charge["amount"] - charge["amount_refunded"],
                charge=charge_id,
                created=created,
                currency=charge["currency"],
                evidence_details={
                    "due_by": created + DISPUTE_RESPONSE_WINDOW,
                    "enhanced_eligibility": {},
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                payment_intent=charge["payment_intent"],
                payment_method_details=details,
                reason=reason,
            )
            self.state["dispute"][dispute["id"]] = dispute
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute, None)
            return copy.deepcopy(dispute)

    def close_dispute(self, dispute_id: str, won: bool) -> dict:
        """The bank decides the chargeback."""
        with self.state.lock:
            dispute = self._get("dispute", dispute_id)
            if dispute["status"] not in OPEN_DISPUTE_STATUSES:
                raise ApiError.invalid(f"Dispute {dispute_id} is already closed ({dispute['status']}).", param="dispute")
            dispute["status"] = "won" if won else "lost"
            dispute["is_charge_refundable"] = won
            self._emit("charge.dispute.closed", dispute, None)
            return copy.deepcopy(dispute)

    def _dispute_won(self, charge_id: str) -> bool:
        disputes = [d for d in self.state["dispute"].values() if d["charge"] == charge_id]
        return bool(disputes) and disputes[-1]["status"] == "won"

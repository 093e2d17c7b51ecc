"""Paying a checkout session: its PaymentIntent and, once the money is in, the charge."""

from __future__ import annotations

import copy
import secrets

from ..errors import ApiError
from ..store import bank_debit_payment_details, card_payment_details, new_id, null_address
from .checkout_sessions import CheckoutSessions
from .core import now

DEFAULT_BUYER_EMAIL = "buyer@example.com"


class PaymentIntents(CheckoutSessions):
    def pay(self, session_id: str, *, delayed: bool = False, email: str | None = None, promotion_code: str | None = None) -> dict:
        """The buyer submits the hosted payment page.

        Card: the payment succeeds at once. Delayed (a bank debit): the
        session completes with payment_status "unpaid" and the PaymentIntent
        stays "processing" until `settle_delayed`.
        """
        with self.state.lock:
            session = self._open_session(session_id)
            if promotion_code:
                self.apply_promotion_code(session_id, promotion_code)
            elif session["discounts"]:
                # The code may have been deactivated since the session was created.
                promo_id = session["discounts"][0]["promotion_code"]
                if promo_id:
                    promo = self.state["promotion_code"][promo_id]
                    self._check_promotion_code(promo, session["currency"], session["amount_subtotal"], param="discounts")
            buyer_email = email or session["customer_email"] or DEFAULT_BUYER_EMAIL
            details = self.fixtures.sample("checkout.session")["customer_details"]
            details.update(address=null_address(), email=buyer_email, name=None, phone=None, tax_ids=[])
            session["customer_details"] = details
            self._redeem_discount(session)

            if session["amount_total"] == 0:  # fully discounted: no PaymentIntent at all
                session.update(status="complete", payment_status="no_payment_required")
                self._emit("checkout.session.completed", session, None)
                return copy.deepcopy(session)

            intent = self._create_payment_intent(session)
            intent["payment_method"] = new_id("pm_")
            if delayed:
                intent.update(status="processing", payment_method_types=["us_bank_account"])
                self._emit("payment_intent.processing", intent, None)
                session.update(status="complete", payment_status="unpaid")
            else:
                self._succeed_payment(intent, buyer_email, card_payment_details(self.fixtures))
                session.update(status="complete", payment_status="paid")
            self._emit("checkout.session.completed", session, None)
            return copy.deepcopy(session)

    def settle_delayed(self, session_id: str, succeed: bool = True) -> dict:
        """The bank debit of a delayed payment clears (or bounces)."""
        with self.state.lock:
            session = self._get("checkout.session", session_id, param="session")
            intent = self.state["payment_intent"].get(session["payment_intent"] or "")
            if session["status"] != "complete" or intent is None or intent["status"] != "processing":
                raise ApiError.invalid("This Checkout Session has no delayed payment awaiting settlement.", param="session")
            buyer_email = session["customer_details"]["email"]
            if succeed:
                self._succeed_payment(intent, buyer_email, bank_debit_payment_details())
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session, None)
            else:
                intent.update(
                    status="requires_payment_method",
                    payment_method=None,
                    last_payment_error={
                        "type": "invalid_request_error",
                        "code": "payment_method_provider_decline",
                        "decline_code": "insufficient_funds",
                        "message": "The bank debit failed: insufficient funds.",
                        "payment_method_type": "us_bank_account",
                    },
                )
                self._emit("payment_intent.payment_failed", intent, None)
                self._emit("checkout.session.async_payment_failed", session, None)
            return copy.deepcopy(session)

    def _redeem_discount(self, session: dict) -> None:
        for discount in session["discounts"]:
            self.state["coupon"][discount["coupon"]]["times_redeemed"] += 1
            if discount["promotion_code"]:
                self.state["promotion_code"][discount["promotion_code"]]["times_redeemed"] += 1

    def _create_payment_intent(self, session: dict) -> dict:
        """Stripe creates the session's PaymentIntent when the buyer pays."""
        extras = self.state.session_extras[session["id"]]
        intent_id = new_id("pi_")
        intent = self.fixtures.build(
            "payment_intent",
            id=intent_id,
            amount=session["amount_total"],
            client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
            created=now(),
            currency=session["currency"],
            description=extras.payment_intent_description,
            metadata=dict(extras.payment_intent_metadata),
        )
        self.state["payment_intent"][intent_id] = intent
        session["payment_intent"] = intent_id
        self._emit("payment_intent.created", intent, None)
        return intent

    def _succeed_payment(self, intent: dict, buyer_email: str, payment_details: dict) -> dict:
        charge_id = new_id("ch_")
        billing = self.fixtures.sample("charge")["billing_details"]
        billing.update(address=null_address(), email=buyer_email, name=None, phone=None)
        charge = self.fixtures.build(
            "charge",
            id=charge_id,
            amount=intent["amount"],
            amount_captured=intent["amount"],
            billing_details=billing,
            created=now(),
            currency=intent["currency"],
            description=intent["description"],
            metadata=dict(intent["metadata"]),
            payment_intent=intent["id"],
            payment_method=intent["payment_method"],
            payment_method_details=payment_details,
            receipt_email=None,
            refunds={"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{charge_id}/refunds"},
        )
        self.state["charge"][charge_id] = charge
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge_id, last_payment_error=None)
        self._emit("charge.succeeded", charge, None)
        self._emit("payment_intent.succeeded", intent, None)
        return charge

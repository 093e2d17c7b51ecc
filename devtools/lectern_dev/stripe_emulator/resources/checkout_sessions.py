"""Checkout sessions (mode=payment): line items, discounts, the promotion code box, expiry."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import ApiError
from ..forms import to_bool, to_int, to_list, to_metadata, to_str
from ..store import SessionExtras, new_id
from .core import now
from .events import Events
from .promotion_codes import PromotionCodes

SESSION_LIFETIME = 24 * 60 * 60  # Stripe's default and maximum expires_at


class CheckoutSessions(PromotionCodes, Events):
    def create_session(self, params: dict, request: dict | None = None) -> dict:
        mode = to_str(params, "mode")
        if mode != "payment":
            raise ApiError.invalid("The emulator only supports mode=payment.", param="mode")
        raw_items = to_list(params, "line_items")
        if not raw_items:
            raise ApiError.invalid("line_items is required in payment mode.", param="line_items")
        if params.get("allow_promotion_codes") and params.get("discounts"):
            raise ApiError.invalid(
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                param="allow_promotion_codes",
            )
        created = now()
        expires_at = to_int(params, "expires_at", created + SESSION_LIFETIME)
        # Stripe also requires >= 30 minutes; the emulator allows shorter
        # lifetimes so tests can watch a session expire on its own.
        if not created < expires_at <= created + SESSION_LIFETIME:
            raise ApiError.invalid("expires_at must be in the future and at most 24 hours away.", param="expires_at")
        for url_param in ("success_url", "cancel_url"):
            url = to_str(params, url_param)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ApiError.invalid(f"Not a valid URL: {url}", param=url_param)
        intent_data = params.get("payment_intent_data") if isinstance(params.get("payment_intent_data"), dict) else {}

        with self.state.lock:
            items = [self._build_line_item(raw, index) for index, raw in enumerate(raw_items)]
            currencies = {item["currency"] for item in items}
            if len(currencies) > 1:
                raise ApiError.invalid("All line items must use the same currency.", param="line_items")
            currency = currencies.pop()
            session_id = new_id("cs_test_", 30)
            session = self.fixtures.build(
                "checkout.session",
                id=session_id,
                allow_promotion_codes=to_bool(params, "allow_promotion_codes"),
                cancel_url=to_str(params, "cancel_url"),
                client_reference_id=to_str(params, "client_reference_id") or None,
                created=created,
                currency=currency,
                customer_email=to_str(params, "customer_email") or None,
                expires_at=expires_at,
                locale=to_str(params, "locale"),
                metadata=to_metadata(params) or {},
                submit_type=to_str(params, "submit_type"),
                success_url=to_str(params, "success_url"),
                url=f"{self._pay_page_base()}/pay/{session_id}",
            )
            discounts = to_list(params, "discounts")
            if len(discounts) > 1:
                raise ApiError.invalid("Only one discount can be applied in payment mode.", param="discounts")
            subtotal = sum(item["amount_subtotal"] for item in items)
            if discounts:
                session["discounts"] = [self._resolve_discount(discounts[0], currency, subtotal)]
            self._price_session(session, items)
            self.state["checkout.session"][session_id] = session
            self.state.session_extras[session_id] = SessionExtras(
                line_items=items,
                payment_intent_metadata=to_metadata(intent_data) or {},
                payment_intent_description=to_str(intent_data, "description"),
            )
            return copy.deepcopy(session)

    def line_items(self, session_id: str) -> list[dict]:
        with self.state.lock:
            self._get("checkout.session", session_id)
            return copy.deepcopy(self.state.session_extras[session_id].line_items)

    def _build_line_item(self, raw: Any, index: int) -> dict:
        param = f"line_items[{index}]"
        if not isinstance(raw, dict):
            raise ApiError.invalid("Invalid line item.", param=param)
        if "price_data" in raw:
            raise ApiError.invalid("The emulator does not support price_data; create a price first.", param=f"{param}[price_data]")
        price_id = to_str(raw, "price")
        if not price_id:
            raise ApiError.invalid("Missing required param: price.", param=f"{param}[price]")
        price = self._get("price", price_id, param=f"{param}[price]")
        if not price["active"]:
            raise ApiError.invalid(f"The price `{price_id}` is not active.", param=f"{param}[price]")
        quantity = to_int(raw, "quantity", minimum=1)
        if quantity is None:
            raise ApiError.invalid("Missing required param: quantity.", param=f"{param}[quantity]")
        product = self.state["product"].get(price["product"], {})
        subtotal = price["unit_amount"] * quantity
        return self.fixtures.build(
            "item",
            id=new_id("li_"),
            amount_subtotal=subtotal,
            amount_total=subtotal,
            currency=price["currency"],
            description=product.get("name"),
            price=copy.deepcopy(price),
            quantity=quantity,
        )

    def _resolve_discount(self, raw: Any, currency: str, subtotal: int) -> dict:
        """Validate `discounts[0]` and return the session's discount entry."""
        raw = raw if isinstance(raw, dict) else {}
        if raw.get("promotion_code"):
            promo = self._get("promotion_code", raw["promotion_code"], param="discounts[0][promotion_code]")
            self._check_promotion_code(promo, currency, subtotal, param="discounts[0][promotion_code]")
            return {"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}
        if raw.get("coupon"):
            coupon = self._get("coupon", raw["coupon"], param="discounts[0][coupon]")
            self._check_coupon(coupon, currency, param="discounts[0][coupon]")
            return {"coupon": coupon["id"], "promotion_code": None}
        raise ApiError.invalid("A discount needs a coupon or promotion_code.", param="discounts[0]")

    def _price_session(self, session: dict, items: list[dict]) -> None:
        """(Re)compute line item and session amounts from prices and the discount."""
        subtotal = sum(item["amount_subtotal"] for item in items)
        discount = 0
        if session["discounts"]:
            coupon = self.state["coupon"][session["discounts"][0]["coupon"]]
            if coupon["percent_off"] is not None:
                exact = Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100
                discount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            else:
                discount = min(coupon["amount_off"], subtotal)
        # Spread the discount over the items pro rata; the last item takes the
        # rounding remainder so the parts add up exactly.
        remaining = discount
        for index, item in enumerate(items):
            if index == len(items) - 1:
                share = remaining
            else:
                share = discount * item["amount_subtotal"] // subtotal if subtotal else 0
            remaining -= share
            item["amount_discount"] = share
            item["amount_total"] = item["amount_subtotal"] - share
        session["amount_subtotal"] = subtotal
        session["amount_total"] = subtotal - discount
        session["total_details"] = {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0}

    def _open_session(self, session_id: str) -> dict:
        session = self._get("checkout.session", session_id)
        if session["status"] != "open":
            raise ApiError.invalid(
                f"This Checkout Session is no longer open (status: {session['status']}).", param="session"
            )
        return session

    def apply_promotion_code(self, session_id: str, code: str) -> dict:
        """What the promotion code box on the hosted page does."""
        with self.state.lock:
            session = self._open_session(session_id)
            if not session["allow_promotion_codes"]:
                raise ApiError.invalid("This Checkout Session does not accept promotion codes.", param="promotion_code")
            promo = self.find_active_promotion_code(code)
            if promo is None:
                raise ApiError.invalid(f"This code is invalid: {code}", param="promotion_code")
            self._check_promotion_code(promo, session["currency"], session["amount_subtotal"], param="promotion_code")
            session["discounts"] = [{"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}]
            self._price_session(session, self.state.session_extras[session_id].line_items)
            return copy.deepcopy(session)

    def expire_session(self, session_id: str, request: dict | None = None) -> dict:
        with self.state.lock:
            session = self._get("checkout.session", session_id, param="session")
            if session["status"] != "open":
                raise ApiError.invalid(
                    f"Only Checkout Sessions with a status in [\"open\"] can be expired. "
                    f"This Checkout Session has a status of \"{session['status']}\".",
                    param="session",
                )
            session["status"] = "expired"
            self._emit("checkout.session.expired", session, request)
            return copy.deepcopy(session)

    def expire_overdue_sessions(self) -> list[str]:
        """Expire open sessions whose expires_at has passed (Stripe does this too)."""
        with self.state.lock:
            overdue = [
                session["id"]
                for session in self.state["checkout.session"].values()
                if session["status"] == "open" and session["expires_at"] <= now()
            ]
            for session_id in overdue:
                self.expire_session(session_id)
            return overdue

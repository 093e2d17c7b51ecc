"""Promotion codes: the customer-facing codes of coupons."""

from __future__ import annotations

import copy
import secrets

from ..errors import ApiError
from ..forms import merge_metadata, to_bool, to_int, to_metadata, to_str
from ..store import new_id
from .core import money, now
from .coupons import Coupons


class PromotionCodes(Coupons):
    def create_promotion_code(self, params: dict) -> dict:
        promotion = params.get("promotion") if isinstance(params.get("promotion"), dict) else {}
        if promotion and promotion.get("type", "coupon") != "coupon":
            raise ApiError.invalid("Only promotion[type]=coupon is supported.", param="promotion[type]")
        # Current API: promotion[coupon]; before 2025-09 it was a top-level `coupon`.
        coupon_param = "promotion[coupon]" if promotion.get("coupon") else "coupon"
        coupon_id = promotion.get("coupon") or to_str(params, "coupon")
        if not coupon_id:
            raise ApiError.invalid("Missing required param: promotion[coupon].", param="promotion[coupon]")
        restrictions = params.get("restrictions") if isinstance(params.get("restrictions"), dict) else {}
        with self.state.lock:
            self._get("coupon", coupon_id, param=coupon_param)
            code = to_str(params, "code") or secrets.token_hex(4).upper()
            active = to_bool(params, "active", True)
            if active:
                self._ensure_code_free(code)
            promo = self.fixtures.build(
                "promotion_code",
                id=new_id("promo_"),
                code=code,
                active=active,
                promotion={"coupon": coupon_id, "type": "coupon"},
                expires_at=to_int(params, "expires_at"),
                max_redemptions=to_int(params, "max_redemptions", minimum=1),
                metadata=to_metadata(params) or {},
                restrictions={
                    "first_time_transaction": to_bool(restrictions, "first_time_transaction", False),
                    "minimum_amount": to_int(restrictions, "minimum_amount"),
                    "minimum_amount_currency": (to_str(restrictions, "minimum_amount_currency") or "").lower() or None,
                },
                created=now(),
            )
            self.state["promotion_code"][promo["id"]] = promo
            return copy.deepcopy(promo)

    def update_promotion_code(self, promo_id: str, params: dict) -> dict:
        with self.state.lock:
            promo = self._get("promotion_code", promo_id)
            if "active" in params:
                active = to_bool(params, "active")
                if active and not promo["active"]:
                    self._ensure_code_free(promo["code"])
                promo["active"] = active
            promo["metadata"] = merge_metadata(promo["metadata"], to_metadata(params))
            return copy.deepcopy(promo)

    def _ensure_code_free(self, code: str) -> None:
        for other in self.state["promotion_code"].values():
            if other["active"] and other["code"].lower() == code.lower():
                raise ApiError.invalid(
                    f"An active promotion code with `code: {code}` already exists.",
                    param="code",
                    code="resource_already_exists",
                )

    def find_active_promotion_code(self, code: str) -> dict | None:
        """Codes are matched case-insensitively, like on Stripe's hosted page."""
        with self.state.lock:
            for promo in self.state["promotion_code"].values():
                if promo["active"] and promo["code"].lower() == code.strip().lower():
                    return promo
            return None

    def _check_promotion_code(self, promo: dict, currency: str, subtotal: int, *, param: str) -> None:
        if not promo["active"]:
            raise ApiError.invalid(f"The promotion code `{promo['code']}` is not active.", param=param)
        if promo["expires_at"] is not None and promo["expires_at"] <= now():
            raise ApiError.invalid(f"The promotion code `{promo['code']}` has expired.", param=param)
        if promo["max_redemptions"] is not None and promo["times_redeemed"] >= promo["max_redemptions"]:
            raise ApiError.invalid(f"The promotion code `{promo['code']}` has been fully redeemed.", param=param)
        minimum = promo["restrictions"]["minimum_amount"]
        if minimum is not None and subtotal < minimum:
            raise ApiError.invalid(
                f"The promotion code `{promo['code']}` requires a minimum of {money(minimum, currency)}.", param=param
            )
        self._check_coupon(self._get("coupon", promo["promotion"]["coupon"]), currency, param=param)

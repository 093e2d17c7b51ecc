"""Coupons, and whether one can still be redeemed."""

from __future__ import annotations

import copy

from ..errors import ApiError
from ..forms import to_float, to_int, to_metadata, to_str
from ..store import new_coupon_id
from .core import EngineCore, now


class Coupons(EngineCore):
    def create_coupon(self, params: dict) -> dict:
        percent_off = to_float(params, "percent_off")
        amount_off = to_int(params, "amount_off", minimum=1)
        currency = (to_str(params, "currency") or "").lower() or None
        if (percent_off is None) == (amount_off is None):
            raise ApiError.invalid("You must specify exactly one of percent_off or amount_off.", param="percent_off")
        if percent_off is not None and not 0 < percent_off <= 100:
            raise ApiError.invalid("percent_off must be between 0 and 100.", param="percent_off")
        if amount_off is not None and currency is None:
            raise ApiError.invalid("You must specify a currency when using amount_off.", param="currency")
        duration = to_str(params, "duration", "once")
        if duration not in ("once", "forever", "repeating"):
            raise ApiError.invalid(f"Invalid duration: {duration}", param="duration")
        duration_in_months = to_int(params, "duration_in_months", minimum=1)
        if duration == "repeating" and duration_in_months is None:
            raise ApiError.invalid("duration_in_months is required for repeating coupons.", param="duration_in_months")
        with self.state.lock:
            coupon_id = to_str(params, "id") or new_coupon_id()
            if coupon_id in self.state["coupon"]:
                raise ApiError.invalid(
                    f"Coupon already exists: {coupon_id}", param="id", code="resource_already_exists"
                )
            coupon = self.fixtures.build(
                "coupon",
                id=coupon_id,
                percent_off=percent_off,
                amount_off=amount_off,
                currency=currency if amount_off is not None else None,
                duration=duration,
                duration_in_months=duration_in_months if duration == "repeating" else None,
                max_redemptions=to_int(params, "max_redemptions", minimum=1),
                redeem_by=to_int(params, "redeem_by"),
                name=to_str(params, "name") or None,
                metadata=to_metadata(params) or {},
                created=now(),
            )
            self.state["coupon"][coupon_id] = coupon
            return copy.deepcopy(coupon)

    def _check_coupon(self, coupon: dict, currency: str, *, param: str) -> None:
        expired = coupon["redeem_by"] is not None and coupon["redeem_by"] <= now()
        exhausted = coupon["max_redemptions"] is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]
        if not coupon["valid"] or expired or exhausted:
            raise ApiError.invalid(f"The coupon `{coupon['id']}` is no longer valid.", param=param)
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise ApiError.invalid(
                f"The coupon `{coupon['id']}` is in {coupon['currency']}, the session in {currency}.", param=param
            )

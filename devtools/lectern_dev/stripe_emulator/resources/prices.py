"""Prices (one-time only); `product_data` creates their product on the way."""

from __future__ import annotations

import copy

from ..errors import ApiError
from ..forms import merge_metadata, to_bool, to_int, to_metadata, to_str
from ..store import new_id
from .core import now
from .products import Products


class Prices(Products):
    def create_price(self, params: dict) -> dict:
        currency = (to_str(params, "currency") or "").lower()
        if not currency:
            raise ApiError.invalid("Missing required param: currency.", param="currency")
        unit_amount = to_int(params, "unit_amount", minimum=0)
        if unit_amount is None:
            raise ApiError.invalid("Missing required param: unit_amount.", param="unit_amount")
        if params.get("recurring"):
            raise ApiError.invalid("The emulator only supports one-time prices.", param="recurring")
        with self.state.lock:
            if isinstance(params.get("product_data"), dict):
                product_id = self.create_product(params["product_data"])["id"]
            else:
                product_id = to_str(params, "product")
                if not product_id:
                    raise ApiError.invalid("Missing required param: product.", param="product")
                self._get("product", product_id, param="product")
            lookup_key = to_str(params, "lookup_key") or None
            self._claim_lookup_key(lookup_key, to_bool(params, "transfer_lookup_key", False))
            price = self.fixtures.build(
                "price",
                id=new_id("price_"),
                product=product_id,
                currency=currency,
                unit_amount=unit_amount,
                unit_amount_decimal=str(unit_amount),
                active=to_bool(params, "active", True),
                lookup_key=lookup_key,
                nickname=to_str(params, "nickname") or None,
                metadata=to_metadata(params) or {},
                created=now(),
            )
            self.state["price"][price["id"]] = price
            return copy.deepcopy(price)

    def update_price(self, price_id: str, params: dict) -> dict:
        with self.state.lock:
            price = self._get("price", price_id)
            if "active" in params:
                price["active"] = to_bool(params, "active")
            if "nickname" in params:
                price["nickname"] = to_str(params, "nickname") or None
            if "lookup_key" in params:
                lookup_key = to_str(params, "lookup_key") or None
                if lookup_key != price["lookup_key"]:
                    self._claim_lookup_key(lookup_key, to_bool(params, "transfer_lookup_key", False))
                price["lookup_key"] = lookup_key
            price["metadata"] = merge_metadata(price["metadata"], to_metadata(params))
            return copy.deepcopy(price)

    def _claim_lookup_key(self, lookup_key: str | None, transfer: bool) -> None:
        """Lookup keys are unique; `transfer_lookup_key` moves one to a new price."""
        if lookup_key is None:
            return
        for other in self.state["price"].values():
            if other["lookup_key"] == lookup_key:
                if not transfer:
                    raise ApiError.invalid(
                        f"A price (`{other['id']}`) already uses that lookup key.", param="lookup_key"
                    )
                other["lookup_key"] = None

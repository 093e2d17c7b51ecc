"""Products."""

from __future__ import annotations

import copy

from ..errors import ApiError
from ..forms import merge_metadata, to_bool, to_list, to_metadata, to_str
from ..store import new_id
from .core import EngineCore, now


class Products(EngineCore):
    def create_product(self, params: dict) -> dict:
        name = to_str(params, "name")
        if not name:
            raise ApiError.invalid("Missing required param: name.", param="name")
        with self.state.lock:
            product_id = to_str(params, "id") or new_id("prod_", 7)
            if product_id in self.state["product"]:
                raise ApiError.invalid(f"Product already exists: {product_id}", param="id", code="resource_already_exists")
            created = now()
            product = self.fixtures.build(
                "product",
                id=product_id,
                name=name,
                description=to_str(params, "description") or None,
                active=to_bool(params, "active", True),
                metadata=to_metadata(params) or {},
                images=to_list(params, "images"),
                url=to_str(params, "url") or None,
                created=created,
                updated=created,
            )
            self.state["product"][product_id] = product
            return copy.deepcopy(product)

    def update_product(self, product_id: str, params: dict) -> dict:
        with self.state.lock:
            product = self._get("product", product_id)
            if "name" in params:
                name = to_str(params, "name")
                if not name:
                    raise ApiError.invalid("A product's name cannot be blank.", param="name")
                product["name"] = name
            if "description" in params:
                product["description"] = to_str(params, "description") or None
            if "active" in params:
                product["active"] = to_bool(params, "active")
            if "default_price" in params:
                price_id = to_str(params, "default_price") or None
                if price_id is not None:
                    price = self._get("price", price_id, param="default_price")
                    if price["product"] != product_id:
                        raise ApiError.invalid(
                            f"The price {price_id} does not belong to product {product_id}.", param="default_price"
                        )
                product["default_price"] = price_id
            product["metadata"] = merge_metadata(product["metadata"], to_metadata(params))
            product["updated"] = now()
            return copy.deepcopy(product)

"""/v1/prices"""

from __future__ import annotations

from ..engine import Engine
from ..forms import to_bool
from .v1 import V1Api, field_in, field_is


def register(api: V1Api, engine: Engine) -> None:
    @api.route("/v1/prices", "POST")
    def create_price(params, context):
        return engine.create_price(params)

    api.list(
        "/v1/prices",
        "price",
        field_is("product"),
        field_is("active", read=to_bool),
        field_is("currency", fold=str.lower),
        field_in("lookup_keys", "lookup_key"),
    )

    @api.route("/v1/prices/<price_id>", "GET")
    def retrieve_price(params, context, price_id):
        return engine.get("price", price_id)

    @api.route("/v1/prices/<price_id>", "POST")
    def update_price(params, context, price_id):
        return engine.update_price(price_id, params)

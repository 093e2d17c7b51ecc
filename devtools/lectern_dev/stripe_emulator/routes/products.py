"""/v1/products"""

from __future__ import annotations

from ..engine import Engine
from ..forms import to_bool
from .v1 import V1Api, field_in, field_is


def register(api: V1Api, engine: Engine) -> None:
    @api.route("/v1/products", "POST")
    def create_product(params, context):
        return engine.create_product(params)

    api.list("/v1/products", "product", field_is("active", read=to_bool), field_in("ids", "id"))

    @api.route("/v1/products/<product_id>", "GET")
    def retrieve_product(params, context, product_id):
        return engine.get("product", product_id)

    @api.route("/v1/products/<product_id>", "POST")
    def update_product(params, context, product_id):
        return engine.update_product(product_id, params)

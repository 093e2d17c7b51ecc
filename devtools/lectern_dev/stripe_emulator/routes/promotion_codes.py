"""/v1/promotion_codes"""

from __future__ import annotations

from ..engine import Engine
from ..forms import to_bool
from .v1 import V1Api, field_is


def register(api: V1Api, engine: Engine) -> None:
    @api.route("/v1/promotion_codes", "POST")
    def create_promotion_code(params, context):
        return engine.create_promotion_code(params)

    api.list(
        "/v1/promotion_codes",
        "promotion_code",
        field_is("code", fold=str.lower),
        field_is("active", read=to_bool),
        field_is("coupon", lambda promo: promo["promotion"]["coupon"]),
    )

    @api.route("/v1/promotion_codes/<promo_id>", "GET")
    def retrieve_promotion_code(params, context, promo_id):
        return engine.get("promotion_code", promo_id)

    @api.route("/v1/promotion_codes/<promo_id>", "POST")
    def update_promotion_code(params, context, promo_id):
        return engine.update_promotion_code(promo_id, params)

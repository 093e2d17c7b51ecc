"""/v1/coupons"""

from __future__ import annotations

from ..engine import Engine
from .v1 import V1Api


def register(api: V1Api, engine: Engine) -> None:
    @api.route("/v1/coupons", "POST")
    def create_coupon(params, context):
        return engine.create_coupon(params)

    api.list("/v1/coupons", "coupon")

    @api.route("/v1/coupons/<coupon_id>", "GET")
    def retrieve_coupon(params, context, coupon_id):
        return engine.get("coupon", coupon_id)

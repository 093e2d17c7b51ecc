"""/v1/charges (read-only: a PaymentIntent creates its charge when the money is in)."""

from __future__ import annotations

from ..engine import Engine
from .v1 import V1Api, field_is


def register(api: V1Api, engine: Engine) -> None:
    api.list("/v1/charges", "charge", field_is("payment_intent"))

    @api.route("/v1/charges/<charge_id>", "GET")
    def retrieve_charge(params, context, charge_id):
        return engine.get("charge", charge_id, param="charge")

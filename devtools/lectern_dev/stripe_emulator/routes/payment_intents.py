"""/v1/payment_intents (read-only: a checkout session creates its PaymentIntent when the buyer pays)."""

from __future__ import annotations

from ..engine import Engine
from .v1 import V1Api


def register(api: V1Api, engine: Engine) -> None:
    api.list("/v1/payment_intents", "payment_intent")

    @api.route("/v1/payment_intents/<intent_id>", "GET")
    def retrieve_payment_intent(params, context, intent_id):
        return engine.get("payment_intent", intent_id, param="intent")

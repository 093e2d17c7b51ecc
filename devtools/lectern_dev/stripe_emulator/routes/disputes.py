"""/v1/disputes (read-only: the bank opens them, the dashboard decides them)."""

from __future__ import annotations

from ..engine import Engine
from .v1 import V1Api, field_is


def register(api: V1Api, engine: Engine) -> None:
    api.list("/v1/disputes", "dispute", field_is("charge"), field_is("payment_intent"))

    @api.route("/v1/disputes/<dispute_id>", "GET")
    def retrieve_dispute(params, context, dispute_id):
        return engine.get("dispute", dispute_id, param="dispute")

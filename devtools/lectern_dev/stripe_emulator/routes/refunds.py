"""/v1/refunds"""

from __future__ import annotations

from ..engine import Engine
from ..errors import ApiError
from ..forms import to_int, to_metadata, to_str
from .v1 import V1Api, field_is

REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


def register(api: V1Api, engine: Engine) -> None:
    @api.route("/v1/refunds", "POST")
    def create_refund(params, context):
        reason = to_str(params, "reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise ApiError.invalid(f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}", param="reason")
        return engine.refund(
            charge_id=to_str(params, "charge"),
            payment_intent_id=to_str(params, "payment_intent"),
            amount=to_int(params, "amount"),
            reason=reason,
            metadata=to_metadata(params),
            request=context,
        )

    api.list("/v1/refunds", "refund", field_is("charge"), field_is("payment_intent"))

    @api.route("/v1/refunds/<refund_id>", "GET")
    def retrieve_refund(params, context, refund_id):
        return engine.get("refund", refund_id, param="refund")

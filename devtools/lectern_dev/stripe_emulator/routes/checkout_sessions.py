"""/v1/checkout/sessions"""

from __future__ import annotations

from ..engine import Engine
from .v1 import V1Api, field_is, paginate


def register(api: V1Api, engine: Engine) -> None:
    @api.route("/v1/checkout/sessions", "POST")
    def create_checkout_session(params, context):
        return engine.create_session(params, context)

    api.list("/v1/checkout/sessions", "checkout.session", field_is("payment_intent"), field_is("status"))

    @api.route("/v1/checkout/sessions/<session_id>", "GET")
    def retrieve_checkout_session(params, context, session_id):
        return engine.get("checkout.session", session_id, param="session")

    @api.route("/v1/checkout/sessions/<session_id>/line_items", "GET")
    def list_line_items(params, context, session_id):
        # Line items keep the order they were given in, unlike other lists.
        url = f"/v1/checkout/sessions/{session_id}/line_items"
        return paginate(engine.line_items(session_id), params, url)

    @api.route("/v1/checkout/sessions/<session_id>/expire", "POST")
    def expire_checkout_session(params, context, session_id):
        return engine.expire_session(session_id, context)

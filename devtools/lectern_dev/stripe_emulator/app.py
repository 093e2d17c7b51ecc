"""The Flask app: Stripe's /v1 REST API (routes/, one module per resource) plus the hosted pages
(pages.py), serving one `Account`.

Request handling mirrors api.stripe.com: bearer-key auth, form-encoded
params, `expand[]`, idempotency keys, list pagination and Stripe's error
JSON, so the official SDK works against it unchanged.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from . import pages
from .account import Account
from .errors import ApiError
from .routes import (
    charges,
    checkout_sessions,
    coupons,
    disputes,
    events,
    payment_intents,
    prices,
    products,
    promotion_codes,
    refunds,
)
from .routes.v1 import V1Api, error_response


def create_app(account: Account) -> Flask:
    app = Flask("lectern_dev.stripe_emulator")
    engine = account.engine

    @app.before_request
    def authenticate() -> Response | None:
        if not request.path.startswith("/v1/"):
            return None  # hosted pages are for the (local) buyer: no key
        provided = _api_key_from_headers()
        if provided is None:
            error = ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
            return error_response(error)
        if provided != account.api_key:
            return error_response(ApiError(401, f"Invalid API Key provided: {_redact(provided)}"))
        return None

    @app.errorhandler(404)
    @app.errorhandler(405)
    def unknown_route(error: Exception) -> Any:
        if request.path.startswith("/v1/"):
            message = (
                f"Unrecognized request URL ({request.method}: {request.path}). "
                "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            )
            return error_response(ApiError(404, message))
        return error

    api = V1Api(app, engine)
    for resource in (products, prices, coupons, promotion_codes, checkout_sessions, payment_intents, charges, refunds,
                     disputes):
        resource.register(api, engine)
    events.register(api, engine, delivered=account.delivery_succeeded)

    pages.register(app, account)
    return app


def _api_key_from_headers() -> str | None:
    """Stripe accepts `Bearer <key>` and HTTP basic auth with the key as user."""
    authorization = request.authorization
    if authorization is None:
        return None
    if authorization.type == "bearer":
        return authorization.token or None
    if authorization.type == "basic":
        return authorization.username or None
    return None


def _redact(key: str) -> str:
    return f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"

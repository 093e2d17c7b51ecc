"""Authentication, in one place: who is calling, from `Authorization: Bearer <jwt>`.

Every route that needs a user calls `require_user_id(app)`; routes where
signing in is optional (checkout) call `optional_user_id(app)`. Nothing else
reads the Authorization header or parses tokens.

A token that is sent but invalid is always a 401, even on optional routes:
a client with an expired session should refresh, not silently act as a guest.
"""
from typing import Any

from lectern import jwt_tokens
from lectern.api.errors import Unauthenticated

_SCHEME = "bearer"


def _unauthenticated(message: str, error: str | None = None) -> Unauthenticated:
    challenge = 'Bearer realm="lectern"' + (f', error="{error}"' if error else "")
    return Unauthenticated(message, headers={"WWW-Authenticate": challenge})


def _bearer_token(app: Any) -> str | None:
    header = app.current_event.headers.get("authorization")  # case-insensitive mapping
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _SCHEME or not token:
        raise _unauthenticated("The Authorization header must be `Bearer <access_token>`.", "invalid_request")
    return token


def optional_user_id(app: Any) -> str | None:
    """The caller's user id, None without an Authorization header, 401 for a bad token."""
    token = _bearer_token(app)
    if token is None:
        return None
    try:
        return jwt_tokens.verify(token)
    except jwt_tokens.InvalidAccessToken:
        raise _unauthenticated("The access token is invalid or has expired.", "invalid_token") from None


def require_user_id(app: Any) -> str:
    """The caller's user id; 401 `unauthenticated` when there is none or it is not valid."""
    user_id = optional_user_id(app)
    if user_id is None:
        raise _unauthenticated("Sign in to continue.")
    return user_id


# ------------------------------------------------------------------ OpenAPI
BEARER_SCHEME = "bearerAuth"
SIGNED_IN = [{BEARER_SCHEME: []}]  # `security=` of a route that needs a user
SIGNED_IN_OPTIONAL = [{}, {BEARER_SCHEME: []}]  # `security=` of a route where signing in is optional


def document_bearer_auth(app: Any) -> None:
    """Declare the bearer scheme in the function's OpenAPI (routes refer to it with SIGNED_IN)."""
    # A plain dict, validated into Powertools' HTTPBearer model only when the OpenAPI document is
    # generated: importing openapi.models to build it here would build Powertools' ~100 OpenAPI
    # pydantic models at every cold start (≈ 0.15 s, a third of these functions' init) for a
    # document no deployed function serves. The generated document is the same (docs/performance.md).
    app.configure_openapi(security_schemes={BEARER_SCHEME: {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "`access_token` from /auth/login, /auth/register or /auth/refresh"}})

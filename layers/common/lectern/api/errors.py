"""The contract's error envelope: `{"error": {"code", "message", "details"?}}`, and its statuses.

The domain raises `lectern.errors.DomainError`s (a code and a message, no status); the errors
below are the ones only HTTP knows about (how the request was sent, not what it asked for).
STATUS_BY_CODE gives every code its status, one table for both: the resolver's exception
handler (lectern.api.app) and the webhook function answer through `status_of`, `envelope` and
`headers_of`, so no route builds an error body by hand.
"""
from typing import Any

from lectern.errors import DomainError, RateLimited

# Every error code the API (and the webhook) can answer, with its status (docs/api.md, *Error codes*).
STATUS_BY_CODE: dict[str, int] = {
    "bad_request": 400,
    "invalid_signature": 400,
    "unauthenticated": 401,
    "invalid_credentials": 401,
    "not_entitled": 403,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "already_owned": 409,
    "free_course": 409,
    "not_free": 409,
    "checkout_in_progress": 409,
    "email_taken": 409,
    "conflict": 409,
    "token_expired": 410,
    "payload_too_large": 413,
    "validation_failed": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "processing_failed": 500,
    "payment_provider_unavailable": 503,
    "service_unavailable": 503,
}


class ApiError(Exception):
    """An error of the HTTP exchange itself, with the headers its answer needs."""

    code = "internal_error"
    message = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        self.message = message or type(self).message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    """A body that is not JSON (or not UTF-8, or not sent as application/json)."""
    code, message = "bad_request", "The request could not be read."


class Unauthenticated(ApiError):
    """No usable `Authorization: Bearer` header (with its `WWW-Authenticate` challenge)."""
    code, message = "unauthenticated", "Sign in to continue."


class MethodNotAllowed(ApiError):
    code, message = "method_not_allowed", "This route does not accept that method."


class PayloadTooLarge(ApiError):
    code, message = "payload_too_large", "The request body is too large."


class InternalError(ApiError):
    """The last resort: an exception nothing else answered (logged, never shown)."""
    code, message = "internal_error", "Something went wrong on our side."


AnyError = ApiError | DomainError


def status_of(error: AnyError) -> int:
    """The error's status (a code missing from the table, which tests/unit/test_api_doc.py rules out, is a 500)."""
    return STATUS_BY_CODE.get(error.code, 500)


def envelope(error: AnyError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return {"error": body}


def headers_of(error: AnyError) -> dict[str, str]:
    """The headers the error's answer carries beyond the usual ones."""
    if isinstance(error, ApiError):
        return error.headers
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}

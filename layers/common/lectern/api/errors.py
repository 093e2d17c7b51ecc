"""The contract's error envelope: `{"error": {"code", "message", "details"?}}`.

Domain code raises these; the resolver turns them into responses, so no
route builds an error body by hand.
"""
from typing import Any


class ApiError(Exception):
    status = 500
    code = "internal_error"
    message = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        self.message = message or type(self).message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class BadRequest(ApiError):
    status, code, message = 400, "bad_request", "The request could not be read."


class InvalidSignature(ApiError):
    status, code, message = 400, "invalid_signature", "The webhook signature is missing, malformed, wrong or stale."


class Unauthenticated(ApiError):
    status, code, message = 401, "unauthenticated", "Sign in to continue."


class InvalidCredentials(ApiError):
    status, code, message = 401, "invalid_credentials", "The email or password is not correct."


class NotEntitled(ApiError):
    status, code, message = 403, "not_entitled", "You do not have access to this course."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "You may not do this."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Nothing was found here."


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "This route does not accept that method."


class AlreadyOwned(ApiError):
    status, code, message = 409, "already_owned", "This course is already in your library."


class FreeCourse(ApiError):
    status, code, message = 409, "free_course", "This course is free: enrol from its page instead of buying it."


class CheckoutInProgress(ApiError):
    status, code, message = (409, "checkout_in_progress",
                             "A checkout for this course is being started already; try again in a moment.")


class EmailTaken(ApiError):
    status, code, message = 409, "email_taken", "An account with this email already exists."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class TokenExpired(ApiError):
    status, code, message = 410, "token_expired", "This link has expired; ask for a new one."


class ValidationFailed(ApiError):
    status, code, message = 422, "validation_failed", "Some fields are not valid."


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many attempts; try again later."


class InternalError(ApiError):
    status, code, message = 500, "internal_error", "Something went wrong on our side."


class ProcessingFailed(ApiError):
    status, code, message = 500, "processing_failed", "The event could not be applied; it will be retried."


class PaymentProviderUnavailable(ApiError):
    status, code, message = 503, "payment_provider_unavailable", "Payments are unavailable right now; try again shortly."


class ServiceUnavailable(ApiError):
    status, code, message = 503, "service_unavailable", "The service is busy; try again shortly."

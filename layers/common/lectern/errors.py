"""Domain errors: what went wrong, as a code and a message (and details), never an HTTP status.

The domain packages (catalog, accounts, learning, payments, entitlements, ...) raise these;
`lectern.api.errors` maps each code to its HTTP status and the contract's envelope (the
resolver's exception handler, the webhook function), and the operator commands catch them as
they are. The codes are the contract's (docs/api.md, *Error codes*); each message is the
default answer, which a raise may replace with a more precise one.
"""
from typing import Any


class DomainError(Exception):
    code = "internal_error"
    message = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or type(self).message
        self.details = details
        super().__init__(self.message)


class InvalidInput(DomainError):
    """What the caller sent cannot be used: an unknown or used emailed link, a signed webhook body
    that is not an event."""
    code, message = "bad_request", "The request could not be read."


class InvalidSignature(DomainError):
    code, message = "invalid_signature", "The webhook signature is missing, malformed, wrong or stale."


class NotSignedIn(DomainError):
    """The caller is not (or no longer) a user: a refresh token that is unknown, expired or reused,
    or a valid access token for an account that is gone."""
    code, message = "unauthenticated", "Sign in to continue."


class InvalidCredentials(DomainError):
    code, message = "invalid_credentials", "The email or password is not correct."


class NotEntitled(DomainError):
    code, message = "not_entitled", "You do not have access to this course."


class Forbidden(DomainError):
    code, message = "forbidden", "You may not do this."


class NotFound(DomainError):
    code, message = "not_found", "Nothing was found here."


class AlreadyOwned(DomainError):
    code, message = "already_owned", "This course is already in your library."


class FreeCourse(DomainError):
    code, message = "free_course", ("This course is free: enrol from its page (POST /courses/{slug}/enroll) "
                                    "instead of buying it.")


class NotFree(DomainError):
    code, message = "not_free", "This course is not free: buy it (POST /checkout) to enrol."


class CheckoutInProgress(DomainError):
    code, message = "checkout_in_progress", "A checkout for this course is being started already; try again in a moment."



class EmailTaken(DomainError):
    code, message = "email_taken", "An account with this email already exists."


class Conflict(DomainError):
    code, message = "conflict", "The request conflicts with the current state."


class TokenExpired(DomainError):
    code, message = "token_expired", "This link has expired; ask for a new one."


class ValidationFailed(DomainError):
    code, message = "validation_failed", "Some fields are not valid."


class RateLimited(DomainError):
    """Too many requests; `retry_after_seconds` says when the next one may succeed."""
    code, message = "rate_limited", "Too many attempts; try again later."

    def __init__(self, message: str | None = None, *, retry_after_seconds: int,
                 details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.retry_after_seconds = retry_after_seconds


class ProcessingFailed(DomainError):
    """A verified webhook event could not be applied (its cause chained); redelivery retries it."""
    code, message = "processing_failed", "The event could not be applied; it will be retried."


class PaymentProviderUnavailable(DomainError):
    code, message = "payment_provider_unavailable", "Payments are unavailable right now; try again shortly."


class ServiceUnavailable(DomainError):
    """Nothing was decided (a transaction conflict, a dependency that is busy or not configured):
    the same request may succeed shortly."""
    code, message = "service_unavailable", "The service is busy; try again shortly."

"""Auth function: /auth/* (register, login, refresh, logout, verify, forgot, reset, claim),
and POST /checkout/{checkout_session_id}/resend-claim (a guest buyer's claim link again: it is
an account email, so it is sent from here, the function that already writes tokens and mails),
and POST /me/orders/{order_id}/resend-gift (a gift's email again, with a recipient's claim link:
the same reason).

Thin handler: the pydantic models of lectern.accounts.schemas are the wire contract (and the
OpenAPI); lectern.accounts.service does the work.
"""
from __future__ import annotations  # the routes' pydantic annotations are read at build time only

from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths

from lectern import snapstart
from lectern.accounts import service, sessions
from lectern.accounts.schemas import ClaimLinkAccepted, ForgotPasswordAccepted, TokenResponse, UserEnvelope
from lectern.api.app import LecternResolver
from lectern.api.auth import SIGNED_IN, document_bearer_auth, require_user_id
from lectern.api.schemas import api_responses
from lectern.observability import logger, metrics, tracer
from lectern.payments.schemas import GiftResent

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Body, Path
    from lectern.accounts.request_models import (
        ClaimRequest, EmailedTokenRequest, ForgotPasswordRequest, LoginRequest, RefreshTokenRequest, RegisterRequest,
        ResetPasswordRequest,
    )

app = LecternResolver()
document_bearer_auth(app)

_TAGS = ["Accounts"]


def _client() -> str | None:
    """The caller's IP as API Gateway saw it (never a header the caller could write)."""
    return app.current_event.request_context.http.source_ip


@app.post("/auth/register", status_code=201, summary="Create an account and send a verification email",
          tags=_TAGS, responses=api_responses(201, TokenResponse, 400, 409, 429, 503, description="Signed up and in"))
def register(body: Annotated[RegisterRequest, Body()]) -> TokenResponse:
    """409 `email_taken` when the email has an account; if that account came from a guest
    purchase and has no password yet, a fresh claim link is emailed to it instead (at most a
    few per hour per address). 429 `rate_limited` (with `Retry-After`) when this client asked
    for too many emails."""
    return service.register(body.name, body.email, body.password, _client())


@app.post("/auth/login", summary="Sign in with email and password", tags=_TAGS,
          responses=api_responses(200, TokenResponse, 400, 401, 429, 503, description="Signed in"))
def login(body: Annotated[LoginRequest, Body()]) -> TokenResponse:
    """One answer, 401 `invalid_credentials`, for an unknown email, a wrong password and an
    account without a password. Five failures for one email within 15 minutes → 429."""
    return service.login(body.email, body.password)


@app.post("/auth/refresh", summary="Exchange a refresh token for new tokens", tags=_TAGS,
          responses=api_responses(200, TokenResponse, 400, 401, 503, description="New tokens"))
def refresh(body: Annotated[RefreshTokenRequest, Body()]) -> TokenResponse:
    """Rotates the refresh token. Presenting one that was already used signs out every
    device of that session (401)."""
    return sessions.rotate(body.refresh_token)


@app.post("/auth/logout", status_code=204, summary="End the session of a refresh token", tags=_TAGS,
          responses=api_responses(204, None, 400, 503, description="Signed out (also for an unknown or used token)"))
def logout(body: Annotated[RefreshTokenRequest, Body()]):  # 204: no body, so no return model
    sessions.end(body.refresh_token)
    return Response(status_code=204)


@app.post("/auth/verify-email", summary="Confirm the email address with the emailed token", tags=_TAGS,
          responses=api_responses(200, UserEnvelope, 400, 410, 503, description="Email verified"))
def verify_email(body: Annotated[EmailedTokenRequest, Body()]) -> UserEnvelope:
    """400 `bad_request` for an unknown or used token, 410 `token_expired` for an expired one."""
    return service.verify_email(body.token)


@app.post("/auth/password/forgot", status_code=202, summary="Email a password-reset link", tags=_TAGS,
          responses=api_responses(202, ForgotPasswordAccepted, 400, 429, 503, description="Accepted"))
def forgot_password(body: Annotated[ForgotPasswordRequest, Body()]) -> ForgotPasswordAccepted:
    """202, whether or not the email has an account (not revealed, not even by the time taken).
    At most a few mails per hour go to one address; beyond that the answer is the same and
    nothing is sent. Each new link supersedes the previous one. 429 `rate_limited` (with
    `Retry-After`) when this client asked for too many emails."""
    service.forgot_password(body.email, _client())
    return ForgotPasswordAccepted(
        message="If an account exists for this email, a link to reset the password is on its way.")


@app.post("/auth/password/reset", summary="Set a new password with the emailed token", tags=_TAGS,
          responses=api_responses(200, TokenResponse, 400, 410, 503, description="Password set, signed in"))
def reset_password(body: Annotated[ResetPasswordRequest, Body()]) -> TokenResponse:
    """Signs out every other session. 400 for an unknown or used token, 410 for an expired one,
    422 when the password does not meet the policy (the link stays usable)."""
    return service.reset_password(body.token, body.password)


@app.post("/auth/claim", summary="Claim the account a guest purchase created", tags=_TAGS,
          responses=api_responses(200, TokenResponse, 400, 409, 410, 503, description="Account claimed, signed in"))
def claim(body: Annotated[ClaimRequest, Body()]) -> TokenResponse:
    """Sets the first password and verifies the email; the purchases are already in the library.
    400 for an unknown or used token, 410 expired, 409 `conflict` if the account already has a password."""
    return service.claim(body.token, body.password, body.name)


@app.post("/checkout/<checkout_session_id>/resend-claim", status_code=202, tags=["Checkout"],
          summary="Email a guest buyer's claim link again",
          responses=api_responses(202, ClaimLinkAccepted, 404, 429, 503, description="Accepted"))
def resend_claim(checkout_session_id: Annotated[str, Path(max_length=255)]) -> ClaimLinkAccepted:
    """For the success page: if this paid purchase created an account that has no password yet,
    a fresh link to set it (superseding the last) goes to the email used at checkout, and only
    there. The answer is the same 202 whatever the case; 404 for a malformed session id; 429
    `rate_limited` (with `Retry-After`) when this client asked for too many emails."""
    service.resend_claim(checkout_session_id, _client())
    return ClaimLinkAccepted(message="If this purchase has an account waiting for a password, a new link "
                                     "is on its way to the email used at checkout.")


@app.post("/me/orders/<order_id>/resend-gift", status_code=202, tags=["Learner"], security=SIGNED_IN,
          summary="Email a gift's recipient again",
          responses=api_responses(202, GiftResent, 401, 404, 409, 429, 503, description="Handed over for sending"))
def resend_gift(order_id: Annotated[str, Path(max_length=64)]) -> GiftResent:
    """Only the buyer of a paid gift order: the gift email goes to its recipient again (with a fresh
    claim link, superseding the last, while the recipient has not set a password). 404 for an order that
    is not the caller's, not a gift or not paid (refunded included), or disputed. 409 `conflict` once the
    gift was sent again 5 times (in a year). 429 `rate_limited` (with `Retry-After`) when this client asked
    for too many emails, or the recipient's address had its share (3 an hour)."""
    from lectern.payments import gifts  # the one route of this function that needs the payments package

    return gifts.resend_gift(require_user_id(app), order_id, _client())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


# Lambda SnapStart: prime before the snapshot, renew after each restore. Refresh and logout are primed past
# their validation with a token that matches nothing: their every path stays within DynamoDB (answered in
# memory while priming). Login is not: its attempt counter needs the answer a real write returns.
snapstart.prepare(app, bodies={
    ("POST", "/auth/refresh"): {"refresh_token": "snapstart-priming"},
    ("POST", "/auth/logout"): {"refresh_token": "snapstart-priming"},
})

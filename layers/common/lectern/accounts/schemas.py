"""Accounts' wire shapes (one OpenAPI component each): what /auth/* answers, and the user that /me
answers too. What /auth/* takes is `lectern.accounts.request_models`."""
from typing import Literal

from lectern.wire import shape


@shape
class User:
    id: str
    name: str
    email: str
    email_verified: bool
    email_verified_at: str | None
    """When the email address was verified (UTC); null until then"""


@shape
class UserEnvelope:
    user: User


@shape
class TokenResponse:
    user: User
    access_token: str
    """JWT (HS256, 15 minutes) for `Authorization: Bearer …`"""
    token_type: Literal["Bearer"]
    """Always `Bearer`"""
    expires_in: int
    """Seconds until the access token expires"""
    refresh_token: str
    """Single use: /auth/refresh answers the next one; reusing an old one ends the session on every device"""


@shape
class ForgotPasswordAccepted:
    message: str


@shape
class ClaimLinkAccepted:
    message: str

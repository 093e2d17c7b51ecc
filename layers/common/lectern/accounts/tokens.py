"""Emailed one-time tokens (claim, email verification, password reset) and refresh tokens.

The raw token goes to the user once; only its SHA-256 is stored. Using a
token is a conditional update (`used_at` must not exist and it must not have
expired), so a token works exactly once even under concurrent use.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from lectern.clock import iso, utcnow
from lectern.models.users import OneTimeToken

CLAIM, VERIFY_EMAIL, RESET_PASSWORD, REFRESH = "claim", "verify_email", "reset_password", "refresh"
LIFETIMES = {
    CLAIM: timedelta(days=7),
    VERIFY_EMAIL: timedelta(days=2),
    RESET_PASSWORD: timedelta(hours=1),
    REFRESH: timedelta(days=30),
}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class IssuedToken:
    raw: str
    expires_at: str


def issue(purpose: str, user_id: str, *, order_id: str | None = None, family_id: str | None = None,
          lifetime: timedelta | None = None) -> IssuedToken:
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + (lifetime or LIFETIMES[purpose])
    pk, sk = OneTimeToken.key(hash_token(raw))
    OneTimeToken(pk, sk, purpose=purpose, user_id=user_id, order_id=order_id, family_id=family_id,
                 created_at=iso(now), expires_at=iso(expires),
                 expires_at_epoch=int(expires.timestamp()) + 86400).save(condition=OneTimeToken.pk.does_not_exist())
    return IssuedToken(raw=raw, expires_at=iso(expires))


class TokenInvalid(Exception):
    """Unknown, wrong purpose, or already used."""


class TokenExpired(Exception):
    pass


def consume(raw: str, purpose: str) -> OneTimeToken:
    """Mark the token used and return it. Raises TokenInvalid or TokenExpired."""
    pk, sk = OneTimeToken.key(hash_token(raw or ""))
    try:
        token = OneTimeToken.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        raise TokenInvalid() from None
    return use(token, purpose)


def use(token: OneTimeToken, purpose: str) -> OneTimeToken:
    """`consume` for a token the caller has already read: the conditional update alone.
    The checks before it only answer early; the condition is what makes the token single use."""
    if token.purpose != purpose or token.used_at is not None:
        raise TokenInvalid()
    now = iso()
    if token.expires_at <= now:
        raise TokenExpired()
    try:
        token.update(actions=[OneTimeToken.used_at.set(now)],
                     condition=OneTimeToken.used_at.does_not_exist() & (OneTimeToken.expires_at > now))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise TokenInvalid() from None  # someone used it a moment ago
        raise
    return token

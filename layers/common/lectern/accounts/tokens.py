"""Emailed one-time tokens (claim, email verification, password reset) and refresh tokens.

The raw token goes to the user once; only its SHA-256 is stored. Using a
token is a conditional update (`used_at` must not exist and it must not have
expired), so a token works exactly once even under concurrent use.

Emailed tokens (claim, verify, reset) have one live token per user and purpose:
issuing one records its hash on the user (`<purpose>_token_hash`, in the same
transaction as the token), and using one checks, in the same transaction as
marking it used, that it is still the recorded one. So a new link supersedes
every earlier one, and asking ten times leaves one working link, not ten.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.models import Model

from lectern.clock import iso, utcnow
from lectern.models.base import condition_failed, transaction
from lectern.models.users import OneTimeToken, User, token_hash_of

CLAIM, VERIFY_EMAIL, RESET_PASSWORD, REFRESH = "claim", "verify_email", "reset_password", "refresh"
LIFETIMES = {
    CLAIM: timedelta(days=7),
    VERIFY_EMAIL: timedelta(days=2),
    RESET_PASSWORD: timedelta(hours=1),
    REFRESH: timedelta(days=30),
}
# Emailed purposes: one live token per user (refresh tokens: one per session, so not these).
_CURRENT: dict[str, Attribute] = {
    CLAIM: User.claim_token_hash,
    VERIFY_EMAIL: User.verify_email_token_hash,
    RESET_PASSWORD: User.reset_password_token_hash,
}
# Never a real user id (ULIDs carry their creation time): the "user" of a decoy token.
DECOY_USER_ID = "0" * 26


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class IssuedToken:
    raw: str
    expires_at: str


def issue(purpose: str, user_id: str, *, order_id: str | None = None, family_id: str | None = None,
          lifetime: timedelta | None = None, claiming: tuple[Model, Attribute, str] | None = None) -> IssuedToken:
    """A new token for the user; an emailed purpose's supersedes the user's earlier one. `claiming`
    (item, attribute, value): in the same transaction, set the item's stamp that says this mail is
    being sent, where it is not set yet (else StampTaken, and nothing is stored)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + (lifetime or LIFETIMES[purpose])
    token_hash = hash_token(raw)
    token = OneTimeToken(*OneTimeToken.key(token_hash), purpose=purpose, user_id=user_id, order_id=order_id,
                         family_id=family_id, created_at=iso(now), expires_at=iso(expires),
                         expires_at_epoch=int(expires.timestamp()) + 86400)
    current = _CURRENT.get(purpose)
    if current is None:
        if claiming:
            raise ValueError(f"a {purpose} token is not emailed: nothing to claim with it")
        token.save(condition=OneTimeToken.pk.does_not_exist())
        return IssuedToken(raw=raw, expires_at=iso(expires))
    try:
        with transaction() as write:
            write.save(token, condition=OneTimeToken.pk.does_not_exist())
            write.update(User(*User.key(user_id)), actions=[current.set(token_hash)], condition=User.pk.exists())
            if claiming:
                item, stamp, value = claiming
                write.update(item, actions=[stamp.set(value)], condition=stamp.does_not_exist())
    except TransactWriteError as exc:
        if condition_failed(exc):
            # One reason per operation, in the order PynamoDB sends them (condition checks, deletes,
            # puts, updates): the token's put, the user's update, then the claimed item's update.
            reasons = exc.cancellation_reasons or []
            if claiming and len(reasons) > 2 and reasons[2] is not None and reasons[2].code == "ConditionalCheckFailed":
                raise StampTaken() from None
            raise NoSuchUser(user_id) from None
        raise
    return IssuedToken(raw=raw, expires_at=iso(expires))


def issue_decoy(purpose: str) -> IssuedToken:
    """The work of `issue` for an address without an account (forgot-password): the same token,
    hash and transaction, which its condition cancels, so nothing is stored and the link is dead."""
    try:
        issue(purpose, DECOY_USER_ID)
    except NoSuchUser:
        pass
    return IssuedToken(raw=secrets.token_urlsafe(32), expires_at=iso(utcnow() + LIFETIMES[purpose]))


def is_current(token: OneTimeToken, user: User) -> bool:
    """False when a newer token of the same purpose was issued to the user since."""
    current = _CURRENT.get(token.purpose)
    if current is None:
        return True
    recorded = getattr(user, current.attr_name)
    return recorded is None or recorded == token_hash_of(token)


class NoSuchUser(Exception):
    """An emailed token for a user that does not exist: not stored."""


class StampTaken(Exception):
    """The stamp `issue` was to claim with the token is set already (its mail is sent, or being
    sent): nothing was stored."""


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
    unused = OneTimeToken.used_at.does_not_exist() & (OneTimeToken.expires_at > now)
    current = _CURRENT.get(purpose)
    if current is None:
        try:
            token.update(actions=[OneTimeToken.used_at.set(now)], condition=unused)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise TokenInvalid() from None  # someone used it a moment ago
            raise
        return token
    token_hash = token_hash_of(token)
    try:
        with transaction() as write:
            write.update(token, actions=[OneTimeToken.used_at.set(now)], condition=unused)
            # Still the user's live token of this purpose (tokens issued before this rule have none recorded).
            write.condition_check(User, *User.key(token.user_id),
                                  condition=current.does_not_exist() | (current == token_hash))
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise TokenInvalid() from None  # used a moment ago, or superseded by a newer link
        raise
    token.used_at = now
    return token

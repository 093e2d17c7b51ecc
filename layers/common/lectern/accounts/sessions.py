"""Sessions: an access token plus a rotating refresh token.

Every sign-in starts a refresh-token *family*. Refreshing consumes the old
refresh token (single use, lectern.accounts.tokens) and issues the next one
in the same family. Presenting a token that was already used means two
parties hold it (one of them stole it), so the whole family is revoked and
both must sign in again (OAuth 2.0 Security BCP, refresh token rotation).

Families are `RefreshFamily` items (lectern.models.users), under the user's
partition, so "revoke every session of a user" (password reset) is one Query.
"""
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from lectern import jwt_tokens
from lectern.accounts import schemas, tokens
from lectern.accounts.users import get_user
from lectern.clock import iso, utcnow
from lectern.errors import NotSignedIn
from lectern.ids import new_id
from lectern.models.users import OneTimeToken, RefreshFamily, User, families_of, family_id_of


def _family_expiry() -> int:
    return int((utcnow() + tokens.LIFETIMES[tokens.REFRESH] + timedelta(days=1)).timestamp())


def user_view(user: User) -> schemas.User:
    return schemas.User(id=user.id, name=user.name, email=user.email, email_verified=bool(user.email_verified),
                        email_verified_at=user.email_verified_at)


def _token_response(user: User, family_id: str) -> schemas.TokenResponse:
    refresh = tokens.issue(tokens.REFRESH, user.id, family_id=family_id)
    access = jwt_tokens.mint(user.id)
    return schemas.TokenResponse(user=user_view(user), access_token=access.token, token_type="Bearer",
                                 expires_in=access.expires_in, refresh_token=refresh.raw)


def start(user: User) -> schemas.TokenResponse:
    """A new session (new family) for `user`: the contract's TokenResponse."""
    family_id = new_id()
    pk, sk = RefreshFamily.key(user.id, family_id)
    RefreshFamily(pk, sk, user_id=user.id, created_at=iso(), expires_at_epoch=_family_expiry()).save()
    return _token_response(user, family_id)


def revoke_family(user_id: str, family_id: str | None, reason: str) -> None:
    if not family_id:
        return
    pk, sk = RefreshFamily.key(user_id, family_id)
    try:
        RefreshFamily(pk, sk).update(
            actions=[RefreshFamily.revoked_at.set(iso()), RefreshFamily.revoke_reason.set(reason)],
            condition=RefreshFamily.pk.exists() & RefreshFamily.revoked_at.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise  # already revoked (or gone): nothing to do


def revoke_all(user_id: str, reason: str) -> int:
    """Revoke every live session of a user (after a password reset). Returns how many."""
    live = [f for f in families_of(user_id)
            if f.revoked_at is None]
    for family in live:
        revoke_family(user_id, family_id_of(family), reason)
    return len(live)


def _lookup(raw: str) -> OneTimeToken | None:
    pk, sk = OneTimeToken.key(tokens.hash_token(raw or ""))
    try:
        token = OneTimeToken.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None
    return token if token.purpose == tokens.REFRESH else None


_INVALID = "The refresh token is invalid, expired or already used; sign in again."


def rotate(raw: str) -> schemas.TokenResponse:
    """Consume a refresh token and answer a new TokenResponse in the same family."""
    token = _lookup(raw)
    if token is None:
        raise NotSignedIn(_INVALID)
    if token.used_at is not None:
        revoke_family(token.user_id, token.family_id, "refresh token reused")
        raise NotSignedIn(_INVALID)
    # One conditional write both checks the family is live and keeps it from expiring.
    pk, sk = RefreshFamily.key(token.user_id, token.family_id or "")
    try:
        RefreshFamily(pk, sk).update(actions=[RefreshFamily.expires_at_epoch.set(_family_expiry())],
                                     condition=RefreshFamily.pk.exists() & RefreshFamily.revoked_at.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotSignedIn(_INVALID) from None
        raise
    try:
        tokens.use(token, tokens.REFRESH)  # read above, consistently: no second GetItem
    except tokens.TokenExpired:
        raise NotSignedIn(_INVALID) from None
    except tokens.TokenInvalid:  # used by a concurrent request a moment ago: treat as reuse
        revoke_family(token.user_id, token.family_id, "refresh token reused")
        raise NotSignedIn(_INVALID) from None
    user = get_user(token.user_id)
    if user is None:
        raise NotSignedIn(_INVALID)
    return _token_response(user, token.family_id)


def end(raw: str) -> None:
    """Logout: burn the refresh token and end its family. Silent when it is unknown."""
    token = _lookup(raw)
    if token is None:
        return
    if token.used_at is None:
        try:
            tokens.use(token, tokens.REFRESH)
        except (tokens.TokenInvalid, tokens.TokenExpired):
            pass
    revoke_family(token.user_id, token.family_id, "logout")

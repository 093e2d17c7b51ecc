"""Access tokens: short-lived HS256 JWTs signed with a key from Secrets Manager.

Why HS256: only Lectern's own functions mint and verify these tokens, so a
shared secret is enough, Secrets Manager can generate it (GenerateSecretString)
and rotating it needs no key-pair tooling. Verification pins the algorithm
list, the issuer and the audience and requires exp/iat/sub, so `alg: none`,
RS/HS confusion, foreign tokens and tokens without expiry all fail.
"""
import uuid
from dataclasses import dataclass

from lectern import config, secrets
from lectern.clock import utcnow
from lectern.pyjwt import jwt

config.require("AUTH_SECRET_ARN")  # at import: no function that mints or checks tokens starts without its key

ALGORITHM = "HS256"
ISSUER = "lectern"
AUDIENCE = "lectern-api"
ACCESS_TOKEN_SECONDS = 15 * 60
_LEEWAY_SECONDS = 30  # clock skew between Lambda hosts


class InvalidAccessToken(Exception):
    """Missing, malformed, tampered, expired or foreign token."""


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


def _signing_key() -> str:
    # Env `AUTH_SIGNING_KEY` locally and in tests; deployed, the JSON secret's `signing_key`
    # field through Powertools Parameters (cached five minutes by lectern.secrets).
    return secrets.secret(config.settings().auth_signing_key)


def issuer() -> str:
    return config.settings().auth_issuer


def mint(user_id: str) -> AccessToken:
    now = int(utcnow().timestamp())
    claims = {"sub": user_id, "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECONDS,
              "iss": issuer(), "aud": AUDIENCE, "jti": uuid.uuid4().hex}
    return AccessToken(jwt.encode(claims, _signing_key(), algorithm=ALGORITHM), ACCESS_TOKEN_SECONDS)


def verify(token: str) -> str:
    """The user id (`sub`) of a valid access token; raises InvalidAccessToken otherwise."""
    try:
        claims = jwt.decode(
            token, _signing_key(), algorithms=[ALGORITHM], audience=AUDIENCE, issuer=issuer(),
            leeway=_LEEWAY_SECONDS, options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidAccessToken("no subject")
    return subject

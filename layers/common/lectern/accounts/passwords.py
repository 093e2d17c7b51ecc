"""Password hashing (argon2id) and the password policy.

Parameters: RFC 9106's "low memory" profile, argon2id, t=3, m=64 MiB, p=4
(0.1-0.2 s on a 512 MB Lambda). Hashes carry their parameters, so raising
them later only needs the `needs_rehash` check on login.
"""
from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from lectern.errors import ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 128  # hashing cost grows with length; also bounds the request body

PROFILE = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PROFILE)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Same parameters as real hashes, so checking an unknown email costs what checking a known one does.
    return _hasher.hash("lectern-dummy-password-for-timing")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True iff `password` matches. With no hash (unknown user, unclaimed account) a dummy
    hash is still verified, so the answer takes as long either way (no user enumeration)."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _classes(password: str) -> int:
    return sum((
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ))


def problems(password: str, email: str) -> list[str]:
    """Why `password` is not acceptable for the account `email` (empty when it is)."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        found.append(f"must be at most {MAX_LENGTH} characters long")
    if _classes(password) < 2:
        found.append("must mix at least two of: lowercase, uppercase, digits, symbols")
    lowered, email = password.strip().lower(), email.strip().lower()
    if lowered and (lowered == email or lowered == email.split("@", 1)[0]):
        found.append("must not be your email address")
    return found


def check_policy(password: str, email: str) -> None:
    """Raise 422 validation_failed with `details.password` when the policy is not met."""
    found = problems(password, email)
    if found:
        raise ValidationFailed("The password does not meet the password policy.", details={"password": found})

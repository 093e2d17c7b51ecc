"""Creating and finding users. Email uniqueness is a DynamoDB condition:
the user item and its EMAIL# claim are written in one transaction, so two
concurrent sign-ups (or guest purchases) with one email make one user."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from lectern.clock import iso
from lectern.ids import new_id
from lectern.models.base import transaction
from lectern.models.users import EmailClaim, User, normalize_email


class EmailAlreadyRegistered(Exception):
    def __init__(self, user_id: str):
        super().__init__(user_id)
        self.user_id = user_id


def get_user(user_id: str) -> User | None:
    pk, sk = User.key(user_id)
    try:
        return User.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def user_id_for_email(email: str) -> str | None:
    pk, sk = EmailClaim.key(email)
    try:
        return EmailClaim.get(pk, sk, consistent_read=True).user_id
    except DoesNotExist:
        return None


def create_user(email: str, *, name: str = "", password_hash: str | None = None,
                created_via: str = "register", email_verified: bool = False) -> User:
    """Create a user, or raise EmailAlreadyRegistered with the owner's id."""
    email = normalize_email(email)
    now = iso()
    user_id = new_id()
    pk, sk = User.key(user_id)
    user = User(pk, sk, id=user_id, email=email, name=name, password_hash=password_hash,
                email_verified=email_verified, email_verified_at=now if email_verified else None,
                created_via=created_via, created_at=now, updated_at=now)
    claim_pk, claim_sk = EmailClaim.key(email)
    claim = EmailClaim(claim_pk, claim_sk, user_id=user_id, created_at=now)
    try:
        with transaction() as write:
            write.save(claim, condition=EmailClaim.pk.does_not_exist())
            write.save(user, condition=User.pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            owner = user_id_for_email(email)
            if owner:
                raise EmailAlreadyRegistered(owner) from None
        raise
    return user


def ensure_user_for_email(email: str) -> tuple[User, bool]:
    """The account that owns `email`, creating a password-less one if none does.
    Returns (user, created). Safe under concurrency: exactly one is created."""
    existing = user_id_for_email(email)
    if existing is None:
        try:
            return create_user(email, created_via="guest_checkout"), True
        except EmailAlreadyRegistered as exc:
            existing = exc.user_id
    user = get_user(existing)
    if user is None:  # the claim is written with the user in one transaction; this cannot happen
        raise RuntimeError(f"email claim points at missing user {existing}")
    return user, False

"""Users table: users, their unique emails, emailed tokens and login throttles.

- user:            pk = USER#<id>,        sk = PROFILE
- email claim:     pk = EMAIL#<email>,    sk = EMAIL   (uniqueness: written with the user in one transaction)
- one-time token:  pk = TOKEN#<sha256>,   sk = TOKEN   (claim, verify, reset, refresh; only the hash is stored)
- login throttle:  pk = THROTTLE#<email>, sk = LOGIN   (expires through `expires_at_epoch`, the table's TTL)
- refresh family:  pk = USER#<id>,       sk = FAMILY#<family id> (one per sign-in; TTL pushed on rotation)
- rate counter:    pk = RATE#<scope>#<subject>, sk = WINDOW (mails per address / requests per client; TTL)
- outbox mail:     pk = OUTBOX,           sk = MAIL#<kind>:<ref> (a mail SES did not take, until it is sent)
"""
from collections.abc import Iterator

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from lectern.models.base import KeyedModel, meta

_META = meta("USERS_TABLE")


def normalize_email(email: str) -> str:
    return email.strip().lower()


class User(KeyedModel):
    Meta = _META

    id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    password_hash = UnicodeAttribute(null=True)  # None: created by a guest purchase, not claimed yet
    email_verified = BooleanAttribute(default=False)
    email_verified_at = UnicodeAttribute(null=True)  # when it first became verified; set with `email_verified`
    created_via = UnicodeAttribute(default="register")  # register | guest_checkout | operator
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # The hash of the one live emailed token per purpose: issuing a new one supersedes the last.
    claim_token_hash = UnicodeAttribute(null=True)
    verify_email_token_hash = UnicodeAttribute(null=True)
    reset_password_token_hash = UnicodeAttribute(null=True)

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", "PROFILE"


class EmailClaim(KeyedModel):
    """Exists iff an account owns the email: the uniqueness rule as a DynamoDB condition."""

    Meta = _META

    user_id = UnicodeAttribute()
    created_at = UnicodeAttribute()

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"EMAIL#{normalize_email(email)}", "EMAIL"


class OneTimeToken(KeyedModel):
    Meta = _META

    purpose = UnicodeAttribute()  # claim | verify_email | reset_password | refresh
    user_id = UnicodeAttribute()
    family_id = UnicodeAttribute(null=True)  # refresh-token rotation family
    order_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    expires_at_epoch = NumberAttribute(null=True)  # TTL: DynamoDB removes it some time after expiry

    @staticmethod
    def key(token_hash: str) -> tuple[str, str]:
        return f"TOKEN#{token_hash}", "TOKEN"


class LoginThrottle(KeyedModel):
    Meta = _META

    failures = NumberAttribute(default=0)
    expires_at_epoch = NumberAttribute()

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"THROTTLE#{normalize_email(email)}", "LOGIN"


class RefreshFamily(KeyedModel):
    """A refresh-token family: one per sign-in; revoked as a whole when a used token is replayed."""

    Meta = _META

    user_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
    revoke_reason = UnicodeAttribute(null=True)
    expires_at_epoch = NumberAttribute()  # TTL, pushed forward on every rotation

    @staticmethod
    def key(user_id: str, family_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"FAMILY#{family_id}"


class RateCounter(KeyedModel):
    """Hits within a window (mails sent to one address, mail requests from one client), counted
    with an atomic ADD; the window ends at `expires_at_epoch` (also the table's TTL)."""

    Meta = _META

    hits = NumberAttribute(default=0)
    expires_at_epoch = NumberAttribute()

    @staticmethod
    def key(scope: str, subject: str) -> tuple[str, str]:
        return f"RATE#{scope}#{subject}", "WINDOW"


OUTBOX_PK = "OUTBOX"


class OutboxMail(KeyedModel):
    """A mail SES did not take (refused, throttled, unreachable), kept until it is sent.

    The message itself is not stored (claim and reset links carry tokens, which are stored only
    hashed): `kind` and `ref` (an order or user id) say what to rebuild. One partition holds them
    all: failed mails are few, and the retry and the operator list them with one Query."""

    Meta = _META

    id = UnicodeAttribute()                          # "<kind>:<ref>", what operators type
    kind = UnicodeAttribute()                        # receipt | purchase_claim | claim | verify_email | reset_password
    ref = UnicodeAttribute()                         # order id (receipt, purchase_claim) or user id
    to = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()                      # pending | sending | sent | gave_up | obsolete
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    last_attempt_at = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)         # epoch seconds: one sender at a time
    expires_at_epoch = NumberAttribute(null=True)    # TTL, once sent or obsolete

    @staticmethod
    def key(mail_id: str) -> tuple[str, str]:
        return OUTBOX_PK, f"MAIL#{mail_id}"


# ------------------------------------------------------------------ access patterns (docs/data-model.md)

def families_of(user_id: str) -> Iterator["RefreshFamily"]:
    """#8a: a user's sign-in families."""
    return RefreshFamily.query(f"USER#{user_id}", RefreshFamily.sk.startswith("FAMILY#"))


def family_id_of(family: "RefreshFamily") -> str:
    return family.sk.removeprefix("FAMILY#")


def token_hash_of(token: "OneTimeToken") -> str:
    return token.pk.removeprefix("TOKEN#")


def outbox_mails(*, filter_condition=None, consistent_read: bool = False) -> Iterator["OutboxMail"]:
    """#21: the mails recorded in the outbox, oldest first."""
    return OutboxMail.query(OUTBOX_PK, OutboxMail.sk.startswith("MAIL#"), filter_condition=filter_condition,
                            consistent_read=consistent_read)

"""The account emails (verify, claim, reset): their texts, how they are sent, how they are retried.

Each carries a fresh one-time token, which supersedes the last link of its purpose
(lectern.accounts.tokens). A send SES does not take goes to the outbox
(lectern.notifications.outbox), whose retry rebuilds the mail with MAIL_BUILDERS below,
with a new token: tokens are never stored in clear, so the old text cannot be kept.

This module imports no argon2 or JWT code: MailRetryFunction loads it with CoreLayer only.
"""
from urllib.parse import quote

from lectern import config
from lectern.accounts import throttle, tokens
from lectern.accounts.users import get_user
from lectern.clock import iso, utcnow
from lectern.models.users import OutboxMail, User
from lectern.notifications import email, outbox
from lectern.observability import logger

VERIFY_EMAIL, CLAIM, RESET_PASSWORD = "verify_email", "claim", "reset_password"  # outbox kinds
# Amazon SES's mailbox simulator: accepts and drops the mail, in the sandbox too, and counts
# neither as a bounce nor a complaint. Forgot-password mails unknown addresses' decoys here.
DECOY_RECIPIENT = "success@simulator.amazonses.com"


def _link(path: str, raw_token: str) -> str:
    return f"{config.frontend_url()}{path}?token={quote(raw_token, safe='')}"


# ------------------------------------------------------------------ texts (each issues its token)

def verification(user: User) -> email.Message:
    issued = tokens.issue(tokens.VERIFY_EMAIL, user.id)
    return email.Message(
        to=user.email, subject="Confirm your email address",
        text=f"Confirm your Lectern email address:\n\n{_link('/verify-email', issued.raw)}\n\n"
             f"The link works once and expires at {issued.expires_at}.")


def claim(user: User) -> email.Message:
    issued = tokens.issue(tokens.CLAIM, user.id)
    return email.Message(
        to=user.email, subject="Set a password for your Lectern account",
        text="Your purchases are waiting in your Lectern library. Choose a password to open it:\n\n"
             f"{_link('/claim', issued.raw)}\n\nThe link works once and expires at {issued.expires_at}. "
             "Only the newest link you were sent works.")


def _reset_text(to: str, issued: tokens.IssuedToken) -> email.Message:
    return email.Message(
        to=to, subject="Reset your Lectern password",
        text=f"Someone (hopefully you) asked to reset your password:\n\n{_link('/reset-password', issued.raw)}\n\n"
             f"The link works once and expires at {issued.expires_at}. If it was not you, ignore this email.")


def reset(user: User) -> email.Message:
    return _reset_text(user.email, tokens.issue(tokens.RESET_PASSWORD, user.id))


# ------------------------------------------------------------------ sending

def _deliver(kind: str, user: User, message: email.Message) -> None:
    # The account change already happened: a mail outage must not turn it into an error. A send
    # SES refuses is in the outbox; only if even that write failed is the mail lost (logged).
    try:
        outbox.deliver(kind, user.id, message, user_id=user.id)
    except Exception:  # noqa: BLE001
        logger.exception("Email neither sent nor recorded", extra={"kind": kind, "user_id": user.id})


def send_verification(user: User) -> None:
    """Once per account (registering an address twice is a 409), so not limited per address."""
    _deliver(VERIFY_EMAIL, user, verification(user))


def send_claim(user: User) -> bool:
    """A fresh claim link to the account's own address, within the address's mail limit.
    True when a mail was handed to SES or the outbox."""
    if not throttle.allow_mail_to(user.email):
        logger.info("Claim mail skipped: address over its mail limit", extra={"user_id": user.id})
        return False
    _deliver(CLAIM, user, claim(user))
    return True


def send_reset(user: User | None) -> None:
    """The reset link, or, for an address without an account, the same work for nobody: the
    same token, hash and DynamoDB transaction (cancelled by its condition, nothing stored) and
    the same SES request, to the mailbox simulator. The answer takes as long either way."""
    if user is None:
        message = _reset_text(DECOY_RECIPIENT, tokens.issue_decoy(tokens.RESET_PASSWORD))
        try:
            email.send(message)
        except email.SEND_FAILURES:
            pass  # nobody waits for it
        return
    _deliver(RESET_PASSWORD, user, reset(user))


# ------------------------------------------------------------------ retries (lectern.notifications.outbox)

def _retry_verification(mail: OutboxMail) -> email.Message | None:
    user = get_user(mail.ref)
    return verification(user) if user is not None and not user.email_verified else None


def _retry_claim(mail: OutboxMail) -> email.Message | None:
    user = get_user(mail.ref)
    return claim(user) if user is not None and user.password_hash is None else None


def _retry_reset(mail: OutboxMail) -> email.Message | None:
    # A reset asked for more than a link's lifetime ago is not what the person is waiting for now.
    if mail.created_at < iso(utcnow() - tokens.LIFETIMES[tokens.RESET_PASSWORD]):
        return None
    user = get_user(mail.ref)
    return reset(user) if user is not None else None


MAIL_BUILDERS = {VERIFY_EMAIL: _retry_verification, CLAIM: _retry_claim, RESET_PASSWORD: _retry_reset}

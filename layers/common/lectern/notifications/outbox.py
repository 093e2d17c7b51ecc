"""Mail that SES did not take, kept until it is sent: record, retry with back-off, list, resend.

An email never decides whether the thing it tells about happens: a purchase is fulfilled and an
account is changed whatever SES says. When a send fails (any SES error: MessageRejected from the
sandbox, Throttling...; or SES unreachable or too slow), `deliver` records an OutboxMail (Users
table, partition OUTBOX): what (`kind` and `ref`, an order or user id), to whom, why
(`last_error`), `attempts` and `next_attempt_at`. MailRetryFunction (every 5 minutes) and
`python -m lectern_admin mail resend` send it again.

The message is rebuilt when it is retried, by the builder its kind names (MAIL_BUILDERS of
the modules in _BUILDER_MODULES), from the data as it is then: claim and reset links carry
tokens, which are never stored in clear, so a retry issues a fresh one (which supersedes the
undelivered one), and a mail that is no longer wanted (the account was claimed meanwhile) is
marked `obsolete` instead of sent.

Exactly once: the caller decides a mail is due once (fulfillment claims a stamp on the order)
and hands it over here; from then on the OutboxMail is the only sender, and every attempt first
takes a lease on it with a conditional write, so the scheduled retry and an operator's resend
never both send it. The one case that can still send twice is SES's own ambiguity: a send whose
answer was lost (a read timeout) counts as failed and is sent again.
"""
import importlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist, UpdateError

from lectern.clock import iso, utcnow
from lectern.models.base import condition_failed
from lectern.models.users import OutboxMail, outbox_mails
from lectern.notifications import email
from lectern.observability import logger

PENDING, SENDING, SENT, GAVE_UP, OBSOLETE = "pending", "sending", "sent", "gave_up", "obsolete"
MAX_ATTEMPTS = 8                      # the first send and seven retries, over about two hours
BASE_DELAY_SECONDS = 60               # then 2, 4, 8... minutes (the schedule runs every 5)
MAX_DELAY_SECONDS = 6 * 3600
LEASE_SECONDS = 120                   # far longer than one attempt may take (ATTEMPT_BUDGET_MS)
KEEP_DONE_SECONDS = 14 * 24 * 3600    # sent and obsolete records stay listable, then the TTL removes them
_BUILDER_MODULES = ("lectern.accounts.mails", "lectern.payments.purchase_mails")

Builder = Callable[[OutboxMail], "email.Message | None"]  # None: the mail is not wanted any more


def mail_id(kind: str, ref: str) -> str:
    return f"{kind}:{ref}"


def backoff_seconds(attempts: int) -> int:
    """The wait after the `attempts`-th failed send: 1, 2, 4, ... minutes, at most 6 hours."""
    return min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)


def describe(exc: BaseException) -> str:
    """`MessageRejected: Email address is not verified...`: what operators read in `mail failed`."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:1000]


# ------------------------------------------------------------------ first send

def deliver(kind: str, ref: str, message: email.Message, *, user_id: str | None = None,
            order_id: str | None = None) -> bool:
    """Send `message` now. If SES fails, record it for the retry and return False.
    Raises only when the failure could not be recorded either (then the caller's own retry,
    e.g. Stripe's redelivery, must send it)."""
    try:
        email.send(message)
        return True
    except email.SEND_FAILURES as exc:
        logger.warning("Email not sent; recorded for retry", extra={"mail_id": mail_id(kind, ref),
                                                                    "error": describe(exc)})
        record_failure(kind, ref, message.to, exc, user_id=user_id, order_id=order_id)
        return False


def record_failure(kind: str, ref: str, to: str, exc: BaseException, *, user_id: str | None = None,
                   order_id: str | None = None) -> OutboxMail:
    """One record per kind and ref: a new failure for the same mail starts its schedule afresh."""
    now = utcnow()
    ident = mail_id(kind, ref)
    mail = OutboxMail(*OutboxMail.key(ident), id=ident, kind=kind, ref=ref, to=to, user_id=user_id,
                      order_id=order_id, status=PENDING, attempts=1, created_at=iso(now), last_attempt_at=iso(now),
                      next_attempt_at=iso(now + timedelta(seconds=backoff_seconds(1))), last_error=describe(exc))
    mail.save()
    return mail


# ------------------------------------------------------------------ retries

@dataclass
class Attempt:
    mail_id: str
    outcome: str            # sent | failed | gave_up | obsolete | busy | already_sent | unknown | error
    error: str | None = None


@lru_cache(maxsize=1)
def builders() -> dict[str, Builder]:
    found: dict[str, Builder] = {}
    for name in _BUILDER_MODULES:
        found.update(importlib.import_module(name).MAIL_BUILDERS)
    return found


def listing(*, include_done: bool = False) -> Iterator[OutboxMail]:
    """Every recorded mail not sent yet (pending, being sent, given up), oldest first (one Query)."""
    condition = None if include_done else OutboxMail.status.is_in(PENDING, SENDING, GAVE_UP)
    yield from outbox_mails(filter_condition=condition, consistent_read=True)


def _due(mail: OutboxMail, now_iso: str, now_epoch: int) -> bool:
    if mail.status == PENDING:
        return (mail.next_attempt_at or "") <= now_iso
    # A sender that died holding the lease (timed out mid-send): after the lease, it is due again.
    return mail.status == SENDING and (mail.lease_until or 0) < now_epoch


# One attempt takes at most about this long (SES: two tries of 2 s connect + 4 s read; DynamoDB).
ATTEMPT_BUDGET_MS = 12_000


def retry_due(*, limit: int = 50, time_left_ms: Callable[[], int] = lambda: 60_000) -> list[Attempt]:
    """What MailRetryFunction runs: send every mail whose next attempt is due, at most `limit`,
    and none once fewer than ATTEMPT_BUDGET_MS are left (so every outcome gets recorded)."""
    now_iso, now_epoch = iso(), int(time.time())
    attempts: list[Attempt] = []
    for mail in outbox_mails(filter_condition=OutboxMail.status.is_in(PENDING, SENDING), consistent_read=True):
        if len(attempts) >= limit or time_left_ms() < ATTEMPT_BUDGET_MS:
            break
        if not _due(mail, now_iso, now_epoch):
            continue
        try:
            attempts.append(attempt(mail))
        except Exception as exc:  # noqa: BLE001 - recording the outcome failed: the lease expires, it is retried
            logger.exception("Email retry could not be recorded", extra={"mail_id": mail.id})
            attempts.append(Attempt(mail.id, "error", describe(exc)))
    return attempts


def resend(ident: str) -> Attempt:
    """An operator's resend: now, whatever the schedule says, and also after the retries gave up."""
    try:
        mail = OutboxMail.get(*OutboxMail.key(ident), consistent_read=True)
    except DoesNotExist:
        return Attempt(ident, "unknown")
    if mail.status == SENT:
        return Attempt(ident, "already_sent")
    return attempt(mail, force=True)


def attempt(mail: OutboxMail, *, force: bool = False) -> Attempt:
    """Take the lease, rebuild, send, record the outcome. Never raises for a failed send."""
    lease = _take_lease(mail, force=force)
    if lease is None:
        return Attempt(mail.id, "busy")
    try:
        message = builders()[mail.kind](mail)
        if message is None:
            _finish(mail, lease, OBSOLETE)
            return Attempt(mail.id, OBSOLETE)
        email.send(message)
    except Exception as exc:  # noqa: BLE001 - SES or rebuilding failed: either way, try again later
        logger.warning("Email retry failed", extra={"mail_id": mail.id, "error": describe(exc)})
        return Attempt(mail.id, _failed(mail, lease, exc), describe(exc))
    _finish(mail, lease, SENT)
    logger.info("Email sent on retry", extra={"mail_id": mail.id, "attempts": int(mail.attempts)})
    return Attempt(mail.id, SENT)


def _take_lease(mail: OutboxMail, *, force: bool) -> int | None:
    now_iso, now_epoch = iso(), int(time.time())
    lease = now_epoch + LEASE_SECONDS
    expired_lease = (OutboxMail.status == SENDING) & (OutboxMail.lease_until < now_epoch)
    if force:
        condition = OutboxMail.status.is_in(PENDING, GAVE_UP, OBSOLETE) | expired_lease
    else:
        condition = ((OutboxMail.status == PENDING) & (OutboxMail.next_attempt_at <= now_iso)) | expired_lease
    try:
        mail.update(actions=[OutboxMail.status.set(SENDING), OutboxMail.lease_until.set(lease),
                             OutboxMail.attempts.add(1), OutboxMail.last_attempt_at.set(now_iso)],
                    condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return None  # another sender holds it, or it is not due any more
        raise
    return lease


def _holding(lease: int):
    return (OutboxMail.status == SENDING) & (OutboxMail.lease_until == lease)


def _finish(mail: OutboxMail, lease: int, status: str) -> None:
    actions = [OutboxMail.status.set(status), OutboxMail.lease_until.remove(), OutboxMail.next_attempt_at.remove(),
               OutboxMail.expires_at_epoch.set(int(time.time()) + KEEP_DONE_SECONDS)]
    if status == SENT:
        actions.append(OutboxMail.sent_at.set(iso()))
    _update_holding(mail, lease, actions)


def _failed(mail: OutboxMail, lease: int, exc: BaseException) -> str:
    attempts = int(mail.attempts)
    status = GAVE_UP if attempts >= MAX_ATTEMPTS else PENDING
    actions = [OutboxMail.status.set(status), OutboxMail.lease_until.remove(),
               OutboxMail.last_error.set(describe(exc))]
    if status == PENDING:
        # Counted from the attempt's start (the lease's stamp), so the wait between two attempts is the
        # back-off whatever the send took.
        started = datetime.fromisoformat(mail.last_attempt_at) if mail.last_attempt_at else utcnow()
        actions.append(OutboxMail.next_attempt_at.set(iso(started + timedelta(seconds=backoff_seconds(attempts)))))
    else:
        actions.append(OutboxMail.next_attempt_at.remove())
    _update_holding(mail, lease, actions)
    return "failed" if status == PENDING else GAVE_UP


def _update_holding(mail: OutboxMail, lease: int, actions: list) -> None:
    try:
        mail.update(actions=actions, condition=_holding(lease))
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        # Our lease ran out and another sender took the mail: its outcome is the one to keep.
        logger.warning("Outbox lease lost", extra={"mail_id": mail.id})

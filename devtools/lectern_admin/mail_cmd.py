"""`mail` command: the mails SES did not take (the outbox), and sending them again.

    python -m lectern_admin mail failed [--all]          # not sent yet: what, to whom, why, attempts, next try
    python -m lectern_admin mail resend MAIL_ID [...]    # send these now (also after the retries gave up)
    python -m lectern_admin mail resend --due            # what MailRetryFunction does every five minutes
    python -m lectern_admin mail resend --all            # every mail not sent yet, now

A MAIL_ID is what `mail failed` prints first, `<kind>:<order or user id>`, e.g.
`purchase_claim:01jd…`. Resending goes through lectern.notifications.outbox, as the
scheduled retry does: the mail is rebuilt from the data as it is now (a claim or reset
link gets a fresh token; a claim for an account that has a password by now is `obsolete`),
and a lease on the record keeps it from being sent twice. Runbook: docs/payments.md.
Exit codes: 0 every mail sent (or no longer needed, or none due), 1 one was not sent (failed,
already sent, being sent by another run), 2 unknown id.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mail", help="mails SES did not take: list, resend",
                                   description="The outbox: mails SES did not take, and sending them again "
                                               "(docs/payments.md).")
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")

    failed = actions.add_parser("failed", help="list the mails not sent yet, with why and when they are tried next")
    failed.add_argument("--all", action="store_true", help="also the ones sent or no longer needed (kept 14 days)")
    failed.set_defaults(handler=run_failed)

    resend = actions.add_parser("resend", help="send mails of the outbox now")
    which = resend.add_mutually_exclusive_group(required=True)
    which.add_argument("mail_ids", nargs="*", default=[], metavar="MAIL_ID", help="as `mail failed` lists them")
    which.add_argument("--due", action="store_true", help="only those whose next attempt is due (the scheduled run)")
    which.add_argument("--all", action="store_true", help="every mail not sent yet")
    resend.set_defaults(handler=run_resend)


def _quiet_logs() -> None:
    # The outbox logs JSON for CloudWatch; here the printed lines say it all.
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def run_failed(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    _quiet_logs()
    from lectern.notifications import outbox

    count = 0
    for mail in outbox.listing(include_done=getattr(args, "all", False)):
        count += 1
        when = f"next={mail.next_attempt_at}" if mail.next_attempt_at else f"last={mail.last_attempt_at}"
        print(f"{mail.id}  {mail.status}  to={mail.to}  attempts={int(mail.attempts)}  {when}  "
              f"{mail.last_error or ''}", file=out)
    print(f"{count} mail(s)", file=out)
    return 0


def run_resend(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    _quiet_logs()
    from lectern.notifications import outbox

    if args.due:
        attempts = outbox.retry_due(limit=10_000, time_left_ms=lambda: 10**9)
    elif args.all:
        ids = [mail.id for mail in outbox.listing()]
        attempts = [outbox.resend(ident) for ident in ids]
    else:
        attempts = [outbox.resend(ident) for ident in args.mail_ids]
    for attempt in attempts:
        print(f"{attempt.mail_id}  {attempt.outcome}{'  ' + attempt.error if attempt.error else ''}", file=out)
    print(f"{len(attempts)} mail(s)", file=out)
    if any(a.outcome == "unknown" for a in attempts):
        return 2
    return 0 if all(a.outcome in (outbox.SENT, outbox.OBSOLETE) for a in attempts) else 1

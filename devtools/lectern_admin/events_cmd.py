"""`events` command: apply Stripe events by hand, through the webhook's own code path.

    python -m lectern_admin events reprocess evt_123          # re-run a stored event from its stored payload
    python -m lectern_admin events replay [--since ISO]       # events Stripe failed to deliver, oldest first
    python -m lectern_admin events failed                     # stored events whose processing failed
    python -m lectern_admin events sign events/stripe_webhook.json   # re-sign a sample for `sam local invoke`

Both reprocess and replay call lectern.payments.webhook.apply_event, exactly
as the webhook function does, so every effect stays idempotent. Runbook:
docs/payments.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "events", help="Stripe events: reprocess, replay, list failures",
        description="Apply Stripe events through the webhook's code path (docs/payments.md).")
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")

    reprocess = actions.add_parser("reprocess", help="re-run one stored event from its stored payload")
    reprocess.add_argument("event_id", help="Stripe event id, evt_...")
    reprocess.set_defaults(handler=run_reprocess)

    replay = actions.add_parser("replay", help="fetch events Stripe could not deliver and apply them")
    replay.add_argument("--since", type=_iso_datetime, metavar="ISO",
                        help="only events created at or after this time (e.g. 2026-11-25T10:00:00Z)")
    replay.set_defaults(handler=run_replay)

    failed = actions.add_parser("failed", help="list stored events whose processing failed")
    failed.set_defaults(handler=run_failed)

    sign = actions.add_parser("sign", help="print a function URL event with a fresh Stripe-Signature")
    sign.add_argument("file", help="a function URL event JSON, e.g. events/stripe_webhook.json")
    sign.add_argument("--secret", help="webhook secret (default: STRIPE_WEBHOOK_SECRET / the Stripe secret)")
    sign.set_defaults(handler=run_sign)


def _iso_datetime(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run_reprocess(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    _quiet_logs()
    from lectern.payments import webhook

    try:
        event, payload = webhook.stored(args.event_id)
    except KeyError:
        print(f"{args.event_id}: not recorded (use `events replay` for events that never arrived)", file=out)
        return 1
    return 0 if _apply(event, payload, out, force=True) else 1


def run_replay(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    _quiet_logs()
    from lectern import stripe_gateway

    params: dict = {"delivery_success": False, "limit": 100}
    if args.since:
        params["created"] = {"gte": int(args.since.timestamp())}
    listing = stripe_gateway.client().v1.events.list(params=params)
    # Stripe lists newest first; apply oldest first, as they happened.
    events = sorted((event.to_dict() for event in listing.auto_paging_iter()), key=lambda e: e["created"])
    failures = sum(not _apply(event, json.dumps(event), out) for event in events)
    print(f"{len(events)} event(s), {failures} failed", file=out)
    return 1 if failures else 0


def _quiet_logs() -> None:
    # The webhook code logs JSON at INFO for CloudWatch; here the printed outcome says it all.
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def _apply(event: dict, payload: str, out: TextIO, *, force: bool = False) -> bool:
    from lectern.errors import ProcessingFailed
    from lectern.payments import webhook

    try:
        outcome = webhook.apply_event(event, payload, force=force)
    except ProcessingFailed as exc:
        cause = exc.__cause__
        print(f"{event['id']}  {event['type']}  FAILED: {type(cause).__name__}: {cause}", file=out)
        return False
    print(f"{event['id']}  {event['type']}  {outcome}", file=out)
    return True


def run_failed(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from lectern.models.events import PROCESSED, StripeEvent

    count = 0
    for record in StripeEvent.scan(StripeEvent.status != PROCESSED):
        count += 1
        print(f"{record.stripe_event_id}  {record.type}  {record.status}  attempts={int(record.attempts)}  "
              f"received={record.received_at}  {record.processing_error or ''}", file=out)
    print(f"{count} unprocessed event(s)", file=out)
    return 0


def run_sign(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Exit 2 with one `error:` line (no traceback) when the file or the secret is missing."""
    import base64
    import binascii

    from lectern import stripe_gateway
    from lectern.secrets import MissingSecret
    from lectern_admin.stripe_signature import sign_payload

    try:
        with open(args.file, encoding="utf-8") as handle:
            event = json.load(handle)
        if not isinstance(event, dict):
            raise ValueError("not a function URL event (a JSON object)")
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body, validate=True).decode("utf-8")
        secret = args.secret or stripe_gateway.webhook_secret()
    except (OSError, ValueError, binascii.Error) as error:  # JSON and UTF-8 errors are ValueErrors
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 2
    except MissingSecret as error:
        print(f"error: no webhook secret to sign with: {error} (set STRIPE_WEBHOOK_SECRET or pass --secret)",
              file=sys.stderr)
        return 2
    event.setdefault("headers", {})["stripe-signature"] = sign_payload(body, secret)
    print(json.dumps(event, indent=2), file=out)
    return 0

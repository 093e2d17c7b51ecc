"""`stripe-webhook` command: register the stack's webhook in Stripe and keep its signing secret.

    python -m lectern_admin stripe-webhook --stage staging [--dry-run]

Reads the stack's StripeWebhookUrl and the Stripe secret key (StripeSecret, set by `secrets
set`), then makes sure Stripe has exactly one endpoint at that URL, subscribed to the events
the webhook handles (lectern.payments.webhook.SUBSCRIBED_EVENTS). Stripe shows an endpoint's
signing secret only when it creates it, so a new endpoint's secret goes straight into
StripeSecret (`webhook_secret`); an existing endpoint whose secret Lectern has is updated in
place, and one whose secret it lacks is replaced. Run it again any time: it changes nothing
when all is right.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stripe-webhook", help="register the webhook endpoint in Stripe, store its secret",
                                   description="Register the stack's webhook in Stripe (docs/deploy.md).")
    parser.add_argument("--stage", required=True, choices=("dev", "staging", "prod"))
    parser.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    import boto3
    import stripe

    from lectern.payments.webhook import SUBSCRIBED_EVENTS
    from lectern_admin.stack import StackError, outputs, secret_fields, stage_config

    try:
        config = stage_config(args.stage)
        session = boto3.session.Session(region_name=config.region)
        secretsmanager = session.client("secretsmanager")
        values = outputs(session.client("cloudformation"), config.stack_name)
        secret_arn = values["StripeSecretArn"]
        current = secret_fields(secretsmanager, secret_arn)
        if not current.get("secret_key"):
            raise StackError(f"StripeSecret has no secret_key: run `make secrets STAGE={args.stage}` first")
        client = stripe.StripeClient(current["secret_key"], http_client=stripe.UrllibClient())
        ensure_endpoint(client, secretsmanager, secret_arn, values["StripeWebhookUrl"], SUBSCRIBED_EVENTS,
                        description=f"Lectern ({config.stack_name})", dry_run=args.dry_run, out=out)
    except (StackError, stripe.StripeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def ensure_endpoint(client, secretsmanager, secret_arn: str, url: str, events: list[str], *, description: str,
                    dry_run: bool = False, out: TextIO = sys.stdout) -> str:
    """Make Stripe's endpoints at `url` one, subscribed to `events`, whose secret StripeSecret holds.
    Returns what it did: unchanged | updated | created | replaced."""
    from lectern_admin.stack import secret_fields

    current = secret_fields(secretsmanager, secret_arn)
    endpoints = [e for e in _all_endpoints(client) if e["url"] == url]
    keep = endpoints[0] if endpoints and current.get("webhook_secret") else None
    if keep is not None:
        action = "unchanged"
        if sorted(keep.get("enabled_events") or []) != sorted(events) or keep.get("status") != "enabled":
            action = "updated"
            if not dry_run:
                client.v1.webhook_endpoints.update(keep["id"], params={"enabled_events": list(events),
                                                                        "disabled": False})
        stale = endpoints[1:]
    else:
        action = "replaced" if endpoints else "created"
        stale = endpoints
        if not dry_run:
            created = client.v1.webhook_endpoints.create(params={
                "url": url, "enabled_events": list(events), "description": description}).to_dict()
            stored = {**current, "webhook_secret": created["secret"]}
            stored.setdefault("secret_key", "")
            secretsmanager.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(stored))
    for endpoint in stale:  # duplicates, or the one whose secret is unknown: Stripe would sign for nobody
        if not dry_run:
            client.v1.webhook_endpoints.delete(endpoint["id"])
    prefix = "(dry run) would be " if dry_run else ""
    print(f"Stripe webhook endpoint {url}: {prefix}{action}"
          + (f"; {len(stale)} other endpoint(s) at this URL removed" if stale else ""), file=out)
    if action in ("created", "replaced") and not dry_run:
        print("Its signing secret is stored in StripeSecret (webhook_secret); the webhook reads it within five "
              "minutes.", file=out)
    return action


def _all_endpoints(client) -> list[dict[str, Any]]:
    found, params = [], {"limit": 100}
    while True:
        page = client.v1.webhook_endpoints.list(params=params).to_dict()
        found += page.get("data") or []
        if not page.get("has_more") or not found:
            return found
        params = {"limit": 100, "starting_after": found[-1]["id"]}

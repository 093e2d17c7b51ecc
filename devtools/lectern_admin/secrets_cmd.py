"""`secrets` command: put the operator's keys into the stack's secrets, never into a file or the template.

    python -m lectern_admin secrets set --stage staging [--only stripe|playback] [--from-env]
    python -m lectern_admin secrets status --stage staging

The stack creates StripeSecret and PlaybackSigningSecret empty (no SecretString, so no
deploy can overwrite them). `set` asks for each value without echoing it (or, with
--from-env, reads STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, PLAYBACK_KEY_ID and
PLAYBACK_PRIVATE_KEY_FILE) and writes a new version of the secret, keeping any field
left blank. The webhook's signing secret is best set by `stripe-webhook`, which
registers the endpoint. `status` says which fields are set, never their values.
"""
from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class SecretField:
    name: str
    prompt: str
    env: str
    required: bool
    check: Callable[[str], str | None] = lambda value: None  # None: fine; else why not


@dataclass(frozen=True)
class StackSecret:
    key: str  # the --only name
    output: str  # stack output holding its ARN
    fields: tuple[SecretField, ...]


def _stripe_key(value: str) -> str | None:
    return None if value.startswith(("sk_live_", "sk_test_", "rk_live_", "rk_test_")) else \
        "a Stripe secret or restricted key starts with sk_live_, sk_test_, rk_live_ or rk_test_"


def _webhook_secret(value: str) -> str | None:
    return None if value.startswith("whsec_") else "a webhook signing secret starts with whsec_"


def _pem(value: str) -> str | None:
    text = value if "-----BEGIN" in value else _b64(value)
    return None if text and "PRIVATE KEY-----" in text else "not a PEM private key (as a file, or base64 of one)"


def _b64(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


SECRETS = (
    StackSecret("stripe", "StripeSecretArn", (
        SecretField("secret_key", "Stripe secret key (sk_live_... or sk_test_...)", "STRIPE_SECRET_KEY", True,
                    _stripe_key),
        SecretField("webhook_secret", "Stripe webhook signing secret (whsec_...; blank: `make stripe-webhook` sets it)",
                    "STRIPE_WEBHOOK_SECRET", False, _webhook_secret),
    )),
    StackSecret("playback", "PlaybackSecretArn", (
        SecretField("key_id", "Cloudflare Stream signing key id (blank: set it later; lessons cannot play without it)",
                    "PLAYBACK_KEY_ID", False),
        SecretField("private_key_pem", "path of its private key PEM file", "PLAYBACK_PRIVATE_KEY_FILE", False, _pem),
    )),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("secrets", help="set the stack's secrets (Stripe, Cloudflare Stream)",
                                   description="The stack's secrets, set without a file (docs/deploy.md).")
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")
    set_ = actions.add_parser("set", help="ask for each value and store it (blank keeps the current one)")
    set_.add_argument("--stage", required=True, choices=("dev", "staging", "prod"))
    set_.add_argument("--only", choices=[s.key for s in SECRETS], help="just this secret")
    set_.add_argument("--from-env", action="store_true",
                      help="read " + ", ".join(f.env for s in SECRETS for f in s.fields) + " instead of asking")
    set_.set_defaults(handler=run_set)
    status = actions.add_parser("status", help="which fields each secret has (never the values)")
    status.add_argument("--stage", required=True, choices=("dev", "staging", "prod"))
    status.set_defaults(handler=run_status)


def _clients(stage: str):
    import boto3

    from lectern_admin.stack import stage_config

    config = stage_config(stage)
    session = boto3.session.Session(region_name=config.region)
    return config, session.client("cloudformation"), session.client("secretsmanager")


def run_set(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from lectern_admin.stack import StackError, outputs

    try:
        config, cloudformation, secretsmanager = _clients(args.stage)
        values = outputs(cloudformation, config.stack_name)
        source = environment_values if args.from_env else prompt_values
        for secret in SECRETS:
            if args.only in (None, secret.key):
                set_secret(secretsmanager, values[secret.output], secret, source, out=out)
    except (StackError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run_status(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from lectern_admin.stack import StackError, outputs

    try:
        config, cloudformation, secretsmanager = _clients(args.stage)
        values = outputs(cloudformation, config.stack_name)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in status_lines(secretsmanager, values):
        print(line, file=out)
    return 0


def status_lines(secretsmanager, values: dict[str, str]) -> list[str]:
    from lectern_admin.stack import secret_fields

    lines = []
    for secret in SECRETS:
        current = secret_fields(secretsmanager, values[secret.output])
        for field in secret.fields:
            state = "set" if current.get(field.name) else ("MISSING" if field.required else "not set")
            lines.append(f"{secret.key}.{field.name}: {state}")
    return lines


def missing_required(secretsmanager, values: dict[str, str]) -> list[str]:
    """`stripe.secret_key`-style names of the required fields that have no value yet."""
    from lectern_admin.stack import secret_fields

    missing = []
    for secret in SECRETS:
        current = secret_fields(secretsmanager, values[secret.output])
        missing += [f"{secret.key}.{f.name}" for f in secret.fields if f.required and not current.get(f.name)]
    return missing


def prompt_values(field: SecretField, has_value: bool) -> str:
    keep = " [Enter keeps the current value]" if has_value else ""
    if field.name == "private_key_pem":
        path = input(f"{field.prompt}{keep}: ").strip()
        return Path(path).expanduser().read_text() if path else ""
    return getpass.getpass(f"{field.prompt}{keep}: ").strip()


def environment_values(field: SecretField, has_value: bool) -> str:
    value = os.environ.get(field.env, "").strip()
    if field.name == "private_key_pem" and value:
        return Path(value).expanduser().read_text()
    return value


def set_secret(secretsmanager, secret_arn: str, secret: StackSecret,
               source: Callable[[SecretField, bool], str], *, out: TextIO = sys.stdout) -> bool:
    """Ask `source` for each field, keep what it leaves blank, store a new version if anything changed.
    Raises ValueError for a value that cannot be right (nothing is stored then)."""
    from lectern_admin.stack import secret_fields

    current = secret_fields(secretsmanager, secret_arn)
    updated = dict(current)
    for field in secret.fields:
        value = source(field, bool(current.get(field.name)))
        if not value:
            continue
        problem = field.check(value)
        if problem:
            raise ValueError(f"{secret.key}.{field.name}: {problem}")
        updated[field.name] = value
    missing = [f.name for f in secret.fields if f.required and not updated.get(f.name)]
    if missing:
        raise ValueError(f"{secret.key}: {', '.join(missing)} is required")
    if updated == current:
        print(f"{secret.key}: unchanged", file=out)
        return False
    for field in secret.fields:  # the shape the functions read (lectern.secrets): every field present
        updated.setdefault(field.name, "")
    secretsmanager.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(updated))
    names = ", ".join(f.name for f in secret.fields if updated.get(f.name) != current.get(f.name))
    print(f"{secret.key}: stored a new version ({names})", file=out)
    return True


def missing_webhook_secret(secretsmanager, values: dict[str, str]) -> bool:
    """True until the webhook's signing secret is stored (`stripe-webhook` stores it)."""
    from lectern_admin.stack import secret_fields

    return not secret_fields(secretsmanager, values["StripeSecretArn"]).get("webhook_secret")

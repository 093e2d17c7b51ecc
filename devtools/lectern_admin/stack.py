"""A deployed Lectern stack, as the operator commands see it: which stack a stage is (samconfig.toml),
and what its outputs say (table, bucket and secret names, the shop's and the webhook's URLs).

Used by `deploy`, `secrets` and `stripe-webhook`; nothing here runs on Lambda.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMCONFIG = REPO_ROOT / "samconfig.toml"
STAGES = ("dev", "staging", "prod")
# What the functions read (template.yaml's environment) → the output that names it.
OUTPUT_FOR_VARIABLE = {
    "CATALOG_TABLE": "CatalogTableName",
    "USERS_TABLE": "UsersTableName",
    "ORDERS_TABLE": "OrdersTableName",
    "ENTITLEMENTS_TABLE": "EntitlementsTableName",
    "STRIPE_EVENTS_TABLE": "StripeEventsTableName",
    "ASSETS_BUCKET": "AssetsBucketName",
    "STRIPE_SECRET_ARN": "StripeSecretArn",
    "EMAIL_FROM": "EmailFrom",
    "FRONTEND_URL": "SiteUrl",
}


class StackError(RuntimeError):
    """Something an operator must fix; the message says what."""


@dataclass
class StageConfig:
    stage: str
    config_env: str  # samconfig.toml environment: `default` for dev
    stack_name: str
    region: str
    parameter_overrides: dict[str, str] = field(default_factory=dict)


def parse_overrides(text: str) -> dict[str, str]:
    """samconfig's `parameter_overrides` (Key="value" Key2="value 2") as a dict."""
    return {key: value for key, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text or "")}


def format_overrides(overrides: dict[str, str]) -> list[str]:
    """For `sam deploy --parameter-overrides`: one Key="value" argument each (SAM CLI refuses Key= for an
    empty value, and splits an unquoted one at spaces)."""
    for key, value in overrides.items():
        if '"' in value or "\\" in value:
            raise StackError(f"parameter {key}: quotes and backslashes cannot be passed to sam deploy")
    return [f'{key}="{value}"' for key, value in overrides.items()]


def stage_config(stage: str, samconfig: Path = SAMCONFIG) -> StageConfig:
    if stage not in STAGES:
        raise StackError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    config = tomllib.loads(samconfig.read_text())
    env = "default" if stage == "dev" else stage
    section = config.get(env) or {}
    stack_name = ((section.get("global") or {}).get("parameters") or {}).get("stack_name")
    deploy = (section.get("deploy") or {}).get("parameters") or {}
    if not stack_name:
        raise StackError(f"{samconfig.name} has no [{env}.global.parameters] stack_name")
    region = os.environ.get("AWS_REGION") or deploy.get("region") or "us-east-1"
    return StageConfig(stage, env, stack_name, region, parse_overrides(deploy.get("parameter_overrides", "")))


def outputs(cloudformation, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key; StackError when the stack does not exist."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise StackError(f"stack {stack_name} does not exist yet: run `make deploy` first") from None
        raise
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}


def environment_from_outputs(values: dict[str, str], region: str) -> dict[str, str]:
    """The variables lectern's operator commands (catalog apply, events ...) need for this stack."""
    missing = sorted(key for key in OUTPUT_FOR_VARIABLE.values() if key not in values)
    if missing:
        raise StackError(f"the stack has no output {', '.join(missing)}: deploy the current template.yaml")
    env = {variable: values[key] for variable, key in OUTPUT_FOR_VARIABLE.items()}
    env.update({"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
    return env


def secret_fields(secretsmanager, secret_arn: str) -> dict[str, Any]:
    """The JSON value of a secret ({} while the stack's secret is still empty)."""
    import json

    from botocore.exceptions import ClientError

    try:
        value = secretsmanager.get_secret_value(SecretId=secret_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return {}  # created without a value: no AWSCURRENT version yet
        raise
    try:
        data = json.loads(value.get("SecretString") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def register(subparsers) -> None:
    """`stack-env`: the environment the operator commands need for a deployed stage, as shell exports.

        eval "$(python -m lectern_admin stack-env --stage staging)"
        python -m lectern_admin events failed
    """
    parser = subparsers.add_parser("stack-env", help="print exports that point the operator commands at a stage",
                                   description="Shell exports for a deployed stage's tables, bucket and secrets.")
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.set_defaults(handler=run_env)


def run_env(args, out=None) -> int:
    import shlex
    import sys

    import boto3

    out = out or sys.stdout
    try:
        config = stage_config(args.stage)
        values = outputs(boto3.client("cloudformation", region_name=config.region), config.stack_name)
        env = environment_from_outputs(values, config.region)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, value in env.items():
        print(f"export {name}={shlex.quote(value)}", file=out)
    print("unset AWS_ENDPOINT_URL STRIPE_API_BASE STRIPE_SECRET_KEY STRIPE_WEBHOOK_SECRET", file=out)
    return 0

"""`deploy` command: from a built template to a working shop, in one pass (`make deploy STAGE=...`).

    python -m lectern_admin deploy --stage staging [--email-from no-reply@example.com] [--domain shop.example.com
        --certificate-arn arn:aws:acm:us-east-1:...] [--alarm-email ops@example.com] [--catalog FILE | --no-catalog]
        [--confirm] [--dry-run]

`make deploy` runs `make build` first (the arm64 build, checked native file by native file),
then this, which:
1. checks the stack name (a longer one would overflow a name the template derives from it),
   the sender address, and how much Lambda concurrency the account can reserve for the webhook;
2. `sam deploy`s the stage of samconfig.toml, with the parameters given here on top of the
   stack's current ones (a later deploy does not silently drop a domain or an alarm address);
3. reads the stack's outputs; asks for the Stripe secret key if StripeSecret has none yet
   (`secrets set`; without a terminal it stops and says so);
4. uploads web/ to the storefront bucket with a config.js pointing at the same-origin /api,
   and invalidates the distribution;
5. applies the catalog against the stack's table, bucket and Stripe secret (from its outputs);
6. prints the sender domain's DKIM records and its verification state, warns while the SES
   account is in the sandbox, and prints the shop's URL and the webhook URL for Stripe.

Every step is a function of boto3 clients (tests/api/test_deploy_cmd.py runs them against moto);
--dry-run prints what each step would run, touching nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import mimetypes
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lectern_admin.stack import REPO_ROOT, StackError, StageConfig

WEB_DIR = REPO_ROOT / "web"
DEFAULT_CATALOG = REPO_ROOT / "catalog" / "demo.yaml"
# What the storefront is told about the API once deployed: its own origin, under the distribution's /api/*.
DEPLOYED_CONFIG_JS = 'export default { apiBase: "/api" };\n'
# Pages and config change meaning together, so browsers revalidate them; the rest may be a little stale.
NO_CACHE = ("index.html", "config.js")
CACHE_CONTROL, NO_CACHE_CONTROL = "public, max-age=300", "no-cache"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
                 ".txt": "text/plain; charset=utf-8", ".webmanifest": "application/manifest+json"}
# Names the template derives from the stack name, and the longest each may be (AWS's limits).
NAME_LIMITS = {
    ("AWS::CloudFront::Function", ("Name",)): 64,
    ("AWS::CloudFront::OriginAccessControl", ("OriginAccessControlConfig", "Name")): 64,
    ("AWS::CloudFront::ResponseHeadersPolicy", ("ResponseHeadersPolicyConfig", "Name")): 128,
    ("AWS::SSM::Parameter", ("Name",)): 1011,  # 1011 characters including the parameter's path
    ("AWS::CloudWatch::Dashboard", ("DashboardName",)): 255,
}
STACK_NAME_MAX = 128  # CloudFormation's own limit
# Lambda keeps this much of the account's concurrency unreserved; reserving more fails the deploy.
UNRESERVED_MINIMUM = 100
TEMPLATE_EMAIL_FROM = "no-reply@lectern.example"


# ------------------------------------------------------------------ checks before deploying

def stack_name_limit(template: dict[str, Any]) -> tuple[int, str]:
    """The longest stack name every name derived from it fits in, and the resource that sets it."""
    limit, why = STACK_NAME_MAX, "CloudFormation's limit"
    for name, resource in template["Resources"].items():
        for (resource_type, path), maximum in NAME_LIMITS.items():
            if resource["Type"] != resource_type:
                continue
            value: Any = resource.get("Properties") or {}
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, dict) and value.get("Ref") == "AWS::StackName":
                fixed = 0
            elif isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str) and \
                    "${AWS::StackName}" in value["Fn::Sub"]:
                fixed = len(value["Fn::Sub"].replace("${AWS::StackName}", ""))
            else:
                continue
            if maximum - fixed < limit:
                limit, why = maximum - fixed, f"{name}'s {'.'.join(path)} ({resource_type}, at most {maximum})"
    return limit, why


def check_stack_name(stack_name: str, template: dict[str, Any]) -> None:
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", stack_name):
        raise StackError(f"stack name {stack_name!r}: letters, digits and hyphens only, starting with a letter")
    limit, why = stack_name_limit(template)
    if len(stack_name) > limit:
        raise StackError(f"stack name {stack_name!r} has {len(stack_name)} characters; at most {limit} fit {why}. "
                         f"Choose a shorter stack_name in samconfig.toml.")


def check_email_from(email_from: str) -> None:
    if email_from.lower() == TEMPLATE_EMAIL_FROM:
        raise StackError(f"EmailFrom is the template's example ({TEMPLATE_EMAIL_FROM}), a domain nobody can verify: "
                         f"pass EMAIL_FROM=no-reply@<your domain> (docs/deploy.md)")


def webhook_concurrency(lambda_client, requested: int, already_reserved: int = 0) -> tuple[int, str | None]:
    """What to reserve for the webhook: `requested`, or 0 (unbounded) with a warning when the account's
    quota cannot spare it (new accounts may have a quota of 10, and Lambda keeps 100 unreserved)."""
    if requested <= 0:
        return 0, None
    limits = lambda_client.get_account_settings()["AccountLimit"]
    spare = limits["UnreservedConcurrentExecutions"] + already_reserved - UNRESERVED_MINIMUM
    if requested <= spare:
        return requested, None
    return 0, (f"this account's Lambda concurrency quota is {limits['ConcurrentExecutions']}, too small to reserve "
               f"{requested} for the webhook (Lambda keeps {UNRESERVED_MINIMUM} unreserved): deploying it unbounded. "
               f"Ask for more (Service Quotas > AWS Lambda > Concurrent executions), then run make deploy again.")


def reserved_for_webhook(cloudformation, lambda_client, stack_name: str) -> int:
    """The webhook's current reservation (it returns to the pool when the deploy changes it); 0 if none."""
    from botocore.exceptions import ClientError

    try:
        physical = cloudformation.describe_stack_resource(
            StackName=stack_name, LogicalResourceId="StripeWebhookFunction")["StackResourceDetail"]["PhysicalResourceId"]
        return int(lambda_client.get_function_concurrency(FunctionName=physical).get("ReservedConcurrentExecutions") or 0)
    except ClientError:
        return 0


def previous_parameters(cloudformation, stack_name: str) -> dict[str, str]:
    """The parameters the stack runs with now ({} for a new stack)."""
    from botocore.exceptions import ClientError

    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError:
        return {}
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
            if not p.get("ResolvedValue")}


def merged_parameters(template: dict[str, Any], previous: dict[str, str], samconfig: dict[str, str],
                      given: dict[str, str]) -> dict[str, str]:
    """Template defaults < the stack's current values < samconfig.toml < what this deploy was given.
    `sam deploy --parameter-overrides` replaces samconfig's list and resets anything left out to its
    default, so the whole set is passed every time."""
    declared = template.get("Parameters", {})
    merged = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    for layer in (previous, samconfig, given):
        merged.update({key: value for key, value in layer.items() if key in declared})
    unknown = sorted(set(samconfig) - set(declared))
    if unknown:
        raise StackError(f"samconfig.toml sets {', '.join(unknown)}, which template.yaml does not declare")
    return merged


def sam_deploy_command(config: StageConfig, parameters: dict[str, str], *, confirm: bool) -> list[str]:
    from lectern_admin.stack import format_overrides

    return ["sam", "deploy", "--config-env", config.config_env, "--region", config.region,
            "--no-fail-on-empty-changeset", "--confirm-changeset" if confirm else "--no-confirm-changeset",
            "--parameter-overrides", *format_overrides(parameters)]


# ------------------------------------------------------------------ the storefront

def web_files(web_dir: Path = WEB_DIR) -> dict[str, bytes]:
    """Every file of web/ by its key in the bucket, with the deployed config.js in place of the local one."""
    files = {path.relative_to(web_dir).as_posix(): path.read_bytes()
             for path in sorted(web_dir.rglob("*")) if path.is_file() and "__pycache__" not in path.parts}
    files["config.js"] = DEPLOYED_CONFIG_JS.encode()
    return files


def object_headers(key: str) -> dict[str, str]:
    suffix = Path(key).suffix.lower()
    content_type = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    return {"ContentType": content_type, "CacheControl": NO_CACHE_CONTROL if key in NO_CACHE else CACHE_CONTROL}


def upload_web(s3, bucket: str, files: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """Put every file (skipping those whose content is already there), delete what web/ no longer has.
    Returns (uploaded keys, deleted keys)."""
    existing: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        existing.update({item["Key"]: item.get("ETag", "").strip('"') for item in page.get("Contents", [])})
    uploaded = []
    for key, body in files.items():
        if existing.get(key) == hashlib.md5(body, usedforsecurity=False).hexdigest():
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=body, **object_headers(key))
        uploaded.append(key)
    stale = sorted(set(existing) - set(files))
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale[start:start + 1000]]})
    return uploaded, stale


def invalidate(cloudfront, distribution_id: str) -> str:
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"lectern-deploy-{time.time_ns()}"}
    return cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch=batch)["Invalidation"]["Id"]


# ------------------------------------------------------------------ catalog

def catalog_apply_command(catalog: Path) -> list[str]:
    return [sys.executable, "-m", "lectern_admin", "catalog", "apply", str(catalog)]


def catalog_apply_environment(outputs: dict[str, str], region: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The operator's environment, pointed at the stack (never at a local endpoint)."""
    from lectern_admin.stack import environment_from_outputs

    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in ("AWS_ENDPOINT_URL", "STRIPE_API_BASE", "STRIPE_SECRET_KEY")}
    env.update(environment_from_outputs(outputs, region))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "layers" / "common"), str(REPO_ROOT / "devtools")])
    return env


# ------------------------------------------------------------------ SES

def dkim_records(domain: str, tokens: list[str]) -> list[str]:
    return [f"{token}._domainkey.{domain}  CNAME  {token}.dkim.amazonses.com" for token in tokens]


def ses_report(sesv2, email_from: str) -> tuple[list[str], bool]:
    """Lines about the sender's SES identity (DKIM records to publish, verification) and the account
    (sandbox or production). Returns (lines, ready to mail anyone)."""
    from botocore.exceptions import ClientError

    domain = email_from.rsplit("@", 1)[1]
    lines, ready = [], True
    try:
        identity = sesv2.get_email_identity(EmailIdentity=domain)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NotFoundException":
            raise
        identity = None
    if identity is None:
        ready = False
        lines.append(f"SES: {domain} is not an identity in this account and region. Deploy with "
                     f"CreateEmailIdentity=true (the default), or verify it yourself in SES.")
    else:
        dkim = identity.get("DkimAttributes") or {}
        verified = bool(identity.get("VerifiedForSendingStatus"))
        if not verified:
            ready = False
        lines.append(f"SES identity {domain}: {'verified' if verified else 'NOT verified yet'} "
                     f"(DKIM {dkim.get('Status', 'unknown')})")
        if dkim.get("Tokens"):
            lines.append("  DNS records that verify it (publish them at your DNS provider; SES checks for 72 hours):")
            lines += [f"    {record}" for record in dkim_records(domain, dkim["Tokens"])]
    account = sesv2.get_account()
    quota = account.get("SendQuota") or {}
    if not account.get("ProductionAccessEnabled"):
        ready = False
        lines += [
            "WARNING: this SES account is in the sandbox: it mails only verified addresses "
            f"(at most {quota.get('Max24HourSend', 200):.0f} a day), so buyers get no receipts or claim links.",
            "  Ask for production access once (docs/deploy.md, Email):",
            "    aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL \\",
            "      --website-url <SiteUrl> --use-case-description 'Receipts and sign-in links for course buyers' "
            f"--region {sesv2.meta.region_name}",
        ]
    else:
        lines.append(f"SES account: production access, {quota.get('Max24HourSend', 0):.0f} emails a day, "
                     f"{quota.get('MaxSendRate', 0):.0f} a second.")
    return lines, ready


# ------------------------------------------------------------------ the command

@dataclass
class Options:
    stage: str
    parameters: dict[str, str] = field(default_factory=dict)  # given on the command line
    catalog: Path | None = DEFAULT_CATALOG
    confirm: bool = False
    dry_run: bool = False


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("deploy", help="deploy a stage: stack, storefront, catalog (make deploy)",
                                   description="One pass from a built template to a working shop (docs/deploy.md).")
    parser.add_argument("--stage", required=True, choices=("dev", "staging", "prod"))
    parser.add_argument("--email-from", help="EmailFrom: the sender, at a domain you control")
    parser.add_argument("--domain", help="DomainName: the shop's own domain ('' removes it)")
    parser.add_argument("--certificate-arn", help="CertificateArn: ACM certificate (us-east-1) for --domain")
    parser.add_argument("--alarm-email", help="AlarmEmail: who the alarms mail")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="any other template parameter (repeatable)")
    catalog = parser.add_mutually_exclusive_group()
    catalog.add_argument("--catalog", type=Path, help=f"catalog file to apply (default for dev and staging: "
                                                     f"{DEFAULT_CATALOG.relative_to(REPO_ROOT)})")
    catalog.add_argument("--no-catalog", action="store_true", help="do not apply a catalog")
    parser.add_argument("--confirm", action="store_true", help="review the change set before it is applied")
    parser.add_argument("--dry-run", action="store_true", help="print what each step would run; change nothing")
    parser.set_defaults(handler=run)


def options_from(args: argparse.Namespace) -> Options:
    given = {}
    for key, value in (("EmailFrom", args.email_from), ("DomainName", args.domain),
                       ("CertificateArn", args.certificate_arn), ("AlarmEmail", args.alarm_email)):
        if value is not None:
            given[key] = value
    for item in args.parameter:
        key, sep, value = item.partition("=")
        if not sep:
            raise StackError(f"--parameter {item!r}: KEY=VALUE")
        given[key] = value
    if args.no_catalog:
        catalog = None
    elif args.catalog:
        catalog = args.catalog
    elif args.stage == "prod":
        raise StackError("prod needs its own catalog: CATALOG=catalog/<yours>.yaml (or --no-catalog)")
    else:
        catalog = DEFAULT_CATALOG
    return Options(args.stage, given, catalog, args.confirm, args.dry_run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        options = options_from(args)
        if options.dry_run:
            dry_run(options, out=out)
        else:
            deploy(options, out=out)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"error: {shlex.join(str(a) for a in error.cmd[:3])} ... failed (exit {error.returncode})", file=sys.stderr)
        return 1
    return 0


def _say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def dry_run(options: Options, *, out: TextIO = sys.stdout) -> None:
    """Each step's command, with the values only the stack knows as <OutputKey>: no AWS call at all."""
    from lectern_admin.stack import stage_config
    from lectern_admin import template_file as tpl

    config = stage_config(options.stage)
    template = tpl.load()
    check_stack_name(config.stack_name, template)
    parameters = merged_parameters(template, {}, config.parameter_overrides, options.parameters)
    env = " ".join(f"{k}=<{v}>" for k, v in (("CATALOG_TABLE", "CatalogTableName"), ("ASSETS_BUCKET", "AssetsBucketName"),
                                             ("STRIPE_SECRET_ARN", "StripeSecretArn")))
    steps = [
        ("check the stack name, the sender and the account's Lambda concurrency",
         f"aws lambda get-account-settings --region {config.region}"),
        ("deploy the stack (parameters: the stack's current ones, then samconfig.toml's, then these)",
         shlex.join(sam_deploy_command(config, parameters, confirm=options.confirm))),
        ("read its outputs",
         f"aws cloudformation describe-stacks --stack-name {config.stack_name} --region {config.region} "
         f"--query 'Stacks[0].Outputs'"),
        ("make sure the Stripe secret key is set (asks for it, without echo, if not)",
         f"python -m lectern_admin secrets set --stage {options.stage} --only stripe"),
        (f"upload web/ with config.js = {DEPLOYED_CONFIG_JS.strip()}",
         "aws s3 sync web/ s3://<WebBucketName>/ --delete  # index.html, config.js: Cache-Control no-cache"),
        ("invalidate the storefront", "aws cloudfront create-invalidation --distribution-id <WebDistributionId> "
                                      "--paths '/*'"),
    ]
    if options.catalog:
        steps.append(("apply the catalog to the stack's table, bucket and Stripe account",
                      f"{env} python -m lectern_admin catalog apply {options.catalog}"))
    domain = parameters.get("EmailFrom", TEMPLATE_EMAIL_FROM).rsplit("@", 1)[1]
    steps += [
        ("print the sender domain's DKIM records", f"aws sesv2 get-email-identity --email-identity {domain}"),
        ("warn if SES is still in the sandbox", "aws sesv2 get-account"),
        ("print the shop's URL and the webhook URL", "(outputs SiteUrl, StripeWebhookUrl)"),
    ]
    _say(out, f"Dry run: make deploy STAGE={options.stage} -> stack {config.stack_name} in {config.region}")
    for number, (what, command) in enumerate(steps, 1):
        _say(out, f"{number:>2}. {what}\n    $ {command}")
    if parameters.get("EmailFrom", "").lower() == TEMPLATE_EMAIL_FROM:
        _say(out, f"note: EmailFrom is still {TEMPLATE_EMAIL_FROM}; a real deploy needs EMAIL_FROM=no-reply@<your domain>")


def deploy(options: Options, *, out: TextIO = sys.stdout, session=None,
           run_command: Callable[..., Any] = subprocess.run, ask_secrets: Callable[..., Any] | None = None) -> dict[str, str]:
    """The whole deploy; returns the stack's outputs. `session`, `run_command` and `ask_secrets` are
    the seams the tests use (boto3 session, subprocess.run, the secret prompt)."""
    import boto3

    from lectern_admin import secrets_cmd
    from lectern_admin.stack import outputs as read_outputs
    from lectern_admin.stack import stage_config
    from lectern_admin import template_file as tpl

    config = stage_config(options.stage)
    session = session or boto3.session.Session(region_name=config.region)
    cloudformation, lambda_client = session.client("cloudformation"), session.client("lambda")
    template = tpl.load()

    _say(out, f"== 1. checks ({config.stack_name}, {config.region})")
    check_stack_name(config.stack_name, template)
    parameters = merged_parameters(template, previous_parameters(cloudformation, config.stack_name),
                                   config.parameter_overrides, options.parameters)
    check_email_from(parameters["EmailFrom"])
    reserved, warning = webhook_concurrency(lambda_client, int(parameters["WebhookReservedConcurrency"]),
                                            reserved_for_webhook(cloudformation, lambda_client, config.stack_name))
    parameters["WebhookReservedConcurrency"] = str(reserved)
    if warning:
        _say(out, f"WARNING: {warning}")

    _say(out, "== 2. sam deploy")
    run_command(sam_deploy_command(config, parameters, confirm=options.confirm), cwd=REPO_ROOT, check=True)

    _say(out, "== 3. outputs and secrets")
    values = read_outputs(cloudformation, config.stack_name)
    secretsmanager = session.client("secretsmanager")
    if secrets_cmd.missing_required(secretsmanager, values):
        if ask_secrets is None and not sys.stdin.isatty():
            raise StackError(f"StripeSecret has no secret_key yet: run `make secrets STAGE={options.stage}`, "
                             f"then `make deploy STAGE={options.stage}` again (the stack is deployed)")
        stripe_secret = next(s for s in secrets_cmd.SECRETS if s.key == "stripe")
        secrets_cmd.set_secret(secretsmanager, values[stripe_secret.output], stripe_secret,
                               ask_secrets or secrets_cmd.prompt_values, out=out)

    _say(out, "== 4. storefront")
    uploaded, deleted = upload_web(session.client("s3"), values["WebBucketName"], web_files())
    invalidation = invalidate(session.client("cloudfront"), values["WebDistributionId"])
    _say(out, f"   {len(uploaded)} files uploaded, {len(deleted)} removed; invalidation {invalidation}")

    if options.catalog:
        _say(out, f"== 5. catalog {options.catalog}")
        run_command(catalog_apply_command(options.catalog), cwd=REPO_ROOT, check=True,
                    env=catalog_apply_environment(values, config.region))

    _say(out, "== 6. email")
    lines, _ready = ses_report(session.client("sesv2"), values["EmailFrom"])
    for line in lines:
        _say(out, line)

    _say(out, "")
    for line in summary(options.stage, values, parameters, secrets_cmd.missing_webhook_secret(secretsmanager, values)):
        _say(out, line)
    return values


def summary(stage: str, values: dict[str, str], parameters: dict[str, str], webhook_secret_missing: bool) -> list[str]:
    lines = [f"The shop:            {values['SiteUrl']}",
             f"Stripe webhook URL:  {values['StripeWebhookUrl']}",
             f"Dashboard:           {values.get('DashboardUrl', '-')}"]
    if parameters.get("DomainName"):
        lines.append(f"DNS: point {parameters['DomainName']} at {values['DistributionDomainName']} "
                     f"(CNAME, or a Route 53 alias record).")
    if parameters.get("AlarmEmail"):
        lines.append(f"Alarms mail {parameters['AlarmEmail']} once it confirms AWS's subscription email.")
    if webhook_secret_missing:
        lines.append(f"Next: make stripe-webhook STAGE={stage}   (registers the URL above in Stripe and stores "
                     f"its signing secret)")
    return lines

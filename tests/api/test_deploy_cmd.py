"""`make deploy`, `make secrets`, `make stripe-webhook` (devtools/lectern_admin), step by step against moto
(CloudFormation outputs, S3, CloudFront, Secrets Manager) and botocore's Stubber where moto has no
answer (Lambda's account settings, SES v2's DKIM tokens and account status). `sam deploy` itself is
the one thing no test can run: the end-to-end test stands a stack with the same outputs in its place."""
import argparse
import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lectern_admin import deploy_cmd, secrets_cmd, stripe_webhook_cmd
from lectern_admin.stack import (OUTPUT_FOR_VARIABLE, StackError, environment_from_outputs, format_overrides,
                                 outputs, parse_overrides, stage_config)
from lectern_dev import template as tpl

REGION = "us-east-1"


# ------------------------------------------------------------------ checks and parameters

def test_stack_names_that_would_overflow_a_derived_name_are_refused():
    limit, why = deploy_cmd.stack_name_limit(tpl.load())
    # ${AWS::StackName}-web-rewrite, a CloudFront Function name (at most 64 characters).
    assert (limit, why.split("'")[0]) == (64 - len("-web-rewrite"), "WebRewriteFunction")
    deploy_cmd.check_stack_name("l" * limit, tpl.load())
    with pytest.raises(StackError, match=f"at most {limit}"):
        deploy_cmd.check_stack_name("l" * (limit + 1), tpl.load())
    for bad in ("1lectern", "lectern_prod", "lectern prod"):
        with pytest.raises(StackError, match="letters, digits and hyphens"):
            deploy_cmd.check_stack_name(bad, tpl.load())
    for stage in ("dev", "staging", "prod"):  # what samconfig.toml ships fits
        deploy_cmd.check_stack_name(stage_config(stage).stack_name, tpl.load())


def test_samconfig_stages():
    staging = stage_config("staging")
    assert (staging.config_env, staging.stack_name, staging.region) == ("staging", "lectern-staging", REGION)
    assert staging.parameter_overrides == {"Stage": "staging", "LogLevel": "INFO"}
    assert stage_config("dev").config_env == "default"
    with pytest.raises(StackError):
        stage_config("qa")


def test_parameters_keep_the_stacks_values_unless_given_and_sam_reads_them_back():
    from samcli.cli.types import CfnParameterOverridesType

    template = tpl.load()
    previous = {"DomainName": "shop.example.com", "EmailFrom": "no-reply@example.com", "LogLevel": "DEBUG"}
    merged = deploy_cmd.merged_parameters(template, previous, {"Stage": "prod", "LogLevel": "WARNING"},
                                          {"AlarmEmail": "ops@example.com", "CertificateArn": ""})
    assert merged["DomainName"] == "shop.example.com"  # kept: a later deploy does not drop the domain
    assert merged["LogLevel"] == "WARNING"  # samconfig.toml over the stack's value
    assert merged["AlarmEmail"] == "ops@example.com" and merged["CertificateArn"] == ""
    assert merged["WebhookReservedConcurrency"] == "10"  # the template's default
    assert set(merged) == set(template["Parameters"])  # every one, since sam deploy resets what is left out
    parsed = CfnParameterOverridesType().convert(tuple(format_overrides(merged)), None, None)
    assert parsed == merged
    assert parse_overrides('Stage="prod" LogLevel="WARNING"') == {"Stage": "prod", "LogLevel": "WARNING"}
    with pytest.raises(StackError, match="FrontendUrl"):
        deploy_cmd.merged_parameters(template, {}, {"FrontendUrl": "https://x"}, {})


def test_the_example_sender_is_refused():
    with pytest.raises(StackError, match="EMAIL_FROM"):
        deploy_cmd.check_email_from(deploy_cmd.TEMPLATE_EMAIL_FROM)
    assert tpl.load()["Parameters"]["EmailFrom"]["Default"] == deploy_cmd.TEMPLATE_EMAIL_FROM
    deploy_cmd.check_email_from("no-reply@example.com")


def _lambda_settings(limit: int, unreserved: int):
    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response("get_account_settings", {"AccountLimit": {
        "ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": unreserved}})
    stub.activate()
    return client


def test_the_webhook_reserves_concurrency_when_the_account_can_spare_it():
    assert deploy_cmd.webhook_concurrency(_lambda_settings(1000, 1000), 10) == (10, None)
    # An update: the webhook's own reservation returns to the pool first.
    assert deploy_cmd.webhook_concurrency(_lambda_settings(1000, 100), 10, already_reserved=10) == (10, None)
    reserved, warning = deploy_cmd.webhook_concurrency(_lambda_settings(10, 10), 10)
    assert reserved == 0 and "quota is 10" in warning and "Service Quotas" in warning


def test_sam_deploy_command():
    config = stage_config("staging")
    command = deploy_cmd.sam_deploy_command(config, {"Stage": "staging", "DomainName": ""}, confirm=False)
    assert command[:4] == ["sam", "deploy", "--config-env", "staging"]
    assert "--no-fail-on-empty-changeset" in command and "--no-confirm-changeset" in command
    assert command[command.index("--parameter-overrides") + 1:] == ['Stage="staging"', 'DomainName=""']
    assert "--confirm-changeset" in deploy_cmd.sam_deploy_command(config, {}, confirm=True)


# ------------------------------------------------------------------ a stack standing in for `sam deploy`

OUTPUT_VALUES = {
    "SiteUrl": "https://d111111abcdef8.cloudfront.net", "DistributionDomainName": "d111111abcdef8.cloudfront.net",
    "StripeWebhookUrl": "https://abcdefgh.lambda-url.us-east-1.on.aws/", "CatalogTableName": "lectern-CatalogTable-1",
    "UsersTableName": "lectern-UsersTable-1", "OrdersTableName": "lectern-OrdersTable-1",
    "EntitlementsTableName": "lectern-EntitlementsTable-1", "StripeEventsTableName": "lectern-StripeEventsTable-1",
    "AssetsBucketName": "lectern-assetsbucket-1", "EmailFrom": "no-reply@example.com",
    "DashboardUrl": "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=lectern",
}


def stand_in_stack(stack_name: str, values: dict[str, str]) -> None:
    """A CloudFormation stack with the outputs the real template has (no resource is needed for that)."""
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {key: {"Value": value} for key, value in values.items()}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=stack_name, TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "EmailFrom", "ParameterValue": values["EmailFrom"]}])


def aws_resources_for_outputs() -> dict[str, str]:
    """The bucket, distribution and empty secrets the outputs name, in moto."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lectern-web-1")
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    distribution = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "lectern", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "web", "DomainName": "lectern-web-1.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}}})["Distribution"]["Id"]
    secrets = boto3.client("secretsmanager", region_name=REGION)
    stripe_arn = secrets.create_secret(Name="lectern/StripeSecret")["ARN"]  # created empty, as the template does
    playback_arn = secrets.create_secret(Name="lectern/PlaybackSigningSecret")["ARN"]
    return {**OUTPUT_VALUES, "WebBucketName": "lectern-web-1", "WebDistributionId": distribution,
            "StripeSecretArn": stripe_arn, "PlaybackSecretArn": playback_arn}


@pytest.fixture
def moto_aws(monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield


def test_outputs_give_the_operator_commands_their_environment(moto_aws):
    values = aws_resources_for_outputs()
    stand_in_stack("lectern-staging", values)
    read = outputs(boto3.client("cloudformation", region_name=REGION), "lectern-staging")
    env = environment_from_outputs(read, REGION)
    assert env["CATALOG_TABLE"] == "lectern-CatalogTable-1" and env["ASSETS_BUCKET"] == "lectern-assetsbucket-1"
    assert env["STRIPE_SECRET_ARN"] == values["StripeSecretArn"] and env["FRONTEND_URL"] == values["SiteUrl"]
    assert set(OUTPUT_FOR_VARIABLE) <= set(env)
    catalog_env = deploy_cmd.catalog_apply_environment(read, REGION, base={"AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
                                                                         "STRIPE_SECRET_KEY": "sk_test_local"})
    assert "AWS_ENDPOINT_URL" not in catalog_env and "STRIPE_SECRET_KEY" not in catalog_env  # the real stack's
    assert catalog_env["CATALOG_TABLE"] == "lectern-CatalogTable-1"
    with pytest.raises(StackError, match="does not exist"):
        outputs(boto3.client("cloudformation", region_name=REGION), "lectern-prod")


def test_web_is_uploaded_with_the_same_origin_config_and_the_distribution_invalidated(moto_aws):
    values = aws_resources_for_outputs()
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket="lectern-web-1", Key="js/removed-page.js", Body=b"old")
    files = deploy_cmd.web_files()
    assert files["config.js"].decode() == deploy_cmd.DEPLOYED_CONFIG_JS
    assert "index.html" in files and "js/api.js" in files

    uploaded, deleted = deploy_cmd.upload_web(s3, "lectern-web-1", files)
    assert sorted(uploaded) == sorted(files) and deleted == ["js/removed-page.js"]
    config = s3.get_object(Bucket="lectern-web-1", Key="config.js")
    assert config["Body"].read().decode() == 'export default { apiBase: "/api" };\n'
    assert (config["ContentType"], config["CacheControl"]) == ("text/javascript; charset=utf-8", "no-cache")
    index = s3.head_object(Bucket="lectern-web-1", Key="index.html")
    assert (index["ContentType"], index["CacheControl"]) == ("text/html; charset=utf-8", "no-cache")
    styles = s3.head_object(Bucket="lectern-web-1", Key="styles.css")
    assert (styles["ContentType"], styles["CacheControl"]) == ("text/css; charset=utf-8", "public, max-age=300")
    assert deploy_cmd.upload_web(s3, "lectern-web-1", files) == ([], [])  # nothing changed, nothing sent

    cloudfront = boto3.client("cloudfront", region_name=REGION)
    invalidation = deploy_cmd.invalidate(cloudfront, values["WebDistributionId"])
    batch = cloudfront.get_invalidation(DistributionId=values["WebDistributionId"], Id=invalidation)
    assert batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


def test_the_committed_config_js_is_the_deployed_one():
    committed = (tpl.REPO_ROOT / "web" / "config.js").read_text()
    assert deploy_cmd.DEPLOYED_CONFIG_JS.strip() in committed


# ------------------------------------------------------------------ SES

def _sesv2(identity: dict | None, account: dict):
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    if identity is None:
        stub.add_client_error("get_email_identity", service_error_code="NotFoundException", http_status_code=404)
    else:
        stub.add_response("get_email_identity", identity, {"EmailIdentity": "example.com"})
    stub.add_response("get_account", account)
    stub.activate()
    return client


SANDBOX = {"ProductionAccessEnabled": False, "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0}}
PRODUCTION = {"ProductionAccessEnabled": True, "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0}}
PENDING = {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": False,
           "DkimAttributes": {"Status": "PENDING", "Tokens": ["tok1", "tok2", "tok3"]}}


def test_ses_prints_the_dkim_records_and_warns_in_the_sandbox():
    lines, ready = deploy_cmd.ses_report(_sesv2(PENDING, SANDBOX), "no-reply@example.com")
    text = "\n".join(lines)
    assert not ready
    assert "example.com: NOT verified yet (DKIM PENDING)" in text
    for token in ("tok1", "tok2", "tok3"):
        assert f"{token}._domainkey.example.com  CNAME  {token}.dkim.amazonses.com" in text
    assert "WARNING: this SES account is in the sandbox" in text and "put-account-details" in text


def test_ses_ready_once_verified_with_production_access():
    verified = {**PENDING, "VerifiedForSendingStatus": True, "DkimAttributes": {"Status": "SUCCESS", "Tokens": ["t"]}}
    lines, ready = deploy_cmd.ses_report(_sesv2(verified, PRODUCTION), "no-reply@example.com")
    assert ready and "WARNING" not in "\n".join(lines) and "production access, 50000 emails a day" in lines[-1]


def test_ses_without_the_identity_says_so():
    lines, ready = deploy_cmd.ses_report(_sesv2(None, PRODUCTION), "no-reply@example.com")
    assert not ready and "not an identity" in lines[0]


# ------------------------------------------------------------------ secrets

def _fixed(values: dict[str, str]):
    return lambda field, has_value: values.get(field.name, "")


def test_secrets_are_stored_merged_and_never_shown(moto_aws):
    values = aws_resources_for_outputs()
    client = boto3.client("secretsmanager", region_name=REGION)
    stripe = next(s for s in secrets_cmd.SECRETS if s.key == "stripe")
    assert secrets_cmd.missing_required(client, values) == ["stripe.secret_key"]
    out = io.StringIO()
    assert secrets_cmd.set_secret(client, values["StripeSecretArn"], stripe, _fixed({"secret_key": "sk_test_123"}),
                                  out=out)
    stored = json.loads(client.get_secret_value(SecretId=values["StripeSecretArn"])["SecretString"])
    assert stored == {"secret_key": "sk_test_123", "webhook_secret": ""}  # the shape lectern.secrets reads
    # A later run that sets only the webhook secret keeps the key.
    secrets_cmd.set_secret(client, values["StripeSecretArn"], stripe, _fixed({"webhook_secret": "whsec_abc"}), out=out)
    stored = json.loads(client.get_secret_value(SecretId=values["StripeSecretArn"])["SecretString"])
    assert stored == {"secret_key": "sk_test_123", "webhook_secret": "whsec_abc"}
    assert not secrets_cmd.set_secret(client, values["StripeSecretArn"], stripe, _fixed({}), out=out)  # unchanged
    assert "sk_test_123" not in out.getvalue() and "whsec_abc" not in out.getvalue()
    assert secrets_cmd.missing_required(client, values) == []
    assert "stripe.secret_key: set" in secrets_cmd.status_lines(client, values)
    with pytest.raises(ValueError, match="starts with sk_live_"):
        secrets_cmd.set_secret(client, values["StripeSecretArn"], stripe, _fixed({"secret_key": "pk_test_1"}))


def test_a_new_stack_without_a_stripe_key_is_refused():
    stripe = next(s for s in secrets_cmd.SECRETS if s.key == "stripe")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        arn = client.create_secret(Name="empty")["ARN"]
        with pytest.raises(ValueError, match="secret_key is required"):
            secrets_cmd.set_secret(client, arn, stripe, _fixed({}))


# ------------------------------------------------------------------ the Stripe webhook endpoint

class FakeEndpoints:
    """The part of StripeClient.v1.webhook_endpoints the command uses, keeping endpoints in a dict."""

    def __init__(self):
        self.endpoints: dict[str, dict] = {}
        self.calls: list[str] = []

    class _Obj(dict):
        def to_dict(self):
            return dict(self)

    def list(self, params=None):
        self.calls.append("list")
        return self._Obj(data=[dict(e) for e in self.endpoints.values()], has_more=False)

    def create(self, params):
        self.calls.append("create")
        endpoint_id = f"we_{len(self.endpoints) + 1}"
        self.endpoints[endpoint_id] = {"id": endpoint_id, "url": params["url"], "status": "enabled",
                                       "enabled_events": list(params["enabled_events"])}
        return self._Obj(self.endpoints[endpoint_id], secret=f"whsec_new_{endpoint_id}")

    def update(self, endpoint_id, params):
        self.calls.append("update")
        self.endpoints[endpoint_id].update(enabled_events=list(params["enabled_events"]), status="enabled")

    def delete(self, endpoint_id):
        self.calls.append("delete")
        del self.endpoints[endpoint_id]


class FakeStripe:
    def __init__(self):
        self.v1 = argparse.Namespace(webhook_endpoints=FakeEndpoints())


def test_the_webhook_is_registered_once_and_its_secret_stored(moto_aws):
    from lectern.payments.webhook import SUBSCRIBED_EVENTS

    values = aws_resources_for_outputs()
    client = boto3.client("secretsmanager", region_name=REGION)
    client.put_secret_value(SecretId=values["StripeSecretArn"], SecretString=json.dumps({"secret_key": "sk_test_1"}))
    stripe = FakeStripe()
    endpoints = stripe.v1.webhook_endpoints
    url = values["StripeWebhookUrl"]

    def ensure(**kwargs):
        return stripe_webhook_cmd.ensure_endpoint(stripe, client, values["StripeSecretArn"], url, SUBSCRIBED_EVENTS,
                                                  description="Lectern (test)", out=io.StringIO(), **kwargs)

    assert ensure(dry_run=True) == "created" and endpoints.endpoints == {}  # a dry run changes nothing
    assert ensure() == "created"
    stored = json.loads(client.get_secret_value(SecretId=values["StripeSecretArn"])["SecretString"])
    assert stored == {"secret_key": "sk_test_1", "webhook_secret": "whsec_new_we_1"}
    [endpoint] = endpoints.endpoints.values()
    assert endpoint["url"] == url and sorted(endpoint["enabled_events"]) == sorted(SUBSCRIBED_EVENTS)
    assert ensure() == "unchanged"
    endpoint["enabled_events"] = ["charge.refunded"]
    assert ensure() == "updated" and sorted(endpoint["enabled_events"]) == sorted(SUBSCRIBED_EVENTS)
    # The signing secret lost (say, the secret was reset): Stripe will not show it again, so replace the endpoint.
    client.put_secret_value(SecretId=values["StripeSecretArn"], SecretString=json.dumps({"secret_key": "sk_test_1"}))
    assert ensure() == "replaced"
    assert list(endpoints.endpoints) == ["we_2"]
    stored = json.loads(client.get_secret_value(SecretId=values["StripeSecretArn"])["SecretString"])
    assert stored["webhook_secret"] == "whsec_new_we_2"


# ------------------------------------------------------------------ the whole deploy, and its dry run

class Session:
    """boto3 clients: moto's, except where moto has no answer (Lambda's account settings, SES v2)."""

    def __init__(self, stubs):
        self.stubs = stubs

    def client(self, name):
        return self.stubs.get(name) or boto3.client(name, region_name=REGION)


def test_one_pass_deploy(moto_aws, monkeypatch):
    values = aws_resources_for_outputs()
    commands = []

    def run_command(command, **kwargs):
        commands.append((command, kwargs))
        if command[:2] == ["sam", "deploy"]:  # what sam deploy leaves: the stack and its outputs
            stand_in_stack("lectern-staging", values)

    session = Session({"lambda": _lambda_settings(1000, 1000), "sesv2": _sesv2(PENDING, SANDBOX)})
    out = io.StringIO()
    options = deploy_cmd.Options("staging", {"EmailFrom": "no-reply@example.com", "AlarmEmail": "ops@example.com"})
    result = deploy_cmd.deploy(options, out=out, session=session, run_command=run_command,
                               ask_secrets=_fixed({"secret_key": "sk_test_deploy"}))

    (sam, _), (catalog, catalog_kwargs) = commands
    assert sam[:4] == ["sam", "deploy", "--config-env", "staging"]
    overrides = sam[sam.index("--parameter-overrides") + 1:]
    assert 'EmailFrom="no-reply@example.com"' in overrides and 'WebhookReservedConcurrency="10"' in overrides
    assert catalog[-3:] == ["catalog", "apply", str(deploy_cmd.DEFAULT_CATALOG)]
    assert catalog_kwargs["env"]["CATALOG_TABLE"] == "lectern-CatalogTable-1"
    assert catalog_kwargs["env"]["ASSETS_BUCKET"] == "lectern-assetsbucket-1"
    assert catalog_kwargs["env"]["STRIPE_SECRET_ARN"] == values["StripeSecretArn"]

    secrets = boto3.client("secretsmanager", region_name=REGION)
    assert json.loads(secrets.get_secret_value(SecretId=values["StripeSecretArn"])["SecretString"])[
        "secret_key"] == "sk_test_deploy"
    config = boto3.client("s3", region_name=REGION).get_object(Bucket="lectern-web-1", Key="config.js")
    assert config["Body"].read().decode() == deploy_cmd.DEPLOYED_CONFIG_JS
    assert result["SiteUrl"] == values["SiteUrl"]
    text = out.getvalue()
    assert f"The shop:            {values['SiteUrl']}" in text
    assert f"Stripe webhook URL:  {values['StripeWebhookUrl']}" in text
    assert "tok1._domainkey.example.com" in text and "sandbox" in text
    assert "Next: make stripe-webhook STAGE=staging" in text
    assert "sk_test_deploy" not in text


def test_without_a_terminal_a_missing_key_stops_the_deploy_after_the_stack(moto_aws, monkeypatch):
    values = aws_resources_for_outputs()
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal

    def run_command(command, **kwargs):
        assert command[:2] == ["sam", "deploy"], "nothing runs after the missing key"
        stand_in_stack("lectern-staging", values)

    session = Session({"lambda": _lambda_settings(1000, 1000)})
    with pytest.raises(StackError, match="make secrets STAGE=staging"):
        deploy_cmd.deploy(deploy_cmd.Options("staging", {"EmailFrom": "no-reply@example.com"}), out=io.StringIO(),
                          session=session, run_command=run_command)


def test_the_dry_run_prints_every_step_and_calls_nothing(monkeypatch, capsys):
    import botocore.client

    def no_aws(*args, **kwargs):
        raise AssertionError("a dry run made an AWS call")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_aws)
    from lectern_admin.__main__ import main

    assert main(["deploy", "--stage", "staging", "--dry-run", "--email-from", "no-reply@example.com"]) == 0
    text = capsys.readouterr().out
    assert "sam deploy --config-env staging" in text
    assert 'EmailFrom="no-reply@example.com"' in text.replace("'", "")
    assert 'config.js = export default { apiBase: "/api" };' in text
    assert "CATALOG_TABLE=<CatalogTableName>" in text and "catalog apply" in text
    assert "aws sesv2 get-email-identity --email-identity example.com" in text and "aws sesv2 get-account" in text
    assert "create-invalidation --distribution-id <WebDistributionId>" in text


def test_prod_needs_its_own_catalog(capsys):
    from lectern_admin.__main__ import main

    assert main(["deploy", "--stage", "prod", "--dry-run"]) == 1
    assert "prod needs its own catalog" in capsys.readouterr().err


def test_make_deploy_passes_what_it_is_given():
    makefile = (tpl.REPO_ROOT / "Makefile").read_text()
    deploy = makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) --no-print-directory build" in deploy  # the checked arm64 build first
    assert "-m lectern_admin deploy $(DEPLOY_ARGS)" in deploy
    for variable, flag in (("EMAIL_FROM", "--email-from"), ("DOMAIN", "--domain"),
                           ("CERTIFICATE_ARN", "--certificate-arn"), ("ALARM_EMAIL", "--alarm-email"),
                           ("CATALOG", "--catalog")):
        assert f"$(call given,{variable},{flag})" in makefile


def test_stack_env_points_the_operator_commands_at_a_stage(moto_aws, capsys):
    from lectern_admin.__main__ import main

    values = aws_resources_for_outputs()
    stand_in_stack("lectern-staging", values)
    assert main(["stack-env", "--stage", "staging"]) == 0
    text = capsys.readouterr().out
    assert "export CATALOG_TABLE=lectern-CatalogTable-1\n" in text
    assert f"export STRIPE_SECRET_ARN={values['StripeSecretArn']}\n" in text
    assert "unset AWS_ENDPOINT_URL" in text

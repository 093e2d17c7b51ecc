"""Configuration in one place (lectern.config): every variable read once, local defaults outside
Lambda, and a Lambda function that lacks a setting it uses refuses to start, naming it."""
import ast
import json
import os
import subprocess
import sys

import pytest

from lectern import config
from lectern.config import ConfigurationError, Settings
from lectern_dev import template as tpl

EVERY_VARIABLE = {
    "AWS_LAMBDA_FUNCTION_NAME": "SomeFunction", "STAGE": "prod", "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-central-1", "LOG_LEVEL": "DEBUG", "FRONTEND_URL": "https://shop.example.com/",
    "EMAIL_FROM": "hello@shop.example.com", "ASSETS_BUCKET": "lectern-assets-1",
    "CATALOG_TABLE": "lectern-Catalog-1", "USERS_TABLE": "lectern-Users-1", "ORDERS_TABLE": "lectern-Orders-1",
    "ENTITLEMENTS_TABLE": "lectern-Entitlements-1", "STRIPE_EVENTS_TABLE": "lectern-StripeEvents-1",
    "AUTH_ISSUER": "lectern-prod", "STREAM_CUSTOMER_CODE": "abc123", "STRIPE_API_BASE": "http://127.0.0.1:12111",
    "STREAM_BASE_URL": "http://127.0.0.1:3004", "MAIL_LIMIT_PER_ADDRESS": "5", "MAIL_LIMIT_PER_CLIENT": "50",
    "CHECKOUT_LIMIT_PER_IP": "40", "CHECKOUT_LIMIT_PER_BUYER": "0",
    "FRONTEND_URL_PARAMETER": "/lectern/lectern-prod/frontend-url", "EMAIL_CONFIGURATION_SET": "lectern-prod-mail",
    "AUTH_SIGNING_KEY": "k" * 40, "AUTH_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:auth",
    "STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1",
    "STRIPE_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:stripe",
    "PLAYBACK_KEY_ID": "kid-1", "PLAYBACK_SIGNING_KEY_PEM": "-----BEGIN PRIVATE KEY-----",
    "PLAYBACK_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:playback",
}
# The three every function needs; with them, a Lambda function's settings can be built.
LAMBDA_BASICS = {"AWS_LAMBDA_FUNCTION_NAME": "SomeFunction", "STAGE": "dev", "AWS_REGION": "us-east-1",
                 "FRONTEND_URL": "https://shop.example.com"}


def test_every_variable_is_read_into_its_setting():
    assert set(EVERY_VARIABLE) == config.VARIABLES
    s = Settings.from_environment(EVERY_VARIABLE)
    assert (s.function_name, s.is_lambda, s.stage, s.region, s.log_level) == (
        "SomeFunction", True, "prod", "eu-west-1", "DEBUG")
    assert s.frontend_url == "https://shop.example.com"  # without its trailing slash
    assert (s.email_from, s.assets_bucket) == ("hello@shop.example.com", "lectern-assets-1")
    assert [s.table_name(v) for v in ("CATALOG_TABLE", "USERS_TABLE", "ORDERS_TABLE", "ENTITLEMENTS_TABLE",
                                      "STRIPE_EVENTS_TABLE")] == [
        "lectern-Catalog-1", "lectern-Users-1", "lectern-Orders-1", "lectern-Entitlements-1", "lectern-StripeEvents-1"]
    assert (s.catalog_table, s.stripe_events_table) == ("lectern-Catalog-1", "lectern-StripeEvents-1")
    assert (s.auth_issuer, s.stream_customer_code) == ("lectern-prod", "abc123")
    assert (s.stripe_api_base, s.stream_base_url) == ("http://127.0.0.1:12111", "http://127.0.0.1:3004")
    assert (s.mail_limit_per_address, s.mail_limit_per_client) == (5, 50)
    assert (s.checkout_limit_per_ip, s.checkout_limit_per_buyer) == (40, 0)
    assert (s.frontend_url_parameter, s.email_configuration_set) == (
        "/lectern/lectern-prod/frontend-url", "lectern-prod-mail")
    secrets = {name: getattr(s, name) for name, *_ in config.SECRETS}
    assert {name: (src.variable, src.value, src.arn_variable, src.arn, src.json_field)
            for name, src in secrets.items()} == {
        "auth_signing_key": ("AUTH_SIGNING_KEY", "k" * 40, "AUTH_SECRET_ARN", EVERY_VARIABLE["AUTH_SECRET_ARN"],
                             "signing_key"),
        "stripe_secret_key": ("STRIPE_SECRET_KEY", "sk_test_1", "STRIPE_SECRET_ARN",
                              EVERY_VARIABLE["STRIPE_SECRET_ARN"], "secret_key"),
        "stripe_webhook_secret": ("STRIPE_WEBHOOK_SECRET", "whsec_1", "STRIPE_SECRET_ARN",
                                  EVERY_VARIABLE["STRIPE_SECRET_ARN"], "webhook_secret"),
        "playback_key_id": ("PLAYBACK_KEY_ID", "kid-1", "PLAYBACK_SECRET_ARN", EVERY_VARIABLE["PLAYBACK_SECRET_ARN"],
                            "key_id"),
        "playback_private_key_pem": ("PLAYBACK_SIGNING_KEY_PEM", "-----BEGIN PRIVATE KEY-----", "PLAYBACK_SECRET_ARN",
                                     EVERY_VARIABLE["PLAYBACK_SECRET_ARN"], "private_key_pem"),
    }
    assert s.unset == frozenset()
    assert "k" * 40 not in repr(s) and "whsec_1" not in repr(s)  # secret values never reach a log line


def test_settings_behave_as_frozen_dataclasses_without_generated_methods():
    """lectern.config's `_frozen`: what dataclass(frozen=True) gives, from shared methods (nothing exec'd)."""
    import copy
    import dataclasses
    import pickle

    s, again = Settings.from_environment(EVERY_VARIABLE), Settings.from_environment(EVERY_VARIABLE)
    assert s == again and hash(s) == hash(again) and s != Settings.from_environment({})
    assert [f.name for f in dataclasses.fields(Settings)][:3] == ["function_name", "stage", "region"]
    for name in ("stage", "auth_signing_key"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(s, name, "x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(s, name)
    source = config.SecretSource("A", "the-value", "A_ARN", "", "field")
    assert source == config.SecretSource(variable="A", value="the-value", arn_variable="A_ARN", arn="",
                                         json_field="field")
    assert repr(source) == "SecretSource(variable='A', arn_variable='A_ARN', arn='', json_field='field')"
    differs_in_value = config.SecretSource("A", "another-value", "A_ARN", "", "field")
    assert source != differs_in_value and repr(source) == repr(differs_in_value)
    assert pickle.loads(pickle.dumps(s)) == s and copy.deepcopy(source) == source
    assert dataclasses.replace(source, value="x").value == "x" and source.value == "the-value"
    assert config.SecretSource.__match_args__ == ("variable", "value", "arn_variable", "arn", "json_field")
    with pytest.raises(TypeError, match="missing"):
        config.SecretSource("A", "v")
    with pytest.raises(TypeError, match="unexpected"):
        config.SecretSource("A", "v", "B", "", "f", extra=1)
    with pytest.raises(TypeError, match="repeated"):
        config.SecretSource("A", "v", "B", "", variable="f")
    with pytest.raises(TypeError, match="takes 5 arguments"):
        config.SecretSource("A", "v", "B", "", "f", "g")
    for cls in (Settings, config.SecretSource):  # no method of dataclass's own making
        assert cls.__init__ is config._frozen_init and cls.__setattr__ is config._refuse_assignment
    with pytest.raises(TypeError, match="required fields"):  # what _frozen does not do, it refuses
        @config._frozen
        class WithDefault:
            a: str = "x"


def test_outside_lambda_what_is_not_set_takes_its_local_default():
    s = Settings.from_environment({})
    assert not s.is_lambda
    assert (s.stage, s.region, s.log_level, s.frontend_url, s.email_from, s.assets_bucket) == (
        "dev", "us-east-1", "INFO", "http://127.0.0.1:3002", "no-reply@lectern.example", "assetsbucket")
    # Table names are the template's logical ids, as the local stack and the tests name the tables.
    assert [s.catalog_table, s.users_table, s.orders_table, s.entitlements_table, s.stripe_events_table] == [
        "CatalogTable", "UsersTable", "OrdersTable", "EntitlementsTable", "StripeEventsTable"]
    assert (s.auth_issuer, s.stream_customer_code, s.stripe_api_base, s.stream_base_url) == (
        "lectern", "lectern-dev", None, None)
    assert (s.mail_limit_per_address, s.mail_limit_per_client) == (3, 20)
    assert (s.auth_signing_key.value, s.auth_signing_key.arn) == ("", "")
    s.require("CATALOG_TABLE", "STRIPE_SECRET_ARN", "EMAIL_FROM")  # no error: the defaults stand in
    assert Settings.from_environment({"AWS_DEFAULT_REGION": "eu-west-3", "FRONTEND_URL": ""}).region == "eu-west-3"
    assert Settings.from_environment({"FRONTEND_URL": ""}).frontend_url == "http://127.0.0.1:3002"  # empty = unset


def test_a_lambda_function_without_a_setting_every_function_needs_does_not_start():
    for missing in config.REQUIRED_OF_EVERY_FUNCTION:
        with pytest.raises(ConfigurationError, match=f"SomeFunction cannot start: {missing}( or FRONTEND_URL_PARAMETER)? is not set"):
            Settings.from_environment({k: v for k, v in LAMBDA_BASICS.items() if k != missing})
    with pytest.raises(ConfigurationError, match="STAGE, AWS_REGION, FRONTEND_URL or FRONTEND_URL_PARAMETER are not set"):
        Settings.from_environment({"AWS_LAMBDA_FUNCTION_NAME": "SomeFunction"})
    # Deployed, the shop's address comes by its SSM parameter's name instead.
    deployed = {k: v for k, v in LAMBDA_BASICS.items() if k != "FRONTEND_URL"}
    assert Settings.from_environment({**deployed, "FRONTEND_URL_PARAMETER": "/lectern/x/frontend-url"}).is_lambda


def test_in_a_lambda_function_a_setting_it_uses_has_no_default():
    s = Settings.from_environment(LAMBDA_BASICS)
    assert s.catalog_table == "" and s.email_from == ""  # never the local default
    with pytest.raises(ConfigurationError, match="CATALOG_TABLE, AUTH_SECRET_ARN are not set"):
        s.require("CATALOG_TABLE", "AUTH_SECRET_ARN")
    # Optional settings keep their defaults.
    assert (s.log_level, s.auth_issuer, s.mail_limit_per_address) == ("INFO", "lectern", 3)


def test_a_secret_is_given_by_its_arn_or_by_every_value_it_stands_for():
    def unset(extra):
        return Settings.from_environment({**LAMBDA_BASICS, **extra}).unset

    assert "STRIPE_SECRET_ARN" not in unset({"STRIPE_SECRET_ARN": "arn:x"})
    assert "STRIPE_SECRET_ARN" not in unset({"STRIPE_SECRET_KEY": "sk", "STRIPE_WEBHOOK_SECRET": "wh"})
    assert "STRIPE_SECRET_ARN" in unset({"STRIPE_SECRET_KEY": "sk"})  # the webhook secret has no source
    assert "AUTH_SECRET_ARN" not in unset({"AUTH_SIGNING_KEY": "k"})
    # With STREAM_BASE_URL (the local Stream stand-in), no customer code is needed.
    assert "STREAM_CUSTOMER_CODE" not in unset({"STREAM_BASE_URL": "http://127.0.0.1:3004"})


def test_a_malformed_value_is_an_error_anywhere_and_a_name_that_is_no_setting_too():
    for value in ("three", "-1", "2.5"):
        with pytest.raises(ConfigurationError, match=f"MAIL_LIMIT_PER_ADDRESS must be a whole number.*{value}"):
            Settings.from_environment({"MAIL_LIMIT_PER_ADDRESS": value})
    assert Settings.from_environment({"MAIL_LIMIT_PER_CLIENT": "0"}).mail_limit_per_client == 0
    with pytest.raises(ConfigurationError, match="Not a Lectern setting: CATALOG_TABEL"):
        Settings.from_environment({}).require("CATALOG_TABEL")


def test_the_environment_is_read_once_until_reset():
    patch = pytest.MonkeyPatch()  # pytest's own: this conftest's resets the settings on every change
    try:
        first = config.settings()
        assert config.settings() is first
        patch.setenv("EMAIL_FROM", "changed@shop.example.com")
        assert config.settings().email_from == first.email_from != "changed@shop.example.com"
        config.reset_settings()
        assert config.settings().email_from == "changed@shop.example.com"
    finally:
        patch.undo()
        config.reset_settings()


# ------------------------------------------------------------------ each function of the template

_START_WITHOUT_EACH = r"""
import importlib.util, json, os, sys

base, path, names = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])


def init(env):
    for module in [m for m in sys.modules if m == "handler_module" or m.split(".")[0] == "lectern"]:
        del sys.modules[module]
    os.environ.clear()
    os.environ.update(env)
    spec = importlib.util.spec_from_file_location("handler_module", path)
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


print(json.dumps({"": init(base), **{name: init({k: v for k, v in base.items() if k != name}) for name in names}}))
"""
# Template variables a function may go without: Powertools' own, and the log level (INFO).
OPTIONAL = {"LOG_LEVEL", "EMAIL_CONFIGURATION_SET"}  # the latter: SES works without one (locally there is none)


def lambda_environment(spec: tpl.FunctionSpec) -> dict[str, str]:
    """What Lambda gives the function: its template variables (secrets by ARN) and its own."""
    return {**spec.environment, "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONPATH": "layers/common", "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize("logical_id", sorted(tpl.functions()))
def test_a_function_starts_with_its_template_environment_and_not_without_any_setting_it_uses(logical_id):
    """Each function initialises as Lambda runs it, with exactly its Environment from template.yaml
    (the catalog function with no secret at all); without any one of those variables (or Lambda's
    AWS_REGION) its init fails with a ConfigurationError that names the variable and the function.
    So the template gives each function what it uses, and it uses everything it is given."""
    spec = tpl.functions()[logical_id]
    env = lambda_environment(spec)
    names = sorted(k for k in spec.environment if k not in OPTIONAL and not k.startswith("POWERTOOLS_"))
    names.append("AWS_REGION")
    result = subprocess.run([sys.executable, "-c", _START_WITHOUT_EACH, json.dumps(env),
                             str(spec.code_dir / f"{spec.module}.py"), json.dumps(names)],
                            cwd=tpl.REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcomes.pop("") is None, "the function does not start with its template environment"
    for name, outcome in outcomes.items():
        assert outcome is not None, f"{logical_id} starts without {name}"
        assert outcome.startswith("ConfigurationError: ") and f"{logical_id} cannot start: " in outcome
        named = outcome.split("cannot start: ", 1)[1].split(" is not set", 1)[0]
        assert name in named.replace(",", " ").split(), (name, outcome)


# ------------------------------------------------------------------ nothing else reads the environment

def _reads_of_the_environment(path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "environb", "getenv", "getenvb", "putenv",
                                                               "unsetenv"}:
            found.append(f"{path}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{path}:{node.lineno}: from os import {a.name}" for a in node.names
                      if a.name in {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv", "*"}]
    return found


def test_no_module_of_the_layer_or_of_a_function_reads_the_environment_but_the_settings_module():
    root = tpl.REPO_ROOT
    settings_module = root / "layers" / "common" / "lectern" / "config.py"
    modules = [*sorted((root / "layers" / "common" / "lectern").rglob("*.py")),
               *sorted((root / "functions").rglob("*.py"))]
    assert settings_module in modules and len(modules) > 40
    assert _reads_of_the_environment(settings_module)  # the scan does see a read
    found = [line for path in modules if path != settings_module for line in _reads_of_the_environment(path)]
    assert found == []


def test_the_readme_configuration_table_lists_every_variable():
    readme = (tpl.REPO_ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert [v for v in sorted(config.VARIABLES) if f"`{v}`" not in table] == []


def test_the_tests_run_outside_lambda_with_the_local_defaults():
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ and not config.settings().is_lambda

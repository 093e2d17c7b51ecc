"""Shared fixtures for every lane: a moto AWS built from template.yaml, the functions in-process,
and the real local stack on loopback. Helpers live in the `support` package (tests/support/).

Lanes: tests/unit (no AWS), tests/api (handlers on moto), tests/stack (HTTP against `make dev`'s
stack, marker `stack`), tests/browser (Chromium against it, marker `browser`), tests/devtools
(the local stack's own parts: embedded AWS, worker pool, Stripe and Stream emulators)."""
import os

# Before anything imports boto3, PynamoDB or Powertools: fake credentials, quiet telemetry.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "LecternTest", "LOG_LEVEL": "CRITICAL",
})
os.environ.pop("AWS_ENDPOINT_URL", None)


import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from lectern.config import reset_settings  # noqa: E402
from lectern_dev import aws_resources  # noqa: E402
from lectern_dev.runner import InProcessRunner  # noqa: E402
from support.api_client import Api  # noqa: E402
from support.stack_process import E2E_AUTH_SIGNING_KEY, E2E_WEBHOOK_SECRET, StackProcess  # noqa: E402

# The payment fixtures (emulator, stripe_env, shop...) for every lane, without importing them by name.
pytest_plugins = ["support.payments_support"]


class SettingsAwareMonkeyPatch(pytest.MonkeyPatch):
    """pytest's MonkeyPatch, whose setenv/delenv (and undo) also make lectern read its settings again.

    lectern.config reads the environment once per process, as a function does at init; tests that
    change a variable (a signing key, STRIPE_API_BASE, a mail limit) expect the code to see it."""

    def setenv(self, name, value, prepend=None):
        super().setenv(name, value, prepend)
        reset_settings()

    def delenv(self, name, raising=True):
        super().delenv(name, raising)
        reset_settings()

    def undo(self):
        super().undo()
        reset_settings()


@pytest.fixture
def monkeypatch():
    """Replaces pytest's own `monkeypatch` fixture (which is the same, without the settings reset)."""
    patch = SettingsAwareMonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test starts from settings read from the environment as it is then."""
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def aws():
    """A fresh in-memory AWS with every table and the bucket of template.yaml."""
    with mock_aws():
        aws_resources.create_all()
        yield


@pytest.fixture
def ses_sandbox(monkeypatch):
    """`ses_sandbox("*@x.example")`: moto's SES refuses those recipients until they are verified,
    as SES's sandbox does (lectern_dev.ses_sandbox, the local stack's LECTERN_SES_REJECT)."""
    from lectern_dev import ses_sandbox as switch

    switch.install()

    def reject(patterns: str) -> None:
        monkeypatch.setenv(switch.VARIABLE, patterns)

    monkeypatch.delenv(switch.VARIABLE, raising=False)
    return reject


@pytest.fixture(scope="session")
def runner():
    return InProcessRunner()


@pytest.fixture
def api(aws, runner):
    return Api(runner)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """The real local stack (`make dev`'s process) on free loopback ports, shared by the HTTP tests."""
    stack = StackProcess(tmp_path_factory.mktemp("stack"), extra_env={
        "AUTH_SIGNING_KEY": E2E_AUTH_SIGNING_KEY, "STRIPE_WEBHOOK_SECRET": E2E_WEBHOOK_SECRET,
        # Its SES refuses unverified recipients at this domain, like SES's sandbox (test_e2e_http.py).
        "LECTERN_SES_REJECT": "*@ses-sandbox.example",
        # Every test here calls from 127.0.0.1: one client, as far as the mail and checkout limits can tell
        # (the drills' and the burst's hundreds of checkouts included; the limits are tested in-process).
        "MAIL_LIMIT_PER_CLIENT": "100000", "CHECKOUT_LIMIT_PER_IP": "0"}).start()
    yield stack
    stack.stop()

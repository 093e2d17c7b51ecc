"""Operator commands (`python -m lectern_admin …`): what they print and how they fail."""
import json
import subprocess
import sys

import pytest

from support.factories import make_course
from lectern.accounts.users import create_user
from support.stack_process import REPO_ROOT


def test_grant_and_revoke_say_granted_and_revoked(aws, capsys):
    from lectern_admin.__main__ import main

    create_user("ops-target@example.com", password_hash="not-used-here")
    course = make_course("operator-wording")
    base = ["entitlements", "--email", "ops-target@example.com", "--course", course.slug, "--reason", "support",
            "--operator", "ops"]
    assert main([base[0], "grant", *base[1:]]) == 0
    assert main([base[0], "revoke", *base[1:]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("granted: ops-target@example.com / operator-wording")
    assert lines[1].startswith("revoked: ops-target@example.com / operator-wording")


def _sign(tmp_path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # A real process: an uncaught exception would print its traceback and exit 1.
    clean = {"PATH": "/usr/bin:/bin", "PYTHONPATH": "layers/common:devtools", "AWS_DEFAULT_REGION": "us-east-1",
             **(env or {})}
    return subprocess.run([sys.executable, "-m", "lectern_admin", "events", "sign", *args], cwd=REPO_ROOT,
                          env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("secret_env", [{}, {"STRIPE_WEBHOOK_SECRET": ""}])
def test_sign_without_a_webhook_secret_is_an_error_line_and_exit_2(tmp_path, secret_env):
    done = _sign(tmp_path, "events/stripe_webhook.json", env=secret_env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "webhook secret" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("content", [None, "{not json", "[1]"])
def test_sign_with_a_missing_or_broken_file_is_an_error_line_and_exit_2(tmp_path, content):
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    done = _sign(tmp_path, str(path), "--secret", "whsec_x")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_sign_with_a_secret_prints_the_signed_event(tmp_path):
    done = _sign(tmp_path, "events/stripe_webhook.json", env={"STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["headers"]["stripe-signature"].startswith("t=")

"""`make invoke` against a running `make dev`, as `sam local invoke` against the deployed resources:
each function in its own process and environment, secrets from the stack's Secrets Manager."""
import json
import subprocess
import sys

import pytest

from support.stack_process import REPO_ROOT

pytestmark = pytest.mark.stack

DEMO_LEARNER = "learner@example.com"


def invoke(stack, function: str, event: str, *extra: str) -> tuple[dict, str]:
    env = {**stack.env}
    result = subprocess.run([sys.executable, "-m", "lectern_dev.invoke", function, f"events/{event}", *extra],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.parametrize("function,event,extra,status", [
    ("CheckoutFunction", "checkout_create.json", (), 201),
    ("StripeWebhookFunction", "stripe_webhook.json", ("--sign",), 200),
    ("LearnerFunction", "learner_course.json", ("--as", DEMO_LEARNER), 200),
    ("LessonFunction", "lesson.json", ("--as", DEMO_LEARNER), 200),
    ("LearnerFunction", "learner_my_courses.json", ("--as", DEMO_LEARNER), 200),
    ("DownloadFunction", "downloads.json", ("--as", DEMO_LEARNER), 200),
])
def test_samples_answer_as_documented_against_the_running_stack(local_stack, function, event, extra, status):
    response, logs = invoke(local_stack, function, event, *extra)
    assert response["statusCode"] == status, response
    assert f"against {local_stack.urls['aws']}" in logs


def test_unsigned_webhook_sample_is_refused_not_a_5xx(local_stack):
    response, _ = invoke(local_stack, "StripeWebhookFunction", "stripe_webhook.json")
    assert response["statusCode"] == 400


def test_checkout_sample_reaches_the_stacks_stripe_emulator(local_stack):
    response, _ = invoke(local_stack, "CheckoutFunction", "checkout_create.json")
    assert json.loads(response["body"])["checkout_url"].startswith(local_stack.urls["stripe"])


@pytest.mark.timeout(480)  # some 25 cold processes, one per sample
def test_every_sample_answers_below_500(local_stack):
    """Every HTTP sample of every function (the template says which: its folder names its samples)."""
    from lectern_dev import template as tpl
    from lectern_dev.smoke import samples_for

    from concurrent.futures import ThreadPoolExecutor

    samples = [(spec.logical_id, sample.name) for spec in tpl.functions().values()
               if spec.http_routes or spec.has_function_url  # scheduled and SNS-invoked ones answer no HTTP status
               for sample in samples_for(spec.code_dir.name)]
    # Two at a time (each is a cold process; the stack serves several environments at once, as Lambda).
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda job: invoke(local_stack, *job, "--as", DEMO_LEARNER)[0], samples))
    for (_function, name), response in zip(samples, answers):
        assert response.get("statusCode", 500) < 500, (name, response)
    invoked = [name for _function, name in samples]
    assert "progress_save.json" in invoked and "catalog_list_courses.json" in invoked


def test_each_function_logs_under_its_own_service_name(local_stack):
    import os

    from lectern_dev import template as tpl
    from lectern_dev.worker_pool import function_environment

    specs = tpl.functions()
    names = {logical_id: function_environment(spec, specs, dict(os.environ))["POWERTOOLS_SERVICE_NAME"]
             for logical_id, spec in specs.items()}
    assert "service_undefined" not in names.values() and len(set(names.values())) == len(names)
    # And a real invocation logs with it (the learner logs its access audit).
    _, logs = invoke(local_stack, "CatalogFunction", "catalog_list_courses.json")
    assert '"service_undefined"' not in logs


def test_function_workers_get_secret_arns_not_secret_values():
    from lectern_dev import template as tpl
    from lectern_dev.worker_pool import SECRET_VARIABLES, function_environment

    specs = tpl.functions(overrides={"StripeSecret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:S"})
    env = function_environment(specs["CheckoutFunction"], specs,
                               {"STRIPE_SECRET_KEY": "sk_test_x", "AUTH_SIGNING_KEY": "k", "PATH": "/bin"})
    assert not SECRET_VARIABLES & set(env)
    assert env["STRIPE_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
    assert env["POWERTOOLS_SERVICE_NAME"] == "checkout"
    assert "PLAYBACK_SECRET_ARN" not in env  # another function's variable

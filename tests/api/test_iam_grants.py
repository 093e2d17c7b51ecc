"""Each function's IAM role, as deployed (the rendered template), allows every AWS call its code makes on
a whole journey, and no more than the code needs: the SAM policy templates (DynamoDBCrudPolicy,
DynamoDBReadPolicy) granted Scan, DeleteItem and BatchWriteItem to functions that never call them.

The journey runs every function in process against moto and the Stripe emulator: register, verify,
a failed and a good login, refresh, logout, password reset; a guest purchase (checkout, webhook:
guest account, claim token, receipt), the claim, the learner's pages, a download, the order's status;
a refund, a dispute opened and lost, an expired checkout; the catalog; a bounce notification. Every
botocore call is recorded with the function that made it, and each must be allowed by that
function's role: its action on its table (or index) ARN. Locally a table is named by its logical id,
so a call on "OrdersTable" is checked against the policy's OrdersTable ARN."""
import fnmatch
import json
import re
from collections import defaultdict
from urllib.parse import unquote

import botocore.client
import pytest
from argon2 import PasswordHasher

from lectern.accounts import passwords
from lectern.models.catalog import CatalogItem, CourseLesson, course_pk
from lectern_dev import template as tpl
from lectern_dev.sam_render import rendered
from support.payments_support import (
    deliver, last_event, sellable_course, sent_emails, start_checkout,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
NEVER = {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"}
# Exceptions, each with its reason in the code: a login throttle goes once a login succeeds
# (lectern.accounts.throttle).
EXTRA_ACTIONS = {"AuthFunction": {"dynamodb:DeleteItem"}}
JOURNEY_FUNCTIONS = {"CatalogFunction", "AuthFunction", "LearnerFunction", "LessonFunction", "DownloadFunction",
                     "CheckoutFunction",
                     "StripeWebhookFunction", "EmailFeedbackFunction", "ProgressFunction"}
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
PASSWORD = "Correct-horse-42"


def _arn(expression, region=REGION, account=ACCOUNT) -> str:
    """A policy Resource expression as an ARN pattern, with the template's defaults for its parameters and
    local names for its resources (a table and a configuration set by their logical ids)."""
    template = tpl.load()
    pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
              "AWS::StackName": "lectern-test"}

    def ref(name):
        if name in pseudo:
            return pseudo[name]
        if name in template["Parameters"]:
            return str(template["Parameters"][name].get("Default", ""))
        return tpl.local_physical_name(name, template["Resources"][name]["Type"])

    def attribute(name):
        if template["Resources"][name]["Type"] == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        if template["Resources"][name]["Type"] == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{tpl.local_physical_name(name, 'AWS::S3::Bucket')}"
        return f"<{name}>"

    if isinstance(expression, str):
        return expression
    if "Fn::GetAtt" in expression:
        return attribute(expression["Fn::GetAtt"][0])
    if "Ref" in expression:
        return ref(expression["Ref"])
    if "Fn::Select" in expression:
        index, (separator, value) = expression["Fn::Select"][0], expression["Fn::Select"][1]["Fn::Split"]
        return _arn(value).split(separator)[index]
    if "Fn::Sub" in expression:
        text, extra = (expression["Fn::Sub"], {}) if isinstance(expression["Fn::Sub"], str) else expression["Fn::Sub"]

        def substitute(match):
            name = match.group(1)
            if name in extra:
                return _arn(extra[name])
            return attribute(name[:-4]) if name.endswith(".Arn") else ref(name)

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
    return "<unresolved>"


def granted(function: str) -> list[tuple[str, str]]:
    """(action, resource pattern) pairs the function's role allows (its inline policies)."""
    role = rendered()["Resources"][f"{function}Role"]["Properties"]
    pairs = []
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            pairs += [(action, _arn(resource)) for action in actions for resource in resources]
    return pairs


def allowed(function: str, action: str, resource: str) -> bool:
    return any(fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(resource, r) for a, r in granted(function))


class Recorder:
    """(function, action, resource) for every AWS call made inside a function's invocation."""

    def __init__(self):
        self.current = None
        self.calls: dict[str, set[tuple[str, str]]] = defaultdict(set)

    def record(self, service: str, operation: str, params: dict) -> None:
        if self.current is None:
            return
        table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
        if service == "dynamodb" and operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                for kind, body in item.items():
                    self.calls[self.current].add((f"dynamodb:{TRANSACT_ACTIONS[kind]}", table_arn + body["TableName"]))
        elif service == "dynamodb" and operation in ("BatchGetItem", "BatchWriteItem"):
            for table in params["RequestItems"]:
                self.calls[self.current].add((f"dynamodb:{operation}", table_arn + table))
        elif service == "dynamodb":
            resource = table_arn + params["TableName"] + (f"/index/{params['IndexName']}" if params.get("IndexName")
                                                          else "")
            self.calls[self.current].add((f"dynamodb:{operation}", resource))
        elif service == "s3":  # the presigned GET is signed, not called; a call would be checked here
            self.calls[self.current].add((f"s3:{operation}", f"arn:aws:s3:::{params.get('Bucket')}/{params.get('Key')}"))
        elif service == "ses" and operation == "SendEmail":  # authorized on the sender and the configuration set
            ses = f"arn:aws:ses:{REGION}:{ACCOUNT}"
            self.calls[self.current].add(("ses:SendEmail", f"{ses}:identity/{params['Source']}"))
            if params.get("ConfigurationSetName"):
                self.calls[self.current].add(("ses:SendEmail", f"{ses}:configuration-set/{params['ConfigurationSetName']}"))
        elif service == "secretsmanager":  # locally a secret's id is its logical id, as its Ref
            self.calls[self.current].add((f"secretsmanager:{operation}", params["SecretId"]))
        elif service == "ssm":
            self.calls[self.current].add((f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{params['Name']}"))
        else:
            self.calls[self.current].add((f"{service}:{operation}", "*"))


@pytest.fixture
def recorder(runner, monkeypatch):
    record = Recorder()
    real_call = botocore.client.BaseClient._make_api_call

    def make_api_call(client, operation, params):
        record.record(client.meta.service_model.signing_name, operation, params)
        return real_call(client, operation, params)

    real_invoke = runner.invoke_dict

    def invoke_dict(logical_id, event):
        record.current = logical_id
        try:
            return real_invoke(logical_id, event)
        finally:
            record.current = None

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    monkeypatch.setattr(runner, "invoke_dict", invoke_dict)
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    passwords._dummy_hash.cache_clear()
    monkeypatch.setenv("AUTH_SIGNING_KEY", "test-only-hs256-signing-key-0123456789abcdefghijklmnopqrstuvwxyz")
    yield record
    passwords._dummy_hash.cache_clear()


def _token(address: str, path: str) -> str:
    for message in reversed(sent_emails(address)):
        found = re.search(rf"{re.escape(path)}\?token=([^\s]+)", message.body)
        if found:
            return unquote(found.group(1))
    raise AssertionError(f"no {path} mail to {address}")


def _bearer(body: dict) -> dict:
    return {"Authorization": f"Bearer {body['access_token']}"}


def journey(api, emu, runner):
    # Accounts.
    assert api.post("/auth/register", body={"name": "Ada", "email": "ada@example.com", "password": PASSWORD})[
        "statusCode"] == 201
    api.post("/auth/verify-email", body={"token": _token("ada@example.com", "/verify-email")})
    assert api.post("/auth/login", body={"email": "ada@example.com", "password": "wrong-password-1"})["statusCode"] == 401
    session = api.post("/auth/login", body={"email": "ada@example.com", "password": PASSWORD})["json"]
    session = api.post("/auth/refresh", body={"refresh_token": session["refresh_token"]})["json"]
    api.post("/auth/logout", body={"refresh_token": session["refresh_token"]})
    api.post("/auth/password/forgot", body={"email": "ada@example.com"})
    api.post("/auth/password/reset", body={"token": _token("ada@example.com", "/reset-password"),
                                           "password": "Brand-new-pass-7"})

    # A guest buys, claims the account, learns.
    course = sellable_course(emu)
    # Its one lesson is not a preview, so opening it takes the lesson function's audited entitlement check.
    for lesson in CatalogItem.query(course_pk(course.slug), CatalogItem.sk.startswith("LESSON#")):
        lesson.update(actions=[CourseLesson.is_preview.set(False)])
    created = start_checkout(api, course, "guest@example.com")
    paid = emu.pay(created["checkout_session_id"])
    for _ in range(2):  # Stripe delivers twice: the second finds the recorded event
        assert deliver(runner, last_event(emu, "checkout.session.completed", paid["id"]))["statusCode"] == 200
    assert api.get(f"/checkout/{paid['id']}")["statusCode"] == 200
    # The success page's "email me the link again" (AuthFunction reads the order).
    assert api.post(f"/checkout/{paid['id']}/resend-claim", body={})["statusCode"] == 202
    claimed = api.post("/auth/claim", body={"token": _token("guest@example.com", "/claim"), "password": PASSWORD})
    headers = _bearer(claimed["json"])
    for path in ("/me", "/me/courses", "/me/orders", f"/learn/{course.slug}", f"/learn/{course.slug}/lessons/lesson-1-1"):
        assert api.get(path, headers=headers)["statusCode"] < 500 or path.endswith("lesson-1-1"), path
    resource = api.get(f"/learn/{course.slug}", headers=headers)["json"]["course"]["modules"][0]["lessons"][0][
        "resources"][0]["id"]
    assert api.get(f"/resources/{resource}/download", headers={**headers, "Accept": "application/json"})[
        "statusCode"] == 200
    signed_in = api.post("/checkout", body={"course_slug": course.slug}, headers=headers)
    assert signed_in["statusCode"] < 500
    # A gift, bought by the signed-in learner: the webhook grants the recipient; the buyer emails it again
    # (AuthFunction reads the order with its items).
    gift = api.post("/checkout", body={"course_slug": sellable_course(emu).slug,
                                       "gift": {"recipient_email": "friend@example.com", "message": "Enjoy"}},
                    headers=headers)["json"]
    gift_paid = emu.pay(gift["checkout_session_id"])
    assert deliver(runner, last_event(emu, "checkout.session.completed", gift_paid["id"]))["statusCode"] == 200
    assert api.post(f"/me/orders/{gift['order_id']}/resend-gift", headers=headers)["statusCode"] == 202
    # A free course's enrolment (LearnerFunction: the course, the grant, and reading it back the second time).
    from support.factories import make_course

    free = make_course("free-journey-course", price=None, modules=1, lessons_per_module=1)
    assert [api.post(f"/courses/{free.slug}/enroll", headers=headers)["statusCode"] for _ in range(2)] == [201, 200]
    # Progress: the (only) lesson completed issues the certificate (its PDF into the bucket); listed, verified.
    progress = api.request("PUT", f"/learn/{course.slug}/lessons/lesson-1-1/progress",
                           body={"position_seconds": 10, "completed": True}, headers=headers)
    assert progress["statusCode"] == 200
    [certificate] = api.get("/me/certificates", headers=headers)["json"]["certificates"]
    assert api.get(f"/certificates/{certificate['code']}")["statusCode"] == 200

    # Refund, dispute, expiry.
    emu.refund(paid["payment_intent"], amount=1000)
    charge = emu.engine.get("payment_intent", paid["payment_intent"])["latest_charge"]
    assert deliver(runner, last_event(emu, "charge.refunded", charge))["statusCode"] == 200
    dispute = emu.dispute(charge)
    assert deliver(runner, last_event(emu, "charge.dispute.created", dispute["id"]))["statusCode"] == 200
    emu.close_dispute(dispute["id"], won=False)
    assert deliver(runner, last_event(emu, "charge.dispute.closed", dispute["id"]))["statusCode"] == 200
    second = emu.pay(start_checkout(api, course, "other@example.com")["checkout_session_id"])
    emu.refund(second["payment_intent"])
    second_charge = emu.engine.get("payment_intent", second["payment_intent"])["latest_charge"]
    assert deliver(runner, last_event(emu, "charge.refunded", second_charge))["statusCode"] == 500  # out of order
    expired = start_checkout(api, course, "late@example.com")
    emu.expire(expired["checkout_session_id"])
    assert deliver(runner, last_event(emu, "checkout.session.expired", expired["checkout_session_id"]))[
        "statusCode"] == 200

    # The catalog, and a bounce.
    assert api.get("/courses")["statusCode"] == 200
    assert api.get(f"/courses/{course.slug}")["statusCode"] == 200
    runner.invoke_dict("EmailFeedbackFunction", json.loads((tpl.REPO_ROOT / "events" / "email_feedback.json").read_text()))


def test_every_call_of_the_journey_is_allowed_and_nothing_more(api, stripe_env, runner, recorder):
    journey(api, stripe_env, runner)
    assert JOURNEY_FUNCTIONS <= set(recorder.calls)
    denied = sorted((function, action, resource) for function, calls in recorder.calls.items()
                    for action, resource in calls if not allowed(function, action, resource))
    assert denied == []
    for function in tpl.functions():
        actions = {action for action, _ in granted(function)}
        forbidden = NEVER - EXTRA_ACTIONS.get(function, set())
        assert not actions & forbidden, (function, sorted(actions & forbidden))
        if function not in recorder.calls:
            continue  # a function this journey cannot trigger (add it to the journey to check its grants)
        # Nothing granted on a table that the journey never touched with that action.
        used = {(action, resource) for action, resource in recorder.calls[function]}
        for action, pattern in granted(function):
            if action.startswith("dynamodb:") and "/index/" not in pattern:
                assert any(a == action and fnmatch.fnmatchcase(r, pattern) for a, r in used), (function, action, pattern)


def test_no_function_keeps_a_sam_dynamodb_policy_template():
    for name, resource in tpl.resources_of_type(tpl.load(), "AWS::Serverless::Function").items():
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict):
                assert not {"DynamoDBCrudPolicy", "DynamoDBReadPolicy", "DynamoDBWritePolicy"} & set(policy), name

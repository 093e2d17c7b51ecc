"""What the deployed stack relies on in the code: the failed-event metric its alarm watches, bounces
and complaints marked on the address, sending through the SES configuration set, the shop's address
read from the stack's SSM parameter (and, with it, no CORS), and raw webhook bodies that can expire."""
import json

import boto3
import pytest

from lectern_dev import template as tpl
from support.payments_support import (
    deliver, last_event, sellable_course, start_checkout,
)

SAMPLE = tpl.REPO_ROOT / "events" / "email_feedback.json"


@pytest.fixture
def metrics_added(monkeypatch):
    """Every Powertools metric the functions add (the alarm's input), by name."""
    from lectern.observability import metrics

    added: list[str] = []
    real = metrics.add_metric

    def spy(name, unit, value, **kwargs):
        added.append(name)
        return real(name=name, unit=unit, value=value, **kwargs)

    monkeypatch.setattr(metrics, "add_metric", spy)
    return added


# ------------------------------------------------------------------ the webhook's failed-event metric

def test_an_event_that_fails_is_counted_for_the_alarm(api, stripe_env, runner, metrics_added, monkeypatch):
    from lectern.payments import fulfillment

    course = sellable_course(stripe_env)
    session = stripe_env.pay(start_checkout(api, course, "buyer@example.com")["checkout_session_id"])
    completed = last_event(stripe_env, "checkout.session.completed", session["id"])

    def broken_grant(*args, **kwargs):
        raise RuntimeError("DynamoDB went away")

    monkeypatch.setattr(fulfillment.entitlements, "grant", broken_grant)
    assert deliver(runner, completed)["statusCode"] == 500
    assert metrics_added == ["StripeEventFailed"]


def test_an_event_deferred_until_its_predecessor_is_counted_apart(api, stripe_env, runner, metrics_added):
    course = sellable_course(stripe_env)
    session = stripe_env.pay(start_checkout(api, course, "buyer@example.com")["checkout_session_id"])
    stripe_env.refund(session["payment_intent"])
    charge = stripe_env.engine.get("payment_intent", session["payment_intent"])["latest_charge"]
    refunded = last_event(stripe_env, "charge.refunded", charge)
    assert deliver(runner, refunded)["statusCode"] == 500  # before its completion: RetryLater
    assert metrics_added == ["StripeEventDeferred"]  # expected; the alarm watches StripeEventFailed only


def test_a_delivered_event_adds_no_failure_metric(api, stripe_env, runner, metrics_added):
    course = sellable_course(stripe_env)
    session = stripe_env.pay(start_checkout(api, course, "buyer@example.com")["checkout_session_id"])
    assert deliver(runner, last_event(stripe_env, "checkout.session.completed", session["id"]))["statusCode"] == 200
    assert "StripeEventFailed" not in metrics_added


def test_an_email_ses_refuses_is_counted_for_the_alarm_and_a_sent_one_is_not(api, stripe_env, runner, metrics_added,
                                                                             ses_sandbox):
    """FailedEmailsAlarm sums EmailSendFailed: a refused send must publish it (the outbox retries the mail)."""
    from lectern.notifications.email import EMAIL_SEND_FAILED

    ses_sandbox("*@sandbox.example")
    course = sellable_course(stripe_env)
    for email in ("refused@sandbox.example", "fine@example.com"):
        session = stripe_env.pay(start_checkout(api, course, email)["checkout_session_id"])
        assert deliver(runner, last_event(stripe_env, "checkout.session.completed", session["id"]))["statusCode"] == 200
        if email.startswith("refused"):
            assert metrics_added.count(EMAIL_SEND_FAILED) == 2  # the receipt and the claim link
    assert metrics_added.count(EMAIL_SEND_FAILED) == 2


# ------------------------------------------------------------------ bounces and complaints

def _feedback_event(notification: dict) -> dict:
    event = json.loads(SAMPLE.read_text())
    event["Records"][0]["Sns"]["Message"] = json.dumps(notification)
    return event


def test_a_permanent_bounce_marks_the_address(aws, runner, metrics_added):
    from lectern.models.email_feedback import UndeliverableEmail

    event = json.loads(SAMPLE.read_text())
    assert runner.invoke_dict("EmailFeedbackFunction", event) == {"marked": 1}
    item = UndeliverableEmail.get(*UndeliverableEmail.key("No-Such-Learner@example.com"))
    assert (item.reason, item.detail, item.reports) == ("bounce", "Permanent/General", 1)
    assert item.last_ses_message_id == "0100018f-ses-message-id"
    first = item.first_reported_at
    runner.invoke_dict("EmailFeedbackFunction", event)  # SNS may deliver twice
    item.refresh()
    assert (item.reports, item.first_reported_at) == (2, first)
    assert metrics_added == ["EmailBounced", "EmailBounced"]


def test_a_complaint_marks_the_address_and_a_transient_bounce_does_not(aws, runner):
    from lectern.models.email_feedback import UndeliverableEmail

    complaint = {"notificationType": "Complaint",  # the identity-notification format works too
                 "complaint": {"complainedRecipients": [{"emailAddress": "Ann Buyer <ann@example.com>"}],
                               "complaintFeedbackType": "abuse"},
                 "mail": {"messageId": "m-1"}}
    transient = {"eventType": "Bounce", "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
                                                   "bouncedRecipients": [{"emailAddress": "full@example.com"}]}}
    delivery = {"eventType": "Delivery", "mail": {"messageId": "m-2"}}
    for notification, marked in ((complaint, 1), (transient, 0), (delivery, 0)):
        assert runner.invoke_dict("EmailFeedbackFunction", _feedback_event(notification)) == {"marked": marked}
    assert UndeliverableEmail.get(*UndeliverableEmail.key("ann@example.com")).reason == "complaint"
    assert UndeliverableEmail.count(UndeliverableEmail.key("full@example.com")[0]) == 0


def test_mail_goes_through_the_configuration_set_when_deployed(monkeypatch):
    from lectern.notifications import email

    sent = []

    class FakeSes:
        def send_email(self, **kwargs):
            sent.append(kwargs)
            return {"MessageId": "m"}

    monkeypatch.setattr(email, "_ses", lambda: FakeSes())
    monkeypatch.delenv("EMAIL_CONFIGURATION_SET", raising=False)
    email.send(email.Message("a@example.com", "Hi", "Hello"))
    monkeypatch.setenv("EMAIL_CONFIGURATION_SET", "lectern-staging-EmailConfigurationSet")
    email.send(email.Message("a@example.com", "Hi", "Hello"))
    assert "ConfigurationSetName" not in sent[0]  # without one (a bare environment), a plain send
    assert sent[1]["ConfigurationSetName"] == "lectern-staging-EmailConfigurationSet"


# ------------------------------------------------------------------ the shop's address, and CORS

def test_deployed_the_shop_address_comes_from_the_stacks_parameter(aws, monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    from lectern import config
    from lectern.api.app import cors_config

    assert config.frontend_url() == "http://127.0.0.1:3002" and not config.api_same_origin()
    assert cors_config() is not None  # local development: the storefront is on another port

    name = "/lectern/lectern-staging/frontend-url"
    boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Type="String",
                                                               Value="https://d111111abcdef8.cloudfront.net/")
    monkeypatch.delenv("FRONTEND_URL", raising=False)
    monkeypatch.setenv("FRONTEND_URL_PARAMETER", name)
    parameters.clear_caches()
    try:
        assert config.frontend_url() == "https://d111111abcdef8.cloudfront.net"
        assert config.api_same_origin() and cors_config() is None  # one origin: no CORS at all
    finally:
        parameters.clear_caches()


def test_the_template_hands_every_function_the_parameters_name():
    env = tpl.load()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["FRONTEND_URL_PARAMETER"] == {"Fn::Sub": "/lectern/${AWS::StackName}/frontend-url"}
    resource = tpl.load()["Resources"]["FrontendUrlParameter"]["Properties"]
    assert resource["Name"] == env["FRONTEND_URL_PARAMETER"]


# ------------------------------------------------------------------ raw webhook bodies expire

def test_a_raw_body_is_an_item_of_its_own_that_expires(aws):
    from lectern.models.event_payloads import PAYLOAD_RETENTION_DAYS, StripeEventPayload
    from lectern.models.events import StripeEvent

    item = StripeEventPayload.for_event("evt_1", '{"id": "evt_1"}', now=1_800_000_000)
    item.save()
    stored = StripeEventPayload.get("evt_1#payload")
    assert stored.payload == '{"id": "evt_1"}'
    assert stored.payload_expires_at_epoch == 1_800_000_000 + PAYLOAD_RETENTION_DAYS * 86400
    assert StripeEvent.Meta.table_name == StripeEventPayload.Meta.table_name
    ttl = tpl.load()["Resources"]["StripeEventsTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "payload_expires_at_epoch", "Enabled": True}

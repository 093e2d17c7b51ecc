"""Email through Amazon SES, behind one small interface: `send(Message)`.

The sender address comes from EMAIL_FROM (a verified SES identity). Deployed,
every message goes through the stack's SES configuration set
(EMAIL_CONFIGURATION_SET), which publishes bounces and complaints to the
EmailFeedbackFunction (notifications/feedback.py). In the local stack SES is
moto's, and the dev mailbox page shows what was sent.

What a failed send does is the caller's choice; lectern.notifications.outbox
records it for a retry, so no mail outage ever blocks what the mail is about.
"""
from dataclasses import dataclass
from functools import lru_cache

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lectern import config
from lectern.observability import metrics

config.require("EMAIL_FROM")  # at import: a function that sends mail does not start without its sender

# How a send fails: SES answered an error (MessageRejected in the sandbox, Throttling, ...), or
# could not be reached or answered too late (connection errors and timeouts are BotoCoreErrors).
SEND_FAILURES = (ClientError, BotoCoreError)
EMAIL_SEND_FAILED = "EmailSendFailed"  # the metric FailedEmailsAlarm (template.yaml) sums


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str | None = None


@lru_cache(maxsize=1)
def _ses():
    # Fail within a Lambda's time budget (boto3 waits 60 s by default); the outbox retries later.
    return boto3.client("ses", region_name=config.region(), config=Config(
        connect_timeout=2, read_timeout=4, retries={"max_attempts": 2, "mode": "standard"}))


def sender() -> str:
    return config.settings().email_from


def send(message: Message) -> str:
    """Send one email; returns SES's message id."""
    body = {"Text": {"Data": message.text, "Charset": "UTF-8"}}
    if message.html:
        body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
    extra = {}
    configuration_set = config.settings().email_configuration_set
    if configuration_set:
        extra["ConfigurationSetName"] = configuration_set
    try:
        response = _ses().send_email(
            Source=sender(),
            Destination={"ToAddresses": [message.to]},
            Message={"Subject": {"Data": message.subject, "Charset": "UTF-8"}, "Body": body},
            **extra,
        )
    except SEND_FAILURES:
        # FailedEmailsAlarm watches this count (the outbox keeps the mail and retries it).
        metrics.add_count(EMAIL_SEND_FAILED)
        raise
    return response["MessageId"]

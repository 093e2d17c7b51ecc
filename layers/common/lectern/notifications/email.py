"""Email through Amazon SES, behind one small interface: `send(Message)`.

The sender address comes from EMAIL_FROM (a verified SES identity). Deployed,
every message goes through the stack's SES configuration set
(EMAIL_CONFIGURATION_SET), which publishes bounces and complaints to the
EmailFeedbackFunction (notifications/feedback.py). In the local stack SES is
moto's, and the dev mailbox page shows what was sent.
"""
from dataclasses import dataclass
from functools import lru_cache

import boto3

from lectern import config


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str | None = None


@lru_cache(maxsize=1)
def _ses():
    return boto3.client("ses", region_name=config.region())


def sender() -> str:
    return config.env("EMAIL_FROM", "no-reply@lectern.example")


def send(message: Message) -> str:
    """Send one email; returns SES's message id."""
    body = {"Text": {"Data": message.text, "Charset": "UTF-8"}}
    if message.html:
        body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
    extra = {}
    configuration_set = config.env("EMAIL_CONFIGURATION_SET")
    if configuration_set:
        extra["ConfigurationSetName"] = configuration_set
    response = _ses().send_email(
        Source=sender(),
        Destination={"ToAddresses": [message.to]},
        Message={"Subject": {"Data": message.subject, "Charset": "UTF-8"}, "Body": body},
        **extra,
    )
    return response["MessageId"]

"""Bounces and complaints from SES: mark the address (models/email_feedback.py).

The stack's SES configuration set publishes `bounce` and `complaint` events to an SNS
topic that invokes the EmailFeedbackFunction. A transient bounce (mailbox full, ...)
marks nothing: SES retries it. A permanent bounce or a complaint marks every address
it names; SES's suppression list stops further sends to it.

Accepts both SES formats: event publishing (`eventType`) and identity notifications
(`notificationType`), so a topic wired either way works.
"""
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from lectern.clock import iso
from lectern.models.email_feedback import UndeliverableEmail

BOUNCE, COMPLAINT = "bounce", "complaint"


@dataclass(frozen=True)
class Report:
    email: str
    reason: str
    detail: str
    ses_message_id: str | None


def reports(notification: dict[str, Any]) -> list[Report]:
    """The addresses one SES notification reports as undeliverable or complaining ([] for anything else)."""
    kind = (notification.get("eventType") or notification.get("notificationType") or "").lower()
    message_id = (notification.get("mail") or {}).get("messageId")
    if kind == BOUNCE:
        bounce = notification.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType', '')}"
        recipients, reason = bounce.get("bouncedRecipients") or [], BOUNCE
    elif kind == COMPLAINT:
        complaint = notification.get("complaint") or {}
        detail = complaint.get("complaintFeedbackType") or ""
        recipients, reason = complaint.get("complainedRecipients") or [], COMPLAINT
    else:
        return []
    found = []
    for recipient in recipients:
        address = parseaddr(recipient.get("emailAddress") or "")[1]
        if "@" in address:
            found.append(Report(address, reason, detail, message_id))
    return found


def mark(report: Report) -> None:
    """Record the report on the address's item (created on the first one; one UpdateItem)."""
    now = iso()
    item = UndeliverableEmail(*UndeliverableEmail.key(report.email))
    item.update(actions=[
        UndeliverableEmail.reason.set(report.reason),
        UndeliverableEmail.detail.set(report.detail),
        UndeliverableEmail.first_reported_at.set(UndeliverableEmail.first_reported_at | now),
        UndeliverableEmail.last_reported_at.set(now),
        UndeliverableEmail.reports.add(1),
        UndeliverableEmail.last_ses_message_id.set(report.ses_message_id)
        if report.ses_message_id else UndeliverableEmail.last_ses_message_id.remove(),
    ])

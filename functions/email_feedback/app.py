"""SES bounce and complaint notifications (SNS → this function): mark the addresses.

Thin handler: each SNS record's message is one SES notification; lectern.notifications.feedback
says which addresses it reports, and marks them. An error fails the invocation, and SNS's
asynchronous invocation retries it (every mark is an idempotent update).
"""
import json

from lectern.notifications import feedback
from lectern.observability import logger, metrics, tracer

# Custom metrics (namespace POWERTOOLS_METRICS_NAMESPACE) on the dashboard.
METRIC_BY_REASON = {feedback.BOUNCE: "EmailBounced", feedback.COMPLAINT: "EmailComplained"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    marked = 0
    for record in event.get("Records") or []:
        notification = json.loads((record.get("Sns") or {}).get("Message") or "{}")
        for report in feedback.reports(notification):
            feedback.mark(report)
            metrics.add_count(METRIC_BY_REASON[report.reason])
            # The address is personal data: log the reason, never the address.
            logger.warning("Address marked undeliverable", extra={"reason": report.reason, "detail": report.detail})
            marked += 1
    return {"marked": marked}

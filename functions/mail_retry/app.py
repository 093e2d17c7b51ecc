"""Mail retry function: every five minutes (an EventBridge schedule), send again the mails SES
did not take, each when its back-off says (lectern.notifications.outbox; docs/payments.md).

Thin handler: the outbox does the work and keeps each mail's outcome; the answer summarises
the run for the logs (and for `make invoke`).
"""
from collections import Counter

# The outbox's builders, loaded at init rather than at the first retry (and so checked by
# tests/unit/test_cold_imports.py: CoreLayer only, no Stripe, argon2 or JWT).
import lectern.accounts.mails  # noqa: F401
import lectern.payments.purchase_mails  # noqa: F401
from lectern.notifications import outbox
from lectern.observability import logger, metrics, tracer

_METRICS = {"sent": "MailsSentOnRetry", "failed": "MailRetriesFailed", "gave_up": "MailsGivenUp"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    attempts = outbox.retry_due(time_left_ms=context.get_remaining_time_in_millis)
    outcomes = Counter(attempt.outcome for attempt in attempts)
    for outcome, name in _METRICS.items():
        metrics.add_count(name, outcomes.get(outcome, 0))
    for attempt in attempts:
        if attempt.outcome == outbox.GAVE_UP:  # an operator's turn: `lectern_admin mail failed`
            logger.error("Email given up after its retries", extra={"mail_id": attempt.mail_id,
                                                                     "error": attempt.error})
    summary = {"attempted": len(attempts), "outcomes": dict(outcomes)}
    logger.info("Mail retry run", extra=summary)
    return summary

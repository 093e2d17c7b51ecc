"""Stripe webhook function, behind a Lambda function URL (payload 2.0).

Thin handler: take the raw body, verify its signature, hand the event to
lectern.payments.webhook, answer. 200 tells Stripe "done" (also for
duplicates, ignored types and events that can never apply), 400 "not from
Stripe" (or not an event), 413 "too large to be one", 500 "retry later".
"""
import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from lectern import safe_json
from lectern.api import errors, json_input
from lectern.errors import DomainError, ProcessingFailed
from lectern.observability import logger, metrics, tracer
from lectern.payments import webhook
from lectern.payments.fulfillment import RetryLater

# Custom metrics (namespace POWERTOOLS_METRICS_NAMESPACE) the template's alarms watch: an event that
# could not be applied, and one deferred until the event it depends on arrives (expected, not alarmed).
EVENT_FAILED, EVENT_DEFERRED = "StripeEventFailed", "StripeEventDeferred"


def _answer(status: int, body: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    request_id = (event.get("requestContext") or {}).get("requestId")
    if request_id:
        headers["X-Request-Id"] = request_id
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def _raw_body(event: dict[str, Any]) -> str:
    """The body exactly as Stripe signed it; 413 over the webhook's size limit."""
    body, is_base64 = event.get("body") or "", bool(event.get("isBase64Encoded"))
    if json_input.body_bytes(body, is_base64) > webhook.MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The request body may be at most {webhook.MAX_BODY_BYTES} bytes.")
    try:
        text = json_input.decode_body(body, is_base64)
        text.encode("utf-8")  # (a body handed over as text can still hold half a surrogate pair)
    except (safe_json.NotJson, UnicodeEncodeError):
        raise errors.BadRequest("The body is not valid base64 UTF-8.") from None
    return text


def handle(event: dict[str, Any]) -> dict[str, Any]:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")
    if method != "POST":
        raise errors.MethodNotAllowed("Stripe webhooks are POSTed.", headers={"Allow": "POST"})
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    payload = _raw_body(event)
    stripe_event = webhook.verify(payload, headers.get("stripe-signature"))
    webhook.apply_event(stripe_event, payload)
    return {"received": True}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    try:
        return _answer(200, handle(event), event)
    except (DomainError, errors.ApiError) as exc:
        if isinstance(exc, ProcessingFailed):
            deferred = isinstance(exc.__cause__, RetryLater)
            metrics.add_metric(name=EVENT_DEFERRED if deferred else EVENT_FAILED, unit=MetricUnit.Count, value=1)
        response = _answer(errors.status_of(exc), errors.envelope(exc), event)
        response["headers"].update(errors.headers_of(exc))
        return response
    except Exception:  # never a stack trace to the caller; Stripe retries a 500
        logger.exception("Webhook failed")
        metrics.add_metric(name=EVENT_FAILED, unit=MetricUnit.Count, value=1)
        return _answer(500, errors.envelope(errors.InternalError()), event)

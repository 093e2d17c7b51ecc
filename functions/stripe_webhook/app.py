"""Stripe webhook function, behind a Lambda function URL (payload 2.0).

Thin handler on Powertools' LambdaFunctionUrlResolver, with the API's headers and error mapping
(lectern.api.app): take the raw body, verify its signature, hand the event to
lectern.payments.webhook, answer. 200 tells Stripe "done" (also for duplicates, ignored types and
events that can never apply), 400 "not from Stripe" (or not an event), 405 anything but a POST,
413 "too large to be one", 500 "retry later".
"""
import json

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from lectern import safe_json
from lectern.api import errors, json_input
from lectern.api.app import LecternFunctionUrlResolver, error_response
from lectern.errors import ProcessingFailed
from lectern.observability import logger, metrics, tracer
from lectern.payments import webhook
from lectern.payments.fulfillment import RetryLater

# Custom metrics (namespace POWERTOOLS_METRICS_NAMESPACE) the template's alarms watch: an event that
# could not be applied, and one deferred until the event it depends on arrives (expected, not alarmed).
EVENT_FAILED, EVENT_DEFERRED = "StripeEventFailed", "StripeEventDeferred"

app = LecternFunctionUrlResolver()


def _raw_body() -> str:
    """The body exactly as Stripe signed it; 413 over the webhook's size limit."""
    event = app.current_event
    body, is_base64 = event.body or "", bool(event.is_base64_encoded)
    if json_input.body_bytes(body, is_base64) > webhook.MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The request body may be at most {webhook.MAX_BODY_BYTES} bytes.")
    try:
        text = json_input.decode_body(body, is_base64)
        text.encode("utf-8")  # (a body handed over as text can still hold half a surrogate pair)
    except (safe_json.NotJson, UnicodeEncodeError):
        raise errors.BadRequest("The body is not valid base64 UTF-8.") from None
    return text


@app.post(".+")  # the function URL's every path
def receive() -> Response:
    payload = _raw_body()
    stripe_event = webhook.verify(payload, app.current_event.headers.get("stripe-signature"))
    webhook.apply_event(stripe_event, payload)
    return Response(200, content_types.APPLICATION_JSON, json.dumps({"received": True}))


@app.not_found
def _not_post(_exc: NotFoundError) -> Response:
    return error_response(errors.MethodNotAllowed("Stripe webhooks are POSTed.", headers={"Allow": "POST"}))


@app.exception_handler(ProcessingFailed)
def _not_applied(exc: ProcessingFailed) -> Response:
    deferred = isinstance(exc.__cause__, RetryLater)
    metrics.add_count(EVENT_DEFERRED if deferred else EVENT_FAILED)
    return error_response(exc)


@app.exception_handler([Exception, ClientError, PynamoDBException, BotoCoreError])
def _failed(_exc: Exception) -> Response:
    """Never a stack trace to the caller; Stripe retries a 500."""
    logger.exception("Webhook failed")
    metrics.add_count(EVENT_FAILED)
    return error_response(errors.InternalError())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)

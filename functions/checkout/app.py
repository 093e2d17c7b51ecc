"""Checkout function: POST /checkout, GET /checkout/{checkout_session_id}.

Thin handler: parse, call lectern.payments.checkout, answer. Access is never
granted here; the Stripe webhook does that once Stripe says the money is in.
"""
from __future__ import annotations  # the routes' pydantic annotations are read at build time only

from typing import TYPE_CHECKING, Annotated

import lectern.powertools_imports  # noqa: F401, I001  (first of all: lectern/powertools_imports.py)
from aws_lambda_powertools.logging import correlation_paths

from lectern import snapstart
from lectern.api.auth import SIGNED_IN_OPTIONAL, document_bearer_auth, optional_user_id
from lectern.api.app import LecternResolver
from lectern.api.schemas import api_responses
from lectern.observability import logger, metrics, tracer

if TYPE_CHECKING:  # read by the OpenAPI and request-validator generators (lectern_dev.route_models)
    from aws_lambda_powertools.event_handler.openapi.params import Path
    from lectern.payments.request_models import CheckoutRequest
from lectern.payments import checkout
from lectern.payments.schemas import CheckoutCreated, CheckoutStatus

app = LecternResolver()
document_bearer_auth(app)


@app.post("/checkout", status_code=201, summary="Start buying a course (Stripe Checkout)", tags=["Checkout"],
          security=SIGNED_IN_OPTIONAL,
          description="Auth optional. Creates a pending order and a Stripe Checkout Session; redirect the "
                      "buyer to `checkout_url`. Access is granted when Stripe confirms the payment. The same "
                      "buyer (guest email, or signed-in user) checking out the same course again while its "
                      "session is open gets that session again (same `order_id`). 409 `already_owned`, "
                      "`free_course` (enrol instead) or `checkout_in_progress`; 429 `rate_limited` (with "
                      "`Retry-After`) after too many new checkouts from one address or for one buyer.",
          responses=api_responses(201, CheckoutCreated, 400, 401, 404, 409, 422, 429, 500, 503,
                                  description="The pending order and where to pay for it"))
def create_checkout(body: CheckoutRequest) -> CheckoutCreated:
    # API Gateway's sourceIp: the TCP peer, which a client cannot choose (unlike X-Forwarded-For).
    client_ip = app.current_event.request_context.http.source_ip
    return checkout.start_checkout(body, optional_user_id(app), client_ip or None)


@app.get("/checkout/<checkout_session_id>", summary="Status of a checkout, for the success page to poll",
         tags=["Checkout"], responses=api_responses(200, CheckoutStatus, 404, 500, 503,
                                                    description="The order's status and what it buys"))
def get_checkout(checkout_session_id: Annotated[str, Path(max_length=255)]) -> CheckoutStatus:
    return checkout.checkout_status(checkout_session_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)


snapstart.prepare(app)  # Lambda SnapStart: prime before the snapshot, renew after each restore

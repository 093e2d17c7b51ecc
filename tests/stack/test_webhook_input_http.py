"""The webhook against bodies that cannot be events, over HTTP through the local function URL
(tests/api/test_webhook_input.py has the in-process cases)."""

import pytest
import requests
from support.payments_support import signature
from support.stack_process import E2E_WEBHOOK_SECRET
from support.webhook_bodies import NOT_EVENTS, event_body

# ------------------------------------------------------------------ over HTTP, through the function URL

@pytest.mark.stack
@pytest.mark.parametrize("body", [NOT_EVENTS["a list"], NOT_EVENTS["data.object a string"],
                                  NOT_EVENTS["an integer event id"], NOT_EVENTS["nested brackets"]],
                         ids=["a list", "data.object a string", "an integer event id", "nested brackets"])
def test_over_http_a_signed_body_that_cannot_be_an_event_is_400(local_stack, body):
    response = requests.post(local_stack.urls["webhook"], data=body.encode(), timeout=10, headers={
        "Content-Type": "application/json", "Stripe-Signature": signature(body, secret=E2E_WEBHOOK_SECRET)})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.stack
def test_over_http_a_refund_of_a_charge_stripe_does_not_know_is_200(local_stack):
    body = event_body({"id": "ch_nobody_knows", "payment_intent": None, "amount": 100, "metadata": {}},
                  event_id="evt_http_unknown_charge")
    response = requests.post(local_stack.urls["webhook"], data=body.encode(), timeout=10, headers={
        "Content-Type": "application/json", "Stripe-Signature": signature(body, secret=E2E_WEBHOOK_SECRET)})
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}

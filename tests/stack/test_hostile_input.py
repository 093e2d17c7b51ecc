"""Bad input is a 4xx, always: bodies the parser chokes on, bodies over the size limit and bodies
that are not UTF-8, on every route that takes a JSON body, over real HTTP through the local stack
(SAM CLI's API Gateway) and in-process."""
import json

import pytest
import requests
from lectern.api.json_input import MAX_API_BODY_BYTES
from support.http_client import TIMEOUT
from support.stack_process import REPO_ROOT

_DOCUMENT = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
# Every operation of the contract that takes a request body.
BODY_ROUTES = sorted((method.upper(), path) for path, operations in _DOCUMENT["paths"].items()
                     for method, operation in operations.items()
                     if method in ("post", "put", "patch") and "requestBody" in operation)

NESTED = "[" * 12_000                                   # 12 KB: deeper than json.loads can recurse
NESTED_IN_A_FIELD = '{"email": ' + "[" * 11_000         # the same, inside an object
HUGE_NUMBER = '{"email": ' + "9" * 5_000 + "}"          # over Python's 4,300-digit int limit
TOO_LARGE = "[" * 20_000                                # the 20 KB body of the report: over the limit


def test_the_contract_has_body_routes():
    assert ("POST", "/checkout") in BODY_ROUTES and ("POST", "/auth/login") in BODY_ROUTES


def _assert_envelope(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json()["error"]["code"] == code


@pytest.mark.stack
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize("body", [NESTED, NESTED_IN_A_FIELD, HUGE_NUMBER],
                         ids=["nested", "nested-in-a-field", "5000-digit-number"])
def test_json_the_parser_cannot_read_is_400_on_every_body_route(local_stack, method, path, body):
    assert len(body) <= MAX_API_BODY_BYTES
    response = requests.request(method, local_stack.urls["api"] + path, data=body.encode(), timeout=TIMEOUT,
                                headers={"Content-Type": "application/json"})
    _assert_envelope(response, 400, "bad_request")


@pytest.mark.stack
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_body_over_the_limit_is_413_on_every_body_route(local_stack, method, path):
    response = requests.request(method, local_stack.urls["api"] + path, data=TOO_LARGE.encode(), timeout=TIMEOUT,
                                headers={"Content-Type": "application/json"})
    _assert_envelope(response, 413, "payload_too_large")
    assert str(MAX_API_BODY_BYTES) in response.json()["error"]["message"]


@pytest.mark.stack
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_body_that_is_not_utf8_is_400_through_the_local_gateway(local_stack, method, path):
    """The local gateway hands it over base64-encoded, as API Gateway does (it used to answer 502
    itself, before any function ran)."""
    response = requests.request(method, local_stack.urls["api"] + path, data=b'{"email": "\xff\xfe"}',
                                timeout=TIMEOUT, headers={"Content-Type": "application/json"})
    _assert_envelope(response, 400, "bad_request")


@pytest.mark.stack
def test_a_webhook_body_that_is_not_utf8_reaches_the_function_and_is_400(local_stack):
    """Lambda function URLs base64-encode such a body too: the webhook answers it, not the local URL."""
    response = requests.post(local_stack.urls["webhook"], data=b'{"id": "\xff\xfe"}', timeout=TIMEOUT,
                             headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400, response.text
    assert response.headers.get("X-Request-Id")

"""The body size limit's edges, in process: bytes not characters, base64 bodies, routes that take no body
(tests/stack/test_hostile_input.py sends what the parser cannot read over real HTTP)."""
import base64

from lectern.api.json_input import MAX_API_BODY_BYTES
from lectern_dev.events import http_event

TOO_LARGE = "[" * 20_000  # the 20 KB body of the report: over the limit


# ---------------------------------------------------------------- in-process: the limit's edges

def test_a_body_exactly_at_the_limit_is_read_and_one_byte_more_is_413(api):
    padding = '{"email": "a@example.com", "password": "x", "pad": "'
    at_limit = padding + "p" * (MAX_API_BODY_BYTES - len(padding) - 2) + '"}'
    assert len(at_limit) == MAX_API_BODY_BYTES
    assert api.post("/auth/login", body=at_limit, headers={"Content-Type": "application/json"})["statusCode"] == 401
    over = at_limit[:-2] + 'p"}'
    response = api.post("/auth/login", body=over, headers={"Content-Type": "application/json"})
    assert response["statusCode"] == 413 and response["json"]["error"]["code"] == "payload_too_large"


def test_the_limit_counts_bytes_not_characters_and_holds_for_base64_bodies(api):
    body = '{"email": "' + "é" * (MAX_API_BODY_BYTES // 2) + '"}'  # fewer characters than the limit, more bytes
    assert len(body) < MAX_API_BODY_BYTES < len(body.encode())
    assert api.post("/checkout", body=body, headers={"Content-Type": "application/json"})["statusCode"] == 413
    event = http_event("POST", "/checkout", headers={"Content-Type": "application/json"})
    event.update(body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
    response = api.runner.invoke_dict(api.function_for("POST", "/checkout"), event)
    assert response["statusCode"] == 413, response


def test_a_large_body_on_a_route_that_takes_none_is_413_too(api):
    response = api.get("/courses", body=TOO_LARGE)
    assert response["statusCode"] == 413 and response["json"]["error"]["code"] == "payload_too_large"

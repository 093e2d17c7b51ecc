"""Contract fuzzing: schemathesis drives every operation of docs/openapi.json against the running
local stack (real HTTP through SAM CLI's local API Gateway, the functions, moto, the Stripe emulator).

For every request it generates: no 5xx, a status code the operation documents, a body matching the
schema documented for that status (the error envelope included), the documented content type and
the documented headers (`X-Content-Type-Options`, `Cache-Control`, `X-Request-Id`, the redirect's
`Location`); and for the coverage phase's probes with a method the path does not serve, the
`$default` route's 405 with `Allow`.

- `test_anonymous` fuzzes every operation without a valid token (no `Authorization`, or whatever
  schemathesis makes up for the bearer scheme); `test_signed_in` fuzzes the operations with a
  `security` requirement again as a registered user who bought a course.
- In the fuzzing phase, the `known_values` hook swaps the path parameters and body fields of the
  positive cases for real ones about two times in three (course and lesson slugs that belong
  together, resource ids, a paid checkout session, the user's email, emailed and refresh tokens for
  the route that takes them, the demo promotion code), so fuzzing gets past the 404s: every
  operation reaches its success status (/learn 200, downloads 302 and 200, checkout 201 and 409,
  claim, reset, verify, refresh, logout), not only its errors.
- Settings: 25 examples per operation and test, no deadline, derandomized (the same requests on
  every run), plus the schema's examples and the coverage phase's deterministic probes.

Left out, on purpose (each with the test that covers it instead):
- The 302 of GET /resources/{resource_id}/download is checked for its status and headers, not
  followed: the presigned S3 URL it points to is not part of this API (test_e2e_http.py downloads
  through it).
- TRACE and QUERY probes: API Gateway routes `ANY` as GET, POST, PUT, PATCH, DELETE, HEAD and
  OPTIONS only, so those methods never reach a function (the gateway answers them itself). HEAD is
  not probed either: SAM CLI's local gateway answers HEAD on a GET route with its own 502 (Flask
  adds HEAD to GET rules, and SAM finds no function for it).
- OPTIONS, the CORS preflight, which schemathesis leaves alone, and the `$default` route's 404 for
  an unknown path are not operations of the document: test_cors_preflight and
  test_default_route_answers_the_error_envelope check them against its description.
"""
import base64
import json

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from support.http_client import TIMEOUT, StackClient, unique_email
from lectern_dev.events import http_event
from support.stack_process import REPO_ROOT

pytestmark = pytest.mark.stack

OWNED, BUYABLE = "serverless-python-on-aws", "practical-sql-for-analysts"
UNPUBLISHED = "watercolour-basics"
PASSWORD = "correct horse battery staple 42"
PROMOTION_CODE = "LAUNCH25"  # seeded into the Stripe emulator by the local stack

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, unsupported_method]
# About 25 generated requests per operation and test (plus the examples and the coverage phase's
# deterministic boundary, negative and method probes), the same ones on every run.
# Health checks off: every example is an HTTP round trip through the stack, slow by Hypothesis' measure.
FUZZ_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"unexpected-methods": [
    "get", "post", "put", "patch", "delete", "options"]}}})

schema = schemathesis.openapi.from_path(REPO_ROOT / "docs" / "openapi.json", config=CONFIG)


def _lessons(course: dict) -> list[dict]:
    return [lesson for module in course["modules"] for lesson in module["lessons"]]


class Known:
    """Real values from the running stack, gathered once: a user who bought a course, a guest
    purchase waiting to be claimed, and what the catalog holds."""

    def __init__(self, client: StackClient):
        self.email = unique_email("fuzz")
        registered = client.call("POST", "/auth/register",
                                 json={"name": "Fuzz", "email": self.email, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        self.token = registered.json()["access_token"]
        order = client.buy(OWNED, token=self.token)
        guest = unique_email("fuzz-guest")
        client.buy(OWNED, email=guest)
        # Sessions of their own for /auth/logout to end and /auth/refresh to rotate (the latter of
        # another user, since a password reset ends every session of this one).
        login = client.call("POST", "/auth/login", json={"email": self.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        other = client.call("POST", "/auth/register",
                            json={"name": "Other", "email": unique_email("fuzz-other"), "password": PASSWORD})
        assert other.status_code == 201, other.text
        assert client.call("POST", "/auth/password/forgot", json={"email": self.email}).status_code == 202
        # Each token for the route that takes it (a token of another purpose is a 400).
        self.tokens = {
            "/auth/verify-email": {"token": client.wait_for_mail(self.email, "/verify-email")},
            "/auth/claim": {"token": client.wait_for_mail(guest, "/claim")},
            "/auth/password/reset": {"token": client.wait_for_mail(self.email, "/reset-password")},
            "/auth/logout": {"refresh_token": [login.json()["refresh_token"]]},
            "/auth/refresh": {"refresh_token": [other.json()["refresh_token"]]},
        }

        slugs = [c["slug"] for c in client.call("GET", "/courses").json()["courses"]] + [UNPUBLISHED]
        lessons: list[dict] = []     # {"course_slug", "lesson_slug"} pairs that belong together
        resources: list[str] = []
        for slug in slugs:
            learn = client.call("GET", f"/learn/{slug}", self.token)
            outline = learn if learn.status_code == 200 else client.call("GET", f"/courses/{slug}")
            if outline.status_code != 200:
                continue
            for lesson in _lessons(outline.json()["course"]):
                lessons.append({"course_slug": slug, "lesson_slug": lesson["slug"]})
                resources += [r["id"] for r in lesson.get("resources", [])]
        assert resources and any(pair["course_slug"] == OWNED for pair in lessons)

        # The entitled course weighs most, so fuzzing reaches its 200s as often as the 403s and 404s.
        courses = [OWNED, OWNED, *slugs]
        self.path_combos = [
            *({"slug": slug} for slug in courses),
            *({"course_slug": slug} for slug in courses),
            *lessons, *(pair for pair in lessons if pair["course_slug"] == OWNED),
            *({"resource_id": rid} for rid in resources),
            {"checkout_session_id": order["checkout_session_id"]},
        ]
        self.body = {
            "email": [self.email, guest, unique_email("fuzz-new")],
            "course_slug": [BUYABLE, BUYABLE, *slugs],
            "password": [PASSWORD],
            "name": ["Fuzz"],
            "promotion_code": [PROMOTION_CODE, None],
        }

    def body_values(self, path: str) -> dict[str, list]:
        return {**self.body, **self.tokens.get(path, {})}


KNOWN: list[Known] = []  # filled by the `known` fixture, before any case is drawn


@pytest.fixture(scope="module")
def known(local_stack) -> Known:
    if not KNOWN:
        KNOWN.append(Known(StackClient(local_stack.urls)))
    return KNOWN[0]


@pytest.fixture(scope="module")
def http() -> requests.Session:
    session = requests.Session()
    # schemathesis lets a session's headers override the case's, so requests' defaults
    # (`Accept: */*`) would hide the case's own `Accept`.
    session.headers.clear()
    return session


@schema.hook("flatmap_case")
def known_values(context, case):
    """Fuzzing phase, positive cases: about two times in three the path parameters are a real
    combination, and each body field a real value; half the time the client asks for JSON
    (`Accept: application/json`, which turns the download's 302 into a 200)."""
    meta = case.meta
    if not KNOWN or (meta is not None and meta.generation.mode != GenerationMode.POSITIVE):
        return st.just(case)
    known = KNOWN[0]
    names = set(case.path_parameters or {})
    combos = [combo for combo in known.path_combos if set(combo) == names] if names else []
    path = (st.one_of(st.sampled_from(combos), st.sampled_from(combos), st.just(case.path_parameters))
            if combos else st.just(None))
    body = case.body if isinstance(case.body, dict) else None
    values = known.body_values(case.operation.path)
    fields = st.fixed_dictionaries({
        name: st.one_of(st.sampled_from(values[name]), st.sampled_from(values[name]), st.just(value))
        if values.get(name) else st.just(value)
        for name, value in (body or {}).items()})

    def apply(drawn):
        drawn_path, drawn_body, wants_json = drawn
        if drawn_path is not None:
            case.path_parameters = dict(drawn_path)
        if body is not None:
            case.body = drawn_body
        if wants_json:
            case.headers = {**(case.headers or {}), "Accept": "application/json"}
        return case

    return st.tuples(path, fields, st.booleans()).map(apply)


def _call_and_validate(case, base_url: str, http: requests.Session, token: str | None = None) -> None:
    # Headers passed here override the case's own, so a signed-in case carries the real token.
    headers = {"Authorization": f"Bearer {token}"} if token else None
    case.call_and_validate(base_url=base_url, session=http, headers=headers, checks=CHECKS, timeout=TIMEOUT,
                           allow_redirects=False)


@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous(case, known, local_stack, http):
    _call_and_validate(case, local_stack.urls["api"], http)


@schema.include(lambda ctx: bool(ctx.operation.definition.raw.get("security"))).parametrize()
@FUZZ_SETTINGS
def test_signed_in(case, known, local_stack, http):
    _call_and_validate(case, local_stack.urls["api"], http, token=known.token)


# ---------------------------------------------------------------- not operations of the document
def _error_envelope_validator():
    document = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    return jsonschema_rs.validator_for({"$ref": "#/components/schemas/ErrorEnvelope",
                                        "components": document["components"]})


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/nope", 404, "not_found"),
    ("POST", "/courses/x/lessons", 404, "not_found"),
    ("GET", "/", 404, "not_found"),
    ("PUT", "/courses", 405, "method_not_allowed"),
    ("DELETE", "/me", 405, "method_not_allowed"),
    ("GET", "/checkout", 405, "method_not_allowed"),
])
def test_default_route_answers_the_error_envelope(local_stack, method, path, status, code):
    """The `$default` route (DESCRIPTION of the document): 404 for an unknown path, 405 with `Allow`
    for a known path with another method, both in the documented error envelope."""
    response = requests.request(method, local_stack.urls["api"] + path, timeout=TIMEOUT)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Request-Id"]
    _error_envelope_validator().validate(response.json())
    assert response.json()["error"]["code"] == code
    if status == 405:
        assert response.headers["Allow"] == ("POST" if path == "/checkout" else "GET")


@pytest.mark.parametrize("path", ["/courses", "/checkout", "/me", "/learn/x/lessons/y", "/resources/r/download"])
def test_cors_preflight(local_stack, path):
    """A preflight is answered 204 without a body (as the document's description says); only the
    storefront's origin is allowed, and the methods are the ones the template routes for the path."""
    storefront, stranger = local_stack.urls["web"], "https://attacker.example"
    asks = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = requests.options(local_stack.urls["api"] + path, headers={"Origin": storefront, **asks}, timeout=TIMEOUT)
    assert allowed.status_code == 204 and allowed.content == b""
    assert allowed.headers["Access-Control-Allow-Origin"] == storefront
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in allowed.headers["Access-Control-Allow-Headers"].split(",")}
    methods = set(allowed.headers["Access-Control-Allow-Methods"].split(","))
    assert methods == {"OPTIONS", "POST" if path == "/checkout" else "GET"}
    assert "Origin" in allowed.headers["Vary"]

    refused = requests.options(local_stack.urls["api"] + path, headers={"Origin": stranger, **asks}, timeout=TIMEOUT)
    assert refused.status_code == 204 and refused.content == b""
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize("path", ["/auth/login", "/checkout"])
def test_a_body_that_is_not_utf8_is_a_bad_request(api, path):
    """In-process, as API Gateway hands such a body over (base64-encoded): the envelope's 400, not a
    500. Through the local gateway: test_hostile_input.py."""
    event = http_event("POST", path, headers={"Content-Type": "application/json"})
    event.update(body=base64.b64encode(b'{"email": "\xff\xfe"}').decode(), isBase64Encoded=True)
    response = api.runner.invoke_dict(api.function_for("POST", path), event)
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"]["code"] == "bad_request"

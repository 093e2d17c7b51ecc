"""The compiled request validators say what the pydantic models say.

The deployed functions check each route's input with `lectern.api.request_validators` (generated from
the routes' pydantic models by `lectern_dev.request_validators`) and `lectern.api.request_binding`,
without pydantic. These tests hold the two to the same answers: the generated file is current, and for
any input (hypothesis) both accept it with the same values, or both refuse it naming the same fields.
"""
import json
import string
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lectern.api import request_binding, request_validators
from lectern.errors import ValidationFailed
from lectern_dev import request_validators as generator
from lectern_dev import route_models
from pydantic import BaseModel, ValidationError

MODELS = route_models.request_models()


def test_the_generated_validators_are_current():
    assert generator.main(["--check"]) == 0, "run `make request-validators`"


def test_every_route_of_every_http_function_has_its_entry():
    for resolver in route_models.resolvers().values():
        for route in route_models.routes(resolver):
            assert (route.method, route.path) in request_validators.ROUTES, (route.method, route.path)


def test_every_request_model_is_compiled():
    compiled = {name[len("MODEL_"):] for name in vars(request_validators) if name.startswith("MODEL_")}
    assert compiled == set(MODELS)


# ------------------------------------------------------------------ the same answers as pydantic
_TEXT = st.text(alphabet=st.sampled_from(string.ascii_letters + string.digits + " \t\n\r-_.@é\u202e\x00\ud800"),
                max_size=40)
_EMAILS = st.sampled_from(["buyer@example.com", " Buyer@Example.COM ", "no-at-sign", "a@b", "x@y.co", "",
                           "a" * 250 + "@example.com", "ok.name+tag@sub.example.org"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**7), st.floats(allow_nan=False, allow_infinity=False),
                     _TEXT, _EMAILS, st.text(min_size=95, max_size=130), st.text(min_size=500, max_size=520),
                     st.sampled_from(["LAUNCH20", "bad code!", "   ", "x" * 65]))


def _values(model: type[BaseModel]):
    fields = list(model.model_fields)
    value = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=2),
                      st.dictionaries(st.sampled_from(["recipient_email", "recipient_name", "message", "x"]),
                                      st.one_of(_SCALARS), max_size=3))
    return st.dictionaries(st.sampled_from([*fields, "unknown"]), value, max_size=len(fields) + 1)


def _pydantic(model: type[BaseModel], data: dict):
    try:
        instance = model.model_validate(data)
    except ValidationError as exc:
        return "invalid", {".".join(str(part) for part in error["loc"]) for error in exc.errors()}
    return "valid", instance.model_dump()


def _plain(value):
    if isinstance(value, SimpleNamespace):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value


def _compiled(model_name: str, data: dict):
    route = request_binding.Route(body_param="body", body=getattr(request_validators, f"MODEL_{model_name}"))
    try:
        arguments = request_binding.bind(route, data, None, {})
    except ValidationFailed as exc:
        return "invalid", set(exc.details)
    return "valid", _plain(arguments["body"])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_request_model_is_checked_as_pydantic_checks_it(name):
    model = MODELS[name]

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_values(model))
    def check(data):
        data = json.loads(json.dumps(data))  # what a JSON body can hold
        assert _compiled(name, data) == _pydantic(model, data), data

    check()


def test_a_body_that_is_not_an_object_is_a_bad_request():
    route = request_validators.ROUTES[("POST", "/auth/login")]
    for body in (None, [], "text", 5):
        with pytest.raises(request_binding.BadBody):
            request_binding.bind(route, body, None, {})


def test_messages_are_pydantics_own():
    model = MODELS["RegisterRequest"]
    data = {"name": "  ", "email": "nope", "password": ""}
    expected = {".".join(map(str, e["loc"])): [e["msg"]] for e in _errors(model, data)}
    route = request_validators.ROUTES[("POST", "/auth/register")]
    with pytest.raises(ValidationFailed) as caught:
        request_binding.bind(route, data, None, {})
    assert caught.value.details == expected


def _errors(model, data):
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return exc.errors()
    raise AssertionError("expected errors")


def test_query_and_path_parameters_are_checked_and_converted():
    route = request_validators.ROUTES[("GET", "/courses")]
    assert request_binding.bind(route, None, None, {}) == {"limit": 20, "cursor": None}
    assert request_binding.bind(route, None, {"limit": "5", "cursor": "abc"}, {}) == {"limit": 5, "cursor": "abc"}
    for bad in ("0", "51", "five", "2.5", ""):
        with pytest.raises(ValidationFailed) as caught:
            request_binding.bind(route, None, {"limit": bad}, {})
        assert set(caught.value.details) == {"limit"}
    detail = request_validators.ROUTES[("GET", "/courses/<slug>")]
    assert request_binding.bind(detail, None, None, {"slug": "intro"}) == {"slug": "intro"}
    with pytest.raises(ValidationFailed) as caught:
        request_binding.bind(detail, None, None, {"slug": "x" * 101})
    assert caught.value.details == {"slug": ["String should have at most 100 characters"]}

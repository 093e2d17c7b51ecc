"""The /v1 plumbing every resource's routes share.

Request handling mirrors api.stripe.com: form-encoded params, `expand[]`,
idempotency keys, list pagination and Stripe's error JSON, so the official SDK
works against it unchanged. (Bearer-key auth and unknown /v1 URLs: app.py.)
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

from flask import Flask, Response, request

from ..engine import Engine
from ..errors import ApiError
from ..forms import parse_form, to_int, to_list, to_str
from ..store import new_id

MAX_LIST_LIMIT = 100


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, indent=2) + "\n", status=status, mimetype="application/json", headers=headers)


def error_response(error: ApiError, request_id: str | None = None) -> Response:
    headers = {"Request-Id": request_id} if request_id else None
    return json_response(error.to_dict(), error.status, headers)


def paginate(objects: list[dict], params: dict, url: str) -> dict:
    """Stripe's list envelope with `limit`, `starting_after` and `ending_before`."""
    limit = to_int(params, "limit", 10)
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ApiError.invalid(f"Invalid limit: must be between 1 and {MAX_LIST_LIMIT}", param="limit")
    ids = [obj["id"] for obj in objects]
    starting_after = to_str(params, "starting_after")
    ending_before = to_str(params, "ending_before")
    if starting_after:
        if starting_after not in ids:
            raise ApiError.missing("object", starting_after, param="starting_after")
        remaining = objects[ids.index(starting_after) + 1 :]
        page = remaining[:limit]
    elif ending_before:
        if ending_before not in ids:
            raise ApiError.missing("object", ending_before, param="ending_before")
        remaining = objects[: ids.index(ending_before)]
        page = remaining[-limit:]
    else:
        remaining = objects
        page = remaining[:limit]
    return {"object": "list", "data": page, "has_more": len(remaining) > limit, "url": url}


# A list filter reads its query param and returns a test for each object, or None when the param is absent.
ListFilter = Callable[[dict], Callable[[dict], bool] | None]


def field_is(
    param: str, get: Callable[[dict], Any] | None = None, *, read: Callable = to_str, fold: Callable = lambda v: v
) -> ListFilter:
    """Keep objects whose field (the param's namesake unless `get` is given) equals the param, both `fold`ed."""
    get = get or (lambda obj: obj[param])

    def test_for(params: dict) -> Callable[[dict], bool] | None:
        wanted = read(params, param)
        if wanted is None:
            return None
        wanted = fold(wanted)
        return lambda obj: fold(get(obj)) == wanted

    return test_for


def field_in(param: str, field: str) -> ListFilter:
    """Keep objects whose `field` is one of the values of the list param (`ids[]`, `lookup_keys[]`)."""

    def test_for(params: dict) -> Callable[[dict], bool] | None:
        wanted = set(to_list(params, param))
        return (lambda obj: obj[field] in wanted) if wanted else None

    return test_for


class IdempotencyCache:
    """Replays the stored response for a repeated `Idempotency-Key`.

    Like Stripe: only completed (2xx) responses are stored; reusing a key
    with other params is a 400 idempotency_error; a concurrent request with
    the same key gets a 409 (the SDK retries it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, tuple[str, int, str]] = {}
        self._in_flight: set[str] = set()

    def run(self, key: str, fingerprint: str, handle: Callable[[], Response]) -> Response:
        with self._lock:
            stored = self._done.get(key)
            if stored is None and key in self._in_flight:
                raise ApiError(
                    409,
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still going through): "
                    f"{key}. Please try again later.",
                    type="idempotency_error",
                )
            if stored is None:
                self._in_flight.add(key)
        if stored is not None:
            original_fingerprint, status, body = stored
            if original_fingerprint != fingerprint:
                raise ApiError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first "
                    f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            return Response(body, status=status, mimetype="application/json", headers={"Idempotent-Replayed": "true"})
        try:
            response = handle()
            if 200 <= response.status_code < 300:
                with self._lock:
                    self._done[key] = (fingerprint, response.status_code, response.get_data(as_text=True))
            return response
        finally:
            with self._lock:
                self._in_flight.discard(key)


class V1Api:
    """Registers /v1 views on a Flask app: `@api.route(rule, method)` and `api.list(rule, object_type, ...)`."""

    def __init__(self, app: Flask, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self._idempotency = IdempotencyCache()

    def route(self, rule: str, method: str) -> Callable:
        """Register a /v1 view `view(params, context, **path_args) -> dict`."""

        def register(view: Callable[..., dict]) -> Callable[..., dict]:
            def handle(**path_args: str) -> Response:
                request_id = new_id("req_", 7)
                try:
                    raw = request.get_data() if method == "POST" else request.query_string
                    params = parse_form(raw)
                    idempotency_key = request.headers.get("Idempotency-Key") if method == "POST" else None
                    context = {"id": request_id, "idempotency_key": idempotency_key}

                    def respond() -> Response:
                        body = view(params, context, **path_args)
                        expand = [str(path) for path in to_list(params, "expand")]
                        if expand:
                            body = self.engine.expand(body, expand)
                        return json_response(body, headers={"Request-Id": request_id})

                    if idempotency_key:
                        fingerprint = json.dumps([method, request.path, params], sort_keys=True)
                        return self._idempotency.run(idempotency_key, fingerprint, respond)
                    return respond()
                except ApiError as error:
                    return error_response(error, request_id)

            self.app.add_url_rule(rule, endpoint=f"{method} {rule}", view_func=handle, methods=[method])
            return view

        return register

    def list(self, rule: str, object_type: str, *filters: ListFilter) -> None:
        """Register GET `rule`: the `object_type` objects that pass every filter the query asks for, paginated."""

        @self.route(rule, "GET")
        def list_objects(params, context):
            tests = [test for test in (make(params) for make in filters) if test is not None]
            return paginate(self.engine.list(object_type, lambda obj: all(test(obj) for test in tests)), params, rule)

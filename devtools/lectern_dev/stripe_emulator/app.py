"""The Flask app: Stripe's /v1 REST API plus the hosted pages (see pages.py).

Request handling mirrors api.stripe.com: bearer-key auth, form-encoded
params, `expand[]`, idempotency keys, list pagination and Stripe's error
JSON, so the official SDK works against it unchanged.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Callable

from flask import Flask, Response, request

from . import pages
from .errors import ApiError
from .forms import parse_form, to_bool, to_int, to_list, to_metadata, to_str
from .store import new_id

if TYPE_CHECKING:
    from .emulator import StripeEmulator

MAX_LIST_LIMIT = 100
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


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


def create_app(emulator: "StripeEmulator") -> Flask:
    app = Flask("lectern_dev.stripe_emulator")
    engine = emulator.engine
    idempotency = IdempotencyCache()

    @app.before_request
    def authenticate() -> Response | None:
        if not request.path.startswith("/v1/"):
            return None  # hosted pages are for the (local) buyer: no key
        provided = _api_key_from_headers()
        if provided is None:
            error = ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
            return error_response(error)
        if provided != emulator.api_key:
            return error_response(ApiError(401, f"Invalid API Key provided: {_redact(provided)}"))
        return None

    @app.errorhandler(404)
    @app.errorhandler(405)
    def unknown_route(error: Exception) -> Any:
        if request.path.startswith("/v1/"):
            message = (
                f"Unrecognized request URL ({request.method}: {request.path}). "
                "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            )
            return error_response(ApiError(404, message))
        return error

    def api(rule: str, method: str) -> Callable:
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
                            body = engine.expand(body, expand)
                        return json_response(body, headers={"Request-Id": request_id})

                    if idempotency_key:
                        fingerprint = json.dumps([method, request.path, params], sort_keys=True)
                        return idempotency.run(idempotency_key, fingerprint, respond)
                    return respond()
                except ApiError as error:
                    return error_response(error, request_id)

            app.add_url_rule(rule, endpoint=f"{method} {rule}", view_func=handle, methods=[method])
            return view

        return register

    def api_list(rule: str, object_type: str, *filters: ListFilter) -> None:
        """Register GET `rule`: the `object_type` objects that pass every filter the query asks for, paginated."""

        @api(rule, "GET")
        def list_objects(params, context):
            tests = [test for test in (make(params) for make in filters) if test is not None]
            return paginate(engine.list(object_type, lambda obj: all(test(obj) for test in tests)), params, rule)

    # ----------------------------------------------------------------- catalog

    @api("/v1/products", "POST")
    def create_product(params, context):
        return engine.create_product(params)

    api_list("/v1/products", "product", field_is("active", read=to_bool), field_in("ids", "id"))

    @api("/v1/products/<product_id>", "GET")
    def retrieve_product(params, context, product_id):
        return engine.get("product", product_id)

    @api("/v1/products/<product_id>", "POST")
    def update_product(params, context, product_id):
        return engine.update_product(product_id, params)

    @api("/v1/prices", "POST")
    def create_price(params, context):
        return engine.create_price(params)

    api_list(
        "/v1/prices",
        "price",
        field_is("product"),
        field_is("active", read=to_bool),
        field_is("currency", fold=str.lower),
        field_in("lookup_keys", "lookup_key"),
    )

    @api("/v1/prices/<price_id>", "GET")
    def retrieve_price(params, context, price_id):
        return engine.get("price", price_id)

    @api("/v1/prices/<price_id>", "POST")
    def update_price(params, context, price_id):
        return engine.update_price(price_id, params)

    @api("/v1/coupons", "POST")
    def create_coupon(params, context):
        return engine.create_coupon(params)

    api_list("/v1/coupons", "coupon")

    @api("/v1/coupons/<coupon_id>", "GET")
    def retrieve_coupon(params, context, coupon_id):
        return engine.get("coupon", coupon_id)

    @api("/v1/promotion_codes", "POST")
    def create_promotion_code(params, context):
        return engine.create_promotion_code(params)

    api_list(
        "/v1/promotion_codes",
        "promotion_code",
        field_is("code", fold=str.lower),
        field_is("active", read=to_bool),
        field_is("coupon", lambda promo: promo["promotion"]["coupon"]),
    )

    @api("/v1/promotion_codes/<promo_id>", "GET")
    def retrieve_promotion_code(params, context, promo_id):
        return engine.get("promotion_code", promo_id)

    @api("/v1/promotion_codes/<promo_id>", "POST")
    def update_promotion_code(params, context, promo_id):
        return engine.update_promotion_code(promo_id, params)

    # -------------------------------------------------------- checkout sessions

    @api("/v1/checkout/sessions", "POST")
    def create_checkout_session(params, context):
        return engine.create_session(params, context)

    api_list("/v1/checkout/sessions", "checkout.session", field_is("payment_intent"), field_is("status"))

    @api("/v1/checkout/sessions/<session_id>", "GET")
    def retrieve_checkout_session(params, context, session_id):
        return engine.get("checkout.session", session_id, param="session")

    @api("/v1/checkout/sessions/<session_id>/line_items", "GET")
    def list_line_items(params, context, session_id):
        # Line items keep the order they were given in, unlike other lists.
        url = f"/v1/checkout/sessions/{session_id}/line_items"
        return paginate(engine.line_items(session_id), params, url)

    @api("/v1/checkout/sessions/<session_id>/expire", "POST")
    def expire_checkout_session(params, context, session_id):
        return engine.expire_session(session_id, context)

    # -------------------------------------------------- payments and refunds

    api_list("/v1/payment_intents", "payment_intent")

    @api("/v1/payment_intents/<intent_id>", "GET")
    def retrieve_payment_intent(params, context, intent_id):
        return engine.get("payment_intent", intent_id, param="intent")

    api_list("/v1/charges", "charge", field_is("payment_intent"))

    @api("/v1/charges/<charge_id>", "GET")
    def retrieve_charge(params, context, charge_id):
        return engine.get("charge", charge_id, param="charge")

    @api("/v1/refunds", "POST")
    def create_refund(params, context):
        reason = to_str(params, "reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise ApiError.invalid(f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}", param="reason")
        return engine.refund(
            charge_id=to_str(params, "charge"),
            payment_intent_id=to_str(params, "payment_intent"),
            amount=to_int(params, "amount"),
            reason=reason,
            metadata=to_metadata(params),
            request=context,
        )

    api_list("/v1/refunds", "refund", field_is("charge"), field_is("payment_intent"))

    @api("/v1/refunds/<refund_id>", "GET")
    def retrieve_refund(params, context, refund_id):
        return engine.get("refund", refund_id, param="refund")

    api_list("/v1/disputes", "dispute", field_is("charge"), field_is("payment_intent"))

    @api("/v1/disputes/<dispute_id>", "GET")
    def retrieve_dispute(params, context, dispute_id):
        return engine.get("dispute", dispute_id, param="dispute")

    # ------------------------------------------------------------------ events

    def event_types_and_delivery(params: dict) -> Callable[[dict], bool]:
        types = [str(t) for t in to_list(params, "types")]
        if to_str(params, "type"):
            types.append(to_str(params, "type"))
        return engine.events_matching(
            types, delivered=emulator.delivery_succeeded, want_delivered=to_bool(params, "delivery_success")
        )

    api_list("/v1/events", "event", event_types_and_delivery)

    @api("/v1/events/<event_id>", "GET")
    def retrieve_event(params, context, event_id):
        return engine.get("event", event_id)

    pages.register(app, emulator)
    return app


def _api_key_from_headers() -> str | None:
    """Stripe accepts `Bearer <key>` and HTTP basic auth with the key as user."""
    authorization = request.authorization
    if authorization is None:
        return None
    if authorization.type == "bearer":
        return authorization.token or None
    if authorization.type == "basic":
        return authorization.username or None
    return None


def _redact(key: str) -> str:
    return f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"

"""One resolver factory for every API function: envelope, headers, input checks.

Every response, success or error, leaves through `LecternResolver.resolve`,
which adds the headers the contract asks for; every exception is turned into
the contract's envelope, so no route can answer a bare 500 or a stack trace.
"""
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver, CORSConfig, LambdaFunctionUrlResolver, Response, content_types,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from lectern import config, safe_json
from lectern.api import errors, json_input, request_binding
from lectern.api.request_validators import ROUTES as REQUEST_MODELS
from lectern.errors import DomainError, NotFound, ServiceUnavailable
from lectern.api.routes import allowed_methods
from lectern.observability import logger

# DynamoDB answers these when it is overloaded: the caller may retry (503), nothing was half-written.
_RETRYABLE_AWS_CODES = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable",
}
_NOT_JSON = "The body must be a JSON object (Content-Type: application/json)."


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code behind a botocore or PynamoDB exception ('' when there is none)."""
    if isinstance(exc, PynamoDBException):
        # Only a ClientError cause carries a response; PynamoDB's property assumes one.
        return aws_error_code(exc.cause) if exc.cause is not None else ""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def error_response(error: errors.AnyError) -> Response:
    return Response(
        status_code=errors.status_of(error),
        content_type=content_types.APPLICATION_JSON,
        body=errors.envelope(error),
        headers={"Cache-Control": "no-store", **errors.headers_of(error)},
    )


def frontend_origin() -> str:
    """The storefront's origin (scheme://host[:port]) from FRONTEND_URL: the one origin CORS allows."""
    parts = urlsplit(config.frontend_url())
    return f"{parts.scheme}://{parts.netloc}"


def cors_config() -> CORSConfig | None:
    """CORS for the storefront only, for local development, where the storefront and the API listen
    on different ports. The HTTP API has no CORS configuration of its own, so a browser's preflight
    (OPTIONS) reaches the `$default` route's function, whose resolver answers it (204). Deployed,
    the storefront reaches the API under its own origin (/api/* of its distribution): no CORS."""
    if config.api_same_origin():
        return None
    return CORSConfig(allow_origin=frontend_origin(), allow_headers=["Authorization", "Content-Type"],
                      expose_headers=["Retry-After"], max_age=600)  # a 429 says when to come back


class BindRequest:
    """Each route's input checked against its request model before the route runs, as Powertools'
    validation did, without pydantic (`lectern.api.request_binding`; the rules are generated from the
    models). The route is called with the validated body (attribute access, as on the model), query
    and path parameters. First of all, a body over the route's size limit is a 413
    `payload_too_large`. The contract speaks JSON only: a body sent with any other Content-Type,
    bytes that are not UTF-8 (API Gateway hands those over base64-encoded) or JSON the parser cannot
    read (nested too deep, a 5,000-digit number) is a 400 `bad_request`."""

    def __init__(self, max_body_bytes: int):
        self.max_body_bytes = max_body_bytes
        self.__name__ = type(self).__name__  # Powertools names each middleware in its debug trail

    def __call__(self, app: Any, next_middleware: Any) -> Response:
        event = app.current_event
        if json_input.body_bytes(event.body, event.is_base64_encoded) > self.max_body_bytes:
            raise errors.PayloadTooLarge(f"The request body may be at most {self.max_body_bytes} bytes.")
        route = app.context["_route"]
        model = REQUEST_MODELS.get((route.method, route.path))
        if model is None:
            if route.func in {r.func for r in (*app._static_routes, *app._dynamic_routes)}:
                # A route the generated validators do not know: they are stale (a test keeps them current).
                raise RuntimeError(f"no request model for {route.method} {route.path}: regenerate the validators")
            return next_middleware(app)  # Powertools' not-found route (a 404 or 405 follows)
        body = self._json_body(event) if model.body is not None else None
        try:
            arguments = request_binding.bind(model, body, event.query_string_parameters,
                                             app.context.get("_route_args") or {})
        except request_binding.BadBody:
            raise errors.BadRequest(_NOT_JSON) from None
        app.context["_route_args"] = arguments
        return next_middleware(app)

    @staticmethod
    def _json_body(event: Any) -> Any:
        content_type = (event.headers.get("content-type") or "").strip().lower()
        if content_type and not content_type.startswith(content_types.APPLICATION_JSON):
            raise errors.BadRequest(_NOT_JSON)  # (media types are case-insensitive)
        try:
            text = json_input.decode_body(event.body, event.is_base64_encoded)
            return safe_json.loads(text) if text else None
        except safe_json.NotJson:
            raise errors.BadRequest(_NOT_JSON) from None


class _ContractMixin:
    """What every function behind HTTP shares: the contract's headers on every answer, and every
    exception mapped to its envelope. Mixed into a Powertools resolver (the API's, the webhook's)."""

    _cache_control = "no-store"

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        response = super().resolve(event, context)
        headers = response.setdefault("headers", {})
        if self._cors is not None:
            # The answer depends on the Origin header (CORS headers only for the storefront's origin).
            headers["Vary"] = "Origin"
            http = (event.get("requestContext") or {}).get("http") or {}
            if http.get("method") == "OPTIONS" and "Access-Control-Allow-Methods" in headers:
                # A preflight: name the methods the template routes for this path (any function's),
                # not just the ones this function serves.
                methods = allowed_methods(event.get("rawPath") or http.get("path") or "")
                if methods:
                    headers["Access-Control-Allow-Methods"] = ",".join(sorted({*methods, "OPTIONS"}))
        lowered = {k.lower() for k in headers}
        headers["X-Content-Type-Options"] = "nosniff"
        if "cache-control" not in lowered:
            headers["Cache-Control"] = self._cache_control
        request_id = (event.get("requestContext") or {}).get("requestId")
        if request_id:
            headers["X-Request-Id"] = request_id
        return response

    def _register_error_handlers(self) -> None:
        @self.exception_handler([DomainError, errors.ApiError])
        def _known_error(exc: errors.AnyError) -> Response:
            return error_response(exc)

        @self.not_found
        def _no_route(_exc: NotFoundError) -> Response:
            event = self.current_event
            allowed = allowed_methods(event.path)
            if allowed and event.http_method not in allowed:
                return error_response(errors.MethodNotAllowed(
                    f"{event.http_method} is not allowed on {event.path}.",
                    headers={"Allow": ", ".join(allowed)}))
            if allowed:
                # A routed method whose path parameter holds characters no route pattern accepts (a
                # control character in a slug): nothing is there, in the words of every other 404.
                return error_response(NotFound())
            return error_response(NotFound(f"No route for {event.http_method} {event.path}."))

        @self.exception_handler([ClientError, PynamoDBException, BotoCoreError])
        def _aws_error(exc: Exception) -> Response:
            code = aws_error_code(exc)
            logger.exception("AWS call failed", extra={"aws_error_code": code})
            cause = getattr(exc, "cause", None)
            if code in _RETRYABLE_AWS_CODES or isinstance(exc, BotoCoreError) or isinstance(cause, BotoCoreError):
                return error_response(ServiceUnavailable())
            return error_response(errors.InternalError())

        @self.exception_handler(Exception)
        def _unexpected(exc: Exception) -> Response:
            # Last line of defence: log the trace, answer the envelope, never leak internals.
            logger.exception("Unhandled error")
            return error_response(errors.InternalError())


class LecternResolver(_ContractMixin, APIGatewayHttpResolver):
    """APIGatewayHttpResolver that stamps the contract's headers on every answer."""

    def __init__(self, cache_control: str = "no-store", max_body_bytes: int = json_input.MAX_API_BODY_BYTES,
                 **kwargs: Any):
        kwargs.setdefault("cors", cors_config())
        super().__init__(**kwargs)
        self.use([BindRequest(max_body_bytes)])
        self._cache_control = cache_control
        self._register_error_handlers()

    @staticmethod
    def refuses_an_empty_body(route: Any) -> bool:
        """The route's body model has a required field, so `{}` is refused before the route runs
        (what SnapStart's priming sends each such route: lectern.snapstart)."""
        takes = REQUEST_MODELS.get((route.method, route.path))
        return takes is not None and takes.body is not None and any(field.required for field in takes.body.fields)


class LecternFunctionUrlResolver(_ContractMixin, LambdaFunctionUrlResolver):
    """LambdaFunctionUrlResolver (payload 2.0) with the API's headers and error mapping; no CORS, no
    request validation: its routes read the raw body (the Stripe webhook verifies it byte for byte)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._register_error_handlers()

"""One resolver factory for every API function: envelope, headers, validation.

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
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from lectern import config, safe_json
from lectern.api import errors, json_input
from lectern.errors import DomainError, NotFound, ServiceUnavailable, ValidationFailed
from lectern.api.routes import allowed_methods
from lectern.observability import logger

# DynamoDB answers these when it is overloaded: the caller may retry (503), nothing was half-written.
_RETRYABLE_AWS_CODES = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable",
}
_NOT_JSON = "The body must be a JSON object (Content-Type: application/json)."
_BAD_BODY_TYPES = {"json_invalid", "unsupported_content_type", "model_attributes_type"}


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


def _field_name(location: tuple) -> str:
    # ("query", "limit") -> "limit"; ("body", "email") -> "email"; ("body",) -> "body"
    parts = [str(p) for p in location[1:]] or [str(location[0])]
    return ".".join(parts)


def validation_error(exc: RequestValidationError) -> errors.AnyError:
    problems = exc.errors()
    if any(p.get("type") in _BAD_BODY_TYPES or tuple(p.get("loc", ())) == ("body",) for p in problems):
        return errors.BadRequest(_NOT_JSON)
    details: dict[str, list[str]] = {}
    for problem in problems:
        details.setdefault(_field_name(tuple(problem.get("loc", ("body",)))), []).append(
            str(problem.get("msg", "is not valid")))
    return ValidationFailed(details=details)


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


class JsonBodiesOnly(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, minus its form and multipart parsing (which also answered a
    bare 500 for `multipart/form-data` without a boundary): the contract speaks JSON only, so a body
    sent with any other Content-Type, bytes that are not UTF-8 (API Gateway hands those over
    base64-encoded) or JSON the parser cannot read (nested too deep, a 5,000-digit number) is a 400
    `bad_request`. First of all, a body over the route's size limit is a 413 `payload_too_large`."""

    def __init__(self, max_body_bytes: int):
        super().__init__()
        self.max_body_bytes = max_body_bytes

    def handler(self, app: Any, next_middleware: Any) -> Response:
        event = app.current_event
        if json_input.body_bytes(event.body, event.is_base64_encoded) > self.max_body_bytes:
            raise errors.PayloadTooLarge(f"The request body may be at most {self.max_body_bytes} bytes.")
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = (app.current_event.headers.get("content-type") or "").strip().lower()
        if content_type and not content_type.startswith(content_types.APPLICATION_JSON):
            raise errors.BadRequest(_NOT_JSON)
        return self._parse_json_data(app)  # (media types are case-insensitive; Powertools' check is not)

    def _parse_json_data(self, app: Any) -> Any:
        event = app.current_event
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

        @self.exception_handler(RequestValidationError)
        def _validation(exc: RequestValidationError) -> Response:
            return error_response(validation_error(exc))

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
        super().__init__(enable_validation=True, **kwargs)
        self._request_validation_middleware = JsonBodiesOnly(max_body_bytes)
        self._cache_control = cache_control
        self._register_error_handlers()


class LecternFunctionUrlResolver(_ContractMixin, LambdaFunctionUrlResolver):
    """LambdaFunctionUrlResolver (payload 2.0) with the API's headers and error mapping; no CORS, no
    request validation: its routes read the raw body (the Stripe webhook verifies it byte for byte)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._register_error_handlers()

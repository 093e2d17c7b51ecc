"""HTTP-level wire shapes shared by every function: the error envelope, the headers every answer
carries, and the `responses=` a route documents.

The shapes of what the routes answer live with their domain (`lectern.<package>.schemas`);
these are the ones only HTTP has.
"""
from typing import Any

from lectern.wire import shape


@shape
class ErrorBody:
    code: str
    message: str
    details: dict[str, Any] | None = None


@shape
class ErrorEnvelope:
    error: ErrorBody


_DESCRIPTIONS = {
    400: "Malformed request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 410: "Token expired", 413: "Request body too large",
    422: "Validation failed",
    429: "Rate limited", 500: "Internal error", 503: "Service unavailable",
}


PUBLIC_CACHE = "public, max-age=60"  # the catalog's Cache-Control; everything else is `no-store`
# The headers LecternResolver puts on every answer, as OpenAPI header components (devtools'
# OpenAPI generator adds them to the document's `components.headers`; responses refer to them).
HEADER_COMPONENTS: dict[str, dict[str, Any]] = {
    "NoSniff": {"description": "Always `nosniff`", "required": True, "schema": {"type": "string", "enum": ["nosniff"]}},
    "NoStore": {"description": "`no-store`: the answer is personal, or an error", "required": True,
                "schema": {"type": "string", "enum": ["no-store"]}},
    "PublicCache": {"description": "Public catalog data: caches may keep it for a minute", "required": True,
                    "schema": {"type": "string", "enum": [PUBLIC_CACHE]}},
    "RequestId": {"description": "API Gateway's id for the request (quote it to support)", "required": True,
                  "schema": {"type": "string"}},
}
_CACHE_COMPONENTS = {"no-store": "NoStore", PUBLIC_CACHE: "PublicCache"}


def response_headers(cache_control: str = "no-store") -> dict[str, dict[str, Any]]:
    """A response's `headers`: the ones every answer carries, with the route's `Cache-Control`."""
    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/headers/{name}"}
    return {"X-Content-Type-Options": ref("NoSniff"), "Cache-Control": ref(_CACHE_COMPONENTS[cache_control]),
            "X-Request-Id": ref("RequestId")}


def error_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """OpenAPI `responses` entries (the envelope) for the error statuses a route can answer.
    413 (a body over the size limit, checked on every route), 422 and 500 (validation, the
    last-resort handler) are always possible, so always listed."""
    return {
        status: {"description": _DESCRIPTIONS[status], "headers": response_headers("no-store"),
                 "content": {"application/json": {"model": ErrorEnvelope}}}
        for status in sorted({*statuses, 413, 422, 500})
    }


def api_responses(status: int, model: type | None, *errors: int,
                  description: str = "Success", cache_control: str = "no-store") -> dict[int, dict[str, Any]]:
    """The route's success response plus its error responses, for the `responses=` argument.
    (Powertools documents only what `responses` lists once it is given.) Without a model the
    success response has no body (204)."""
    success: dict[str, Any] = {"description": description, "headers": response_headers(cache_control),
                               "content": {"application/json": {"model": model}} if model is not None else {}}
    return {status: success, **error_responses(*errors)}

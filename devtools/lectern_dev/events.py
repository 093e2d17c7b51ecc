"""API Gateway HTTP API and Lambda function URL (payload 2.0) events, as AWS would send them.

Tests and the benchmark build requests with `http_event` and `function_url_event`; the
local stack uses SAM CLI's own event constructor instead, and the `events/` samples
follow the same shape.
"""
import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode


def http_event(method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None,
               headers: dict[str, str] | None = None, route_key: str | None = None,
               base64_body: bool = False, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
        headers.setdefault("content-type", "application/json")
    if isinstance(body, bytes):
        body = body.decode()
    if base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key or "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"host": "127.0.0.1:3000", "user-agent": "pytest", **headers},
        "queryStringParameters": dict(query) if query else None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1",
            "domainPrefix": "127", "requestId": str(uuid.uuid4()), "routeKey": route_key or "$default",
            "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }


def function_url_event(payload: str, headers: dict[str, str] | None = None, *, base64_body: bool = False) -> dict:
    """A Lambda function URL request (payload 2.0), as Stripe's webhook POST arrives."""
    now = time.time()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"host": "abc123.lambda-url.us-east-1.on.aws", "content-type": "application/json; charset=utf-8",
                    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", **(headers or {})},
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc123", "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc123", "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "Stripe/1.0"},
        },
        "body": base64.b64encode(payload.encode()).decode() if base64_body else payload,
        "isBase64Encoded": base64_body,
    }

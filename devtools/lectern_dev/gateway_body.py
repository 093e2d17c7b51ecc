"""Request bodies the way AWS hands them to a function: text as is, anything else base64-encoded.

API Gateway (HTTP API) and Lambda function URLs pass a body that is not valid UTF-8 to the
function base64-encoded, with `isBase64Encoded: true`. SAM CLI's event constructor decodes every
body it does not consider binary as UTF-8 and fails on such bytes (its local gateway then
answers 502 before any function runs). Both local front doors ask `binary_types_for` which
binary media types to give SAM's `construct_v2_event_http` for a request, so a body that is
not UTF-8 is base64-encoded, as in AWS, and the function answers it (400 `bad_request`).
"""
from collections.abc import Sequence


def is_utf8(body: bytes | None) -> bool:
    if not body:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def binary_types_for(body: bytes | None, binary_types: Sequence[str]) -> list[str]:
    """`binary_types` for SAM's event constructor: as configured, plus every type (`*/*`) when the
    body is not UTF-8, which makes SAM base64-encode it and set `isBase64Encoded`."""
    return list(binary_types) if is_utf8(body) else [*binary_types, "*/*"]

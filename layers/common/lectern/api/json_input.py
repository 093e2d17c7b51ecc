"""Reading what callers send over HTTP: bodies of bounded size, as text.

API Gateway hands a body over base64-encoded when it is not UTF-8 text; `decode_body` undoes
that and raises `lectern.safe_json.NotJson` for bytes that are not UTF-8, so the callers
answer a 400, never a 500. The JSON itself is read with `lectern.safe_json.loads`.
"""
import base64
import binascii

from lectern.safe_json import NotJson

KIB = 1024
# Every JSON route of the HTTP API: the largest real body (register) is under 2 KB.
MAX_API_BODY_BYTES = 16 * KIB


def decode_body(body: str | None, is_base64: bool) -> str:
    """The body as text, base64-decoded first when the gateway encoded it. A body that is not
    UTF-8 (which is why API Gateway base64-encodes it) raises NotJson."""
    if not body:
        return ""
    if not is_base64:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotJson("the body is not UTF-8") from None


def body_bytes(body: str | None, is_base64: bool) -> int:
    """How many bytes the caller sent (before any base64 encoding by the gateway)."""
    if not body:
        return 0
    if is_base64:
        return len(body) * 3 // 4 - body[-2:].count("=")
    return len(body.encode("utf-8", "surrogatepass"))

"""Reading what callers send: bodies of bounded size and JSON that cannot crash the parser.

`json.loads` raises more than JSONDecodeError on hostile input: RecursionError for
deeply nested brackets (about 10,000 levels, a 10 KB body) and a plain ValueError
for integers over 4,300 digits. `loads` turns every one of them into NotJson, so
the callers answer a 400, never a 500.
"""
import base64
import binascii
import json
import re
from typing import Any

KIB = 1024
# Every JSON route of the HTTP API: the largest real body (register) is under 2 KB.
MAX_API_BODY_BYTES = 16 * KIB

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class NotJson(ValueError):
    """The text is not JSON this service can read."""


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise NotJson(f"{type(exc).__name__}: {str(exc)[:200]}") from None


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


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) of parsed JSON holds half a surrogate pair (`"\\ud800"`):
    valid JSON, but not text anything downstream can encode. Iterative: nesting depth is no limit."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False

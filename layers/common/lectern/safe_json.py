"""JSON from outside that cannot crash the parser.

`json.loads` raises more than JSONDecodeError on hostile input: RecursionError for
deeply nested brackets (about 10,000 levels, a 10 KB body) and a plain ValueError
for integers over 4,300 digits. `loads` turns every one of them into NotJson, so
the callers (the API's request bodies, the Stripe webhook's events) answer a 400, never a 500.
"""
import json
import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class NotJson(ValueError):
    """The text is not JSON this service can read."""


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise NotJson(f"{type(exc).__name__}: {str(exc)[:200]}") from None


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

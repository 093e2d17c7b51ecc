"""Decode Stripe-style form bodies and query strings into nested Python values.

The Stripe SDK flattens nested params into bracketed keys:
``line_items[0][price]=price_1&metadata[order_id]=42&expand[0]=line_items``.
Other clients send ``expand[]=line_items``. Both become
``{"line_items": [{"price": "price_1"}], "metadata": {"order_id": "42"},
"expand": ["line_items"]}``. Every leaf value stays a string; the coercion
helpers below convert them where a number or boolean is expected.
"""

from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import parse_qsl

from .errors import ApiError

# "line_items[0][price]" -> "line_items", "[0][price]"
_KEY_HEAD = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")

# Keys under these names are free-form user data: "metadata[0]" is a dict key,
# not a list index, so never turn them into lists.
_FREE_FORM_KEYS = {"metadata"}


def parse_form(raw: str | bytes) -> dict[str, Any]:
    """Parse an urlencoded body / query string into nested dicts and lists."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return nest(parse_qsl(raw, keep_blank_values=True))


def nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY_HEAD.match(key)
        if not match:
            raise ApiError.invalid(f"Invalid parameter name: {key}", param=key)
        path = [match.group(1)] + _KEY_PART.findall(match.group(2))
        node = root
        for index, part in enumerate(path[:-1]):
            next_part = path[index + 1]
            # "expand[]" appends: give each occurrence a fresh numeric slot.
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ApiError.invalid(f"Conflicting values for parameter {key}", param=key)
            if next_part == "":
                path[index + 1] = str(len(child))
            node = child
        leaf = path[-1]
        if isinstance(node.get(leaf), dict):
            raise ApiError.invalid(f"Conflicting values for parameter {key}", param=key)
        node[leaf] = value
    return _listify(root)


def _listify(value: Any, parent_key: str | None = None) -> Any:
    """Turn dicts keyed "0", "1", ... into lists (except free-form metadata)."""
    if not isinstance(value, dict):
        return value
    converted = {
        key: (child if key in _FREE_FORM_KEYS else _listify(child, key))
        for key, child in value.items()
    }
    if parent_key is not None and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# --- coercion helpers (raise Stripe-shaped 400s on bad input) ---------------


def to_int(params: dict, name: str, default: Any = None, *, minimum: int | None = None) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise ApiError.invalid(f"Invalid integer: {raw}", param=name) from None
    if minimum is not None and number < minimum:
        raise ApiError.invalid(f"Invalid {name}: must be at least {minimum}", param=name)
    return number


def to_float(params: dict, name: str, default: Any = None) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ApiError.invalid(f"Invalid decimal: {raw}", param=name) from None


def to_bool(params: dict, name: str, default: Any = None) -> Any:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "True", "1"):
        return True
    if raw in ("false", "False", "0"):
        return False
    raise ApiError.invalid(f"Invalid boolean: {raw}", param=name)


def to_str(params: dict, name: str, default: Any = None) -> Any:
    raw = params.get(name)
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise ApiError.invalid(f"Invalid string: expected a single value for {name}", param=name)
    return raw


def to_list(params: dict, name: str) -> list:
    raw = params.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return raw
    if isinstance(raw, dict):  # sparse indices like expand[3] only
        return [raw[k] for k in sorted(raw, key=lambda k: int(k) if k.isdigit() else 0)]
    return [raw]


def to_metadata(params: dict, name: str = "metadata") -> dict[str, str] | None:
    """Return the metadata dict sent, or None when absent. "" means "clear all"."""
    raw = params.get(name)
    if raw is None:
        return None
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise ApiError.invalid("Invalid hash", param=name)
    return {str(k): v for k, v in raw.items()}


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict:
    """Stripe update semantics: `metadata=""` clears all, keys set to "" are removed."""
    if update is None:
        return current
    if not update:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged

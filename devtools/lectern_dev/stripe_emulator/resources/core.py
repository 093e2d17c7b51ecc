"""What every resource of the engine shares: the state, the fixtures, reads and `expand[]`.

Each Stripe resource's rules live in a module of their own (products.py,
prices.py, ...), as a class built on `EngineCore` (or on the resource it builds
on: a price needs products, a checkout session promotion codes); `Engine`
(engine.py) puts them together, so they share one state and one lock.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Iterable

from ..errors import ApiError
from ..store import Fixtures, State

# Stripe's wording in "No such <name>: '<id>'" errors.
_MISSING_NAMES = {"promotion_code": "promotion code"}


def now() -> int:
    return int(time.time())


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


class EngineCore:
    def __init__(
        self,
        state: State,
        fixtures: Fixtures,
        *,
        api_version: str,
        pay_page_base: Callable[[], str],
        pending_webhooks_for: Callable[[str], int],
        on_event: Callable[[dict], None],
    ):
        self.state = state
        self.fixtures = fixtures
        self.api_version = api_version
        self._pay_page_base = pay_page_base
        self._pending_webhooks_for = pending_webhooks_for
        self._on_event = on_event

    # ------------------------------------------------------------------ reads

    def get(self, object_type: str, object_id: str, *, param: str = "id") -> dict:
        """A deep copy of one object; 404 resource_missing when unknown."""
        with self.state.lock:
            return copy.deepcopy(self._get(object_type, object_id, param=param))

    def list(self, object_type: str, keep: Callable[[dict], bool] = lambda obj: True) -> list[dict]:
        """Deep copies of matching objects, newest first (Stripe's list order)."""
        with self.state.lock:
            matching = [obj for obj in self.state[object_type].values() if keep(obj)]
            return copy.deepcopy(matching[::-1])

    def expand(self, obj: dict, paths: Iterable[str]) -> dict:
        """Apply `expand[]` paths (e.g. "payment_intent", "data.latest_charge",
        "line_items", "payment_intent.latest_charge") to a copied object."""
        with self.state.lock:
            for path in paths:
                self._expand_path(obj, str(path).split("."), depth=0)
        return obj

    def _expand_path(self, node: Any, parts: list[str], depth: int) -> None:
        if not parts or depth >= 4 or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if node.get("object") == "list" and head == "data":
            for item in node.get("data", []):
                self._expand_path(item, rest, depth + 1)
            return
        if node.get("object") == "checkout.session" and head == "line_items":
            items = self.state.session_extras[node["id"]].line_items
            node["line_items"] = {
                "object": "list",
                "data": copy.deepcopy(items[:100]),
                "has_more": len(items) > 100,
                "url": f"/v1/checkout/sessions/{node['id']}/line_items",
            }
            self._expand_path(node["line_items"], rest, depth + 1)
            return
        if head not in node:
            raise ApiError.invalid(f"This property cannot be expanded ({head}).", param="expand")
        value = node[head]
        if isinstance(value, str):
            found = self.state["coupon"].get(value) if head == "coupon" else self.state.find(value)
            if found is not None:
                node[head] = value = copy.deepcopy(found)
        targets = value if isinstance(value, list) else [value]
        for target in targets:
            self._expand_path(target, rest, depth + 1)

    def _get(self, object_type: str, object_id: str, *, param: str = "id") -> dict:
        obj = self.state[object_type].get(object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise ApiError.missing(_MISSING_NAMES.get(object_type, object_type), str(object_id), param=param)
        return obj

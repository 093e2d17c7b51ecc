"""/v1/events"""

from __future__ import annotations

from typing import Callable

from ..engine import Engine
from ..forms import to_bool, to_list, to_str
from .v1 import V1Api


def register(api: V1Api, engine: Engine, *, delivered: Callable[[dict], bool | None]) -> None:
    """`delivered(event)`: whether the webhook endpoint got it (None: not subscribed), for `delivery_success`."""

    def event_types_and_delivery(params: dict) -> Callable[[dict], bool]:
        types = [str(t) for t in to_list(params, "types")]
        if to_str(params, "type"):
            types.append(to_str(params, "type"))
        return engine.events_matching(types, delivered=delivered, want_delivered=to_bool(params, "delivery_success"))

    api.list("/v1/events", "event", event_types_and_delivery)

    @api.route("/v1/events/<event_id>", "GET")
    def retrieve_event(params, context, event_id):
        return engine.get("event", event_id)

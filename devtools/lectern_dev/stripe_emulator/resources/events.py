"""Events: what every state change emits, and the filter of GET /v1/events."""

from __future__ import annotations

import copy
import fnmatch
from typing import Callable

from ..store import new_id
from .core import EngineCore, now


class Events(EngineCore):
    def _emit(self, event_type: str, obj: dict, request: dict | None) -> dict:
        event = self.fixtures.build(
            "event",
            id=new_id("evt_"),
            api_version=self.api_version,
            created=now(),
            data={"object": copy.deepcopy(obj)},
            pending_webhooks=self._pending_webhooks_for(event_type),
            request=dict(request or {"id": None, "idempotency_key": None}),
            type=event_type,
        )
        self.state["event"][event["id"]] = event
        self._on_event(event)
        return event

    def events_matching(
        self, types: list[str], delivered: Callable[[dict], bool | None] | None = None, want_delivered: bool | None = None
    ) -> Callable[[dict], bool]:
        """Filter for GET /v1/events: `type`/`types[]` (with "charge.*" wildcards)
        and `delivery_success`."""

        def keep(event: dict) -> bool:
            if types and not any(fnmatch.fnmatchcase(event["type"], pattern) for pattern in types):
                return False
            if want_delivered is not None and delivered is not None:
                outcome = delivered(event)
                if outcome is None:  # not meant for the webhook endpoint
                    return False
                return outcome == want_delivered
            return True

        return keep

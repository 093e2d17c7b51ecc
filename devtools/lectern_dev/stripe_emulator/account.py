"""`Account`: one emulated Stripe test-mode account, without its HTTP server.

Its objects and their rules (`engine`), its API key, its webhook endpoint, and
what a person does on the hosted page or the Stripe dashboard (pay, refund,
open a dispute, resend an event...). `StripeEmulator` (emulator.py) serves an
account over loopback HTTP; the /v1 routes (routes/) and the pages (pages.py)
are handed the account they serve, so none of them imports emulator.py.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

import stripe

from .delivery import Outcome, WebhookDeliverer
from .engine import Engine
from .errors import ApiError
from .store import Fixtures, State

DEFAULT_RETRY_DELAYS = (0.5, 1, 2, 4, 8)


class Account:
    """The state, the engine and the webhook endpoint of one test-mode account.

    The helper methods (`pay`, `refund`, `dispute`, ...) do what the hosted
    pages / the Stripe dashboard would do, and emit the same events.
    """

    def __init__(
        self,
        *,
        webhook_url: str | None,
        webhook_secret: str,
        api_key: str,
        pay_page_base: Callable[[], str],
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        fixtures_path: str | Path | None = None,
        delivery_timeout: float = 10.0,
        enabled_events: Iterable[str] | None = None,
    ):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        # Like a webhook endpoint's enabled_events: None means every event ("*").
        self.enabled_events = list(enabled_events) if enabled_events is not None else None
        self.auto_deliver = True

        self.state = State()
        self.engine = Engine(
            self.state,
            Fixtures(fixtures_path),
            api_version=stripe.api_version,
            pay_page_base=pay_page_base,
            pending_webhooks_for=lambda event_type: int(bool(self.webhook_url) and self._wants(event_type)),
            on_event=self._on_event,
        )
        self._deliverer = WebhookDeliverer(
            get_url=lambda: self.webhook_url,
            secret=lambda: self.webhook_secret,
            load_payload=self._event_payload,
            on_outcome=self._record_outcome,
            retry_delays=retry_delays,
            timeout=delivery_timeout,
        )

    # ------------------------------------------------- hosted page / dashboard

    def pay(self, session_id: str, delayed: bool = False, *, email: str | None = None, promotion_code: str | None = None) -> dict:
        """The buyer pays on the hosted page (test card, or a delayed bank debit)."""
        return self.engine.pay(session_id, delayed=delayed, email=email, promotion_code=promotion_code)

    def settle_delayed(self, session_id: str, succeed: bool = True) -> dict:
        return self.engine.settle_delayed(session_id, succeed=succeed)

    def expire(self, session_id: str) -> dict:
        return self.engine.expire_session(session_id)

    def refund(self, payment_intent_or_charge_id: str, amount: int | None = None) -> dict:
        if payment_intent_or_charge_id.startswith("pi_"):
            return self.engine.refund(payment_intent_id=payment_intent_or_charge_id, amount=amount)
        return self.engine.refund(charge_id=payment_intent_or_charge_id, amount=amount)

    def dispute(self, charge_id: str) -> dict:
        return self.engine.open_dispute(charge_id)

    def close_dispute(self, dispute_id: str, won: bool) -> dict:
        return self.engine.close_dispute(dispute_id, won)

    # --------------------------------------------------------------- webhooks

    @property
    def events(self) -> list[dict]:
        """Copies of all events, oldest first (newest last)."""
        with self.state.lock:
            return copy.deepcopy(list(self.state["event"].values()))

    @property
    def delivery_log(self) -> list[tuple[str, Outcome, float]]:
        """(event_id, HTTP status or error text, unix timestamp) per attempt."""
        return list(self._deliverer.log)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return self._deliverer.retry_delays

    def deliver_event(self, event_id: str) -> Outcome:
        """Send one event now, in the calling thread (one attempt, no retries)."""
        with self.state.lock:
            if event_id not in self.state["event"]:
                raise ApiError.missing("event", event_id)
        return self._deliverer.deliver(event_id)

    def deliver_pending(self) -> int:
        """Queue every undelivered event for immediate delivery (in creation
        order, with retries); returns how many. Use wait_idle() to wait."""
        if not self.webhook_url:
            return 0
        with self.state.lock:
            pending = [
                event["id"]
                for event in self.state["event"].values()
                if self._wants(event["type"]) and not self._deliverer.succeeded.get(event["id"], False)
            ]
        self._deliverer.send_now(pending)
        return len(pending)

    def redeliver(self, event_id: str) -> None:
        """Queue one event for (re)delivery on the worker, like the dashboard's Resend."""
        with self.state.lock:
            if event_id not in self.state["event"]:
                raise ApiError.missing("event", event_id)
        self._deliverer.send_now([event_id])

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued, in flight or waiting for a retry."""
        return self._deliverer.wait_idle(timeout)

    def delivery_succeeded(self, event: dict) -> bool | None:
        """Whether the last delivery got a 2xx; None if the endpoint does not
        subscribe to this event type (then it is never sent)."""
        if not self._wants(event["type"]):
            return None
        return self._deliverer.succeeded.get(event["id"], False)

    def _wants(self, event_type: str) -> bool:
        if self.enabled_events is None:
            return True
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.enabled_events)

    def _on_event(self, event: dict) -> None:
        # Called by the engine under state.lock, so the queue order is the
        # event creation order; the worker sends only after the lock is free.
        if self.auto_deliver and self.webhook_url and self._wants(event["type"]):
            self._deliverer.enqueue(event["id"])

    def _event_payload(self, event_id: str) -> str | None:
        with self.state.lock:
            event = self.state["event"].get(event_id)
            return json.dumps(event) if event is not None else None

    def _record_outcome(self, event_id: str, ok: bool) -> None:
        with self.state.lock:
            event = self.state["event"].get(event_id)
            if event is not None:
                event["pending_webhooks"] = 0 if ok else 1

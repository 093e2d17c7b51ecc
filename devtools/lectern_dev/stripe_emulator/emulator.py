"""`StripeEmulator`: the public entry point that wires state, HTTP server and webhooks."""

from __future__ import annotations

import copy
import fnmatch
import json
import threading
from pathlib import Path
from typing import Iterable, Sequence

import stripe
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .delivery import Outcome, WebhookDeliverer
from .engine import Engine
from .errors import ApiError
from .store import Fixtures, State

DEFAULT_RETRY_DELAYS = (0.5, 1, 2, 4, 8)


class _QuietRequestHandler(WSGIRequestHandler):
    """Embedded in tests, one access-log line per SDK call is just noise."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class StripeEmulator:
    """A local, in-memory Stripe test-mode account served over loopback HTTP.

    Point the official SDK at it with
    ``stripe.StripeClient(api_key, base_addresses={"api": emu.base_url})``.
    The helper methods (`pay`, `refund`, `dispute`, ...) do what the hosted
    pages / the Stripe dashboard would do, and emit the same events.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test",
        api_key: str = "sk_test_lectern",
        public_base_url: str | None = None,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        fixtures_path: str | Path | None = None,
        delivery_timeout: float = 10.0,
        enabled_events: Iterable[str] | None = None,
        expiry_check_interval: float = 1.0,
        log_requests: bool = False,
    ):
        self.host = host
        self.port = port
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        # Like a webhook endpoint's enabled_events: None means every event ("*").
        self.enabled_events = list(enabled_events) if enabled_events is not None else None
        self.auto_deliver = True
        self.expiry_check_interval = expiry_check_interval
        self.log_requests = log_requests

        self.state = State()
        self.engine = Engine(
            self.state,
            Fixtures(fixtures_path),
            api_version=stripe.api_version,
            pay_page_base=lambda: self.public_base_url or self.base_url,
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
        self._server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> "StripeEmulator":
        if self._server is not None:
            raise RuntimeError("StripeEmulator is already running")
        handler = WSGIRequestHandler if self.log_requests else _QuietRequestHandler
        self._server = make_server(self.host, self.port, create_app(self), threaded=True, request_handler=handler)
        self.port = self._server.server_port
        self._stopped.clear()
        self._deliverer.start()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="stripe-emulator-http", daemon=True),
            threading.Thread(target=self._expire_sessions_loop, name="stripe-emulator-expiry", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._deliverer.stop()
        for thread in self._threads:
            thread.join(5)
        self._server = None
        self._threads = []

    def __enter__(self) -> "StripeEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("StripeEmulator.base_url is known only after start()")
        # A wildcard bind address is not something a client can connect to.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    def _expire_sessions_loop(self) -> None:
        while not self._stopped.wait(self.expiry_check_interval):
            self.engine.expire_overdue_sessions()

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

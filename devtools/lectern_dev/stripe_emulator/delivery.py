"""Webhook signing and the background delivery worker.

Deliveries happen on one worker thread, never in the thread whose request
created the event: a webhook receiver commonly calls back into the API, and
the caller may still be waiting on its own response. Events are sent in
creation order; a failed delivery (non-2xx or connection error) is retried
after `retry_delays[n]` seconds, and is given up after the last delay.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Sequence

from lectern_admin.stripe_signature import sign_payload  # noqa: F401  (the emulator signs its deliveries)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

Outcome = int | str  # HTTP status, or the text of the connection error


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Stripe does not follow redirects: a 3xx counts as a failed delivery.
    def redirect_request(self, *args, **kwargs):
        return None


# No proxies either: the receiver is always on this machine.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def post_event(url: str, payload: str, secret: str, timeout: float) -> Outcome:
    request = urllib.request.Request(
        url,
        data=payload.encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": sign_payload(payload, secret),
            "Cache-Control": "no-cache",
            "Accept": "*/*; q=0.5, application/xml",
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        error.close()
        return error.code
    except Exception as error:  # connection refused, timeout, bad URL, ...
        return f"{type(error).__name__}: {error}"


def is_success(outcome: Outcome) -> bool:
    return isinstance(outcome, int) and 200 <= outcome < 300


class WebhookDeliverer:
    """Queue + worker thread. Entries are (due_time, sequence, event_id, attempt)."""

    def __init__(
        self,
        *,
        get_url: Callable[[], str | None],
        secret: Callable[[], str],
        load_payload: Callable[[str], str | None],
        on_outcome: Callable[[str, bool], None],
        retry_delays: Sequence[float],
        timeout: float,
    ):
        self._get_url = get_url
        self._secret = secret
        self._load_payload = load_payload
        self._on_outcome = on_outcome
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, str, int]] = []
        self._sequence = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.log: list[tuple[str, Outcome, float]] = []
        self.succeeded: dict[str, bool] = {}  # event id -> last delivery got a 2xx

    # ---------------------------------------------------------------- control

    def start(self) -> None:
        with self._cond:
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="stripe-emulator-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def enqueue(self, event_id: str, *, attempt: int = 0, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._sequence), event_id, attempt))
            self._cond.notify_all()

    def send_now(self, event_ids: Sequence[str]) -> None:
        """Queue these events for immediate delivery, replacing pending retries."""
        wanted = set(event_ids)
        with self._cond:
            self._queue = [entry for entry in self._queue if entry[2] not in wanted]
            heapq.heapify(self._queue)
            for event_id in event_ids:
                heapq.heappush(self._queue, (time.monotonic(), next(self._sequence), event_id, 0))
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued, retrying or being sent; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._in_flight == 0, timeout)

    # --------------------------------------------------------------- delivery

    def deliver(self, event_id: str) -> Outcome:
        """One delivery attempt in the calling thread; records the outcome."""
        url = self._get_url()
        payload = self._load_payload(event_id)
        if payload is None:
            outcome: Outcome = f"unknown event {event_id}"
        elif not url:
            outcome = "no webhook_url configured"
        else:
            outcome = post_event(url, payload, self._secret(), self.timeout)
        ok = is_success(outcome)
        with self._cond:
            self.log.append((event_id, outcome, time.time()))
            self.succeeded[event_id] = ok
        self._on_outcome(event_id, ok)
        return outcome

    def _run(self) -> None:
        while True:
            with self._cond:
                entry = self._next_due_entry()
                if entry is None:
                    return
                self._in_flight += 1
            _, _, event_id, attempt = entry
            try:
                outcome = self.deliver(event_id)
            except Exception as error:  # never let one bad event kill the worker
                outcome = f"{type(error).__name__}: {error}"
            retryable = not is_success(outcome) and bool(self._get_url())
            with self._cond:
                self._in_flight -= 1
                # send_now() may already have queued this event again.
                already_queued = any(queued[2] == event_id for queued in self._queue)
                if retryable and attempt < len(self.retry_delays) and not already_queued and not self._stopping:
                    due = time.monotonic() + self.retry_delays[attempt]
                    heapq.heappush(self._queue, (due, next(self._sequence), event_id, attempt + 1))
                self._cond.notify_all()

    def _next_due_entry(self) -> tuple[float, int, str, int] | None:
        """Wait (holding the condition) until an entry is due; None when stopping."""
        while not self._stopping:
            if self._queue:
                wait = self._queue[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._queue)
                self._cond.wait(wait)
            else:
                self._cond.wait()
        return None

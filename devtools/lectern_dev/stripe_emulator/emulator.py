"""`StripeEmulator`: the public entry point that serves an `Account` over loopback HTTP."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, Sequence

from werkzeug.serving import BaseWSGIServer, make_server

from lectern_dev.http_servers import KeepAliveHandler

from .account import DEFAULT_RETRY_DELAYS, Account
from .app import create_app

__all__ = ["DEFAULT_RETRY_DELAYS", "StripeEmulator"]


class _QuietRequestHandler(KeepAliveHandler):
    """Embedded in tests, one access-log line per SDK call is just noise."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class StripeEmulator(Account):
    """A local, in-memory Stripe test-mode account served over loopback HTTP.

    Point the official SDK at it with
    ``stripe.StripeClient(api_key, base_addresses={"api": emu.base_url})``.
    The helper methods (`pay`, `refund`, `dispute`, ...) do what the hosted
    pages / the Stripe dashboard would do, and emit the same events (see
    `Account`).
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
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.expiry_check_interval = expiry_check_interval
        self.log_requests = log_requests
        super().__init__(
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            api_key=api_key,
            pay_page_base=lambda: self.public_base_url or self.base_url,
            retry_delays=retry_delays,
            fixtures_path=fixtures_path,
            delivery_timeout=delivery_timeout,
            enabled_events=enabled_events,
        )
        self._server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> "StripeEmulator":
        if self._server is not None:
            raise RuntimeError("StripeEmulator is already running")
        # Connections are kept between requests, as Stripe's API keeps them (lectern.stripe_gateway's
        # client reuses them).
        handler = KeepAliveHandler if self.log_requests else _QuietRequestHandler
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

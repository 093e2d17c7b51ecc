"""The one place Lectern builds a Stripe client.

`STRIPE_API_BASE` points the official SDK at another Stripe-compatible
address (the local emulator); otherwise it talks to Stripe itself.

The SDK falls back to urllib when `requests` is absent (the Lambda layer does
not ship it). Its UrllibClient opens a new connection (TCP and TLS) for every
call and has no timeout at all: a stalled Stripe would hold a function until
Lambda kills it. `PooledHttpClient` sends through urllib3 instead (botocore's,
loaded already), keeping connections between calls, with a timeout. It is
used everywhere (tests included), so what the tests run is what Lambda runs.
"""
import time
from functools import lru_cache
from typing import NoReturn

import stripe
import urllib3

from lectern import config
from lectern.secrets import MissingSecret, secret

config.require("STRIPE_SECRET_ARN")  # at import: a function that calls Stripe does not start without its keys

TIMEOUT_SECONDS = 8  # to connect, and then for each read
# One retry (with the SDK's back-off) stays inside the functions' time budget (25 s) in the usual
# failures: refused at once, or one attempt timing out. Retrying is safe: every POST carries an
# idempotency key.
MAX_NETWORK_RETRIES = 1


class PooledHttpClient(stripe.HTTPClient):
    """Stripe's HTTP client on a urllib3 pool: connections kept between calls (a warm environment
    does not pay a TLS handshake per call), a connect and a read timeout, network errors marked
    retryable for the SDK (MAX_NETWORK_RETRIES, with its back-off).

    A kept connection can be dead: closed by Stripe while the environment was frozen, or silently
    dropped on the way. Connections idle for more than IDLE_SECONDS are not reused (a silently
    dropped one would cost a whole read timeout); a closed one is found by urllib3 before use; and a
    request whose connection is hung up on at once (under HANG_UP_SECONDS, before any answer) is
    sent again at once on a new one (a POST carries the SDK's idempotency key). Certificates are
    checked against the SDK's own CA bundle, as its `requests` client does. Proxies from the
    environment are not used: Lectern's functions reach Stripe directly."""

    name = "urllib3"
    IDLE_SECONDS = 30.0
    HANG_UP_SECONDS = 1.0

    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        super().__init__()
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=4, ca_certs=stripe.ca_bundle_path,
                                         retries=False)
        self._last_used = time.monotonic()

    def request(self, method, url, headers, post_data=None):
        return self._request_internal(method, url, headers, post_data, is_streaming=False)

    def request_stream(self, method, url, headers, post_data=None):
        return self._request_internal(method, url, headers, post_data, is_streaming=True)

    def _request_internal(self, method, url, headers, post_data, is_streaming):
        if isinstance(post_data, str):
            post_data = post_data.encode("utf-8")
        if time.monotonic() - self._last_used > self.IDLE_SECONDS:
            self._pool.clear()
        for attempt in (1, 2):
            started = time.monotonic()
            try:
                response = self._pool.request(method.upper(), url, body=post_data, headers=dict(headers or {}),
                                              timeout=self._timeout, redirect=False,
                                              preload_content=not is_streaming)
                break
            except urllib3.exceptions.ProtocolError as exc:  # the connection dropped before an answer
                if attempt == 2 or time.monotonic() - started > self.HANG_UP_SECONDS:
                    self._handle_request_error(exc)
            except (urllib3.exceptions.HTTPError, OSError) as exc:  # refused, timed out, TLS
                self._handle_request_error(exc)
            except ValueError as exc:  # a header http.client refuses (a key with a line break): no retry helps
                self._handle_request_error(exc, should_retry=False)
            finally:
                self._last_used = time.monotonic()
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        return (response if is_streaming else response.data), response.status, answer_headers

    def _handle_request_error(self, exc: Exception, *, should_retry: bool = True) -> NoReturn:
        raise stripe.APIConnectionError(f"Network error talking to Stripe: {exc}",
                                        should_retry=should_retry) from exc

    def close(self) -> None:
        """Close the kept connections; the next call opens its own."""
        self._pool.clear()


def is_unavailable(exc: BaseException) -> bool:
    """Stripe could not answer (network, timeout, 5xx, rate limit): the caller may retry later."""
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
        return True
    return isinstance(exc, stripe.StripeError) and (exc.http_status or 0) >= 500


def api_key() -> str:
    return secret(config.settings().stripe_secret_key)


def webhook_secret() -> str:
    value = secret(config.settings().stripe_webhook_secret)
    if not value:  # the stack's placeholder: an empty HMAC key would let anyone sign events
        raise MissingSecret("The Stripe secret has an empty webhook_secret.")
    return value


@lru_cache(maxsize=1)
def http_client() -> PooledHttpClient:
    """One pool for every client of this environment (a rotated key gets a new client, not new
    connections); lectern.snapstart closes it after a restore."""
    return PooledHttpClient()


@lru_cache(maxsize=4)
def _client(key: str, api_base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=http_client(),
    )


def client() -> stripe.StripeClient:
    return _client(api_key(), config.settings().stripe_api_base)

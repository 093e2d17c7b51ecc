"""The one place Lectern builds a Stripe client.

`STRIPE_API_BASE` points the official SDK at another Stripe-compatible
address (the local emulator); otherwise it talks to Stripe itself.

The SDK falls back to urllib when `requests` is absent (the Lambda layer does
not ship it), and its UrllibClient has no timeout at all: a stalled Stripe
would hold a function until Lambda kills it. `TimeoutUrllibClient` adds one,
and is used everywhere (tests included), so what the tests run is what Lambda runs.
"""
import urllib.request
from functools import lru_cache

import stripe

from lectern import config
from lectern.secrets import MissingSecret, secret

config.require("STRIPE_SECRET_ARN")  # at import: a function that calls Stripe does not start without its keys

TIMEOUT_SECONDS = 8
# One retry: 2 × 8 s plus back-off stays inside the functions' time budget.
# Retrying is safe: every create carries an idempotency key.
MAX_NETWORK_RETRIES = 1


class TimeoutUrllibClient(stripe.UrllibClient):
    """stripe.UrllibClient with a socket timeout, and network errors marked retryable."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS):
        super().__init__()
        self._opener = _TimeoutOpener(urllib.request.build_opener(), timeout)

    def _request_internal(self, method, url, headers, post_data, is_streaming):
        try:
            return super()._request_internal(method, url, headers, post_data, is_streaming)
        except stripe.APIConnectionError:
            raise
        except OSError as exc:  # a read timeout or a dropped connection is not wrapped in URLError
            self._handle_request_error(exc)

    def _handle_request_error(self, e: Exception):
        # The parent raises without should_retry, so the SDK would never retry a network error.
        raise stripe.APIConnectionError(f"Network error talking to Stripe: {e}", should_retry=True) from e


class _TimeoutOpener:
    """The `.open(request)` the parent calls, with our timeout applied."""

    def __init__(self, opener: urllib.request.OpenerDirector, timeout: float):
        self._opener, self._timeout = opener, timeout

    def open(self, request):
        return self._opener.open(request, timeout=self._timeout)


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


@lru_cache(maxsize=4)
def _client(key: str, api_base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=TimeoutUrllibClient(),
    )


def client() -> stripe.StripeClient:
    return _client(api_key(), config.settings().stripe_api_base)

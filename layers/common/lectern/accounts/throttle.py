"""Login throttling per email: at most MAX_FAILURES wrong passwords per window.

The counter is one LoginThrottle item per email whose TTL ends the window.
Failures are counted with an atomic `ADD` (never read-modify-write), so
concurrent guesses cannot undercount. It counts per email whether or not an
account exists, so the 429 says nothing about which emails are registered.
"""
import time

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from lectern.api.errors import RateLimited
from lectern.models.users import LoginThrottle

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def check(email: str) -> None:
    """Raise 429 while the email's window holds MAX_FAILURES failures."""
    now = int(time.time())
    try:
        item = LoginThrottle.get(*LoginThrottle.key(email), consistent_read=True)
    except DoesNotExist:
        return
    # TTL deletion lags by up to days, so an old item is ignored by its own expiry, not its absence.
    if item.expires_at_epoch > now and item.failures >= MAX_FAILURES:
        raise RateLimited("Too many failed sign-in attempts; try again later.",
                          headers={"Retry-After": str(int(item.expires_at_epoch) - now)})


def _conditional_failed(exc: UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def record_failure(email: str) -> None:
    count_in_window(LoginThrottle(*LoginThrottle.key(email)), LoginThrottle.failures,
                    LoginThrottle.expires_at_epoch, WINDOW_SECONDS)


def count_in_window(item: Model, counter: NumberAttribute, expires_at: NumberAttribute, window_seconds: int) -> None:
    """Add one to `item`'s `counter` within its window, or open a new window when none is running
    (checkout throttles use it too). `item` holds the new values afterwards (UpdateItem ALL_NEW)."""
    model = type(item)
    now = int(time.time())
    window_end = now + window_seconds
    for _ in range(2):
        try:
            # Count within the current window (or open one when there is none).
            item.update(actions=[counter.add(1), expires_at.set(expires_at | window_end)],
                        condition=model.pk.does_not_exist() | (expires_at > now))
            return
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        try:
            # The old window is over: start a new one, unless a concurrent request just did.
            item.update(actions=[counter.set(1), expires_at.set(window_end)], condition=expires_at <= now)
            return
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise


def clear(email: str) -> None:
    """A successful sign-in ends the window (only the account owner can cause this)."""
    LoginThrottle(*LoginThrottle.key(email)).delete()

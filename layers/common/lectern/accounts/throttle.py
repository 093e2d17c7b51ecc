"""Login throttling per email (at most MAX_FAILURES wrong passwords per window), and the
limits on mail that clients can ask for (per address and per client, below).

The counter is one LoginThrottle item per email whose TTL ends the window.
Each attempt is counted before its password is checked, by one conditional
`ADD` that refuses once the window is full (never read-modify-write), so
concurrent guesses can neither undercount nor all slip past a check. It counts per email whether or not an
account exists, so the 429 says nothing about which emails are registered.
"""
import hashlib
import ipaddress
import time

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from lectern import config
from lectern.errors import RateLimited
from lectern.models.users import LoginThrottle, RateCounter, normalize_email

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _conditional_failed(exc: UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def take_attempt(email: str) -> None:
    """Count a sign-in attempt before the password is checked, or raise 429 when the window already
    holds MAX_FAILURES. The count and the check are one conditional `ADD`, so concurrent guesses
    cannot all pass a check made before any of them was counted; a successful sign-in clears the
    window, so what stays counted are the failures."""
    item = LoginThrottle(*LoginThrottle.key(email))
    if count_in_window(item, LoginThrottle.failures, LoginThrottle.expires_at_epoch, WINDOW_SECONDS,
                       below=MAX_FAILURES) is not None:
        return
    try:
        item.refresh(consistent_read=True)  # only on the way to a 429: for its Retry-After
        retry_after = max(1, int(item.expires_at_epoch) - int(time.time()))
    except LoginThrottle.DoesNotExist:  # cleared meanwhile by the owner's sign-in
        retry_after = 1
    raise RateLimited("Too many failed sign-in attempts; try again later.", retry_after_seconds=retry_after)


def count_in_window(item: Model, counter: NumberAttribute, expires_at: NumberAttribute, window_seconds: int, *,
                    below: int | None = None) -> tuple[int, int] | None:
    """Count one hit on `item`'s `counter` within its window, opening a new window when none is running
    (or the last has ended; TTL deletion lags): (hits in the window, its end in epoch seconds). One
    conditional UpdateItem as a rule, never read-modify-write. With `below`, a hit is counted only while
    the window holds fewer (refused before it is counted): None when the window is full.
    Sign-in attempts, mail requests and checkouts all count here; `item` holds the new values."""
    model = type(item)
    now = int(time.time())
    window_end = now + window_seconds
    running = expires_at > now
    if below is not None:
        running = running & (counter < below)
    for _ in range(2):
        try:
            item.update(actions=[counter.add(1), expires_at.set(expires_at | window_end)],
                        condition=model.pk.does_not_exist() | running)
            return int(getattr(item, counter.attr_name)), int(getattr(item, expires_at.attr_name))
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        try:
            # The old window is over: start a new one, unless a concurrent request just did.
            item.update(actions=[counter.set(1), expires_at.set(window_end)], condition=expires_at <= now)
            return 1, window_end
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        if below is not None:
            return None  # the window is running and full
    return 1, window_end  # two windows raced twice: count this hit as a fresh window's first


def clear(email: str) -> None:
    """A successful sign-in ends the window (only the account owner can cause this)."""
    LoginThrottle(*LoginThrottle.key(email)).delete()


# ------------------------------------------------------------------ mail limits
# Asking for mail (forgot-password, a claim link) is limited twice, over fixed windows:
# - per address: at most mails_per_address() mails to one address; beyond that the request is answered
#   exactly as before (202 / 409) and nothing is sent, so an inbox cannot be flooded and the answer
#   says nothing about the address. Counted whether or not the address has an account.
# - per client (the caller's IP; an IPv6 /64, which one subscriber usually holds whole): at most
#   mail_requests_per_client() requests, then 429 with Retry-After, so one client cannot spray
#   addresses. Both limits can be raised with MAIL_LIMIT_PER_ADDRESS / MAIL_LIMIT_PER_CLIENT
#   (lectern.config; the shared local test stack does: every test there calls from 127.0.0.1).
ADDRESS_WINDOW_SECONDS = 60 * 60
CLIENT_WINDOW_SECONDS = 15 * 60


def mails_per_address() -> int:
    return config.settings().mail_limit_per_address


def mail_requests_per_client() -> int:
    return config.settings().mail_limit_per_client


def _count(scope: str, subject: str, window_seconds: int) -> tuple[int, int]:
    """Count one hit in the subject's current window: (hits in the window, its end, epoch seconds)."""
    item = RateCounter(*RateCounter.key(scope, subject))
    return count_in_window(item, RateCounter.hits, RateCounter.expires_at_epoch, window_seconds)


def client_key(source_ip: str | None) -> str:
    """The client an IP address stands for: itself for IPv4, its /64 for IPv6."""
    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address) + "/64"
    return str(address)


def check_mail_request(source_ip: str | None) -> None:
    """Count a mail-sending request from this client; 429 with Retry-After beyond the limit."""
    hits, window_end = _count("client", client_key(source_ip), CLIENT_WINDOW_SECONDS)
    if hits > mail_requests_per_client():
        raise RateLimited("Too many emails were requested from your network; try again later.",
                          retry_after_seconds=max(window_end - int(time.time()), 1))


def allow_mail_to(address: str) -> bool:
    """Count a mail to `address`; False once the address has had its share for this window.
    The key is the address's SHA-256: the table holds no addresses of people without accounts."""
    digest = hashlib.sha256(normalize_email(address).encode()).hexdigest()
    hits, _ = _count("address", digest, ADDRESS_WINDOW_SECONDS)
    return hits <= mails_per_address()


def check_mail_to(address: str, message: str = "Too many emails went to this address; try again later.") -> None:
    """Count a mail to `address` (the same counter as allow_mail_to); 429 with Retry-After once the address has
    had its share: for a signed-in caller who knows the address (a gift's buyer), so the answer tells nothing new."""
    digest = hashlib.sha256(normalize_email(address).encode()).hexdigest()
    hits, window_end = _count("address", digest, ADDRESS_WINDOW_SECONDS)
    if hits > mails_per_address():
        raise RateLimited(message, retry_after_seconds=max(window_end - int(time.time()), 1))


# A gift's email sent again by its buyer (POST /me/orders/{id}/resend-gift) is counted per order too, over
# a year: the hourly counters forget, and one cheap gift must not mail its recipient for ever.
GIFT_RESEND_WINDOW_SECONDS = 365 * 24 * 60 * 60


def take_gift_resend(order_id: str, limit: int) -> bool:
    """Count one resend of the gift `order_id`, unless it had `limit` already in its (year-long) window: one
    conditional ADD (a RateCounter in the Users table, like the mail limits), so concurrent requests cannot
    overshoot. False when the limit is reached (nothing counted)."""
    now = int(time.time())
    item = RateCounter(*RateCounter.key("gift_resend", order_id))
    try:
        item.update(actions=[RateCounter.hits.add(1),
                             RateCounter.expires_at_epoch.set(RateCounter.expires_at_epoch
                                                              | now + GIFT_RESEND_WINDOW_SECONDS)],
                    condition=RateCounter.pk.does_not_exist() | (RateCounter.hits < limit))
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        return False
    return True

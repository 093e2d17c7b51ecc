"""The texts of the purchase emails: the receipt, the claim link for guest buyers, and a gift's
email to its recipient.

Pure functions of the order: sending (exactly once) is fulfillment's job.

Plain text only (no HTML part: nothing here is ever interpreted as markup). What a visitor wrote
(a gift's recipient name and message, an account's name) is untrusted: it never goes into a header
(subjects are fixed texts), its control characters are replaced (lectern.plain_text: no line
of it can pass for one of ours, no bidirectional override), and the message is quoted line by line
under a line that says whose words they are. If an HTML part is ever added, escape it (html.escape).
"""
from collections.abc import Iterable
from urllib.parse import quote

from lectern import config
from lectern.plain_text import plain_text
from lectern.models.orders import Order, OrderItem
from lectern.notifications.email import Message

# Stripe's zero-decimal currencies: their amounts are whole units, not cents.
_ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                 "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}


def money(amount: int, currency: str) -> str:
    """4900, "usd" → "49.00 USD"."""
    if currency.lower() in _ZERO_DECIMAL:
        return f"{int(amount)} {currency.upper()}"
    return f"{int(amount) / 100:.2f} {currency.upper()}"


def receipt(order: Order, items: Iterable[OrderItem]) -> Message:
    lines = [f"  {item.course_title}    {money(item.unit_amount * item.quantity, item.currency)}" for item in items]
    summary = [f"Subtotal: {money(order.subtotal_amount, order.currency)}"]
    if order.discount_amount:
        summary.append(f"Discount: -{money(order.discount_amount, order.currency)}")
    summary.append(f"Total paid: {money(order.total_amount, order.currency)}")
    if order.is_gift:
        closing = [f"This was a gift for {recipient(order)}: the course is in their library, not yours, and we",
                   "have emailed them. You can send that email again from your orders page:",
                   f"{config.frontend_url()}/orders"]
    else:
        closing = [f"Your courses are waiting in your library: {config.frontend_url()}/library"]
    text = "\n".join([
        "Thank you for your purchase!" if not order.is_gift else "Thank you for your gift!",
        "",
        f"Order {order.id} ({order.paid_at or ''})" + (" - a gift" if order.is_gift else ""),
        *lines,
        "",
        *summary,
        "",
        *closing,
    ])
    return Message(to=order.email, subject="Your Lectern receipt", text=text)


def recipient(order: Order) -> str:
    """The gift's recipient as the buyer wrote them: `Grace (grace@example.com)`, or the address alone."""
    name = plain_text(order.gift_recipient_name).strip()
    return f"{name} ({order.gift_recipient_email})" if name else order.gift_recipient_email


def sender(order: Order) -> str:
    """Who the gift is from: the buyer's account name with the buyer's address (a name alone could be
    anything, "Lectern support" included), or the address alone."""
    name = plain_text(order.gift_sender_name).strip()
    return f"{name} ({order.email})" if name else order.email


def sign_in_link() -> str:
    return f"{config.frontend_url()}/login?next=%2Flibrary"


def gift(order: Order, items: Iterable[OrderItem], *, raw_claim_token: str | None = None,
         claim_expires_at: str | None = None) -> Message:
    """The recipient's email: who gave them what, the buyer's message quoted, and a way in: a claim
    link for an account that has no password yet (a new address), else the sign-in page."""
    titles = ", ".join(item.course_title for item in items)
    name = plain_text(order.gift_recipient_name).strip()
    lines = [f"Hello {name}," if name else "Hello,", "",
             f"{sender(order)} has given you a course on Lectern: {titles}."]
    message = plain_text(order.gift_message, multi_line=True).strip()
    if message:
        lines += ["", "Their message (written by them, not by Lectern):", ""]
        lines += [f"> {line}".rstrip() for line in message.split("\n")]
    lines.append("")
    if raw_claim_token is not None:
        lines += [f"We made a Lectern account for {order.gift_recipient_email}. Choose a password to open it:",
                  claim_link(raw_claim_token), "",
                  f"This link works once and expires at {claim_expires_at}. If it has expired, sign up with this",
                  "email address and we will send you a fresh one."]
    else:
        lines += ["The course is in your library. Sign in to start:", sign_in_link()]
    return Message(to=order.gift_recipient_email, subject="You have been given a course on Lectern",
                   text="\n".join(lines))


def claim_link(raw_token: str) -> str:
    return f"{config.frontend_url()}/claim?token={quote(raw_token)}"


def claim(order: Order, items: Iterable[OrderItem], raw_token: str, expires_at: str) -> Message:
    titles = ", ".join(item.course_title for item in items)
    bought = (f"You bought {titles} as a gift without an account, so we made one for {order.email}"
              " (your orders, and the gift email again, are there)." if order.is_gift
              else f"You bought {titles} without an account, so we made one for {order.email}.")
    text = "\n".join([
        bought,
        "",
        "Choose a password to open your account:" if order.is_gift else "Choose a password to open your courses:",
        claim_link(raw_token),
        "",
        f"This link works once and expires at {expires_at}. If it has expired, sign up with this",
        "email address and we will send you a fresh one.",
    ])
    return Message(to=order.email, subject="Set your password to start learning", text=text)

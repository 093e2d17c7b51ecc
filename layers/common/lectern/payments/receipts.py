"""The texts of the purchase emails: the receipt, and the claim link for guest buyers.

Pure functions of the order: sending (exactly once) is fulfillment's job.
"""
from collections.abc import Iterable
from urllib.parse import quote

from lectern import config
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
    text = "\n".join([
        "Thank you for your purchase!",
        "",
        f"Order {order.id} ({order.paid_at or ''})",
        *lines,
        "",
        *summary,
        "",
        f"Your courses are waiting in your library: {config.frontend_url()}/library",
    ])
    return Message(to=order.email, subject="Your Lectern receipt", text=text)


def claim_link(raw_token: str) -> str:
    return f"{config.frontend_url()}/claim?token={quote(raw_token)}"


def claim(order: Order, items: Iterable[OrderItem], raw_token: str, expires_at: str) -> Message:
    titles = ", ".join(item.course_title for item in items)
    text = "\n".join([
        f"You bought {titles} without an account, so we made one for {order.email}.",
        "",
        "Choose a password to open your courses:",
        claim_link(raw_token),
        "",
        f"This link works once and expires at {expires_at}. If it has expired, sign up with this",
        "email address and we will send you a fresh one.",
    ])
    return Message(to=order.email, subject="Set your password to start learning", text=text)

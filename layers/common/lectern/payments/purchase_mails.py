"""Rebuilding the purchase emails (receipt, claim link) when the outbox retries them.

The first send is fulfillment's (payments/fulfillment.py); a send SES did not take is
retried by lectern.notifications.outbox, which finds these in MAIL_BUILDERS. They read the
order as it is then. No Stripe here: MailRetryFunction loads this with CoreLayer only.
"""
from lectern.accounts import tokens
from lectern.accounts.users import get_user
from lectern.models.orders import load_order_with_items
from lectern.models.users import OutboxMail
from lectern.notifications.email import Message
from lectern.payments import receipts

RECEIPT, PURCHASE_CLAIM = "receipt", "purchase_claim"  # outbox kinds; ref = the order id


def _receipt(mail: OutboxMail) -> Message | None:
    order, items = load_order_with_items(mail.ref)
    return receipts.receipt(order, items) if order is not None else None


def _claim(mail: OutboxMail) -> Message | None:
    order, items = load_order_with_items(mail.ref)
    user = get_user(order.user_id) if order is not None and order.user_id else None
    if user is None or user.password_hash is not None:
        return None  # claimed meanwhile (or never bound): no link to send
    token = tokens.issue(tokens.CLAIM, user.id, order_id=order.id)  # supersedes the undelivered one
    return receipts.claim(order, items, token.raw, token.expires_at)


MAIL_BUILDERS = {RECEIPT: _receipt, PURCHASE_CLAIM: _claim}

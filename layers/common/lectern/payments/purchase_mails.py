"""The purchase emails that fulfillment and the outbox share (receipt, claim link, a gift's email),
and rebuilding them when the outbox retries them.

The first send is fulfillment's (payments/fulfillment.py); a send SES did not take is
retried by lectern.notifications.outbox, which finds these in MAIL_BUILDERS. They read the
order as it is then. No Stripe here: MailRetryFunction loads this with CoreLayer only.
"""
from lectern.accounts import tokens
from lectern.accounts.users import get_user
from lectern.models.orders import PAID, Order, OrderItem, load_order_with_items
from lectern.models.users import OutboxMail, User
from lectern.notifications.email import Message
from lectern.payments import receipts, rules

RECEIPT, PURCHASE_CLAIM, GIFT = "receipt", "purchase_claim", "gift"  # outbox kinds; ref = the order id


def gift_message(order: Order, items: list[OrderItem], recipient: User) -> Message:
    """The gift's email to its recipient, with a fresh claim link (superseding the last) while the
    recipient's account has no password, else a sign-in link."""
    if recipient.password_hash is None:
        token = tokens.issue(tokens.CLAIM, recipient.id, order_id=order.id)
        return receipts.gift(order, items, raw_claim_token=token.raw, claim_expires_at=token.expires_at)
    return receipts.gift(order, items)


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


def _gift(mail: OutboxMail) -> Message | None:
    order, items = load_order_with_items(mail.ref)
    if order is None or not order.is_gift or order.status != PAID or not order.gift_recipient_user_id \
            or rules.dispute_blocks_access(order.dispute_status):
        return None  # refunded or disputed meanwhile (the recipient has no course to open), or never fulfilled
    recipient = get_user(order.gift_recipient_user_id)
    return gift_message(order, items, recipient) if recipient is not None else None


MAIL_BUILDERS = {RECEIPT: _receipt, PURCHASE_CLAIM: _claim, GIFT: _gift}

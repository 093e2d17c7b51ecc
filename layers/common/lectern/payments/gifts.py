"""A gift's buyer sends the gift email again: POST /me/orders/{order_id}/resend-gift.

Only the buyer of the order (the signed-in user the order is bound to), only for a paid gift; every
other order (someone else's, unknown, not a gift, not paid, refunded) is the same 404. The mail is
rebuilt from Lectern's order as it is now (never from anything a request or Stripe carries), with a
fresh claim link for a recipient who has not set a password yet (superseding the last one), and goes
to the recipient's address only. Limited like the other mails a client can ask for
(lectern.accounts.throttle): the client's mail requests (20 per 15 minutes) and the recipient
address's mails (3 an hour, shared with every other mail to it); beyond either, 429 with Retry-After.
Those counters forget after their window, so each gift is also resent at most RESENDS_PER_GIFT times
in a year (a conditional ADD, throttle.take_gift_resend): one cheap gift must not let its buyer mail
the recipient, with the buyer's own message and from Lectern's address, three times an hour for ever.
Beyond it, 409 `conflict`. A gift whose payment is disputed (open or lost) gives no access: 404, as refunded.

Requests: the client's counter, the order with its items (#9), the recipient (#5), the address's
counter, the gift's resend count, and for a recipient without a password the claim token (#18): 5–6,
and the SES send (a refused send is one more PutItem, the outbox record).
"""
import re

from lectern.accounts import throttle
from lectern.accounts.users import get_user
from lectern.errors import Conflict, NotFound
from lectern.models.orders import PAID, load_order_with_items
from lectern.notifications import outbox
from lectern.observability import logger
from lectern.payments import purchase_mails, rules
from lectern.payments.schemas import GiftResent

_ORDER_ID = re.compile(r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$")  # a ULID
_NO_GIFT = "No such gift among your orders."
RESENDS_PER_GIFT = 5  # a year: the recipient lost the first mail, not a mailing list


def resend_gift(user_id: str, order_id: str, client: str | None = None) -> GiftResent:
    if not _ORDER_ID.match(order_id):
        raise NotFound(_NO_GIFT)
    throttle.check_mail_request(client)
    order, items = load_order_with_items(order_id)
    if order is None or order.user_id != user_id or not order.is_gift or order.status != PAID \
            or not order.gift_recipient_user_id or rules.dispute_blocks_access(order.dispute_status):
        # someone else's, unknown, not a gift, not paid (or refunded), not fulfilled yet, disputed
        raise NotFound(_NO_GIFT)
    recipient = get_user(order.gift_recipient_user_id)
    if recipient is None:
        raise NotFound(_NO_GIFT)
    throttle.check_mail_to(order.gift_recipient_email,
                           "The gift email was sent to this address often enough for now; try again later.")
    if not throttle.take_gift_resend(order.id, RESENDS_PER_GIFT):
        raise Conflict(f"This gift email was sent again {RESENDS_PER_GIFT} times already; the recipient can "
                       "sign in with their address, or reset its password, to open the course.")
    message = purchase_mails.gift_message(order, items, recipient)
    # Sent, or (SES refused it) recorded in the outbox, whose retry sends it; only if that record cannot be
    # written either does this fail (503: nothing was decided, the buyer may ask again).
    outbox.deliver(purchase_mails.GIFT, order.id, message, user_id=recipient.id, order_id=order.id)
    logger.info("Gift email sent again", extra={"order_id": order.id})
    return GiftResent(sent=True)


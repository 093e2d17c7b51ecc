"""Orders table: orders, order_items, and the unique lookups that point at them.

- order:            pk = ORDER#<id>, sk = ORDER      gsi1: USER#<user_id> / <created_at> once bound to a user
- order item:       pk = ORDER#<id>, sk = ITEM#<course_id>
- refund record:    pk = ORDER#<id>, sk = REFUND#<stripe refund id>
- session lookup:   pk = CHECKOUT#<checkout session id>, sk = CHECKOUT (uniqueness of the session id)
- intent lookup:    pk = PAYMENT_INTENT#<id>, sk = PAYMENT_INTENT (refund and dispute events → order)
- open checkout:    pk = CHECKOUTS#<email>, sk = <course_id>#GUEST | <course_id>#USER#<user_id>, or for a gift
                    <course_id>#GIFT#<recipient email>#GUEST | …#USER#<user_id>
                    (the buyer's latest checkout for a course, or for a course as a gift to one recipient:
                    reused while its session is open)
- checkout throttle: pk = THROTTLE#CHECKOUT#<IP|EMAIL|USER>#<value>, sk = WINDOW

Money fields are written once, when the order is created or paid, and never
changed: refunds and disputes are recorded beside them.
"""
from collections.abc import Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from lectern.models.base import KeyedModel, meta

_META = meta("ORDERS_TABLE")

PENDING, PAID, FAILED, REFUNDED = "pending", "paid", "failed", "refunded"
# refund_reason of an order Lectern refunded itself: paid while the course was already held through another order.
DUPLICATE_PURCHASE = "duplicate_purchase"
# The only transitions an order may make; every write states its "from" as a condition.
TRANSITIONS = {PENDING: {PAID, FAILED}, PAID: {REFUNDED}, FAILED: set(), REFUNDED: set()}


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


class OrdersByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Order(KeyedModel):
    Meta = _META

    id = UnicodeAttribute()
    status = UnicodeAttribute(default=PENDING)
    email = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    checkout_session_id = UnicodeAttribute(null=True)
    payment_intent_id = UnicodeAttribute(null=True)
    stripe_customer_id = UnicodeAttribute(null=True)  # the paid session's `customer`, when Stripe made one
    promotion_code = UnicodeAttribute(null=True)
    promotion_code_id = UnicodeAttribute(null=True)  # Stripe's id of promotion_code (promo_…)
    currency = UnicodeAttribute()
    subtotal_amount = NumberAttribute()
    discount_amount = NumberAttribute(default=0)
    total_amount = NumberAttribute()
    amount_refunded = NumberAttribute(default=0)
    dispute_status = UnicodeAttribute(null=True)  # needs_response | won | lost …
    created_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)
    refunded_at = UnicodeAttribute(null=True)
    refund_reason = UnicodeAttribute(null=True)  # set when Lectern refunded it itself (DUPLICATE_PURCHASE)
    duplicate_of = UnicodeAttribute(null=True)  # the order that already gave access when this one was paid
    receipt_sent_at = UnicodeAttribute(null=True)
    claim_sent_at = UnicodeAttribute(null=True)
    # A gift: written with the order at checkout and never changed (the buyer's own input, validated
    # there: lectern.fields); the paid order grants its courses to the recipient, not the buyer.
    gift_recipient_email = UnicodeAttribute(null=True)
    gift_recipient_name = UnicodeAttribute(null=True)
    gift_message = UnicodeAttribute(null=True)
    gift_sender_name = UnicodeAttribute(null=True)  # the signed-in buyer's account name then (guests: none)
    gift_recipient_user_id = UnicodeAttribute(null=True)  # bound at fulfillment, as `user_id` is for the buyer
    gift_sent_at = UnicodeAttribute(null=True)  # the gift email's stamp (sent once, like receipt_sent_at)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_user = OrdersByUser()

    @staticmethod
    def key(order_id: str) -> tuple[str, str]:
        return order_pk(order_id), "ORDER"

    @property
    def is_gift(self) -> bool:
        return self.gift_recipient_email is not None

    @property
    def grantee_id(self) -> str | None:
        """Who the order gives access to: the recipient of a gift, else the buyer (None until bound)."""
        return self.gift_recipient_user_id if self.is_gift else self.user_id


class OrderItem(KeyedModel):
    Meta = _META

    order_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_slug = UnicodeAttribute()
    course_title = UnicodeAttribute()
    unit_amount = NumberAttribute()
    quantity = NumberAttribute(default=1)
    currency = UnicodeAttribute()
    stripe_price_id = UnicodeAttribute(null=True)  # the Checkout line item's price (null on older orders)

    @staticmethod
    def key(order_id: str, course_id: str) -> tuple[str, str]:
        return order_pk(order_id), f"ITEM#{course_id}"


class RefundRecord(KeyedModel):
    Meta = _META

    order_id = UnicodeAttribute()
    stripe_refund_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    created_at = UnicodeAttribute()


class CheckoutSessionRef(KeyedModel):
    Meta = _META

    order_id = UnicodeAttribute()

    @staticmethod
    def key(checkout_session_id: str) -> tuple[str, str]:
        return f"CHECKOUT#{checkout_session_id}", "CHECKOUT"


class PaymentIntentRef(KeyedModel):
    Meta = _META

    order_id = UnicodeAttribute()

    @staticmethod
    def key(payment_intent_id: str) -> tuple[str, str]:
        return f"PAYMENT_INTENT#{payment_intent_id}", "PAYMENT_INTENT"


class OpenCheckout(KeyedModel):
    """The buyer's latest checkout for a course. A repeated checkout reuses its session while
    Stripe says it is open; a paid order expires the others (payments/checkout.py, fulfillment.py).
    All of an email's slots share a partition, so fulfillment finds them with one Query."""

    Meta = _META

    order_id = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)  # null while the session is being created
    promotion_code = UnicodeAttribute(null=True)
    gift_digest = UnicodeAttribute(null=True)  # a gift's recipient, name and message (hashed): reused only if equal
    created_at_epoch = NumberAttribute()
    session_expires_at = NumberAttribute(null=True)  # unix seconds, Stripe's expires_at
    expires_at_epoch = NumberAttribute(null=True)  # TTL: some time after the session expired

    @staticmethod
    def key(email: str, course_id: str, user_id: str | None, gift_to: str | None = None) -> tuple[str, str]:
        return open_checkouts_pk(email), f"{checkouts_prefix(course_id, gift_to)}{f'USER#{user_id}' if user_id else 'GUEST'}"


def checkouts_prefix(course_id: str, gift_to: str | None) -> str:
    """The sort-key prefix of a buyer's slots for a course (gift_to None) or for it as a gift to one
    address. The buyer's own slots are `<course>#GUEST` / `<course>#USER#…`: a Query for the prefix
    `<course>#` also returns the gift slots, which `is_gift_slot` tells apart."""
    return f"{course_id}#GIFT#{gift_to.strip().lower()}#" if gift_to else f"{course_id}#"


def is_gift_slot(sort_key: str) -> bool:
    return "#GIFT#" in sort_key


def open_checkouts_pk(email: str) -> str:
    return f"CHECKOUTS#{email.strip().lower()}"


class CheckoutThrottle(KeyedModel):
    """New checkouts per email or client IP within a window (lectern.accounts.throttle.count_in_window)."""

    Meta = _META

    checkouts = NumberAttribute(default=0)
    expires_at_epoch = NumberAttribute()

    @staticmethod
    def key(kind: str, value: str) -> tuple[str, str]:
        return f"THROTTLE#CHECKOUT#{kind}#{value.strip().lower()}", "WINDOW"


def load_order_with_items(order_id: str) -> tuple["Order | None", list[OrderItem]]:
    """An order and its items from one consistent Query of its partition (access pattern #9).
    The partition holds several item types, so each raw item is typed by its sort key."""
    order, items = None, []
    start_key = None
    while True:
        page = Order._get_connection().query(order_pk(order_id), consistent_read=True,
                                             exclusive_start_key=start_key)
        for raw in page.get("Items", []):
            sort_key = raw["sk"]["S"]
            if sort_key == "ORDER":
                order = Order.from_raw_data(raw)
            elif sort_key.startswith("ITEM#"):
                items.append(OrderItem.from_raw_data(raw))
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return order, items


# ------------------------------------------------------------------ access patterns (docs/data-model.md)

def items_of(order_id: str, *, consistent_read: bool = False) -> list[OrderItem]:
    """#9, items only: an order's items (one Query of its partition)."""
    return list(OrderItem.query(order_pk(order_id), OrderItem.sk.startswith("ITEM#"), consistent_read=consistent_read))


def by_user_key(user_id: str) -> str:
    """The "orders by user" index's key of a user's orders (gsi1pk, set when an order is bound)."""
    return f"USER#{user_id}"


def by_user(user_id: str, *, newest_first: bool = False) -> Iterator[Order]:
    """#12: a user's orders (gsi1), oldest first unless `newest_first`."""
    return Order.by_user.query(by_user_key(user_id), scan_index_forward=False if newest_first else None)


def refund_key(order_id: str, refund_id: str) -> tuple[str, str]:
    """A RefundRecord's key: one per Stripe refund of the order."""
    return order_pk(order_id), f"REFUND#{refund_id}"

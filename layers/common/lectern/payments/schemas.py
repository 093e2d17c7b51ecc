"""Payments' wire shapes (OpenAPI components): what POST /checkout answers, and what
GET /checkout/{checkout_session_id} answers (lectern.payments.checkout builds them). What POST
/checkout takes is `lectern.payments.request_models`."""
from typing import Literal

from lectern.wire import shape


@shape
class CheckoutCreated:
    order_id: str
    checkout_session_id: str
    checkout_url: str
    """Stripe's hosted payment page; redirect the buyer here"""
    expires_at: str
    """When the session (and the pending order with it) expires, UTC"""


@shape
class CourseRef:
    slug: str
    title: str


@shape
class CheckoutStatus:
    order_id: str
    status: Literal["pending", "paid", "failed", "refunded"]
    refund_reason: Literal["duplicate_purchase"] | None
    """`duplicate_purchase`: Lectern refunded this payment itself, because the buyer already had the course through
    another order"""
    courses: list[CourseRef]


@shape
class GiftResent:
    sent: Literal[True]
    """The gift email was handed over for sending (a send the mail service refuses is retried from the outbox)"""

"""The emulated Stripe account: validation, state changes and events.

Everything that changes state goes through `Engine`, under `state.lock`, so
an HTTP request, a hosted-page click and a test helper see the same rules.
Each operation emits the events real Stripe would emit, in the same order;
`on_event` hands them to the webhook deliverer (which only sends them once
the lock is released, i.e. after the whole operation is committed).

The rules live in one module per Stripe resource (`resources/`), each a class
built on the ones it needs; `Engine` is all of them on one state.
"""

from __future__ import annotations

from .resources.checkout_sessions import SESSION_LIFETIME, CheckoutSessions
from .resources.core import EngineCore, money, now
from .resources.coupons import Coupons
from .resources.disputes import DISPUTE_RESPONSE_WINDOW, OPEN_DISPUTE_STATUSES, Disputes
from .resources.events import Events
from .resources.payment_intents import DEFAULT_BUYER_EMAIL, PaymentIntents
from .resources.prices import Prices
from .resources.products import Products
from .resources.promotion_codes import PromotionCodes
from .resources.refunds import Refunds

__all__ = [
    "DEFAULT_BUYER_EMAIL",
    "DISPUTE_RESPONSE_WINDOW",
    "OPEN_DISPUTE_STATUSES",
    "SESSION_LIFETIME",
    "Engine",
    "money",
    "now",
]


class Engine(
    PaymentIntents,  # paying a session: its PaymentIntent and charge
    CheckoutSessions,
    PromotionCodes,
    Coupons,
    Refunds,
    Disputes,
    Prices,
    Products,
    Events,
    EngineCore,  # state, fixtures, get / list / expand
):
    """The whole account: every resource's operations on one `State`.

    Engine(state, fixtures, *, api_version, pay_page_base, pending_webhooks_for, on_event)
    """

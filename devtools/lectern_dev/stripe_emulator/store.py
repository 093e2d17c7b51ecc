"""In-memory state, id generation and object builders based on Stripe's fixtures.

Every object starts as a deep copy of Stripe's published sample object (from
the OpenAPI fixtures file), so all fields Stripe returns are present. A
per-type *baseline* then resets the sample's example values (shipping rates,
tax amounts, transfer data, ...) to what a freshly created test-mode object
looks like, and the caller's fields are written on top.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUIRED_RESOURCES = (
    "charge",
    "checkout.session",
    "coupon",
    "customer",
    "discount",
    "dispute",
    "event",
    "item",
    "payment_intent",
    "price",
    "product",
    "promotion_code",
    "refund",
)

# Tables in State, keyed by Stripe's `object` value.
OBJECT_TYPES = (
    "product",
    "price",
    "coupon",
    "promotion_code",
    "checkout.session",
    "payment_intent",
    "charge",
    "refund",
    "dispute",
    "event",
)

# Id prefix -> table, used to resolve ids for `expand[]` and error messages.
ID_PREFIXES = {
    "cs_": "checkout.session",
    "pi_": "payment_intent",
    "ch_": "charge",
    "re_": "refund",
    "dp_": "dispute",
    "evt_": "event",
    "prod_": "product",
    "price_": "price",
    "promo_": "promotion_code",
}

_PACKAGE_DIR = Path(__file__).resolve().parent
# Stripe's own sample objects (a subset of stripe/openapi's fixtures3.json), kept in the repository:
# nothing may read outside it.
DEFAULT_FIXTURES_PATH = _PACKAGE_DIR / "fixtures3-subset.json"


def new_id(prefix: str, nbytes: int = 12) -> str:
    """Random, non-sequential id like Stripe's (e.g. "pi_3f9c...")."""
    return f"{prefix}{secrets.token_hex(nbytes)}"


def new_coupon_id() -> str:
    return secrets.token_hex(4).upper()


def table_for_id(object_id: str) -> str | None:
    for prefix, table in ID_PREFIXES.items():
        if object_id.startswith(prefix):
            return table
    return None


@dataclass
class SessionExtras:
    line_items: list[dict] = field(default_factory=list)
    # payment_intent_data[...] from session creation, applied to the
    # PaymentIntent once the buyer attempts to pay.
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_description: str | None = None


class State(dict):
    """All emulator data: ``state["charge"]["ch_..."] -> charge dict``.

    Hold ``state.lock`` (re-entrant) while reading or writing; the HTTP
    threads, the delivery worker and test helpers all share it. Dicts keep
    insertion order, which is creation order, so lists need no sorting.
    """

    def __init__(self) -> None:
        super().__init__({object_type: {} for object_type in OBJECT_TYPES})
        self.lock = threading.RLock()
        # Per checkout session data that Stripe keeps but does not put on the
        # session object (line items, payment_intent_data), by session id.
        self.session_extras: dict[str, SessionExtras] = {}

    def find(self, object_id: str) -> dict | None:
        table = table_for_id(object_id)
        if table is not None:
            return self[table].get(object_id)
        return self["coupon"].get(object_id)


class Fixtures:
    """Stripe's sample objects, loaded once and handed out as deep copies."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else DEFAULT_FIXTURES_PATH
        if not self.path.is_file():
            raise FileNotFoundError(
                f"Stripe fixtures file not found: {self.path}. Pass fixtures_path= "
                "(or --fixtures) pointing at fixtures3-subset.json."
            )
        with self.path.open(encoding="utf-8") as handle:
            document = json.load(handle)
        self.resources: dict[str, dict] = document.get("resources", document)
        missing = [name for name in REQUIRED_RESOURCES if name not in self.resources]
        if missing:
            raise ValueError(f"Fixtures file {self.path} lacks resources: {', '.join(missing)}")

    def sample(self, resource: str) -> dict:
        return copy.deepcopy(self.resources[resource])

    def build(self, resource: str, **fields: Any) -> dict:
        """Fixture copy, then the neutral baseline, then the given fields."""
        obj = self.sample(resource)
        obj.update(copy.deepcopy(_BASELINES.get(resource, {})))
        obj.update(fields)
        obj["livemode"] = False
        return obj


_NULL_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}

# Values of a fresh test-mode object where the fixture holds example data.
_BASELINES: dict[str, dict[str, Any]] = {
    "product": {
        "default_price": None,
        "description": None,
        "images": [],
        "marketing_features": [],
        "metadata": {},
        "package_dimensions": None,
        "shippable": None,
        "type": "service",
        "url": None,
    },
    "price": {
        "custom_unit_amount": None,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "recurring": None,
        "transform_quantity": None,
        "type": "one_time",
    },
    "coupon": {
        "amount_off": None,
        "currency": None,
        "duration": "once",
        "duration_in_months": None,
        "max_redemptions": None,
        "metadata": {},
        "name": None,
        "percent_off": None,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    },
    "promotion_code": {
        "active": True,
        "customer": None,
        "customer_account": None,
        "expires_at": None,
        "max_redemptions": None,
        "metadata": {},
        "times_redeemed": 0,
    },
    "checkout.session": {
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer_creation": "if_required",
        "customer_details": None,
        "discounts": [],
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "managed_payments": None,
        "metadata": {},
        "mode": "payment",
        "payment_intent": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card", "us_bank_account"],
        "payment_status": "unpaid",
        "permissions": None,
        "saved_payment_method_options": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "wallet_options": None,
    },
    "item": {
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_tax": 0,
        "metadata": {},
    },
    "payment_intent": {
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": None,
        "managed_payments": None,
        "metadata": {},
        "next_action": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card", "us_bank_account"],
        "processing": None,
        "shipping": None,
        "status": "requires_payment_method",
        "transfer_data": None,
    },
    "charge": {
        "amount_refunded": 0,
        "balance_transaction": None,
        "calculated_statement_descriptor": "LECTERN",
        "captured": True,
        "description": None,
        "disputed": False,
        "fraud_details": {},
        "metadata": {},
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "receipt_url": None,
        "refunded": False,
        "shipping": None,
        "source": None,
        "status": "succeeded",
        "transfer_data": None,
    },
    "refund": {
        "metadata": {},
        "reason": None,
        "status": "succeeded",
    },
    "dispute": {
        "balance_transactions": [],
        "enhanced_eligibility_types": [],
        "is_charge_refundable": False,
        "metadata": {},
        "reason": "fraudulent",
        "status": "needs_response",
    },
    "event": {
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
    },
}


def card_payment_details(fixtures: Fixtures) -> dict:
    """The fixture's Visa 4242 card details (the hosted page's test card)."""
    details = fixtures.sample("charge")["payment_method_details"]
    details["card"]["checks"]["cvc_check"] = "pass"
    return details


def bank_debit_payment_details() -> dict:
    """A US bank-account debit: the 'delayed' payment method of the pay page."""
    return {
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "expected_debit_date": None,
            "fingerprint": secrets.token_hex(8),
            "last4": "6789",
            "mandate": None,
            "payment_reference": None,
            "routing_number": "110000000",
        },
    }


def null_address() -> dict:
    return dict(_NULL_ADDRESS)

"""The emulated Stripe account: validation, state changes and events.

Everything that changes state goes through `Engine`, under `state.lock`, so
an HTTP request, a hosted-page click and a test helper see the same rules.
Each operation emits the events real Stripe would emit, in the same order;
`on_event` hands them to the webhook deliverer (which only sends them once
the lock is released, i.e. after the whole operation is committed).
"""

from __future__ import annotations

import copy
import fnmatch
import secrets
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable

from .errors import ApiError
from .forms import merge_metadata, to_bool, to_float, to_int, to_list, to_metadata, to_str
from .store import (
    Fixtures,
    SessionExtras,
    State,
    bank_debit_payment_details,
    card_payment_details,
    new_coupon_id,
    new_id,
    null_address,
)

SESSION_LIFETIME = 24 * 60 * 60  # Stripe's default and maximum expires_at
DISPUTE_RESPONSE_WINDOW = 7 * 24 * 60 * 60
OPEN_DISPUTE_STATUSES = {"needs_response", "under_review", "warning_needs_response", "warning_under_review"}
DEFAULT_BUYER_EMAIL = "buyer@example.com"

# Stripe's wording in "No such <name>: '<id>'" errors.
_MISSING_NAMES = {"promotion_code": "promotion code"}


def now() -> int:
    return int(time.time())


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


class Engine:
    def __init__(
        self,
        state: State,
        fixtures: Fixtures,
        *,
        api_version: str,
        pay_page_base: Callable[[], str],
        pending_webhooks_for: Callable[[str], int],
        on_event: Callable[[dict], None],
    ):
        self.state = state
        self.fixtures = fixtures
        self.api_version = api_version
        self._pay_page_base = pay_page_base
        self._pending_webhooks_for = pending_webhooks_for
        self._on_event = on_event

    # ------------------------------------------------------------------ reads

    def get(self, object_type: str, object_id: str, *, param: str = "id") -> dict:
        """A deep copy of one object; 404 resource_missing when unknown."""
        with self.state.lock:
            return copy.deepcopy(self._get(object_type, object_id, param=param))

    def list(self, object_type: str, keep: Callable[[dict], bool] = lambda obj: True) -> list[dict]:
        """Deep copies of matching objects, newest first (Stripe's list order)."""
        with self.state.lock:
            matching = [obj for obj in self.state[object_type].values() if keep(obj)]
            return copy.deepcopy(matching[::-1])

    def line_items(self, session_id: str) -> list[dict]:
        with self.state.lock:
            self._get("checkout.session", session_id)
            return copy.deepcopy(self.state.session_extras[session_id].line_items)

    def expand(self, obj: dict, paths: Iterable[str]) -> dict:
        """Apply `expand[]` paths (e.g. "payment_intent", "data.latest_charge",
        "line_items", "payment_intent.latest_charge") to a copied object."""
        with self.state.lock:
            for path in paths:
                self._expand_path(obj, str(path).split("."), depth=0)
        return obj

    def _expand_path(self, node: Any, parts: list[str], depth: int) -> None:
        if not parts or depth >= 4 or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if node.get("object") == "list" and head == "data":
            for item in node.get("data", []):
                self._expand_path(item, rest, depth + 1)
            return
        if node.get("object") == "checkout.session" and head == "line_items":
            items = self.state.session_extras[node["id"]].line_items
            node["line_items"] = {
                "object": "list",
                "data": copy.deepcopy(items[:100]),
                "has_more": len(items) > 100,
                "url": f"/v1/checkout/sessions/{node['id']}/line_items",
            }
            self._expand_path(node["line_items"], rest, depth + 1)
            return
        if head not in node:
            raise ApiError.invalid(f"This property cannot be expanded ({head}).", param="expand")
        value = node[head]
        if isinstance(value, str):
            found = self.state["coupon"].get(value) if head == "coupon" else self.state.find(value)
            if found is not None:
                node[head] = value = copy.deepcopy(found)
        targets = value if isinstance(value, list) else [value]
        for target in targets:
            self._expand_path(target, rest, depth + 1)

    def _get(self, object_type: str, object_id: str, *, param: str = "id") -> dict:
        obj = self.state[object_type].get(object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise ApiError.missing(_MISSING_NAMES.get(object_type, object_type), str(object_id), param=param)
        return obj

    # ----------------------------------------------------------------- events

    def _emit(self, event_type: str, obj: dict, request: dict | None) -> dict:
        event = self.fixtures.build(
            "event",
            id=new_id("evt_"),
            api_version=self.api_version,
            created=now(),
            data={"object": copy.deepcopy(obj)},
            pending_webhooks=self._pending_webhooks_for(event_type),
            request=dict(request or {"id": None, "idempotency_key": None}),
            type=event_type,
        )
        self.state["event"][event["id"]] = event
        self._on_event(event)
        return event

    def events_matching(
        self, types: list[str], delivered: Callable[[dict], bool | None] | None = None, want_delivered: bool | None = None
    ) -> Callable[[dict], bool]:
        """Filter for GET /v1/events: `type`/`types[]` (with "charge.*" wildcards)
        and `delivery_success`."""

        def keep(event: dict) -> bool:
            if types and not any(fnmatch.fnmatchcase(event["type"], pattern) for pattern in types):
                return False
            if want_delivered is not None and delivered is not None:
                outcome = delivered(event)
                if outcome is None:  # not meant for the webhook endpoint
                    return False
                return outcome == want_delivered
            return True

        return keep

    # ---------------------------------------------------------------- catalog

    def create_product(self, params: dict) -> dict:
        name = to_str(params, "name")
        if not name:
            raise ApiError.invalid("Missing required param: name.", param="name")
        with self.state.lock:
            product_id = to_str(params, "id") or new_id("prod_", 7)
            if product_id in self.state["product"]:
                raise ApiError.invalid(f"Product already exists: {product_id}", param="id", code="resource_already_exists")
            created = now()
            product = self.fixtures.build(
                "product",
                id=product_id,
                name=name,
                description=to_str(params, "description") or None,
                active=to_bool(params, "active", True),
                metadata=to_metadata(params) or {},
                images=to_list(params, "images"),
                url=to_str(params, "url") or None,
                created=created,
                updated=created,
            )
            self.state["product"][product_id] = product
            return copy.deepcopy(product)

    def update_product(self, product_id: str, params: dict) -> dict:
        with self.state.lock:
            product = self._get("product", product_id)
            if "name" in params:
                name = to_str(params, "name")
                if not name:
                    raise ApiError.invalid("A product's name cannot be blank.", param="name")
                product["name"] = name
            if "description" in params:
                product["description"] = to_str(params, "description") or None
            if "active" in params:
                product["active"] = to_bool(params, "active")
            if "default_price" in params:
                price_id = to_str(params, "default_price") or None
                if price_id is not None:
                    price = self._get("price", price_id, param="default_price")
                    if price["product"] != product_id:
                        raise ApiError.invalid(
                            f"The price {price_id} does not belong to product {product_id}.", param="default_price"
                        )
                product["default_price"] = price_id
            product["metadata"] = merge_metadata(product["metadata"], to_metadata(params))
            product["updated"] = now()
            return copy.deepcopy(product)

    def create_price(self, params: dict) -> dict:
        currency = (to_str(params, "currency") or "").lower()
        if not currency:
            raise ApiError.invalid("Missing required param: currency.", param="currency")
        unit_amount = to_int(params, "unit_amount", minimum=0)
        if unit_amount is None:
            raise ApiError.invalid("Missing required param: unit_amount.", param="unit_amount")
        if params.get("recurring"):
            raise ApiError.invalid("The emulator only supports one-time prices.", param="recurring")
        with self.state.lock:
            if isinstance(params.get("product_data"), dict):
                product_id = self.create_product(params["product_data"])["id"]
            else:
                product_id = to_str(params, "product")
                if not product_id:
                    raise ApiError.invalid("Missing required param: product.", param="product")
                self._get("product", product_id, param="product")
            lookup_key = to_str(params, "lookup_key") or None
            self._claim_lookup_key(lookup_key, to_bool(params, "transfer_lookup_key", False))
            price = self.fixtures.build(
                "price",
                id=new_id("price_"),
                product=product_id,
                currency=currency,
                unit_amount=unit_amount,
                unit_amount_decimal=str(unit_amount),
                active=to_bool(params, "active", True),
                lookup_key=lookup_key,
                nickname=to_str(params, "nickname") or None,
                metadata=to_metadata(params) or {},
                created=now(),
            )
            self.state["price"][price["id"]] = price
            return copy.deepcopy(price)

    def update_price(self, price_id: str, params: dict) -> dict:
        with self.state.lock:
            price = self._get("price", price_id)
            if "active" in params:
                price["active"] = to_bool(params, "active")
            if "nickname" in params:
                price["nickname"] = to_str(params, "nickname") or None
            if "lookup_key" in params:
                lookup_key = to_str(params, "lookup_key") or None
                if lookup_key != price["lookup_key"]:
                    self._claim_lookup_key(lookup_key, to_bool(params, "transfer_lookup_key", False))
                price["lookup_key"] = lookup_key
            price["metadata"] = merge_metadata(price["metadata"], to_metadata(params))
            return copy.deepcopy(price)

    def _claim_lookup_key(self, lookup_key: str | None, transfer: bool) -> None:
        """Lookup keys are unique; `transfer_lookup_key` moves one to a new price."""
        if lookup_key is None:
            return
        for other in self.state["price"].values():
            if other["lookup_key"] == lookup_key:
                if not transfer:
                    raise ApiError.invalid(
                        f"A price (`{other['id']}`) already uses that lookup key.", param="lookup_key"
                    )
                other["lookup_key"] = None

    def create_coupon(self, params: dict) -> dict:
        percent_off = to_float(params, "percent_off")
        amount_off = to_int(params, "amount_off", minimum=1)
        currency = (to_str(params, "currency") or "").lower() or None
        if (percent_off is None) == (amount_off is None):
            raise ApiError.invalid("You must specify exactly one of percent_off or amount_off.", param="percent_off")
        if percent_off is not None and not 0 < percent_off <= 100:
            raise ApiError.invalid("percent_off must be between 0 and 100.", param="percent_off")
        if amount_off is not None and currency is None:
            raise ApiError.invalid("You must specify a currency when using amount_off.", param="currency")
        duration = to_str(params, "duration", "once")
        if duration not in ("once", "forever", "repeating"):
            raise ApiError.invalid(f"Invalid duration: {duration}", param="duration")
        duration_in_months = to_int(params, "duration_in_months", minimum=1)
        if duration == "repeating" and duration_in_months is None:
            raise ApiError.invalid("duration_in_months is required for repeating coupons.", param="duration_in_months")
        with self.state.lock:
            coupon_id = to_str(params, "id") or new_coupon_id()
            if coupon_id in self.state["coupon"]:
                raise ApiError.invalid(
                    f"Coupon already exists: {coupon_id}", param="id", code="resource_already_exists"
                )
            coupon = self.fixtures.build(
                "coupon",
                id=coupon_id,
                percent_off=percent_off,
                amount_off=amount_off,
                currency=currency if amount_off is not None else None,
                duration=duration,
                duration_in_months=duration_in_months if duration == "repeating" else None,
                max_redemptions=to_int(params, "max_redemptions", minimum=1),
                redeem_by=to_int(params, "redeem_by"),
                name=to_str(params, "name") or None,
                metadata=to_metadata(params) or {},
                created=now(),
            )
            self.state["coupon"][coupon_id] = coupon
            return copy.deepcopy(coupon)

    def create_promotion_code(self, params: dict) -> dict:
        promotion = params.get("promotion") if isinstance(params.get("promotion"), dict) else {}
        if promotion and promotion.get("type", "coupon") != "coupon":
            raise ApiError.invalid("Only promotion[type]=coupon is supported.", param="promotion[type]")
        # Current API: promotion[coupon]; before 2025-09 it was a top-level `coupon`.
        coupon_param = "promotion[coupon]" if promotion.get("coupon") else "coupon"
        coupon_id = promotion.get("coupon") or to_str(params, "coupon")
        if not coupon_id:
            raise ApiError.invalid("Missing required param: promotion[coupon].", param="promotion[coupon]")
        restrictions = params.get("restrictions") if isinstance(params.get("restrictions"), dict) else {}
        with self.state.lock:
            self._get("coupon", coupon_id, param=coupon_param)
            code = to_str(params, "code") or secrets.token_hex(4).upper()
            active = to_bool(params, "active", True)
            if active:
                self._ensure_code_free(code)
            promo = self.fixtures.build(
                "promotion_code",
                id=new_id("promo_"),
                code=code,
                active=active,
                promotion={"coupon": coupon_id, "type": "coupon"},
                expires_at=to_int(params, "expires_at"),
                max_redemptions=to_int(params, "max_redemptions", minimum=1),
                metadata=to_metadata(params) or {},
                restrictions={
                    "first_time_transaction": to_bool(restrictions, "first_time_transaction", False),
                    "minimum_amount": to_int(restrictions, "minimum_amount"),
                    "minimum_amount_currency": (to_str(restrictions, "minimum_amount_currency") or "").lower() or None,
                },
                created=now(),
            )
            self.state["promotion_code"][promo["id"]] = promo
            return copy.deepcopy(promo)

    def update_promotion_code(self, promo_id: str, params: dict) -> dict:
        with self.state.lock:
            promo = self._get("promotion_code", promo_id)
            if "active" in params:
                active = to_bool(params, "active")
                if active and not promo["active"]:
                    self._ensure_code_free(promo["code"])
                promo["active"] = active
            promo["metadata"] = merge_metadata(promo["metadata"], to_metadata(params))
            return copy.deepcopy(promo)

    def _ensure_code_free(self, code: str) -> None:
        for other in self.state["promotion_code"].values():
            if other["active"] and other["code"].lower() == code.lower():
                raise ApiError.invalid(
                    f"An active promotion code with `code: {code}` already exists.",
                    param="code",
                    code="resource_already_exists",
                )

    def find_active_promotion_code(self, code: str) -> dict | None:
        """Codes are matched case-insensitively, like on Stripe's hosted page."""
        with self.state.lock:
            for promo in self.state["promotion_code"].values():
                if promo["active"] and promo["code"].lower() == code.strip().lower():
                    return promo
            return None

    # -------------------------------------------------------- checkout session

    def create_session(self, params: dict, request: dict | None = None) -> dict:
        mode = to_str(params, "mode")
        if mode != "payment":
            raise ApiError.invalid("The emulator only supports mode=payment.", param="mode")
        raw_items = to_list(params, "line_items")
        if not raw_items:
            raise ApiError.invalid("line_items is required in payment mode.", param="line_items")
        if params.get("allow_promotion_codes") and params.get("discounts"):
            raise ApiError.invalid(
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                param="allow_promotion_codes",
            )
        created = now()
        expires_at = to_int(params, "expires_at", created + SESSION_LIFETIME)
        # Stripe also requires >= 30 minutes; the emulator allows shorter
        # lifetimes so tests can watch a session expire on its own.
        if not created < expires_at <= created + SESSION_LIFETIME:
            raise ApiError.invalid("expires_at must be in the future and at most 24 hours away.", param="expires_at")
        for url_param in ("success_url", "cancel_url"):
            url = to_str(params, url_param)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ApiError.invalid(f"Not a valid URL: {url}", param=url_param)
        intent_data = params.get("payment_intent_data") if isinstance(params.get("payment_intent_data"), dict) else {}

        with self.state.lock:
            items = [self._build_line_item(raw, index) for index, raw in enumerate(raw_items)]
            currencies = {item["currency"] for item in items}
            if len(currencies) > 1:
                raise ApiError.invalid("All line items must use the same currency.", param="line_items")
            currency = currencies.pop()
            session_id = new_id("cs_test_", 30)
            session = self.fixtures.build(
                "checkout.session",
                id=session_id,
                allow_promotion_codes=to_bool(params, "allow_promotion_codes"),
                cancel_url=to_str(params, "cancel_url"),
                client_reference_id=to_str(params, "client_reference_id") or None,
                created=created,
                currency=currency,
                customer_email=to_str(params, "customer_email") or None,
                expires_at=expires_at,
                locale=to_str(params, "locale"),
                metadata=to_metadata(params) or {},
                submit_type=to_str(params, "submit_type"),
                success_url=to_str(params, "success_url"),
                url=f"{self._pay_page_base()}/pay/{session_id}",
            )
            discounts = to_list(params, "discounts")
            if len(discounts) > 1:
                raise ApiError.invalid("Only one discount can be applied in payment mode.", param="discounts")
            subtotal = sum(item["amount_subtotal"] for item in items)
            if discounts:
                session["discounts"] = [self._resolve_discount(discounts[0], currency, subtotal)]
            self._price_session(session, items)
            self.state["checkout.session"][session_id] = session
            self.state.session_extras[session_id] = SessionExtras(
                line_items=items,
                payment_intent_metadata=to_metadata(intent_data) or {},
                payment_intent_description=to_str(intent_data, "description"),
            )
            return copy.deepcopy(session)

    def _build_line_item(self, raw: Any, index: int) -> dict:
        param = f"line_items[{index}]"
        if not isinstance(raw, dict):
            raise ApiError.invalid("Invalid line item.", param=param)
        if "price_data" in raw:
            raise ApiError.invalid("The emulator does not support price_data; create a price first.", param=f"{param}[price_data]")
        price_id = to_str(raw, "price")
        if not price_id:
            raise ApiError.invalid("Missing required param: price.", param=f"{param}[price]")
        price = self._get("price", price_id, param=f"{param}[price]")
        if not price["active"]:
            raise ApiError.invalid(f"The price `{price_id}` is not active.", param=f"{param}[price]")
        quantity = to_int(raw, "quantity", minimum=1)
        if quantity is None:
            raise ApiError.invalid("Missing required param: quantity.", param=f"{param}[quantity]")
        product = self.state["product"].get(price["product"], {})
        subtotal = price["unit_amount"] * quantity
        return self.fixtures.build(
            "item",
            id=new_id("li_"),
            amount_subtotal=subtotal,
            amount_total=subtotal,
            currency=price["currency"],
            description=product.get("name"),
            price=copy.deepcopy(price),
            quantity=quantity,
        )

    def _resolve_discount(self, raw: Any, currency: str, subtotal: int) -> dict:
        """Validate `discounts[0]` and return the session's discount entry."""
        raw = raw if isinstance(raw, dict) else {}
        if raw.get("promotion_code"):
            promo = self._get("promotion_code", raw["promotion_code"], param="discounts[0][promotion_code]")
            self._check_promotion_code(promo, currency, subtotal, param="discounts[0][promotion_code]")
            return {"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}
        if raw.get("coupon"):
            coupon = self._get("coupon", raw["coupon"], param="discounts[0][coupon]")
            self._check_coupon(coupon, currency, param="discounts[0][coupon]")
            return {"coupon": coupon["id"], "promotion_code": None}
        raise ApiError.invalid("A discount needs a coupon or promotion_code.", param="discounts[0]")

    def _check_promotion_code(self, promo: dict, currency: str, subtotal: int, *, param: str) -> None:
        if not promo["active"]:
            raise ApiError.invalid(f"The promotion code `{promo['code']}` is not active.", param=param)
        if promo["expires_at"] is not None and promo["expires_at"] <= now():
            raise ApiError.invalid(f"The promotion code `{promo['code']}` has expired.", param=param)
        if promo["max_redemptions"] is not None and promo["times_redeemed"] >= promo["max_redemptions"]:
            raise ApiError.invalid(f"The promotion code `{promo['code']}` has been fully redeemed.", param=param)
        minimum = promo["restrictions"]["minimum_amount"]
        if minimum is not None and subtotal < minimum:
            raise ApiError.invalid(
                f"The promotion code `{promo['code']}` requires a minimum of {money(minimum, currency)}.", param=param
            )
        self._check_coupon(self._get("coupon", promo["promotion"]["coupon"]), currency, param=param)

    def _check_coupon(self, coupon: dict, currency: str, *, param: str) -> None:
        expired = coupon["redeem_by"] is not None and coupon["redeem_by"] <= now()
        exhausted = coupon["max_redemptions"] is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]
        if not coupon["valid"] or expired or exhausted:
            raise ApiError.invalid(f"The coupon `{coupon['id']}` is no longer valid.", param=param)
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise ApiError.invalid(
                f"The coupon `{coupon['id']}` is in {coupon['currency']}, the session in {currency}.", param=param
            )

    def _price_session(self, session: dict, items: list[dict]) -> None:
        """(Re)compute line item and session amounts from prices and the discount."""
        subtotal = sum(item["amount_subtotal"] for item in items)
        discount = 0
        if session["discounts"]:
            coupon = self.state["coupon"][session["discounts"][0]["coupon"]]
            if coupon["percent_off"] is not None:
                exact = Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100
                discount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            else:
                discount = min(coupon["amount_off"], subtotal)
        # Spread the discount over the items pro rata; the last item takes the
        # rounding remainder so the parts add up exactly.
        remaining = discount
        for index, item in enumerate(items):
            if index == len(items) - 1:
                share = remaining
            else:
                share = discount * item["amount_subtotal"] // subtotal if subtotal else 0
            remaining -= share
            item["amount_discount"] = share
            item["amount_total"] = item["amount_subtotal"] - share
        session["amount_subtotal"] = subtotal
        session["amount_total"] = subtotal - discount
        session["total_details"] = {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0}

    def _open_session(self, session_id: str) -> dict:
        session = self._get("checkout.session", session_id)
        if session["status"] != "open":
            raise ApiError.invalid(
                f"This Checkout Session is no longer open (status: {session['status']}).", param="session"
            )
        return session

    def apply_promotion_code(self, session_id: str, code: str) -> dict:
        """What the promotion code box on the hosted page does."""
        with self.state.lock:
            session = self._open_session(session_id)
            if not session["allow_promotion_codes"]:
                raise ApiError.invalid("This Checkout Session does not accept promotion codes.", param="promotion_code")
            promo = self.find_active_promotion_code(code)
            if promo is None:
                raise ApiError.invalid(f"This code is invalid: {code}", param="promotion_code")
            self._check_promotion_code(promo, session["currency"], session["amount_subtotal"], param="promotion_code")
            session["discounts"] = [{"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}]
            self._price_session(session, self.state.session_extras[session_id].line_items)
            return copy.deepcopy(session)

    def expire_session(self, session_id: str, request: dict | None = None) -> dict:
        with self.state.lock:
            session = self._get("checkout.session", session_id, param="session")
            if session["status"] != "open":
                raise ApiError.invalid(
                    f"Only Checkout Sessions with a status in [\"open\"] can be expired. "
                    f"This Checkout Session has a status of \"{session['status']}\".",
                    param="session",
                )
            session["status"] = "expired"
            self._emit("checkout.session.expired", session, request)
            return copy.deepcopy(session)

    def expire_overdue_sessions(self) -> list[str]:
        """Expire open sessions whose expires_at has passed (Stripe does this too)."""
        with self.state.lock:
            overdue = [
                session["id"]
                for session in self.state["checkout.session"].values()
                if session["status"] == "open" and session["expires_at"] <= now()
            ]
            for session_id in overdue:
                self.expire_session(session_id)
            return overdue

    # --------------------------------------------------------------- payments

    def pay(self, session_id: str, *, delayed: bool = False, email: str | None = None, promotion_code: str | None = None) -> dict:
        """The buyer submits the hosted payment page.

        Card: the payment succeeds at once. Delayed (a bank debit): the
        session completes with payment_status "unpaid" and the PaymentIntent
        stays "processing" until `settle_delayed`.
        """
        with self.state.lock:
            session = self._open_session(session_id)
            if promotion_code:
                self.apply_promotion_code(session_id, promotion_code)
            elif session["discounts"]:
                # The code may have been deactivated since the session was created.
                promo_id = session["discounts"][0]["promotion_code"]
                if promo_id:
                    promo = self.state["promotion_code"][promo_id]
                    self._check_promotion_code(promo, session["currency"], session["amount_subtotal"], param="discounts")
            buyer_email = email or session["customer_email"] or DEFAULT_BUYER_EMAIL
            details = self.fixtures.sample("checkout.session")["customer_details"]
            details.update(address=null_address(), email=buyer_email, name=None, phone=None, tax_ids=[])
            session["customer_details"] = details
            self._redeem_discount(session)

            if session["amount_total"] == 0:  # fully discounted: no PaymentIntent at all
                session.update(status="complete", payment_status="no_payment_required")
                self._emit("checkout.session.completed", session, None)
                return copy.deepcopy(session)

            intent = self._create_payment_intent(session)
            intent["payment_method"] = new_id("pm_")
            if delayed:
                intent.update(status="processing", payment_method_types=["us_bank_account"])
                self._emit("payment_intent.processing", intent, None)
                session.update(status="complete", payment_status="unpaid")
            else:
                self._succeed_payment(intent, buyer_email, card_payment_details(self.fixtures))
                session.update(status="complete", payment_status="paid")
            self._emit("checkout.session.completed", session, None)
            return copy.deepcopy(session)

    def settle_delayed(self, session_id: str, succeed: bool = True) -> dict:
        """The bank debit of a delayed payment clears (or bounces)."""
        with self.state.lock:
            session = self._get("checkout.session", session_id, param="session")
            intent = self.state["payment_intent"].get(session["payment_intent"] or "")
            if session["status"] != "complete" or intent is None or intent["status"] != "processing":
                raise ApiError.invalid("This Checkout Session has no delayed payment awaiting settlement.", param="session")
            buyer_email = session["customer_details"]["email"]
            if succeed:
                self._succeed_payment(intent, buyer_email, bank_debit_payment_details())
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", session, None)
            else:
                intent.update(
                    status="requires_payment_method",
                    payment_method=None,
                    last_payment_error={
                        "type": "invalid_request_error",
                        "code": "payment_method_provider_decline",
                        "decline_code": "insufficient_funds",
                        "message": "The bank debit failed: insufficient funds.",
                        "payment_method_type": "us_bank_account",
                    },
                )
                self._emit("payment_intent.payment_failed", intent, None)
                self._emit("checkout.session.async_payment_failed", session, None)
            return copy.deepcopy(session)

    def _redeem_discount(self, session: dict) -> None:
        for discount in session["discounts"]:
            self.state["coupon"][discount["coupon"]]["times_redeemed"] += 1
            if discount["promotion_code"]:
                self.state["promotion_code"][discount["promotion_code"]]["times_redeemed"] += 1

    def _create_payment_intent(self, session: dict) -> dict:
        """Stripe creates the session's PaymentIntent when the buyer pays."""
        extras = self.state.session_extras[session["id"]]
        intent_id = new_id("pi_")
        intent = self.fixtures.build(
            "payment_intent",
            id=intent_id,
            amount=session["amount_total"],
            client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
            created=now(),
            currency=session["currency"],
            description=extras.payment_intent_description,
            metadata=dict(extras.payment_intent_metadata),
        )
        self.state["payment_intent"][intent_id] = intent
        session["payment_intent"] = intent_id
        self._emit("payment_intent.created", intent, None)
        return intent

    def _succeed_payment(self, intent: dict, buyer_email: str, payment_details: dict) -> dict:
        charge_id = new_id("ch_")
        billing = self.fixtures.sample("charge")["billing_details"]
        billing.update(address=null_address(), email=buyer_email, name=None, phone=None)
        charge = self.fixtures.build(
            "charge",
            id=charge_id,
            amount=intent["amount"],
            amount_captured=intent["amount"],
            billing_details=billing,
            created=now(),
            currency=intent["currency"],
            description=intent["description"],
            metadata=dict(intent["metadata"]),
            payment_intent=intent["id"],
            payment_method=intent["payment_method"],
            payment_method_details=payment_details,
            receipt_email=None,
            refunds={"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{charge_id}/refunds"},
        )
        self.state["charge"][charge_id] = charge
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge_id, last_payment_error=None)
        self._emit("charge.succeeded", charge, None)
        self._emit("payment_intent.succeeded", intent, None)
        return charge

    # ------------------------------------------------------ refunds, disputes

    def refund(
        self,
        *,
        charge_id: str | None = None,
        payment_intent_id: str | None = None,
        amount: int | None = None,
        reason: str | None = None,
        metadata: dict | None = None,
        request: dict | None = None,
    ) -> dict:
        with self.state.lock:
            if payment_intent_id:
                intent = self._get("payment_intent", payment_intent_id, param="payment_intent")
                if intent["latest_charge"] is None:
                    raise ApiError.invalid(
                        f"This PaymentIntent ({payment_intent_id}) does not have a successful charge to refund.",
                        param="payment_intent",
                    )
                charge = self.state["charge"][intent["latest_charge"]]
            elif charge_id:
                charge = self._get("charge", charge_id, param="charge")
            else:
                raise ApiError.invalid("One of the following params should be provided: charge, payment_intent.")
            unrefunded = charge["amount"] - charge["amount_refunded"]
            if unrefunded == 0:
                raise ApiError.invalid(
                    f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", param="charge"
                )
            if charge["disputed"] and not self._dispute_won(charge["id"]):
                raise ApiError.invalid(
                    f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
                )
            amount = unrefunded if amount is None else amount
            if amount < 1:
                raise ApiError.invalid("Refund amount must be positive.", param="amount")
            if amount > unrefunded:
                raise ApiError.invalid(
                    f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded amount "
                    f"on charge ({money(unrefunded, charge['currency'])})",
                    param="amount",
                    code="amount_too_large",
                )
            refund = self.fixtures.build(
                "refund",
                id=new_id("re_"),
                amount=amount,
                charge=charge["id"],
                created=now(),
                currency=charge["currency"],
                destination_details=self._refund_destination(charge),
                metadata=metadata or {},
                payment_intent=charge["payment_intent"],
                payment_method=charge["payment_method"],
                reason=reason,
            )
            self.state["refund"][refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
            self._emit("refund.created", refund, request)
            self._emit("charge.refunded", charge, request)
            return copy.deepcopy(refund)

    def _refund_destination(self, charge: dict) -> dict:
        if charge["payment_method_details"]["type"] == "card":
            return self.fixtures.sample("refund")["destination_details"]
        return {"type": "us_bank_transfer", "us_bank_transfer": {"reference": None, "reference_status": "available"}}

    def _dispute_won(self, charge_id: str) -> bool:
        disputes = [d for d in self.state["dispute"].values() if d["charge"] == charge_id]
        return bool(disputes) and disputes[-1]["status"] == "won"

    def open_dispute(self, charge_id: str, reason: str = "fraudulent") -> dict:
        """The cardholder's bank opens a chargeback."""
        with self.state.lock:
            charge = self._get("charge", charge_id, param="charge")
            if charge["disputed"]:
                raise ApiError.invalid(f"Charge {charge_id} is already disputed.", param="charge")
            details = self.fixtures.sample("dispute")["payment_method_details"]
            if charge["payment_method_details"]["type"] == "card":
                details["card"].update(case_type="chargeback")
            else:
                details = {"type": charge["payment_method_details"]["type"]}
            created = now()
            dispute = self.fixtures.build(
                "dispute",
                id=new_id("dp_"),
                amount=charge["amount"] - charge["amount_refunded"],
                charge=charge_id,
                created=created,
                currency=charge["currency"],
                evidence_details={
                    "due_by": created + DISPUTE_RESPONSE_WINDOW,
                    "enhanced_eligibility": {},
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                payment_intent=charge["payment_intent"],
                payment_method_details=details,
                reason=reason,
            )
            self.state["dispute"][dispute["id"]] = dispute
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute, None)
            return copy.deepcopy(dispute)

    def close_dispute(self, dispute_id: str, won: bool) -> dict:
        """The bank decides the chargeback."""
        with self.state.lock:
            dispute = self._get("dispute", dispute_id)
            if dispute["status"] not in OPEN_DISPUTE_STATUSES:
                raise ApiError.invalid(f"Dispute {dispute_id} is already closed ({dispute['status']}).", param="dispute")
            dispute["status"] = "won" if won else "lost"
            dispute["is_charge_refundable"] = won
            self._emit("charge.dispute.closed", dispute, None)
            return copy.deepcopy(dispute)

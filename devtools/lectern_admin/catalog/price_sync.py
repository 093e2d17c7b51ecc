"""Keep one Stripe Product and one active Price per priced course.

The course item remembers `stripe_product_id` and `stripe_price_id`; Stripe
is read back and compared before anything is written, so a second run does
nothing. Prices are immutable in Stripe: a new amount or currency means a new
Price, made the product's `default_price`, after which the old one is
archived (Stripe refuses to archive a product's default price, hence that
order). Every create carries an idempotency key derived from what it creates,
so a retried run cannot make duplicates.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import stripe

from lectern import clock, stripe_gateway
from lectern.models.catalog import Course
from lectern.secrets import MissingSecret
from lectern_admin.catalog.changes import ARCHIVED, CREATED, UNCHANGED, UPDATED, Change


def is_configured() -> bool:
    try:
        stripe_gateway.api_key()
    except MissingSecret:
        return False
    return True


def sync_prices(courses: list[Course], *, dry_run: bool = False) -> list[Change]:
    """Sync every course that has (or had) a price; in a dry run only read and report."""
    client = stripe_gateway.client()
    changes: list[Change] = []
    for course in courses:
        if course.price_amount is None and not course.stripe_price_id:
            continue  # never for sale: nothing to create or archive
        changes.extend(_CourseSync(client, course, dry_run).run())
    return changes


class _CourseSync:
    def __init__(self, client: stripe.StripeClient, course: Course, dry_run: bool):
        self.client, self.course, self.dry_run = client, course, dry_run
        self.changes: list[Change] = []

    def run(self) -> list[Change]:
        course = self.course
        product = self._sync_product()
        price_id = self._sync_price(product) if course.price_amount is not None else self._withdraw_price(product)
        product_id = product["id"] if product else None
        if not self.dry_run and (product_id, price_id) != (course.stripe_product_id, course.stripe_price_id):
            self._store_ids(product_id, price_id)
        return self.changes

    # -- product

    def _sync_product(self) -> dict[str, Any] | None:
        course = self.course
        wanted = {
            "name": course.title,
            "description": course.description or None,
            "metadata": {"course_id": course.id, "course_slug": course.slug},
        }
        product = self._retrieve(self.client.v1.products, course.stripe_product_id)
        if product is None:
            if course.price_amount is None:
                return None  # no longer for sale and no product to keep in sync
            if self.dry_run:
                self._note("product", CREATED, "(new)")
                return None
            params = {key: value for key, value in wanted.items() if value is not None}  # Stripe rejects ""
            # Stripe refuses a replayed key with different params, so the params are part of the key.
            digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
            product = self.client.v1.products.create(
                params=params, options={"idempotency_key": f"lectern-product-{course.id}-{digest}"}).to_dict()
            self._note("product", CREATED, product["id"])
            return product

        stale = [key for key in ("name", "description") if product.get(key) != wanted[key]]
        metadata = product.get("metadata") or {}
        if any(metadata.get(key) != value for key, value in wanted["metadata"].items()):
            stale.append("metadata")
        if not stale:
            self._note("product", UNCHANGED, product["id"])
            return product
        self._note("product", UPDATED, product["id"], tuple(stale))
        if self.dry_run:
            return product
        # An empty description unsets it on update.
        params = {key: (wanted[key] if wanted[key] is not None else "") for key in stale}
        return self.client.v1.products.update(product["id"], params=params).to_dict()

    # -- price

    def _sync_price(self, product: dict[str, Any] | None) -> str | None:
        course = self.course
        amount, currency = int(course.price_amount), course.currency
        current = self._retrieve(self.client.v1.prices, course.stripe_price_id)
        if (current and current["active"] and current["unit_amount"] == amount and current["currency"] == currency
                and product and current["product"] == product["id"]):
            self._ensure_default_price(product, current["id"])
            self._note("price", UNCHANGED, current["id"])
            return current["id"]

        if self.dry_run:
            self._note("price", CREATED, "(new)", note=f"{amount} {currency}")
            if current and current["active"]:
                self._note("price", ARCHIVED, current["id"])
            return course.stripe_price_id
        # The key holds everything the params are made of, plus the price being replaced: going back to
        # an earlier amount then makes a fresh Price instead of replaying the (since archived) old one.
        replaces = current["id"] if current else "none"
        price = self.client.v1.prices.create(
            params={"unit_amount": amount, "currency": currency, "product": product["id"],
                    "metadata": {"course_id": course.id}},
            options={"idempotency_key":
                     f"lectern-price-{course.id}-{amount}-{currency}-{product['id']}-{replaces}"},
        )
        self._note("price", CREATED, price.id, note=f"{amount} {currency}")
        self._ensure_default_price(product, price.id)
        if current and current["active"]:
            self._archive(current["id"])
        return price.id

    def _withdraw_price(self, product: dict[str, Any] | None) -> None:
        """The course is no longer for sale: archive its price so nobody can be charged it."""
        current = self._retrieve(self.client.v1.prices, self.course.stripe_price_id)
        if current and current["active"]:
            if product and product.get("default_price") == current["id"]:
                self._note("product", UPDATED, product["id"], ("default_price",))
                if not self.dry_run:
                    self.client.v1.products.update(product["id"], params={"default_price": ""})
            self._archive(current["id"])
        return None

    def _ensure_default_price(self, product: dict[str, Any], price_id: str) -> None:
        if product.get("default_price") == price_id:
            return
        self._note("product", UPDATED, product["id"], ("default_price",))
        if not self.dry_run:
            self.client.v1.products.update(product["id"], params={"default_price": price_id})

    def _archive(self, price_id: str) -> None:
        self._note("price", ARCHIVED, price_id)
        if not self.dry_run:
            self.client.v1.prices.update(price_id, params={"active": False})

    # -- plumbing

    def _retrieve(self, service: Any, object_id: str | None) -> dict[str, Any] | None:
        """The Stripe object as a dict, or None when we have no id or Stripe no longer knows it (reset, other account)."""
        if not object_id:
            return None
        try:
            return service.retrieve(object_id).to_dict()
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise

    def _store_ids(self, product_id: str | None, price_id: str | None) -> None:
        course = self.course
        actions = [
            Course.stripe_product_id.set(product_id) if product_id else Course.stripe_product_id.remove(),
            Course.stripe_price_id.set(price_id) if price_id else Course.stripe_price_id.remove(),
            Course.updated_at.set(clock.iso()),
        ]
        course.update(actions=actions, condition=Course.updated_at == course.updated_at)

    def _note(self, kind: str, action: str, label: str, fields: tuple[str, ...] = (), note: str = "") -> None:
        self.changes.append(Change(self.course.slug, kind, label, action, fields, note))

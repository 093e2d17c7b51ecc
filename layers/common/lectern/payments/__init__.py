"""Payments: Stripe Checkout, webhook fulfillment, refunds and disputes.
Only the checkout and webhook functions (and operator commands) import it; the
mail retry imports receipts and purchase_mails, which need no Stripe."""

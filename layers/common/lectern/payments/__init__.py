"""Payments: Stripe Checkout, webhook fulfillment, refunds and disputes.
Only the checkout and webhook functions (and operator commands) import its Stripe modules; the
mail retry imports receipts and purchase_mails, and the auth function gifts (the resend-gift route),
which need no Stripe."""

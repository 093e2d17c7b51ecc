"""Stripe's /v1 REST API, one module per resource, each with `register(api, engine)`; `v1.py` is
what they share (the `V1Api` they register on: params, `expand[]`, idempotency, lists, errors)."""

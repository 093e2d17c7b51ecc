"""Lectern's performance benchmark (`make bench`): cold init, warm latency, DynamoDB
requests per route, deployed size, and the webhook burst. Never deployed, never a test."""

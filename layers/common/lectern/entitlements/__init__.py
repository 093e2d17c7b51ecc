"""Entitlements: who may open which course. Granted by payment or operator,
revoked by refund, lost dispute or operator; never deleted."""

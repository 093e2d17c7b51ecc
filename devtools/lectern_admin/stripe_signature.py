"""The `Stripe-Signature` header, exactly as Stripe computes it: for `events sign`, the local
stack's emulator and `make invoke SIGN=1` (the operator tools sit below the dev tools)."""
import hashlib
import hmac
import time


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode("utf-8"), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"

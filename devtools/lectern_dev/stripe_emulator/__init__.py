"""A local Stripe emulator for development and tests (never deployed).

    from lectern_dev.stripe_emulator import StripeEmulator

    with StripeEmulator(webhook_url="http://127.0.0.1:3001/") as emu:
        client = stripe.StripeClient(emu.api_key, base_addresses={"api": emu.base_url})
        ...

Run standalone with ``python -m lectern_dev.stripe_emulator --help``.
"""

from .delivery import sign_payload
from .emulator import DEFAULT_RETRY_DELAYS, StripeEmulator
from .errors import ApiError

__all__ = ["StripeEmulator", "ApiError", "DEFAULT_RETRY_DELAYS", "sign_payload"]

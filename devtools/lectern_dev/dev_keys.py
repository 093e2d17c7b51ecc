"""Throwaway keys for the local stack and tests, and where the local stack keeps them: never used when deployed.

Deployed, every secret lives in Secrets Manager and a function gets only its ARN. The local stack
does the same: it stores these values in the local AWS's Secrets Manager under the template's
secrets, so a function (or `make invoke`) reads them exactly as it would in AWS.
"""
import os
import secrets

# The environment variable a secret is given by locally → (template secret, JSON field). The same
# pairs as lectern.config.SECRETS.
SECRET_FIELDS: dict[str, tuple[str, str]] = {
    "AUTH_SIGNING_KEY": ("AuthSigningSecret", "signing_key"),
    "PLAYBACK_KEY_ID": ("PlaybackSigningSecret", "key_id"),
    "PLAYBACK_SIGNING_KEY_PEM": ("PlaybackSigningSecret", "private_key_pem"),
    "STRIPE_SECRET_KEY": ("StripeSecret", "secret_key"),
    "STRIPE_WEBHOOK_SECRET": ("StripeSecret", "webhook_secret"),
}


def throwaway_signing_key_environment() -> dict[str, str]:
    """PLAYBACK_KEY_ID / PLAYBACK_SIGNING_KEY_PEM for a fresh RSA key: for the local stack and
    demos. Never used when deployed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"PLAYBACK_KEY_ID": "local-dev-key", "PLAYBACK_SIGNING_KEY_PEM": pem}


def local_secrets_environment() -> dict[str, str]:
    """Fresh values for the secrets the stack does not get from Stripe (signing keys)."""
    return {"AUTH_SIGNING_KEY": secrets.token_urlsafe(48), **throwaway_signing_key_environment()}


def secret_values(environment: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """{template secret: its JSON fields} from the environment variables of SECRET_FIELDS."""
    environment = os.environ if environment is None else environment
    values: dict[str, dict[str, str]] = {}
    for variable, (logical_id, field) in SECRET_FIELDS.items():
        values.setdefault(logical_id, {})[field] = environment.get(variable, "")
    return values

"""Throwaway keys for the local stack and tests: never used when deployed."""
import secrets


def throwaway_signing_key_environment() -> dict[str, str]:
    """PLAYBACK_KEY_ID / PLAYBACK_SIGNING_KEY_PEM for a fresh RSA key: for the local stack and
    demos, where tokens are minted but never checked by Cloudflare. Never used when deployed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"PLAYBACK_KEY_ID": "local-dev-key", "PLAYBACK_SIGNING_KEY_PEM": pem}


def local_secrets_environment() -> dict[str, str]:
    """Every secret the functions read, as the environment variables lectern.secrets accepts locally."""
    return {"AUTH_SIGNING_KEY": secrets.token_urlsafe(48), **throwaway_signing_key_environment()}

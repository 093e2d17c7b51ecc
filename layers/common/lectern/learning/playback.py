"""Cloudflare Stream signed playback tokens, minted locally (no call to Stream).

A token is an RS256 JWT signed with a Stream signing key (created once with
`POST /accounts/{account}/stream/keys`): header `kid`, claims `sub` = video
uid, `kid`, `nbf`, `exp`. Stream checks the signature with the public half,
so the private key never leaves Secrets Manager and this function.
The URLs embed the token in place of the video uid. They point at Stream's
customer subdomain, or at STREAM_BASE_URL when set: the local stack's Stream
stand-in (devtools/lectern_dev/stream_emulator), which checks the token as
Stream does. Never set when deployed.
"""
import base64
import json
import time
from functools import lru_cache

from lectern.pyjwt import jwt  # noqa: I001 - before cryptography (lectern/pyjwt.py)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
# `serialization.load_pem_private_key` is this binding's function, re-exported by a package that imports
# every key type, the ciphers and SSH's formats first: about 14 ms of the lesson's cold start, for nothing
# this function uses (tests/unit/test_pyjwt_import.py checks the two are one function).
from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

from lectern import config, secrets
from lectern.clock import iso_from_unix
from lectern.errors import ServiceUnavailable
from lectern.learning.schemas import Playback
from lectern.observability import logger

PLAYBACK_SECONDS = 60 * 60  # long enough for one lesson; a fresh token on every lesson page load
_NBF_SKEW_SECONDS = 30

# At import: the lesson function does not start without its signing key's secret and its Stream account.
config.require("PLAYBACK_SECRET_ARN", "STREAM_CUSTOMER_CODE")


class _RS256(jwt.algorithms.Algorithm):
    """RS256 (RSASSA-PKCS1-v1_5 with SHA-256) on cryptography's RSA alone: PyJWT's own RS256 comes with
    everything PyJWT imports from cryptography (lectern/pyjwt.py), this with the RSA primitives."""

    def prepare_key(self, key):
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise jwt.InvalidKeyError("RS256 takes an RSA key")
        return key

    def sign(self, msg: bytes, key) -> bytes:
        return key.sign(msg, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, msg: bytes, key, sig: bytes) -> bool:
        public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        try:
            public.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    @staticmethod
    def to_jwk(key_obj, as_dict=False):
        raise NotImplementedError("Lectern never publishes the playback key as a JWK (Stream holds it)")

    @staticmethod
    def from_jwk(jwk):
        raise NotImplementedError("Lectern never reads the playback key from a JWK")


_JWS = jwt.PyJWS(algorithms=[])  # RS256 only, and this one
_JWS.register_algorithm("RS256", _RS256())


def customer_code() -> str:
    return config.settings().stream_customer_code


def stream_base_url() -> str:
    base = config.settings().stream_base_url or f"https://customer-{customer_code()}.cloudflarestream.com"
    return base.rstrip("/")


def _signing_key() -> tuple[str, str]:
    settings = config.settings()
    try:
        key_id = secrets.secret(settings.playback_key_id)
        pem = secrets.secret(settings.playback_private_key_pem)
    except Exception:  # noqa: BLE001 - missing, unreadable or malformed secret: same answer, logged
        logger.exception("Cannot read the Cloudflare Stream signing key (PlaybackSigningSecret)")
        pem = key_id = ""
    if not key_id or not pem:
        logger.error("Cloudflare Stream signing key is not configured (PlaybackSigningSecret)")
        raise ServiceUnavailable("Video playback is not available right now.")
    return key_id, pem


@lru_cache(maxsize=4)
def _private_key(pem: str):
    # Cloudflare's API returns the PEM base64-encoded; accept that as well as the PEM itself.
    text = pem if pem.lstrip().startswith("-----BEGIN") else base64.b64decode(pem).decode()
    return _rust_openssl.keys.load_pem_private_key(text.encode(), password=None)


def playback(video_id: str | None) -> Playback | None:
    """The video's token and URLs, or None for a lesson without video."""
    if not video_id:
        return None
    key_id, pem = _signing_key()
    now = int(time.time())
    expires = now + PLAYBACK_SECONDS
    claims = {"sub": video_id, "kid": key_id, "nbf": now - _NBF_SKEW_SECONDS, "exp": expires}
    token = _JWS.encode(json.dumps(claims, separators=(",", ":")).encode(), _private_key(pem), algorithm="RS256",
                        headers={"kid": key_id})
    base = f"{stream_base_url()}/{token}"
    return Playback(video_id=video_id, token=token, expires_at=iso_from_unix(expires),
                    hls_url=f"{base}/manifest/video.m3u8", iframe_url=f"{base}/iframe")

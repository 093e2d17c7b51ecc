"""PyJWT, imported without the algorithms it builds on cryptography.

PyJWT imports cryptography whenever it is installed, for its RSA, EC and EdDSA algorithms, and with it
x509, SSH key formats and elliptic curves: about 60 ms of a cold start (docs/performance.md). Access
tokens are HS256 (hashlib), and the one RS256 signature Lectern makes, a playback token, needs RSA
alone (lectern.learning.playback gives it to a PyJWS of its own). So `jwt` is imported from here,
before anything imports cryptography; where cryptography is loaded already (the dev venv's botocore
loads it through pyOpenSSL), PyJWT is imported as it is.
"""
import sys

if "jwt" in sys.modules or "cryptography" in sys.modules:
    import jwt
else:
    sys.modules["cryptography"] = None  # PyJWT's `from cryptography import ...` raises ModuleNotFoundError
    try:
        import jwt
    finally:
        del sys.modules["cryptography"]  # whoever imports it next gets the real package

__all__ = ["jwt"]

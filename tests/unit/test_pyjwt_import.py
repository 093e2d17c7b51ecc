"""lectern.pyjwt: PyJWT without its cryptography-backed algorithms, and the playback token's RS256 on
cryptography's RSA alone (lectern.learning.playback)."""
import json

from support.fresh_interpreter import last_json_line

_IMPORT = """
import json, sys
from lectern.pyjwt import jwt
crypto_at_jwt_import = sorted(m for m in sys.modules if m.split(".")[0] == "cryptography")
token = jwt.encode({"sub": "u"}, "k" * 32, algorithm="HS256")
from cryptography.hazmat.primitives.asymmetric import rsa  # the real package, once PyJWT is in
print(json.dumps({"has_crypto": jwt.algorithms.has_crypto, "crypto_at_jwt_import": crypto_at_jwt_import,
                  "hs256": jwt.decode(token, "k" * 32, algorithms=["HS256"])["sub"], "rsa": rsa.__name__}))
"""


def test_pyjwt_loads_no_cryptography_and_cryptography_stays_importable():
    seen = last_json_line(_IMPORT)
    assert seen == {"has_crypto": False, "crypto_at_jwt_import": [], "hs256": "u",
                    "rsa": "cryptography.hazmat.primitives.asymmetric.rsa"}


def test_the_playback_rs256_is_what_pyjwts_own_rs256_verifies():
    import jwt as full_pyjwt  # the dev venv's PyJWT, with cryptography's RS256
    from cryptography.hazmat.primitives.asymmetric import rsa

    from lectern.learning import playback

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "video", "kid": "key-1", "nbf": 1, "exp": 4102444800}
    token = playback._JWS.encode(json.dumps(claims).encode(), key, algorithm="RS256", headers={"kid": "key-1"})
    assert full_pyjwt.get_unverified_header(token) == {"alg": "RS256", "kid": "key-1", "typ": "JWT"}
    assert full_pyjwt.decode(token, key.public_key(), algorithms=["RS256"]) == claims
    assert playback._JWS.decode_complete(token, key.public_key(), algorithms=["RS256"])["payload"]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tampered = playback._JWS.encode(b'{"sub":"video"}', other, algorithm="RS256")
    assert not playback._RS256().verify(tampered.rsplit(".", 1)[0].encode(), key.public_key(),
                                        full_pyjwt.utils.base64url_decode(tampered.rsplit(".", 1)[1]))


_PLAYBACK = """
import json, sys
from lectern.learning import playback
at_import = "cryptography.hazmat.primitives.serialization" in sys.modules
key = playback._private_key(sys.stdin.read())
token = playback._JWS.encode(b'{"sub":"video"}', key, algorithm="RS256", headers={"kid": "key-1"})
print(json.dumps({"at_import": at_import, "after_signing": "cryptography.hazmat.primitives.serialization" in sys.modules,
                  "token": token}))
"""


def test_the_playback_key_is_read_without_cryptographys_serialization_package():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from lectern.learning import playback

    # The binding's function is the one serialization exports (a cryptography upgrade that wraps it fails here).
    assert playback._rust_openssl.keys.load_pem_private_key is serialization.load_pem_private_key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    seen = last_json_line(_PLAYBACK, env={"PLAYBACK_SECRET_ARN": "arn:x", "STREAM_CUSTOMER_CODE": "abc"}, stdin=pem)
    assert (seen["at_import"], seen["after_signing"]) == (False, False)
    header, payload, signature = seen["token"].split(".")
    signed = f"{header}.{payload}".encode()
    assert playback._RS256().verify(signed, key.public_key(), playback.jwt.utils.base64url_decode(signature))

"""The local Cloudflare Stream stand-in (devtools/lectern_dev/stream_emulator): it plays the sample
video only for tokens Stream would accept (RS256, known key id, not expired, for that video), and
its player page is a <video> that posts Stream's player events. Flask's test client, no network."""
import base64
import time
from html import unescape

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lectern_dev import dev_keys
from lectern_dev.stream_emulator import TokenRejected, create_app, playback_public_keys, verify_token
from lectern_dev.stream_emulator.app import MEDIA_DIR

KEY_ID = "stand-in-test-key"
VIDEO = "462dbddff1fdf32a2d2ebb11bda92aa5"
OTHER_VIDEO = "987bbd25f3393a95ce7016cc9b20ed63"


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def client(signing_key):
    app = create_app(public_keys=lambda: {KEY_ID: signing_key.public_key()})
    return app.test_client()


def token(key, *, kid=KEY_ID, sub=VIDEO, exp_in: int | None = 3600, nbf_in=-30) -> str:
    """A token as lectern.learning.playback mints them (exp_in=None: without `exp`)."""
    now = int(time.time())
    claims = {"sub": sub, "kid": kid, "nbf": now + nbf_in}
    if exp_in is not None:
        claims["exp"] = now + exp_in
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_a_valid_token_gets_a_player_page_with_the_sample_video(client, signing_key):
    good = token(signing_key)
    page = client.get(f"/{good}/iframe")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<video id="player" controls' in body and f'data-video-uid="{VIDEO}"' in body
    assert f'<source src="/{good}/downloads/default.webm" type="video/webm">' in body
    assert f'<source src="/{good}/downloads/default.mp4" type="video/mp4">' in body
    assert "<script src='/player.js'></script>" in body
    # Framed by the storefront: no X-Frame-Options; its own resources only; the token never leaks as a referrer.
    assert "X-Frame-Options" not in page.headers
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"

    for ext, kind in (("webm", "video/webm"), ("mp4", "video/mp4")):
        video = client.get(f"/{good}/downloads/default.{ext}")
        assert video.status_code == 200 and video.mimetype == kind
        assert video.data == (MEDIA_DIR / f"sample.{ext}").read_bytes()
    part = client.get(f"/{good}/downloads/default.webm", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100  # the browser seeks with ranges
    assert client.get(f"/{good}/downloads/default.avi").status_code == 404


def test_the_sample_video_is_short_and_small():
    for ext in ("webm", "mp4"):
        assert 1_000 < (MEDIA_DIR / f"sample.{ext}").stat().st_size < 150_000


@pytest.mark.parametrize("case,reason", [
    ("forged", "the token's signature does not verify"),
    ("expired", "the token has expired"),
    ("wrong kid", "the token names an unknown signing key"),
    ("not yet valid", "the token is not valid yet"),
    ("no exp", "the token is not valid"),
    ("HS256", "the token is not signed with RS256"),
    ("alg none", "the token is not signed with RS256"),
    ("not a video", "the token is not for a video"),
    ("kid claim differs", "the token's key id claim does not match its header"),
    ("garbage", "the token is not a signed token"),
])
def test_a_token_stream_would_refuse_gets_a_403_page_inside_the_frame(client, signing_key, other_key, case, reason):
    bad = {
        "forged": lambda: token(other_key),
        "expired": lambda: token(signing_key, exp_in=-5, nbf_in=-3600),
        "wrong kid": lambda: token(signing_key, kid="another-key"),
        "not yet valid": lambda: token(signing_key, nbf_in=600),
        "no exp": lambda: token(signing_key, exp_in=None),
        "HS256": lambda: jwt.encode({"sub": VIDEO, "exp": int(time.time()) + 60}, "k" * 32, algorithm="HS256",
                                    headers={"kid": KEY_ID}),
        "alg none": lambda: jwt.encode({"sub": VIDEO, "exp": int(time.time()) + 60}, None, algorithm="none",
                                       headers={"kid": KEY_ID}),
        "not a video": lambda: token(signing_key, sub="../../etc/passwd"),
        "kid claim differs": lambda: jwt.encode(
            {"sub": VIDEO, "kid": "another-key", "exp": int(time.time()) + 60}, signing_key, algorithm="RS256",
            headers={"kid": KEY_ID}),
        "garbage": lambda: "not-a-token",
    }[case]()
    page = client.get(f"/{bad}/iframe")
    assert page.status_code == 403
    body = page.get_data(as_text=True)
    assert "<video" not in body and 'role="alert"' in body and reason in unescape(body)
    assert "<script src='/player.js'></script>" in body  # which tells the embedding page: an `error` event
    # The video itself and the manifest are refused the same way.
    assert client.get(f"/{bad}/downloads/default.mp4").status_code == 403
    assert client.get(f"/{bad}/manifest/video.m3u8").status_code == 403


def test_a_url_that_names_the_video_needs_a_token_for_that_video(client, signing_key):
    assert client.get(f"/{VIDEO}/iframe?token={token(signing_key)}").status_code == 200
    other = client.get(f"/{VIDEO}/iframe?token={token(signing_key, sub=OTHER_VIDEO)}")
    assert other.status_code == 403 and "the token is for another video" in other.get_data(as_text=True)
    unsigned = client.get(f"/{VIDEO}/iframe")  # a video with requireSignedURLs: its uid alone plays nothing
    assert unsigned.status_code == 403 and "this video needs a signed URL" in unsigned.get_data(as_text=True)
    assert client.get(f"/{VIDEO}/downloads/default.webm?token={token(signing_key, sub=OTHER_VIDEO)}").status_code == 403
    page = client.get(f"/{VIDEO}/iframe?token={token(signing_key)}").get_data(as_text=True)
    assert f'src="/{VIDEO}/downloads/default.webm?token=' in page


def test_nothing_from_the_url_is_echoed_into_the_page(client, signing_key):
    hostile = '"><script>alert(1)</script>'
    page = client.get(f"/{VIDEO}/iframe", query_string={"token": hostile})
    assert page.status_code == 403 and "<script>alert" not in page.get_data(as_text=True)
    page = client.get(f"/{token(signing_key)}/iframe", query_string={"autoplay": hostile})
    assert page.status_code == 200 and "alert" not in page.get_data(as_text=True)


def test_player_options_as_stream_takes_them(client, signing_key):
    page = client.get(f"/{token(signing_key)}/iframe?autoplay=true&muted=true&controls=false").get_data(as_text=True)
    assert '<video id="player" autoplay muted playsinline' in page


def test_a_valid_token_gets_a_501_for_the_hls_manifest(client, signing_key):
    assert client.get(f"/{token(signing_key)}/manifest/video.m3u8").status_code == 501


def test_verify_token_returns_the_video(signing_key):
    assert verify_token(token(signing_key), {KEY_ID: signing_key.public_key()}) == VIDEO
    with pytest.raises(TokenRejected):
        verify_token(token(signing_key), {KEY_ID: signing_key.public_key()}, video_uid=OTHER_VIDEO)


def test_the_stand_in_reads_the_key_the_learner_function_signs_with(monkeypatch):
    """playback_public_keys() derives the public key from the same secret lectern.learning.playback reads."""
    from lectern.learning import playback

    environment = dev_keys.throwaway_signing_key_environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STREAM_BASE_URL", "http://127.0.0.1:3004/")
    app = create_app().test_client()  # the default: playback_public_keys
    minted = playback.playback(VIDEO)
    assert minted.iframe_url == f"http://127.0.0.1:3004/{minted.token}/iframe"
    assert app.get(f"/{minted.token}/iframe").status_code == 200

    # Cloudflare hands out the PEM base64-encoded; either form in the secret gives the same key.
    monkeypatch.setenv("PLAYBACK_SIGNING_KEY_PEM",
                       base64.b64encode(environment["PLAYBACK_SIGNING_KEY_PEM"].encode()).decode())
    assert app.get(f"/{minted.token}/iframe").status_code == 200
    public = playback_public_keys()["local-dev-key"].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public.startswith(b"-----BEGIN PUBLIC KEY-----")

    # A new key (rotation): the old token no longer plays, a new one does.
    for name, value in dev_keys.throwaway_signing_key_environment().items():
        monkeypatch.setenv(name, value)
    assert app.get(f"/{minted.token}/iframe").status_code == 403
    assert app.get(f"/{playback.playback(VIDEO).token}/iframe").status_code == 200

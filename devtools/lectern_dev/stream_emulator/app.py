"""The Stream stand-in's HTTP side: the iframe player, the sample video, token checks.

URLs, as on `https://customer-<code>.cloudflarestream.com`:

- `/<token>/iframe`: the player page for the token's video (what playback.py hands out);
  `/<video uid>/iframe?token=<token>` also works, and then the token must be for that video;
- `/<token>/downloads/default.mp4` (and `.webm`): the video itself, checked again on every request;
- `/<token>/manifest/video.m3u8`: checked, then 501 (HLS is not emulated: the iframe plays MP4/WebM);
- `/<video uid>/iframe` without a token: 403, as for a Stream video with `requireSignedURLs`.

Every video uid plays the same short sample kept in `media/` (made with ffmpeg from its `gradients`
source and `drawtext`; 6 s, 640x360, VP9 WebM and H.264 MP4, no audio). A refused token gets a 403
page inside the frame that says why, and the player script posts an `error` event to the embedding page.
"""
from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
from flask import Flask, Response, abort, request, send_from_directory

PACKAGE_DIR = Path(__file__).resolve().parent
MEDIA_DIR = PACKAGE_DIR / "media"
STATIC_DIR = PACKAGE_DIR / "static"
VIDEO_UID = re.compile(r"^[0-9a-f]{32}$")
MEDIA_TYPES = {"webm": "video/webm", "mp4": "video/mp4"}  # in the order the player offers them
# The stand-in's own pages: its script, styles and media only. Any site may frame it, as Stream's player.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'")

PublicKeys = Mapping[str, Any]  # key id -> RSA public key


class TokenRejected(Exception):
    """Stream would not play this token; `reason` is what the error page says."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def playback_public_keys() -> dict[str, Any]:
    """key id -> public key of the signing key the functions mint playback tokens with.

    Cloudflare keeps the public half of every key it issued; locally we derive it from the private key,
    read exactly as lectern.learning.playback reads it (lectern.secrets: given in the environment, or the
    secret that PLAYBACK_SECRET_ARN names). Read on every request, so a key rotated meanwhile is seen.
    """
    from lectern import config, secrets

    settings = config.settings()
    key_id = secrets.secret(settings.playback_key_id)
    pem = secrets.secret(settings.playback_private_key_pem)
    return {key_id: _public_key(pem)} if key_id and pem else {}


@lru_cache(maxsize=4)
def _public_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    # Cloudflare hands the PEM out base64-encoded; the secret may hold either form (as in playback.py).
    text = pem if pem.lstrip().startswith("-----BEGIN") else base64.b64decode(pem).decode()
    return load_pem_private_key(text.encode(), password=None).public_key()


def verify_token(token: str, keys: PublicKeys, *, video_uid: str | None = None) -> str:
    """The video uid a signed token plays, checked as Stream checks it; TokenRejected otherwise.

    RS256 only, signed by the key its header's `kid` names, `exp` required and not passed, `nbf` (if
    any) reached, `sub` a video uid, and the video asked for (if the URL names one) the token's own.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise TokenRejected("the token is not a signed token") from None
    if header.get("alg") != "RS256":
        raise TokenRejected("the token is not signed with RS256")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenRejected("the token names an unknown signing key")
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise TokenRejected("the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise TokenRejected("the token is not valid yet") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("the token's signature does not verify") from None
    except jwt.InvalidTokenError as error:
        raise TokenRejected(f"the token is not valid ({error})") from None
    if claims.get("kid", kid) != kid:
        raise TokenRejected("the token's key id claim does not match its header")
    subject = claims["sub"]
    if not isinstance(subject, str) or not VIDEO_UID.match(subject):
        raise TokenRejected("the token is not for a video")
    if video_uid is not None and subject != video_uid:
        raise TokenRejected("the token is for another video")
    return subject


def create_app(public_keys: Callable[[], PublicKeys] = playback_public_keys, media_dir: Path = MEDIA_DIR) -> Flask:
    app = Flask("lectern-stream-stand-in", static_folder=None)

    def authorize(first: str) -> tuple[str, str]:
        """(video uid, query string to keep on sub-resources) for `/<first>/...`, or TokenRejected."""
        if VIDEO_UID.match(first):
            token = request.args.get("token", "")
            if not token:
                raise TokenRejected("this video needs a signed URL")
            return verify_token(token, public_keys(), video_uid=first), f"?token={quote(token)}"
        return verify_token(first, public_keys()), ""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        # The page URL carries the token: never send it to anyone else.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/")
    def index() -> Response:
        return _page("Cloudflare Stream stand-in",
                     "<p>Plays the local sample video for signed playback tokens: "
                     "<code>/&lt;token&gt;/iframe</code>. Lectern's lesson pages embed it.</p>", status=200)

    @app.get("/<first>/iframe")
    def iframe(first: str) -> Response:
        try:
            uid, query = authorize(first)
        except TokenRejected as rejected:
            return _page("Video unavailable", f'<p class="error" role="alert">This video cannot be played: '
                                              f"{html.escape(rejected.reason)}.</p>", status=403)
        flags = {name: request.args.get(name, "") in ("true", "1", "")
                 for name in ("autoplay", "muted", "loop") if name in request.args}
        controls = request.args.get("controls", "true") not in ("false", "0")
        attributes = " ".join(name for name, on in {**flags, "controls": controls}.items() if on)
        sources = "".join(f'<source src="{html.escape(f"/{first}/downloads/default.{ext}{query}")}" type="{kind}">'
                          for ext, kind in MEDIA_TYPES.items())
        return _page("Lesson video",
                     f'<video id="player" {attributes} playsinline preload="auto" '
                     f'data-video-uid="{uid}">{sources}</video>', status=200)

    @app.get("/<first>/downloads/default.<ext>")
    def media(first: str, ext: str) -> Response:
        if ext not in MEDIA_TYPES:
            abort(404)
        try:
            authorize(first)
        except TokenRejected as rejected:
            return Response(f"403 Forbidden: {rejected.reason}\n", status=403, content_type="text/plain")
        # Range requests (the browser seeks with them) are answered by send_from_directory.
        response = send_from_directory(media_dir, f"sample.{ext}", mimetype=MEDIA_TYPES[ext], conditional=True,
                                       max_age=0)
        response.headers["Cache-Control"] = "private, max-age=0"
        return response

    @app.get("/<first>/manifest/video.m3u8")
    def manifest(first: str) -> Response:
        try:
            authorize(first)
        except TokenRejected as rejected:
            return Response(f"403 Forbidden: {rejected.reason}\n", status=403, content_type="text/plain")
        return Response("HLS is not emulated locally; the iframe player plays the MP4/WebM sample.\n",
                        status=501, content_type="text/plain")

    @app.get("/player.js")
    def player_js() -> Response:
        return send_from_directory(STATIC_DIR, "player.js", mimetype="text/javascript", max_age=0)

    @app.get("/player.css")
    def player_css() -> Response:
        return send_from_directory(STATIC_DIR, "player.css", mimetype="text/css", max_age=0)

    return app


def _page(title: str, body: str, *, status: int) -> Response:
    return Response(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
        f"<title>{html.escape(title)}</title><link rel='stylesheet' href='/player.css'></head>"
        f"<body>{body}<script src='/player.js'></script></body></html>",
        status=status, content_type="text/html; charset=utf-8")

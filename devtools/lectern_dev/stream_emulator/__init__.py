"""A local stand-in for Cloudflare Stream's player, for `make dev` and the tests (never deployed).

The local stack serves it on loopback and sets STREAM_BASE_URL to it, so the playback URLs the
learner function hands out (`<base>/<token>/iframe`) open here instead of on Stream's customer
subdomain, which cannot be reached offline. Like Stream, it plays a video only for a playback token
signed with the key its `kid` names, not expired, for that video (`app.verify_token`), and its
player page posts Stream's player events to the embedding page (`static/player.js`).

    from lectern_dev.stream_emulator import StreamEmulator

    with StreamEmulator() as stream:
        print(stream.base_url)
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import PublicKeys, TokenRejected, create_app, playback_public_keys, verify_token

__all__ = ["StreamEmulator", "TokenRejected", "create_app", "playback_public_keys", "verify_token"]


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the console is for the stack's banner and errors
        pass


class StreamEmulator:
    """The stand-in on a threaded werkzeug server in the background (port 0: any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 public_keys: Callable[[], PublicKeys] = playback_public_keys):
        self.host = host
        self.port = port
        self._app = create_app(public_keys)
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> "StreamEmulator":
        self._server = make_server(self.host, self.port, self._app, threaded=True,
                                   request_handler=_QuietRequestHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="stream-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "StreamEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

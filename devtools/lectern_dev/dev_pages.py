"""Dev-only pages: the mailbox (every email the stack sent) and Swagger UI.

Never deployed. The mailbox reads the embedded AWS's SES (over its /_lectern/mailbox.json), so it
works when the stack embeds its own AWS; with an outside AWS_ENDPOINT_URL the
page says so.
"""
import html
import json
from pathlib import Path

from flask import Flask, Response, abort, send_from_directory

from lectern_dev import template as tpl

OPENAPI_PATH = tpl.REPO_ROOT / "docs" / "openapi.json"


def sent_messages() -> list[dict]:
    """Every email sent through the embedded SES, newest first (read from the embedded AWS process)."""
    import os
    import urllib.request

    from lectern_dev.embedded_aws import MAILBOX_PATH

    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"].rstrip("/") + MAILBOX_PATH, timeout=10) as answer:
        return json.loads(answer.read())["messages"]


def _page(title: str, content: str) -> Response:
    return Response(
        # A data: icon, else the browser asks for /favicon.ico: a 404 in its console.
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "article{border:1px solid #ccc;border-radius:.5rem;padding:1rem;margin:1rem 0}"
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:.75rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>",
        content_type="text/html; charset=utf-8")


def create_app(*, embedded_aws: bool) -> Flask:
    app = Flask("lectern-dev-pages")

    @app.get("/")
    def index() -> Response:
        return _page("Lectern dev tools", "<ul><li><a href='/mailbox'>Mailbox</a></li>"
                     "<li><a href='/docs'>API documentation (Swagger UI)</a></li>"
                     "<li><a href='/openapi.json'>OpenAPI document</a></li></ul>")

    @app.get("/mailbox")
    def mailbox() -> Response:
        if not embedded_aws:
            return _page("Mailbox", "<p>Emails went to the AWS endpoint given in AWS_ENDPOINT_URL; "
                                    "read them there.</p>")
        items = "".join(
            f"<article><h2>{html.escape(m['subject'])}</h2><p>To: {html.escape(', '.join(m['to']))}"
            f" · From: {html.escape(m['source'])}</p><pre>{html.escape(m['body'])}</pre></article>"
            for m in sent_messages()) or "<p>No email sent yet.</p>"
        return _page("Mailbox", items)

    @app.get("/mailbox.json")
    def mailbox_json() -> Response:
        if not embedded_aws:
            abort(404)
        return Response(json.dumps({"messages": sent_messages()}), content_type="application/json")

    @app.get("/openapi.json")
    def openapi() -> Response:
        return Response(OPENAPI_PATH.read_text(), content_type="application/json")

    @app.get("/docs")
    def swagger() -> Response:
        return Response(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
            "<title>Lectern API</title>"
            "<link rel='stylesheet' href='/docs/assets/swagger-ui.css'></head><body><div id='swagger-ui'></div>"
            "<script src='/docs/assets/swagger-ui-bundle.js'></script>"
            "<script>SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null});</script>"
            "</body></html>",
            content_type="text/html; charset=utf-8")

    @app.get("/docs/assets/<path:name>")
    def swagger_assets(name: str) -> Response:
        from swagger_ui_bundle import swagger_ui_path

        return send_from_directory(Path(swagger_ui_path), name)

    return app

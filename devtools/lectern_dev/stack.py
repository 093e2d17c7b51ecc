"""`make dev`: the whole of Lectern on one machine, no Docker, no AWS account.

Starts (each only if not given from outside):
- an embedded AWS (moto server on loopback) unless AWS_ENDPOINT_URL is set;
- the Stripe emulator unless STRIPE_API_BASE is set;
then creates every table, the bucket and the SES sender from template.yaml,
applies the demo catalog, and serves the HTTP API (routes from the template,
SAM CLI's local API Gateway, handlers in-process), the webhook function URL
and the dev pages. Stops cleanly on Ctrl-C or SIGTERM.
"""
import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from lectern_dev import template as tpl
from lectern_dev.dev_keys import local_secrets_environment

DEMO_CATALOG = tpl.REPO_ROOT / "catalog" / "demo.yaml"
# `make invoke` finds a running stack's embedded AWS here.
DEFAULT_AWS_PORT = 4566
DEMO_PROMOTION_CODE = "LAUNCH25"


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable) or default)


def set_default_aws_environment() -> None:
    # Any credentials do for moto; real ones are never needed locally.
    for key, value in {"AWS_ACCESS_KEY_ID": "lectern-local", "AWS_SECRET_ACCESS_KEY": "lectern-local",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # werkzeug logs every request of every embedded server (moto's too): keep the console readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


class LocalStack:
    def __init__(self, *, host: str = "127.0.0.1", api_port: int = 3000, webhook_port: int = 3001,
                 dev_port: int = 3003, frontend_port: int = 3002, catalog: Path | None = DEMO_CATALOG,
                 quiet: bool = False):
        self.host = host
        self.api_port, self.webhook_port, self.dev_port = api_port, webhook_port, dev_port
        self.frontend_port = frontend_port
        self.catalog = catalog
        self.quiet = quiet
        self.urls: dict[str, str] = {}
        self._moto = None
        self._stripe = None
        self._servers = []
        self.embedded_aws = False

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    # ---------------------------------------------------------------- start
    def start(self) -> "LocalStack":
        started = time.monotonic()
        set_default_aws_environment()
        self._start_aws()
        self._start_stripe()
        os.environ.setdefault("FRONTEND_URL", f"http://{self.host}:{self.frontend_port}")
        for name, value in local_secrets_environment().items():
            os.environ.setdefault(name, value)

        from lectern_dev import aws_resources

        aws_resources.create_all()
        self._apply_catalog()
        self._seed_demo_promotion_code()
        self._start_http()
        self.startup_seconds = time.monotonic() - started
        return self

    def _start_aws(self) -> None:
        if os.environ.get("AWS_ENDPOINT_URL"):
            self.urls["aws"] = os.environ["AWS_ENDPOINT_URL"]
            return
        from moto.server import ThreadedMotoServer

        self._moto = ThreadedMotoServer(ip_address=self.host, port=_port("LECTERN_AWS_PORT", DEFAULT_AWS_PORT),
                                        verbose=False)
        self._moto.start()
        from lectern_dev import ses_sandbox

        ses_sandbox.install()  # LECTERN_SES_REJECT: the embedded SES refuses those recipients like SES's sandbox
        host, port = self._moto.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        self.urls["aws"] = os.environ["AWS_ENDPOINT_URL"]
        self.embedded_aws = True

    def _start_stripe(self) -> None:
        webhook_url = f"http://{self.host}:{self.webhook_port}/"
        if os.environ.get("STRIPE_API_BASE"):
            self.urls["stripe"] = os.environ["STRIPE_API_BASE"]
            return
        try:
            from lectern_dev.stripe_emulator import StripeEmulator
        except ImportError:  # pragma: no cover - the emulator ships with the repo
            return
        webhook_secret = os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_" + secrets.token_hex(16))
        api_key = os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_lectern")
        from lectern.payments.webhook import SUBSCRIBED_EVENTS

        # Like a real endpoint subscription: only the event types the webhook handles are sent.
        self._stripe = StripeEmulator(host=self.host, port=_port("LECTERN_STRIPE_PORT", 12111),
                                      webhook_url=webhook_url, webhook_secret=webhook_secret, api_key=api_key,
                                      enabled_events=SUBSCRIBED_EVENTS)
        self._stripe.start()
        os.environ["STRIPE_API_BASE"] = self._stripe.base_url
        self.urls["stripe"] = self._stripe.base_url
        self.urls["stripe_dashboard"] = f"{self._stripe.base_url}/dashboard"

    def _seed_demo_promotion_code(self) -> None:
        """A code to try at checkout (LAUNCH25, 25% off), on the embedded emulator only."""
        if self._stripe is None:
            return
        from lectern.payments.stripe_gateway import client

        stripe = client()
        if stripe.v1.promotion_codes.list(params={"code": DEMO_PROMOTION_CODE, "limit": 1}).data:
            return
        coupon = stripe.v1.coupons.create(params={"percent_off": 25, "name": "Launch week"})
        stripe.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                 "code": DEMO_PROMOTION_CODE})
        self.urls["promotion_code"] = DEMO_PROMOTION_CODE

    def _apply_catalog(self) -> None:
        if not self.catalog:
            return
        from lectern_admin.catalog_cmd import apply_file

        apply_file(self.catalog, use_stripe=bool(os.environ.get("STRIPE_API_BASE")), quiet=True)

    def _start_http(self) -> None:
        from lectern_dev.dev_pages import create_app as dev_pages
        from lectern_dev.http_servers import BackgroundServer, api_gateway_app, function_url_app
        from lectern_dev.runner import InProcessRunner

        runner = InProcessRunner(tpl.functions())
        api_app, _routes = api_gateway_app(runner, self.api_port)
        api = BackgroundServer("api", api_app, self.host, self.api_port).start()
        self._servers.append(api)
        self.urls["api"] = api.url
        for spec in runner.specs.values():
            if spec.has_function_url:
                server = BackgroundServer(f"url-{spec.logical_id}",
                                          function_url_app(runner, spec.logical_id, self.webhook_port),
                                          self.host, self.webhook_port).start()
                self._servers.append(server)
                self.urls["webhook"] = server.url
                break
        pages = BackgroundServer("dev", dev_pages(embedded_aws=self.embedded_aws), self.host, self.dev_port).start()
        self._servers.append(pages)
        self.urls["mailbox"] = f"{pages.url}/mailbox"
        self.urls["docs"] = f"{pages.url}/docs"
        from lectern_dev.web_server import create_app as storefront

        web = BackgroundServer("web", storefront(api.url), self.host, self.frontend_port).start()
        self._servers.append(web)
        self.urls["web"] = web.url

    # ---------------------------------------------------------------- stop
    def stop(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        if self._stripe:
            self._stripe.stop()
            self._stripe = None
        if self._moto:
            self._moto.stop()
            self._moto = None

    def banner(self) -> str:
        labels = [("web", "Storefront"), ("api", "HTTP API"), ("webhook", "Stripe webhook (function URL)"),
                  ("docs", "API docs"), ("mailbox", "Dev mailbox"), ("stripe", "Stripe emulator"),
                  ("stripe_dashboard", "Stripe dashboard"), ("aws", "AWS endpoint"),
                  ("promotion_code", "Demo promotion code")]
        lines = [f"Lectern local stack ready in {self.startup_seconds:.1f}s"]
        lines += [f"  {label:<30} {self.urls[key]}" for key, label in labels if key in self.urls]
        lines.append("Press Ctrl-C to stop.")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Lectern locally: embedded AWS, Stripe emulator, HTTP API.")
    parser.add_argument("--catalog", type=Path, default=DEMO_CATALOG, help="catalog YAML to apply at start")
    parser.add_argument("--no-catalog", action="store_true", help="start with empty tables")
    parser.add_argument("--info-file", type=Path, help="write the stack's URLs as JSON here once it is ready "
                                                        "(for scripts and test harnesses)")
    args = parser.parse_args(argv)

    stack = LocalStack(api_port=_port("LECTERN_API_PORT", 3000), webhook_port=_port("LECTERN_WEBHOOK_PORT", 3001),
                       dev_port=_port("LECTERN_DEV_PORT", 3003), frontend_port=_port("LECTERN_WEB_PORT", 3002),
                       catalog=None if args.no_catalog else args.catalog)
    stopping = threading.Event()

    def _stop(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
    except Exception as exc:
        print(f"Local stack failed to start: {exc}", file=sys.stderr)
        stack.stop()
        raise
    print(stack.banner(), flush=True)
    if args.info_file:
        args.info_file.write_text(json.dumps({**stack.urls, "pid": os.getpid()}))
    while not stopping.wait(0.5):
        pass
    print("Stopping…", flush=True)
    stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

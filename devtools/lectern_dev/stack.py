"""`make dev`: the whole of Lectern on one machine, no Docker, no AWS account.

Starts (each only if not given from outside):
- an embedded AWS (moto server on loopback) unless AWS_ENDPOINT_URL is set;
- the Stripe emulator unless STRIPE_API_BASE is set;
then creates every table, the bucket and the SES sender from template.yaml,
applies the demo catalog, and serves the HTTP API (routes from the template,
SAM CLI's local API Gateway, handlers in-process), the webhook function URL
and the dev pages. Each function runs in worker processes of its own (an
environment per in-flight request, like Lambda) with its environment from the
template and its secrets in the local Secrets Manager. Also creates a demo
learner (DEMO_LEARNER_EMAIL / DEMO_LEARNER_PASSWORD) who owns the demo course.
Stops cleanly on Ctrl-C or SIGTERM.
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

from lectern_dev import server_gc
from lectern_dev import template as tpl
from lectern_dev.dev_keys import local_secrets_environment, secret_values

DEMO_CATALOG = tpl.REPO_ROOT / "catalog" / "demo.yaml"
# `make invoke` finds a running stack's embedded AWS here.
DEFAULT_AWS_PORT = 4566
DEMO_PROMOTION_CODE = "LAUNCH25"
# A learner who owns DEMO_LEARNER_COURSE, for the storefront and `make invoke AS=...` (README).
DEMO_LEARNER_EMAIL = "learner@example.com"
DEMO_LEARNER_PASSWORD = "lectern demo learner"
DEMO_LEARNER_COURSE = "serverless-python-on-aws"


STOP_DEADLINE_SECONDS = 4


def _parameter_overrides() -> dict[str, str]:
    """Template parameters the local stack sets for itself (the storefront's address is chosen at start)."""
    return {name: os.environ[variable] for name, variable in (("FrontendUrl", "FRONTEND_URL"),
                                                              ("EmailFrom", "EMAIL_FROM")) if os.environ.get(variable)}


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable) or default)


def _environment_changed() -> None:
    """This process read lectern's settings already (importing the layer does): read them again."""
    from lectern.config import reset_settings

    reset_settings()


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
        self._runner = None
        self._prewarming: list[threading.Thread] = []
        self.secret_arns: dict[str, str] = {}
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
        _environment_changed()

        from lectern_dev import aws_resources

        aws_resources.create_all()
        # Where the deployment keeps them: the functions get only the ARNs (template `!Ref`s).
        self.secret_arns = aws_resources.put_secrets(secret_values())
        self._apply_catalog()
        self._seed_demo_promotion_code()
        self._seed_demo_learner()
        self._start_http()
        aws_resources.publish_stack_urls(self.urls)
        # One environment per function ahead of the first request, after the stack is up.
        self._prewarming = self._runner.prewarm() if os.environ.get("LECTERN_PREWARM", "1") != "0" else []
        self.startup_seconds = time.monotonic() - started
        return self

    def _start_aws(self) -> None:
        if os.environ.get("AWS_ENDPOINT_URL"):
            self.urls["aws"] = os.environ["AWS_ENDPOINT_URL"]
            return
        from lectern_dev.embedded_aws import EmbeddedAws

        self._moto = EmbeddedAws(ip_address=self.host, port=_port("LECTERN_AWS_PORT", DEFAULT_AWS_PORT),
                                        verbose=False)
        self._moto.start()  # with LECTERN_SES_REJECT, its SES refuses those recipients like SES's sandbox
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
        from lectern.stripe_gateway import client

        stripe = client()
        if stripe.v1.promotion_codes.list(params={"code": DEMO_PROMOTION_CODE, "limit": 1}).data:
            return
        coupon = stripe.v1.coupons.create(params={"percent_off": 25, "name": "Launch week"})
        stripe.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                 "code": DEMO_PROMOTION_CODE})
        self.urls["promotion_code"] = DEMO_PROMOTION_CODE

    def _seed_demo_learner(self) -> None:
        """A signed-up learner who owns the demo course (an operator grant), unless the catalog lacks it."""
        if not self.catalog:
            return
        from lectern.accounts.passwords import hash_password
        from lectern.accounts.users import EmailAlreadyRegistered, create_user, user_id_for_email
        from lectern.entitlements import service as entitlements
        from lectern.models.catalog import Course, course_pk
        from pynamodb.exceptions import DoesNotExist

        try:
            course = Course.get(course_pk(DEMO_LEARNER_COURSE), Course.sort_key())
        except DoesNotExist:
            return
        try:
            user_id = create_user(DEMO_LEARNER_EMAIL, name="Demo Learner", created_via="register",
                                  password_hash=hash_password(DEMO_LEARNER_PASSWORD), email_verified=True).id
        except EmailAlreadyRegistered:
            user_id = user_id_for_email(DEMO_LEARNER_EMAIL)
        entitlements.grant(user_id, course.id, course.slug, reason="demo learner", actor="operator:make-dev",
                           require_paid_order=False)
        self.urls["demo_learner"] = f"{DEMO_LEARNER_EMAIL} / {DEMO_LEARNER_PASSWORD}"

    def _apply_catalog(self) -> None:
        if not self.catalog:
            return
        from lectern_admin.catalog_cmd import apply_file

        apply_file(self.catalog, use_stripe=bool(os.environ.get("STRIPE_API_BASE")), quiet=True)

    def _start_stream(self) -> None:
        """The Cloudflare Stream stand-in (lectern_dev.stream_emulator) unless STREAM_BASE_URL is given:
        playback URLs and the storefront's frame-src follow STREAM_BASE_URL; stopped with the servers."""
        if os.environ.get("STREAM_BASE_URL"):
            self.urls["stream"] = os.environ["STREAM_BASE_URL"]
            return
        from lectern_dev.stream_emulator import StreamEmulator

        try:
            stream = StreamEmulator(self.host, _port("LECTERN_STREAM_PORT", 3004)).start()
        except OSError:
            if os.environ.get("LECTERN_STREAM_PORT"):
                raise
            stream = StreamEmulator(self.host, 0).start()  # the default port is taken: any free one will do
        self._servers.append(stream)
        os.environ["STREAM_BASE_URL"] = stream.base_url
        self.urls["stream"] = stream.base_url
        _environment_changed()

    def _start_http(self) -> None:
        from lectern_dev.dev_pages import create_app as dev_pages
        from lectern_dev.http_servers import BackgroundServer, api_gateway_app, function_url_app
        from lectern_dev.worker_pool import WorkerPoolRunner

        self._start_stream()
        runner = self._runner = WorkerPoolRunner(tpl.functions(overrides={**self.secret_arns, **_parameter_overrides()}))
        api_app, _routes = api_gateway_app(runner, self.api_port)
        api = BackgroundServer("api", api_app, self.host, self.api_port, keep_alive=True).start()
        self._servers.append(api)
        self.urls["api"] = api.url
        for spec in runner.specs.values():
            if spec.has_function_url:
                server = BackgroundServer(f"url-{spec.logical_id}",
                                          function_url_app(runner, spec.logical_id, self.webhook_port),
                                          self.host, self.webhook_port, keep_alive=True).start()
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
        from lectern_dev.http_servers import stop_all

        stop_all(self._servers)
        self._servers.clear()
        if self._runner:
            self._runner.close()
            self._runner = None
        # The emulator and the embedded AWS each wait for their server loop: side by side.
        stoppers = [threading.Thread(target=part.stop, daemon=True) for part in (self._stripe, self._moto) if part]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(timeout=5)
        self._stripe = self._moto = None

    def wait_until_warm(self, timeout: float = 60) -> None:
        """Until every function has one environment started (what scripts and tests wait for)."""
        deadline = time.monotonic() + timeout
        for thread in self._prewarming:
            thread.join(max(0.0, deadline - time.monotonic()))

    def banner(self) -> str:
        labels = [("web", "Storefront"), ("api", "HTTP API"), ("webhook", "Stripe webhook (function URL)"),
                  ("docs", "API docs"), ("mailbox", "Dev mailbox"), ("stream", "Stream stand-in (video)"),
                  ("stripe", "Stripe emulator"),
                  ("stripe_dashboard", "Stripe dashboard"), ("aws", "AWS endpoint"),
                  ("promotion_code", "Demo promotion code"), ("demo_learner", "Demo learner (email / password)")]
        lines = [f"Lectern local stack ready in {self.startup_seconds:.1f}s"]
        lines += [f"  {label:<30} {self.urls[key]}" for key, label in labels if key in self.urls]
        lines.append("Press Ctrl-C to stop.")
        return "\n".join(lines)


class StopRequested(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM while the stack is still starting."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Lectern locally: embedded AWS, Stripe emulator, HTTP API.")
    parser.add_argument("--catalog", type=Path, default=DEMO_CATALOG, help="catalog YAML to apply at start")
    parser.add_argument("--no-catalog", action="store_true", help="start with empty tables")
    parser.add_argument("--info-file", type=Path, help="write the stack's URLs as JSON here once it is ready and "
                                                        "every function has a warm environment (for scripts and tests)")
    args = parser.parse_args(argv)

    stack = LocalStack(api_port=_port("LECTERN_API_PORT", 3000), webhook_port=_port("LECTERN_WEBHOOK_PORT", 3001),
                       dev_port=_port("LECTERN_DEV_PORT", 3003), frontend_port=_port("LECTERN_WEB_PORT", 3002),
                       catalog=None if args.no_catalog else args.catalog)
    state = {"stop": False, "running": False}

    # The handler only sets a flag (or, during start-up, raises): it must not take a lock that the
    # code it interrupted may hold (threading.Event.set() does, and could deadlock the main thread).
    # SIGALRM is the backstop: if stopping takes longer than STOP_DEADLINE_SECONDS, leave at once.
    def _stop(signum, _frame):
        if state["stop"]:
            os.write(2, b"Stopping now.\n")
            os._exit(130)
        state["stop"] = True
        signal.alarm(STOP_DEADLINE_SECONDS)
        if not state["running"]:
            raise StopRequested

    def _deadline(_signum, _frame):
        os.write(2, b"Stop took too long; exiting.\n")
        os._exit(1)

    signal.signal(signal.SIGALRM, _deadline)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            stack.start()
            server_gc.settle_after_start_up()
            state["running"] = True
            if state["stop"]:
                raise StopRequested
            print(stack.banner(), flush=True)
            if args.info_file:
                stack.wait_until_warm()
                args.info_file.write_text(json.dumps({**stack.urls, "pid": os.getpid()}))
            while not state["stop"]:
                time.sleep(0.2)
        except StopRequested:
            pass
        except Exception as exc:
            print(f"Local stack failed to start: {exc}", file=sys.stderr)
            stack.stop()
            raise
        print("Stopping…", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    except StopRequested:  # a signal in the middle of stop(): the alarm still bounds it
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

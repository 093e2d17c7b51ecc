"""`make invoke FUNCTION=<logical id> EVENT=events/<file>.json [AS=<email>] [SIGN=1]`: the Docker-free `sam local invoke`.

Runs one function of template.yaml in a process of its own, with the function's environment
from the template (service name, tables, secret ARNs), and prints its response as `sam local
invoke` does (the response JSON on stdout, logs on stderr). Against a running `make dev`
(found at 127.0.0.1:$LECTERN_AWS_PORT, default 4566, or AWS_ENDPOINT_URL) it uses that stack's
AWS, secrets (read from its Secrets Manager, as the deployed function reads them) and Stripe
emulator; without one, a fresh embedded AWS with the tables, bucket and demo catalog.

--as EMAIL   replaces the event's Authorization header with a fresh access token for that user,
             signed with the stack's signing key (`AS=learner@example.com`, the demo learner).
--sign       signs the event's body as Stripe would, with the stack's webhook secret (`SIGN=1`).
"""
import argparse
import base64
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from lectern_dev import template as tpl
from lectern_dev.stack import DEFAULT_AWS_PORT, DEMO_CATALOG, set_default_aws_environment


class InvokeError(Exception):
    pass


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _body_text(event: dict[str, Any]) -> str:
    body = event.get("body") or ""
    return base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body


def sign_as(event: dict[str, Any], email: str) -> None:
    """Put a fresh access token for `email` into the event (the stack's signing key, read like the functions do)."""
    from lectern import jwt_tokens
    from lectern.accounts.users import user_id_for_email

    user_id = user_id_for_email(email)
    if user_id is None:
        raise InvokeError(f"no account for {email} in this stack")
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "authorization"}
    headers["authorization"] = f"Bearer {jwt_tokens.mint(user_id).token}"
    event["headers"] = headers


def sign_webhook(event: dict[str, Any]) -> None:
    """A `Stripe-Signature` for the event's body, made now with the stack's webhook secret."""
    from lectern import stripe_gateway
    from lectern_dev.stripe_emulator import sign_payload

    secret = stripe_gateway.webhook_secret()
    if not secret:
        raise InvokeError("this stack has no Stripe webhook secret")
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "stripe-signature"}
    headers["stripe-signature"] = sign_payload(_body_text(event), secret)
    event["headers"] = headers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", help="logical id in template.yaml, e.g. CatalogFunction")
    parser.add_argument("event", type=Path, help="event JSON file, e.g. events/catalog_list_courses.json")
    parser.add_argument("--as", dest="as_email", metavar="EMAIL", help="sign a fresh access token for this user")
    parser.add_argument("--sign", action="store_true", help="sign the body with the stack's webhook secret")
    args = parser.parse_args(argv)

    specs = tpl.functions()
    if args.function not in specs:
        print(f"Unknown function {args.function!r}; the template has: {', '.join(sorted(specs))}", file=sys.stderr)
        return 2
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read event {args.event}: {exc}", file=sys.stderr)
        return 2

    set_default_aws_environment()
    os.environ.setdefault("FRONTEND_URL", "http://127.0.0.1:3002")  # the local storefront, unless the stack says
    embedded = None
    from lectern_dev import aws_resources

    if not os.environ.get("AWS_ENDPOINT_URL"):
        stack_port = int(os.environ.get("LECTERN_AWS_PORT") or DEFAULT_AWS_PORT)
        if _listening(stack_port):
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{stack_port}"
    if os.environ.get("AWS_ENDPOINT_URL"):
        urls = aws_resources.stack_urls()
        if urls.get("stripe"):
            os.environ.setdefault("STRIPE_API_BASE", urls["stripe"])
        if urls.get("web"):
            os.environ["FRONTEND_URL"] = urls["web"]
        arns = aws_resources.secret_arns()
    else:  # no stack running: a fresh embedded AWS, as `make dev` would make it, without Stripe
        from lectern_admin.catalog_cmd import apply_file
        from lectern_dev.dev_keys import local_secrets_environment, secret_values
        from lectern_dev.embedded_aws import EmbeddedAws

        embedded = EmbeddedAws(ip_address="127.0.0.1", port=0, verbose=False)
        embedded.start()
        host, port = embedded.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        aws_resources.create_all()
        arns = aws_resources.put_secrets(secret_values({**local_secrets_environment(), **os.environ}))
        apply_file(DEMO_CATALOG, use_stripe=False, quiet=True)
    # This process reads the secrets as a function does (by ARN), to sign what --as / --sign ask for.
    os.environ.update({"AUTH_SECRET_ARN": arns.get("AuthSigningSecret", ""),
                       "STRIPE_SECRET_ARN": arns.get("StripeSecret", "")})
    from lectern.config import reset_settings

    reset_settings()  # lectern's settings were read before these were set

    from lectern_dev.worker_pool import WorkerPoolRunner

    try:
        if args.as_email:
            sign_as(event, args.as_email)
        if args.sign:
            sign_webhook(event)
        specs = tpl.functions(overrides=arns)
        print(f"Invoking {args.function} ({specs[args.function].module}.{specs[args.function].handler}) "
              f"against {os.environ['AWS_ENDPOINT_URL']}", file=sys.stderr)
        runner = WorkerPoolRunner({args.function: specs[args.function]}, size=1,
                                  base_environment={k: v for k, v in os.environ.items()
                                                    if k not in ("AUTH_SECRET_ARN", "STRIPE_SECRET_ARN")})
        try:
            response = runner.invoke_dict(args.function, event)
        finally:
            runner.close()
        print(json.dumps(response))
    except InvokeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if embedded:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

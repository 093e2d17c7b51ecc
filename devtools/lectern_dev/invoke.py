"""`make invoke FUNCTION=<logical id> EVENT=events/<file>.json`: the Docker-free `sam local invoke`.

Runs one function of template.yaml in this process with an event file and
prints its response as `sam local invoke` does (the response JSON on stdout,
logs on stderr). AWS is, in order: AWS_ENDPOINT_URL if set; the running
local stack's embedded AWS (127.0.0.1:$LECTERN_AWS_PORT, default 4566); else a fresh embedded one with
the tables, bucket and demo catalog.
"""
import argparse
import json
import os
import socket
import sys
from pathlib import Path

from lectern_dev import template as tpl
from lectern_dev.dev_keys import local_secrets_environment
from lectern_dev.stack import DEFAULT_AWS_PORT, DEMO_CATALOG, set_default_aws_environment


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", help="logical id in template.yaml, e.g. CatalogFunction")
    parser.add_argument("event", type=Path, help="event JSON file, e.g. events/catalog_list.json")
    args = parser.parse_args(argv)

    specs = tpl.functions()
    if args.function not in specs:
        print(f"Unknown function {args.function!r}; the template has: {', '.join(sorted(specs))}", file=sys.stderr)
        return 2
    event = json.loads(args.event.read_text())

    set_default_aws_environment()
    for name, value in local_secrets_environment().items():
        os.environ.setdefault(name, value)
    moto_server = None
    if not os.environ.get("AWS_ENDPOINT_URL"):
        stack_port = int(os.environ.get("LECTERN_AWS_PORT") or DEFAULT_AWS_PORT)
        if _listening(stack_port):
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{stack_port}"
        else:
            from moto.server import ThreadedMotoServer

            moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            moto_server.start()
            host, port = moto_server.get_host_and_port()
            os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
            from lectern_admin.catalog_cmd import apply_file
            from lectern_dev import aws_resources

            aws_resources.create_all()
            apply_file(DEMO_CATALOG, use_stripe=False, quiet=True)
    print(f"Invoking {args.function} ({specs[args.function].module}.{specs[args.function].handler}) "
          f"against {os.environ['AWS_ENDPOINT_URL']}", file=sys.stderr)

    from lectern_dev.runner import InProcessRunner

    try:
        response = InProcessRunner(specs).invoke_dict(args.function, event)
        print(json.dumps(response))
    finally:
        if moto_server:
            moto_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

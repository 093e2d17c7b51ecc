"""Run the emulator standalone until SIGINT / SIGTERM.

    python -m lectern_dev.stripe_emulator --port 12111 \
        --webhook-url http://127.0.0.1:3001/ --webhook-secret whsec_... --api-key sk_test_...
"""

from __future__ import annotations

import argparse
import signal
import threading

from . import StripeEmulator
from .emulator import DEFAULT_RETRY_DELAYS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lectern_dev.stripe_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port (default: 12111; 0 = any free port)")
    parser.add_argument("--webhook-url", default=None, help="where to POST events (default: store only)")
    parser.add_argument("--webhook-secret", default="whsec_test", help="signing secret (default: whsec_test)")
    parser.add_argument("--api-key", default="sk_test_lectern", help="accepted secret key (default: sk_test_lectern)")
    parser.add_argument("--public-base-url", default=None, help="base URL for checkout page links (default: the server URL)")
    parser.add_argument("--fixtures", default=None,
                        help="path to fixtures3-subset.json (default: the one beside this package)")
    parser.add_argument(
        "--retry-delays",
        default=",".join(str(d) for d in DEFAULT_RETRY_DELAYS),
        help="comma-separated webhook retry delays in seconds (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    emulator = StripeEmulator(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        api_key=args.api_key,
        public_base_url=args.public_base_url,
        retry_delays=tuple(float(d) for d in args.retry_delays.split(",") if d.strip()),
        fixtures_path=args.fixtures,
        log_requests=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    emulator.start()
    print(f"Stripe emulator listening on {emulator.base_url}", flush=True)
    print(f"  dashboard: {emulator.base_url}/dashboard", flush=True)
    print(f"  webhooks:  {emulator.webhook_url or 'not sent (no --webhook-url)'}", flush=True)
    try:
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m lectern_admin <command> <action> ...`: the operator's command line.

Needs `layers/common` and `devtools` on PYTHONPATH and AWS credentials (and
AWS_ENDPOINT_URL for the local stack) in the environment.

Each command lives in its own module with a `register(subparsers)` function
that adds its sub-parser and sets `handler` (a function of the parsed
arguments returning the exit code). To add a command, write the module and
list it in COMMANDS. Commands import their heavy dependencies inside the
handler, so `--help` stays fast.

Exit codes: 0 success, 1 failure, 2 invalid input (usage or validation).
"""
import argparse
import importlib
import sys

COMMANDS = (
    "lectern_admin.catalog_cmd",
    "lectern_admin.events_cmd",
    "lectern_admin.entitlements_cmd",
    "lectern_admin.certificates_cmd",
    "lectern_admin.mail_cmd",
    "lectern_admin.deploy_cmd",
    "lectern_admin.secrets_cmd",
    "lectern_admin.stripe_webhook_cmd",
    "lectern_admin.stack",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lectern_admin", description="Lectern operator commands.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

"""The command line of a file generated from the code (docs/openapi.json, the request validators):
`--write` regenerates it, `--check` exits 1 when the committed file differs from what the code makes."""
import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from lectern_dev import template as tpl


def main(argv: list[str] | None, *, description: str, output: Path, generate: Callable[[], str],
         make_target: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = generate()
    name = output.relative_to(tpl.REPO_ROOT)
    if args.write:
        output.write_text(text)
        print(f"wrote {name}")
        return 0
    if not output.exists() or output.read_text() != text:
        print(f"{name} is out of date: run `make {make_target}`", file=sys.stderr)
        return 1
    return 0

"""`catalog` command: apply (or just validate) a catalog file. Format: docs/catalog.md.

    python -m lectern_admin catalog apply catalog/demo.yaml [--dry-run] [--no-stripe]
                                          [--unpublish-missing] [--verbose]
    python -m lectern_admin catalog validate catalog/demo.yaml
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

SYMBOLS = {"created": "+", "updated": "~", "unpublished": "-", "archived": "-", "unchanged": "="}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("catalog", help="catalog as code: apply a YAML catalog file",
                                   description="Catalog as code (docs/catalog.md).")
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")

    apply = actions.add_parser("apply", help="create/update courses, lessons, resources (and Stripe prices)")
    apply.add_argument("file", help="catalog YAML file, e.g. catalog/demo.yaml")
    apply.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    apply.add_argument("--no-stripe", action="store_true", help="do not sync Stripe products and prices")
    apply.add_argument("--unpublish-missing", action="store_true",
                       help="unpublish courses that are in the table but not in the file")
    apply.add_argument("-v", "--verbose", action="store_true", help="also list what is unchanged")
    apply.set_defaults(handler=run_apply)

    validate = actions.add_parser("validate", help="check a catalog file without touching AWS")
    validate.add_argument("file")
    validate.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from lectern_admin.catalog.catalog_file import CatalogFileError, load_catalog

    try:
        catalog = load_catalog(args.file)
    except CatalogFileError as error:
        return _print_errors(error.errors)
    lessons = sum(len(m.lessons) for c in catalog.courses for m in c.modules)
    print(f"{args.file}: OK ({len(catalog.courses)} courses, {lessons} lessons)")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from lectern_admin.catalog.catalog_file import CatalogFileError

    try:
        apply_file(args.file, dry_run=args.dry_run, use_stripe=not args.no_stripe,
                   unpublish_missing=args.unpublish_missing, verbose=args.verbose)
    except CatalogFileError as error:
        return _print_errors(error.errors)
    except Exception as error:  # noqa: BLE001 - an operator wants one clear line, not a traceback
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def apply_file(path: str | Path, *, dry_run: bool = False, use_stripe: bool = True, unpublish_missing: bool = False,
               verbose: bool = False, quiet: bool = False):
    """Load, validate and apply a catalog file; print the report unless `quiet`. Returns the ApplyReport.

    Raises CatalogFileError (nothing written) when the file is invalid. Also used by the local stack.
    """
    from lectern_admin.catalog.apply import apply_catalog
    from lectern_admin.catalog.catalog_file import load_catalog

    catalog = load_catalog(path)
    report = apply_catalog(catalog, dry_run=dry_run, stripe=use_stripe, unpublish_missing=unpublish_missing)
    if not quiet:
        print_report(report, source=str(path), verbose=verbose)
    return report


def _print_errors(errors: list[str]) -> int:
    print(f"The catalog file has {len(errors)} problem(s); nothing was written:", file=sys.stderr)
    for error in errors:
        print(f"  {error}", file=sys.stderr)
    return 2


def print_report(report, *, source: str, verbose: bool = False, out: TextIO | None = None) -> None:
    """A readable account of an ApplyReport: one block per course, then Stripe, then totals."""
    out = out or sys.stdout
    from lectern_admin.catalog.apply import LEFT_ALONE, UNCHANGED

    print(f"Catalog {source}" + (" (dry run: nothing written)" if report.dry_run else ""), file=out)
    by_course: dict[str, list] = {}
    for change in report.changes:
        by_course.setdefault(change.course_slug, []).append(change)

    left_alone = []
    for slug, changes in by_course.items():
        course, children = changes[0], changes[1:]
        if course.action == LEFT_ALONE:
            left_alone.append(course)
            continue
        print(f"\n{slug}: {course.action}{_fields(course)}", file=out)
        unchanged = 0
        for change in children:
            if change.action == UNCHANGED and not verbose:
                unchanged += 1
                continue
            print(f"  {_line(change)}", file=out)
        if unchanged:
            print(f"  = {unchanged} unchanged", file=out)

    if left_alone:
        print("\nCourses not in the file, left alone (--unpublish-missing unpublishes them):", file=out)
        for change in left_alone:
            print(f"  {change.label} ({change.note})", file=out)

    print(f"\nStripe: {report.stripe_status}", file=out)
    stripe_unchanged = 0
    for change in report.stripe_changes:
        if change.action == UNCHANGED and not verbose:
            stripe_unchanged += 1
            continue
        print(f"  {change.course_slug}: {_line(change)}", file=out)
    if stripe_unchanged:
        print(f"  = {stripe_unchanged} unchanged", file=out)

    counts: Counter[str] = report.counts()
    totals = ", ".join(f"{counts[action]} {action}" for action in ("created", "updated", "unpublished", "unchanged"))
    print(f"\nSummary: {totals}." + ("" if report.changed else " Nothing to do."), file=out)


def _line(change) -> str:
    symbol = SYMBOLS.get(change.action, "?")
    note = f" ({change.note})" if change.note else ""
    return f"{symbol} {change.kind} {change.label} {change.action}{_fields(change)}{note}"


def _fields(change) -> str:
    return f" ({', '.join(change.fields)})" if change.fields else ""

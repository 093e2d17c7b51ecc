"""`entitlements` command: grant, revoke and inspect who may open which course.

    python -m lectern_admin entitlements grant  --email E --course SLUG --reason "…" [--operator NAME]
    python -m lectern_admin entitlements revoke --email E --course SLUG --reason "…" [--operator NAME]
    python -m lectern_admin entitlements list   --email E
    python -m lectern_admin entitlements audit  --email E [--limit N]

Grants and revokes go through lectern.entitlements.service, so each one is
written with an EntitlementHistory record naming the operator and reason.
Exit codes: 0 done, 1 nothing changed / failure, 2 invalid input.
"""
from __future__ import annotations

import argparse
import getpass
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("entitlements", help="grant, revoke, list entitlements; read the access audit",
                                   description="Entitlements of one user (by email) and their access audit.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")

    for name, handler, text in (("grant", run_grant, "give a user access to a course"),
                                ("revoke", run_revoke, "take a user's access to a course away")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--email", required=True)
        action.add_argument("--course", required=True, metavar="SLUG")
        action.add_argument("--reason", required=True, help="recorded in the entitlement history")
        action.add_argument("--operator", default=None, help="who is acting (default: the OS user)")
        action.set_defaults(handler=handler)

    listing = actions.add_parser("list", help="every entitlement of a user, active and revoked")
    listing.add_argument("--email", required=True)
    listing.set_defaults(handler=run_list)

    audit = actions.add_parser("audit", help="a user's access audit (downloads, playback, course player), newest first")
    audit.add_argument("--email", required=True)
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(handler=run_audit)


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _user_id(email: str) -> str | None:
    from lectern.accounts.users import user_id_for_email

    return user_id_for_email(email)


def _course(slug: str):
    from pynamodb.exceptions import DoesNotExist

    from lectern.models.catalog import Course, course_pk

    try:
        item = Course.get(course_pk(slug), Course.sort_key())
    except DoesNotExist:
        return None
    return item if isinstance(item, Course) else None


def _actor(args: argparse.Namespace) -> str:
    return f"operator:{args.operator or getpass.getuser()}"


def _change(args: argparse.Namespace, verb: str) -> int:
    from lectern.entitlements import service
    from lectern.models.entitlements import OPERATOR

    user_id, course = _user_id(args.email), _course(args.course)
    if user_id is None:
        return _fail(f"no account for {args.email}")
    if course is None:
        return _fail(f"no course with slug {args.course!r}")
    if verb == "grant":
        change = service.grant(user_id, course.id, course.slug, reason=args.reason, actor=_actor(args),
                               require_paid_order=False, source=OPERATOR)
    else:
        change = service.revoke(user_id, course.id, reason=args.reason, actor=_actor(args))
    if not change.changed:
        state = change.entitlement.status if change.entitlement else "none"
        print(f"unchanged: {args.email} / {course.slug} is {state}")
        return 1
    done = {"grant": "granted", "revoke": "revoked"}[verb]
    print(f"{done}: {args.email} / {course.slug} ({args.reason}) by {_actor(args)}")
    return 0


def run_grant(args: argparse.Namespace) -> int:
    return _change(args, "grant")


def run_revoke(args: argparse.Namespace) -> int:
    return _change(args, "revoke")


def run_list(args: argparse.Namespace) -> int:
    from lectern.models.entitlements import Entitlement, user_pk

    user_id = _user_id(args.email)
    if user_id is None:
        return _fail(f"no account for {args.email}")
    rows = list(Entitlement.query(user_pk(user_id), Entitlement.sk.startswith("ENT#")))
    if not rows:
        print(f"{args.email}: no entitlements")
    for e in sorted(rows, key=lambda e: e.granted_at, reverse=True):
        revoked = f"  revoked {e.revoked_at} ({e.revoke_reason})" if e.revoked_at and e.status != "active" else ""
        print(f"{e.status:8} {e.course_slug:30} granted {e.granted_at} via {e.source}"
              f"{' order ' + e.order_id if e.order_id else ''}{revoked}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from lectern.learning.access import audit_trail

    user_id = _user_id(args.email)
    if user_id is None:
        return _fail(f"no account for {args.email}")
    records = audit_trail(user_id, limit=max(1, args.limit))
    if not records:
        print(f"{args.email}: no access recorded")
    for record in records:
        reason = f" ({record.reason})" if record.reason else ""
        print(f"{record.at}  {record.outcome:7} {record.action:8} {record.target}{reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="entitlements")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["entitlements", *(argv if argv is not None else sys.argv[1:])])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

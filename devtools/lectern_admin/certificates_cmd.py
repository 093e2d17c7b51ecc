"""`certificates` command: list a learner's certificates, and make a revoked one valid again.

    python -m lectern_admin certificates list    --email E
    python -m lectern_admin certificates restore --email E --course SLUG

Losing access (refund, lost dispute, operator revoke) revokes the certificate, and a later grant
leaves it revoked on purpose: whether the learner earned it is a person's call. `restore` is that
call, and only once the learner has the course again (an active entitlement).
Exit codes: 0 done, 1 nothing changed, 2 invalid input.
"""
from __future__ import annotations

import argparse

from lectern_admin.entitlements_cmd import _course, _fail, _user_id


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("certificates", help="list a learner's certificates; restore a revoked one",
                                   description="Certificates of completion of one user (by email).")
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")
    listing = actions.add_parser("list", help="every certificate of a user, valid and revoked")
    listing.add_argument("--email", required=True)
    listing.set_defaults(handler=run_list)
    restore = actions.add_parser("restore", help="make a revoked certificate valid again (the user must have "
                                                  "the course again)")
    restore.add_argument("--email", required=True)
    restore.add_argument("--course", required=True, metavar="SLUG")
    restore.set_defaults(handler=run_restore)


def run_list(args: argparse.Namespace) -> int:
    from lectern.models.entitlements import certificates_of

    user_id = _user_id(args.email)
    if user_id is None:
        return _fail(f"no account for {args.email}")
    found = sorted(certificates_of(user_id), key=lambda c: c.issued_at, reverse=True)
    if not found:
        print(f"{args.email}: no certificates")
    for c in found:
        revoked = f"  revoked {c.revoked_at} ({c.revoke_reason})" if c.status != "valid" else ""
        print(f"{c.status:8} {c.course_slug:30} issued {c.issued_at} code {c.code}{revoked}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from lectern.entitlements import service
    from lectern.models.entitlements import restore_certificate

    user_id, course = _user_id(args.email), _course(args.course)
    if user_id is None:
        return _fail(f"no account for {args.email}")
    if course is None:
        return _fail(f"no course with slug {args.course!r}")
    if not service.is_active(user_id, course.id):
        return _fail(f"{args.email} does not have {course.slug}: grant it first (entitlements grant)", 1)
    if not restore_certificate(user_id, course.id):
        print(f"unchanged: {args.email} / {course.slug} has no revoked certificate")
        return 1
    print(f"restored: the certificate of {args.email} for {course.slug} is valid again")
    return 0

"""What an apply reports: one `Change` per item it looked at, with what it did (its action).

Shared by `apply` (the table and the bucket) and `price_sync` (Stripe), so
neither imports the other for it.
"""
from __future__ import annotations

from dataclasses import dataclass

CREATED = "created"
UPDATED = "updated"
UNPUBLISHED = "unpublished"
UNCHANGED = "unchanged"
LEFT_ALONE = "left alone"  # a course that is in the table but not in the description
ARCHIVED = "archived"  # a Stripe price made inactive


@dataclass(frozen=True)
class Change:
    course_slug: str
    kind: str  # course | module | lesson | resource | product | price
    label: str  # how the operator recognises it: slug, key, "<lesson>/<file>", a Stripe id
    action: str
    fields: tuple[str, ...] = ()  # what changed, for updates
    note: str = ""

"""Time helpers: every timestamp Lectern stores or returns is UTC ISO 8601."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None = None) -> str:
    """`2026-11-25T10:15:00Z` (seconds precision, `Z` suffix, as the contract shows)."""
    moment = moment or utcnow()
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_from_unix(seconds: int | float) -> str:
    return iso(datetime.fromtimestamp(seconds, timezone.utc))

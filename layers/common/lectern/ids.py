"""Opaque, non-sequential identifiers (ULIDs): sortable by creation, never enumerable."""
from ulid import ULID


def new_id() -> str:
    return str(ULID()).lower()

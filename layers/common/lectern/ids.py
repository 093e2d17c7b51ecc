"""Opaque, non-sequential identifiers (ULIDs): sortable by creation, never enumerable."""
import importlib.metadata
import sys

# python-ulid sets `ulid.__version__` when imported by looking its distribution up on sys.path (every
# entry's folder listed, its METADATA read): about 1.5 ms of every cold start of every function that makes
# ids, for a value nothing here reads. It is told the version pinned in layers/common/requirements-core.txt
# instead, for that import only (tests/unit/test_ids.py checks the two agree).
ULID_VERSION = "3.2.1"


def _pinned_for_ulid(real):
    """`importlib.metadata.version` (same parameter), answering python-ulid's own version from the pin."""
    def version(distribution_name: str) -> str:
        return ULID_VERSION if distribution_name == "python-ulid" else real(distribution_name)
    return version


def _import_ulid():
    if "ulid" in sys.modules:
        from ulid import ULID
        return ULID
    real = importlib.metadata.version
    importlib.metadata.version = _pinned_for_ulid(real)
    try:
        import ulid
    finally:
        importlib.metadata.version = real
    ulid.version = real  # python-ulid keeps the function it imported as a module global
    return ulid.ULID


ULID = _import_ulid()


def new_id() -> str:
    return str(ULID()).lower()

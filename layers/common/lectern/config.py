"""Configuration read from the environment the template (or the local stack) sets.

Table names default to the template's logical ids, which is how the local
stack and the tests name them, so a handler imported outside Lambda still
finds its tables.
"""
import os
from functools import lru_cache


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def region() -> str:
    return env("AWS_REGION") or env("AWS_DEFAULT_REGION") or "us-east-1"


def table_name(variable: str, logical_id: str) -> str:
    return env(variable, logical_id)


def frontend_url() -> str:
    return (env("FRONTEND_URL", "http://127.0.0.1:3002") or "").rstrip("/")


@lru_cache(maxsize=None)
def assets_bucket() -> str:
    return env("ASSETS_BUCKET", "assetsbucket")

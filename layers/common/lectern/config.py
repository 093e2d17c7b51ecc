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


LOCAL_FRONTEND_URL = "http://127.0.0.1:3002"


def frontend_url() -> str:
    """Base of every link Lectern emails or hands to Stripe: the storefront's address.

    Deployed, the stack keeps it in an SSM parameter (named by FRONTEND_URL_PARAMETER) that it writes
    once the CloudFront distribution exists: a function's environment cannot name the distribution
    that serves it, so the address is read at run time (cached five minutes, like secrets).
    Locally and in tests it is FRONTEND_URL."""
    value = env("FRONTEND_URL")
    if value is None and env("FRONTEND_URL_PARAMETER"):
        from aws_lambda_powertools.utilities import parameters  # deployed functions only

        value = parameters.get_parameter(env("FRONTEND_URL_PARAMETER"), max_age=300)
    return (value or LOCAL_FRONTEND_URL).rstrip("/")


def api_same_origin() -> bool:
    """Deployed, the storefront calls the API through its own distribution (/api/*): one origin, no CORS."""
    return env("FRONTEND_URL") is None and env("FRONTEND_URL_PARAMETER") is not None


@lru_cache(maxsize=None)
def assets_bucket() -> str:
    return env("ASSETS_BUCKET", "assetsbucket")

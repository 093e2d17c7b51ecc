"""Secrets: from the environment locally and in tests, from Secrets Manager when deployed.

Deployed, a function gets `<NAME>_SECRET_ARN` (never the value) and reads the
JSON secret through Powertools Parameters, cached for five minutes. Locally
the value itself may be given as `<NAME>` (e.g. STRIPE_SECRET_KEY).
"""
import json
import os


class MissingSecret(RuntimeError):
    pass


def secret(name: str, *, arn_variable: str, field: str) -> str:
    value = os.environ.get(name)
    if value:
        return value
    arn = os.environ.get(arn_variable)
    if not arn:
        raise MissingSecret(f"Neither {name} nor {arn_variable} is configured.")
    from aws_lambda_powertools.utilities import parameters  # only deployed functions pay for this import

    raw = parameters.get_secret(arn, max_age=300)
    data = json.loads(raw) if isinstance(raw, str) else raw
    if field not in data:
        raise MissingSecret(f"Secret {arn_variable} has no field {field!r}.")
    return data[field]

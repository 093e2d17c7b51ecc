"""Secrets: given directly locally and in tests, from Secrets Manager when deployed.

Deployed, a function gets `<NAME>_SECRET_ARN` (never the value) and reads the
JSON secret through Powertools Parameters, cached for five minutes. Locally
the value itself may be given as `<NAME>` (e.g. STRIPE_SECRET_KEY). Which is
which comes from lectern.config (`settings().stripe_secret_key`, ...).
"""
import json

from lectern.config import SecretSource


class MissingSecret(RuntimeError):
    pass


def secret(source: SecretSource) -> str:
    if source.value:
        return source.value
    if not source.arn:
        raise MissingSecret(f"Neither {source.variable} nor {source.arn_variable} is configured.")
    from aws_lambda_powertools.utilities import parameters  # only deployed functions pay for this import

    raw = parameters.get_secret(source.arn, max_age=300)
    data = json.loads(raw) if isinstance(raw, str) else raw
    if source.json_field not in data:
        raise MissingSecret(f"Secret {source.arn_variable} has no field {source.json_field!r}.")
    return data[source.json_field]

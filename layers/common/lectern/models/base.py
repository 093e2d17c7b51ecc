"""What every Lectern table model shares: region, generic pk/sk keys, timeouts."""
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from lectern import config


def meta(variable: str) -> type:
    """A PynamoDB Meta for the table whose name the template passes in `variable` (e.g. CATALOG_TABLE).

    Called when a model's module is imported: a Lambda function that imports a model without
    being given its table does not start (lectern.config)."""
    settings = config.require(variable)

    class Meta:
        table_name = settings.table_name(variable)
        region = settings.region
        # Fail fast inside a Lambda's time budget; the caller answers 503 and the client retries.
        connect_timeout_seconds = 2
        read_timeout_seconds = 4
        max_retry_attempts = 2

    return Meta


class KeyedModel(Model):
    """Base for items of the single-purpose tables: generic `pk`/`sk` strings."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


_connection = None


def transaction():
    """A PynamoDB TransactWrite on one shared connection (creating a client per call is slow)."""
    global _connection
    from pynamodb.connection import Connection
    from pynamodb.transactions import TransactWrite

    if _connection is None:
        _connection = Connection(region=config.region(), connect_timeout_seconds=2,
                                 read_timeout_seconds=4, max_retry_attempts=2)
    return TransactWrite(connection=_connection)


def condition_failed(exc: Exception) -> bool:
    """A write refused because one of its conditions was false: a decision about the data.

    A transaction cancelled for any other reason (TransactionConflict with a concurrent
    transaction on one of its items, throttling) decided nothing: it is not this, and the
    caller must let it fail so that the work is retried (Stripe redelivers; the API answers 503)."""
    code = getattr(exc, "cause_response_code", None)
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)
    return False

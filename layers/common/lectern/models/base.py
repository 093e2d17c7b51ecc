"""What every Lectern table model shares: region, generic pk/sk keys, timeouts, one botocore client."""
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


_connection = None
# What a PynamoDB Connection's botocore client is made of (its own attributes, set by TableConnection
# from the model's Meta): a model may use the shared client only when all of these match its own.
_CLIENT_SETTINGS = ("region", "host", "_connect_timeout_seconds", "_read_timeout_seconds",
                    "_max_retry_attempts_exception", "_max_pool_connections", "_extra_headers",
                    "_retry_configuration", "_aws_access_key_id", "_aws_secret_access_key", "_aws_session_token")


def connection():
    """The process's one PynamoDB Connection, with the settings `meta` gives every table: transactions
    send through it, and so does every model (`LecternModel`)."""
    global _connection
    from pynamodb.connection import Connection

    if _connection is None:
        from botocore.config import Config

        connection = Connection(region=config.region(), connect_timeout_seconds=2,
                                read_timeout_seconds=4, max_retry_attempts=2)
        # A fixed User-Agent (botocore's own classic one, made once): by default botocore rebuilds it
        # for every request (twice, sanitising each of its parts for its usage metrics), about 0.1 ms
        # of a call's 1.3-1.7 ms in the webhook. The header is informational: nothing else changes.
        session = connection.session
        session.set_default_client_config(Config(user_agent=session.user_agent()))
        _connection = connection
    return _connection


def transaction():
    """A PynamoDB TransactWrite on the shared connection (creating a client per call is slow)."""
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=connection())


class LecternModel(Model):
    """A model whose requests go through the shared connection's botocore client.

    PynamoDB gives each model class a Connection, and each Connection builds its botocore client on a
    botocore session of its own, which loads DynamoDB's service model and endpoint rules again: about
    0.1 s of CPU at each model's first request, a dozen times in the webhook's cold start
    (docs/performance-history.md, "Webhook burst"). The model keeps its Connection (its table's key schema);
    only the client is shared, when the model's settings are the shared connection's."""

    @classmethod
    def _get_connection(cls):
        table = super()._get_connection()
        own, shared = table.connection, connection()
        if own is not shared:
            client = shared.client
            if own._client is not client and all(getattr(own, name, None) == getattr(shared, name, None)
                                                  for name in _CLIENT_SETTINGS):
                own._client = client
        return table


class KeyedModel(LecternModel):
    """Base for items of the single-purpose tables: generic `pk`/`sk` strings."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


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


def may_have_landed(exc: Exception) -> bool:
    """Whether a write that failed with `exc` may still have been applied: not when DynamoDB answered
    with a refusal (4xx: a condition, a transaction cancelled or in conflict, throttling); a timeout, a
    lost connection or a 5xx, maybe (its answer may be what was lost)."""
    cause = getattr(exc, "cause", None) or exc  # PynamoDB keeps botocore's error as `cause`
    status = (getattr(cause, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return not (isinstance(status, int) and 400 <= status < 500)

"""Count AWS requests per service and operation with botocore's event hooks.

Every botocore client (PynamoDB's, boto3's) emits `before-call.<service>.<op>`
before each request; we register on clients that already exist and, by
wrapping Session.create_client, on every client created while counting.
"""
import contextlib
from collections import Counter

import botocore.session
from pynamodb.models import Model


def _all_models(base=Model):
    for cls in base.__subclasses__():
        yield cls
        yield from _all_models(cls)


class RequestCounter:
    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def __call__(self, event_name: str, **_kwargs):
        _, service, operation = event_name.split(".", 2)
        self.calls.append((service, operation))

    def dynamodb(self) -> list[str]:
        return [op for service, op in self.calls if service == "dynamodb"]

    def by_operation(self) -> Counter:
        return Counter(self.dynamodb())

    def reset(self):
        self.calls.clear()


def _clients_in_use(extra=()) -> list:
    clients = []
    for model in _all_models():
        meta = getattr(model, "Meta", None)
        if getattr(meta, "table_name", None) and getattr(model, "_connection", None) is not None:
            clients.append(model._get_connection().connection.client)
    from lectern.models import base

    if base._connection is not None:
        clients.append(base._connection.client)
    clients.extend(extra)
    return list({id(client): client for client in clients}.values())


@contextlib.contextmanager
def on_every_client(attach, detach, extra_clients=()):
    """attach(client) to the models' clients, the shared transaction connection's, `extra_clients`
    and every client created meanwhile; detach(client) from all of them on exit."""
    clients = _clients_in_use(extra_clients)
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        attach(client)
        clients.append(client)
        return client

    for client in clients:
        attach(client)
    botocore.session.Session.create_client = create_client
    try:
        yield
    finally:
        botocore.session.Session.create_client = original
        for client in clients:
            detach(client)


@contextlib.contextmanager
def count_requests():
    counter = RequestCounter()
    with on_every_client(lambda client: client.meta.events.register("before-call", counter),
                         lambda client: client.meta.events.unregister("before-call", counter)):
        yield counter

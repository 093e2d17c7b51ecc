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


@contextlib.contextmanager
def count_requests():
    counter = RequestCounter()
    clients = []
    for model in _all_models():
        meta = getattr(model, "Meta", None)
        if getattr(meta, "table_name", None) and getattr(model, "_connection", None) is not None:
            clients.append(model._get_connection().connection.client)
    from lectern.models import base

    if base._connection is not None:
        clients.append(base._connection.client)
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call", counter)
        clients.append(client)
        return client

    clients = list({id(client): client for client in clients}.values())
    for client in clients:
        client.meta.events.register("before-call", counter)
    botocore.session.Session.create_client = create_client
    try:
        yield counter
    finally:
        botocore.session.Session.create_client = original
        for client in clients:
            client.meta.events.unregister("before-call", counter)

"""The local stack's AWS: a moto server on loopback whose DynamoDB behaves like DynamoDB under concurrency.

moto applies a TransactWriteItems item by item, and a conditional write checks then writes, without
isolation between the server's request threads, so two concurrent requests can interleave where
DynamoDB would serialise them. Local concurrency must find Lectern's races, not moto's: every
DynamoDB request here runs alone, so each transaction and each conditional write is atomic, as
DynamoDB's are (its transactions are serializable). Other services are untouched.
"""
import threading
from typing import Any, Callable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class SerializedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time (the X-Amz-Target of DynamoDB's JSON protocol)."""

    def __init__(self, app: Callable):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # The body is produced inside the lock: moto builds the response while handling the call.
            return list(self.app(environ, start_response))


class EmbeddedAws(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

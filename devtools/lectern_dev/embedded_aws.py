"""The local stack's AWS: a moto server on loopback, in a process of its own, whose DynamoDB behaves
like DynamoDB under concurrency.

moto applies a TransactWriteItems item by item, and a conditional write checks then writes, without
isolation between the server's request threads, so two concurrent requests can interleave where
DynamoDB would serialise them. Local concurrency must find Lectern's races, not moto's: every
DynamoDB request here runs alone, so each transaction and each conditional write is atomic, as
DynamoDB's are (its transactions are serializable). Other services are untouched.

It runs in its own process (its own interpreter lock) because it does most of the local stack's
work: every function environment calls it for every table read and write. The dev mailbox reads
what its SES sent at GET /_lectern/mailbox.json.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable

MAILBOX_PATH = "/_lectern/mailbox.json"


def sent_messages() -> list[dict]:
    """Every email sent through this process's moto SES, newest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = []
    for region, backend in ses_backends[DEFAULT_ACCOUNT_ID].items():
        for message in getattr(backend, "sent_messages", []):
            body = getattr(message, "body", None) or getattr(message, "raw_data", "")
            messages.append({
                "id": message.id, "to": list(message.destinations.get("ToAddresses", [])),
                "source": message.source, "subject": getattr(message, "subject", ""),
                "body": body, "region": region,
            })
    return list(reversed(messages))


class LocalAwsApp:
    """WSGI middleware around moto: one DynamoDB request at a time (the X-Amz-Target of DynamoDB's
    JSON protocol), and the dev mailbox's read of SES."""

    def __init__(self, app: Callable):
        self.app = app
        self.lock = threading.Lock()
        self._dynamodb: Callable | None = None  # moto's DynamoDB app, once found (its lookup costs ~1 ms a call)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO") == MAILBOX_PATH:
            body = json.dumps({"messages": sent_messages()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            if self._dynamodb is None:
                self._dynamodb = self.app.get_application(environ)
            # The body is produced inside the lock: moto builds the response while handling the call.
            return list(self._dynamodb(environ, start_response))


def index_queries_by_partition() -> None:
    """moto answers a Query on a table's own key by sorting and walking every item of the table, so a
    Query costs more as the table grows (at 400 orders, most of the embedded AWS's time in the webhook
    burst). DynamoDB reads one partition; so does this: the query sees only its partition's items.
    Index (GSI) queries are left as moto does them. Called in the embedded AWS process only, where
    DynamoDB requests run one at a time (LocalAwsApp), so the per-call override is not shared."""
    import inspect

    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_by_partition", False):
        return
    walk_everything = Table.query
    signature = inspect.signature(walk_everything)

    def query(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs).arguments
        hash_key = bound.get("hash_key")
        if bound.get("index_name") is not None or hash_key is None:
            return walk_everything(self, *args, **kwargs)
        partition = self.items.get(hash_key)
        if partition is None:
            items = []
        elif self.range_key_attr:
            items = list(partition.values())
        else:
            items = [partition]
        self.all_items = lambda: items  # this call only: moto's query walks all_items()
        try:
            return walk_everything(self, *args, **kwargs)
        finally:
            del self.all_items

    query._by_partition = True
    Table.query = query


def transactions_back_up_their_items() -> None:
    """moto keeps a TransactWriteItems all-or-nothing by deep-copying every table the transaction
    names, before each one: a transaction costs more as the tables grow (at 400 orders, about a third
    of a second of the embedded AWS per webhook delivery). Back up the items it names instead, and
    put exactly those back when it is cancelled: the same all-or-nothing, at the cost of its items.
    Embedded AWS process only (requests run one at a time, see LocalAwsApp)."""
    import copy

    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "_item_backup", False):
        return

    class TablesNotCopied:  # moto's `copy` module, but a Table is "copied" as itself
        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    backend_module.copy = TablesNotCopied()
    apply_with_table_backup = DynamoDBBackend.transact_write_items

    def slot(table: Table, key: dict):
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        return hash_value, range_value

    def current(table: Table, hash_value, range_value):
        if range_value is None:
            return table.items.get(hash_value)
        partition = table.items.get(hash_value)
        return partition.get(range_value) if partition else None

    def restore(table: Table, hash_value, range_value, item) -> None:
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
            return
        partition = table.items[hash_value]
        if item is None:
            partition.pop(range_value, None)
            if not partition:
                table.items.pop(hash_value, None)
        else:
            partition[range_value] = item

    def transact_write_items(self, transact_items):
        saved = []
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                table = self.tables.get(op.get("TableName"))
                key = op["Item"] if op_type == "Put" else op["Key"]
                if table is not None:
                    hash_value, range_value = slot(table, key)
                    saved.append((table, hash_value, range_value,
                                  copy.deepcopy(current(table, hash_value, range_value))))
            except (KeyError, StopIteration, AttributeError, TypeError):
                continue  # malformed: moto answers it with its validation error
        try:
            return apply_with_table_backup(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(saved):
                restore(table, hash_value, range_value, item)
            raise

    transact_write_items._item_backup = True
    DynamoDBBackend.transact_write_items = transact_write_items


def make_server(host: str, port: int):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server as werkzeug_server

    index_queries_by_partition()
    transactions_back_up_their_items()
    app = LocalAwsApp(DomainDispatcherApplication(create_backend_app))
    return werkzeug_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)


class EmbeddedAws:
    """Starts and stops the embedded AWS process (the interface of moto's ThreadedMotoServer)."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self._host, self._port = ip_address, port
        self._process: subprocess.Popen | None = None
        self._address: tuple[str, int] | None = None

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--host", self._host,
                                          "--port", str(self._port)], stdout=subprocess.PIPE, env=env,
                                         stdin=subprocess.DEVNULL)
        # Its first line says where it listens (or it died trying).
        line = self._process.stdout.readline().decode().strip()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"embedded AWS did not start on {self._host}:{self._port}: {line or 'no answer'}")
        host, port = line.split()[1].rsplit(":", 1)
        self._address = (host, int(port))

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._address is not None, "Make sure to call start() first"
        return self._address

    def stop(self) -> None:
        process, self._process = self._process, None
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local stack's embedded AWS (moto server).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call drowns the stack's console
    from lectern_dev import ses_sandbox

    ses_sandbox.install()  # LECTERN_SES_REJECT: this SES refuses those recipients, like SES's sandbox
    try:
        server = make_server(args.host, args.port)
    except OSError as exc:
        print(f"error: {exc}", flush=True)
        return 1
    parent = os.getppid()

    def watch_parent() -> None:  # never outlive the stack, even a killed one
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the stack decides
    print(f"listening {args.host}:{server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())

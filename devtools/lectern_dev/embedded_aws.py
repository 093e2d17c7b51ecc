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
import traceback
from typing import Any, Callable

MAILBOX_PATH = "/_lectern/mailbox.json"
# Set (to anything) in the embedded AWS's environment: every DynamoDB request takes moto's own server
# path (Flask app, generic serializer), as the tests that compare both paths need.
MOTO_PATH_VARIABLE = "LECTERN_AWS_MOTO_PATH"


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
    # Wrappers installed after this one bind their arguments by moto's signature (inspect follows it).
    query.__wrapped__ = walk_everything
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


def index_queries_read_their_items() -> None:
    """moto answers a Query on a secondary index by sorting every item of the table (by its keys,
    comparing DynamoTypes) and then keeping those with the queried index key: at 400 orders, a
    tenth of a second per query. The same query is handed only the items that can match: those
    whose index hash attribute holds the queried string (any item, for a non-string key), in the
    order moto's walk gives them; moto then applies all its own conditions, sorting and paging to
    them. Installed after `index_queries_by_partition` (it wraps that wrapper). Embedded AWS process
    only (requests run one at a time, see LocalAwsApp)."""
    import inspect

    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_index_items", False):
        return
    query_table = Table.query
    signature = inspect.signature(query_table)

    def order(item):  # moto's all_items() order
        return (item.hash_key, item.range_key) if item.range_key else item.hash_key

    def query(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs).arguments
        conditions = bound.get("hash_key_conditions")
        if bound.get("index_name") is None or not conditions:
            return query_table(self, *args, **kwargs)
        strings = [(name, value.value) for name, value in conditions if value.type == "S"]

        def may_match(item) -> bool:
            for name, wanted in strings:
                held = item.attrs.get(name)
                if held is None or held.type != "S" or held.value != wanted:
                    return False
            return True

        if self.range_key_attr:
            items = [item for partition in self.items.values() for item in partition.values() if may_match(item)]
        else:
            items = [item for item in self.items.values() if may_match(item)]
        items.sort(key=order)
        self.all_items = lambda: items  # this call only: moto's index query walks all_items()
        try:
            return query_table(self, *args, **kwargs)
        finally:
            del self.all_items

    query._index_items = True
    query._by_partition = True
    query.__wrapped__ = query_table
    Table.query = query


def validators_visit_faster() -> None:
    """moto's validators (ten per UpdateItem) walk the update's tree asking, at every node, isinstance
    against its abstract node classes (ABCMeta's slow check) and rebuilding their node-type table:
    most of an UpdateItem's time. The same walk, the same hooks, the same rewrites, with each
    validator's answer per node class remembered (isinstance depends on the class alone: moto
    registers no virtual subclasses)."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    if getattr(DepthFirstTraverser.traverse_node_recursively, "_faster", False):
        return
    is_node: dict[type, bool] = {}

    def processor_for(self, cls):
        table = self.__dict__.get("_processor_by_class")
        if table is None:
            table = self.__dict__["_processor_by_class"] = {}
        try:
            return table[cls]
        except KeyError:
            pass
        found = None
        for class_key in self._processing_map():
            if issubclass(cls, class_key):
                found = class_key
                break
        table[cls] = found
        return found

    def traverse_node_recursively(self, node, child_id=-1):
        cls = type(node)
        node_like = is_node.get(cls)
        if node_like is None:
            node_like = is_node[cls] = isinstance(node, Node)
        if node_like:
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            if processor_for(self, cls) is not None:
                node = self.process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    traverse_node_recursively._faster = True
    DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively


def expressions_parsed_once(limit: int = 1024) -> None:
    """moto parses every UpdateExpression twice per UpdateItem (once to validate the request, once to
    apply it), lexes every ConditionExpression twice, deep-copies the parsed update for its
    validator, and its validators rebuild their node-type table at every node they visit: most of its
    time in an UpdateItem. The same work, done once:
    - an UpdateExpression's tree depends on its text alone: parsed once per text (an invalid one is
      parsed, and refused, every time); moto's validator still gets its own copy of it (the
      validator rewrites its copy), made from the tree's pickle rather than by deepcopy;
    - a ConditionExpression's tokens depend on its text alone: lexed once per text (names and values
      are still resolved per request, from the tokens);
    - a validator's table of the node types it processes is built once per validator, not per node.
    Embedded AWS process only; up to `limit` texts of each kind are kept."""
    import pickle
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    if getattr(UpdateExpressionParser.make, "_parsed_once", False):
        return
    parse_update = UpdateExpressionParser.make.__func__
    trees: dict[str, Any] = {}

    def make(cls, expression_str):
        if cls is not UpdateExpressionParser or not isinstance(expression_str, str):
            return parse_update(cls, expression_str)
        tree = trees.get(expression_str)
        if tree is None:
            tree = parse_update(cls, expression_str)
            blob = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
            # copy.deepcopy(tree), as moto's validator makes it, is this tree's own copy: unpickled.
            tree.__deepcopy__ = lambda memo, blob=blob: pickle.loads(blob)
            tree.expression_text = expression_str  # (the original's alone: update_checks_once reads it)
            if len(trees) >= limit:
                trees.clear()
            trees[expression_str] = tree
        return tree

    make._parsed_once = True
    UpdateExpressionParser.make = classmethod(make)

    lex = ConditionExpressionParser._lex_condition_expression
    tokens: dict[str, tuple] = {}

    def lex_once(self):
        expression = self.condition_expression
        lexed = tokens.get(expression)
        if lexed is None:
            lexed = tuple(lex(self))  # (tokens are namedtuples, never changed by the parser)
            if len(tokens) >= limit:
                tokens.clear()
            tokens[expression] = lexed
        return deque(lexed)

    ConditionExpressionParser._lex_condition_expression = lex_once

    def nodes_to_be_processed(self):
        types = self.__dict__.get("_node_types")
        if types is None:
            types = self.__dict__["_node_types"] = tuple(self._processing_map().keys())
        return types

    def process(self, node):
        processors = self.__dict__.get("_node_processors")
        if processors is None:
            processors = self.__dict__["_node_processors"] = tuple(self._processing_map().items())
        for class_key, processor in processors:
            if isinstance(node, class_key):
                return processor(node)
        return None

    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed
    DepthFirstTraverser.process = process


def update_checks_once(limit: int = 4096) -> None:
    """moto validates an UpdateExpression with ten walks of its tree per UpdateItem (twice for an item
    that does not exist yet), and the first three only check the expression against its names and the
    table's key: at most one SET, REMOVE, ADD clause each, no overlapping paths, no key attribute
    updated. Those three call `find_clauses` on every sub-expression (quadratic in the expression) and
    are most of a validation. Their verdict depends on the expression's text, its attribute names and
    the table's key alone: once an expression passed them with those, they are not walked again (the
    other seven, which read and rewrite against the item, always are). An expression that fails them
    fails every time. Installed after `expressions_parsed_once` (which marks each parsed tree with its
    text). Embedded AWS process only (requests run one at a time, see LocalAwsApp)."""
    from moto.dynamodb.parsing.validators import (
        ActionCountValidator, OverlappingPathsValidator, UpdateExpressionValidator, UpdateHashRangeKeyValidator,
    )

    if getattr(UpdateExpressionValidator.validate, "_checks_once", False):
        return
    item_independent = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)
    initialise = UpdateExpressionValidator.__init__
    passed: set = set()

    def __init__(self, expression, *args, **kwargs):
        initialise(self, expression, *args, **kwargs)
        text = getattr(expression, "expression_text", None)
        names = self.expression_attribute_names or {}
        self.checks_key = None if text is None else (
            text, tuple(sorted(names.items())), tuple(self.table.table_key_attrs))

    def validate(self):
        key = self.checks_key
        known = key is not None and key in passed
        node = self.node_to_validate
        for processor in self.processors:
            if isinstance(processor, item_independent):
                if known:
                    continue
            elif key is not None and not known:
                if len(passed) >= limit:
                    passed.clear()
                passed.add(key)  # the item-independent checks (first in moto's list) all passed
                known = True
            node = processor.traverse(node)
        return node

    validate._checks_once = True
    UpdateExpressionValidator.__init__ = __init__
    UpdateExpressionValidator.validate = validate


def conditions_parsed_once(limit: int = 4096) -> None:
    """moto parses every ConditionExpression twice per request (once to check the names and values it
    uses, once to evaluate it), from its tokens to a tree of operators, whose leaves hold the resolved
    names and values. That tree depends on the text, the names and the values alone, and evaluating it
    changes nothing in it: kept per (text, names, values), so a conditional write with the same
    condition and values as an earlier one (PynamoDB names them `#0`, `:0`... in order) is parsed
    once. An expression that fails to parse fails every time (nothing is kept). Embedded AWS process
    only; up to `limit` conditions are kept."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    if getattr(ConditionExpressionParser.parse, "_parsed_once", False):
        return
    parse_condition = ConditionExpressionParser.parse
    trees: dict[tuple, tuple] = {}

    def parse(self):
        try:
            key = (self.condition_expression, json.dumps(self.expression_attribute_names, sort_keys=True),
                   json.dumps(self.expression_attribute_values, sort_keys=True))
        except (TypeError, ValueError):  # not what a JSON request holds: moto's own parse
            return parse_condition(self)
        kept = trees.get(key)
        if kept is None:
            names_before, values_before = len(self.expr_attr_names_found), len(self.expr_attr_values_found)
            tree = parse_condition(self)
            kept = (tree, tuple(self.expr_attr_names_found[names_before:]),
                    tuple(self.expr_attr_values_found[values_before:]))
            if len(trees) >= limit:
                trees.clear()
            trees[key] = kept
            return tree
        tree, names_found, values_found = kept
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return tree

    parse._parsed_once = True
    ConditionExpressionParser.parse = parse


def moto_modules_listed_once() -> None:
    """moto's dispatcher asks, for every request it routes (SES's here; DynamoDB's have their own
    path), whether the host names one of moto's service folders: a listing of moto's package folder
    and an isdir for each of its ~170 entries, about a fifth of an SES send's CPU. The folder does not
    change while the process runs: it is listed once."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    listed = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return listed

    list_of_moto_modules.listed_once = True
    backends.list_of_moto_modules = list_of_moto_modules


def moto_models_untracked() -> None:
    """moto keeps every model object it ever makes: `BaseModel.__new__` appends each one to its class's
    `instances_tracked`, for its server's dashboard, which the local stack does not use. So every DynamoDB
    item ever put or copied (each transaction's back-up included) stayed alive with its attribute values,
    however often it was replaced or deleted: memory that only grows, and more for every full collection
    of the collector to walk (the benchmark's own moto held two million items, 26 million objects, after
    one restore run). Objects are now made without being tracked, and live as long as moto refers to them."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "untracked", False):
        return

    def __new__(cls, *_args, **_kwargs):
        return object.__new__(cls)

    __new__.untracked = True
    BaseModel.__new__ = staticmethod(__new__)


class _Unsupported(Exception):
    """A shape (or a value) the direct JSON writer does not handle: moto's own serializer answers."""


def _output_writer(operation_model) -> Callable[[Any], dict] | None:
    """moto's JSON ResponseSerializer for one operation's output, compiled once, for results made of
    dicts, lists and scalars (what DynamoDB's handlers return). The same walk as moto's: each member
    of a structure, in the shape's order, picked from the result under the keys moto's
    XFormedAttributePicker would try (computed by that picker, on a dict), written when not None;
    strings str()-ed, blobs base64-encoded, integers int(), floats float(). A shape with anything
    else (timestamps, documents, renamed members) is not compiled: None, moto serializes it. A value
    of an unexpected type raises _Unsupported at run time, and moto serializes that result."""
    import base64
    from enum import Enum

    from moto.core.serialize import AttributePickerContext, XFormedAttributePicker

    picker = XFormedAttributePicker(response_transformers={})
    service_model = operation_model.service_model
    compiled: dict[str, Callable] = {}

    def compile_shape(shape) -> Callable:
        # Writers take (out, value, key) and do what moto's `_serialize(out, value, shape, key)` does.
        if shape.serialization.get("name") or getattr(shape, "is_document_type", False):
            raise _Unsupported(shape.name)
        kind = shape.type_name
        if kind in ("structure", "map", "list"):
            if shape.name in compiled:  # recursive shapes (AttributeValue) by name
                return lambda out, value, key: compiled[shape.name](out, value, key)
            compiled[shape.name] = None  # being compiled
        if kind == "structure":
            members = []
            for member_key, member_shape in shape.members.items():
                member_shape.parent = shape  # as moto's serializer sets it, for its aliases
                context = AttributePickerContext(obj={}, key=member_key, shape=member_shape,
                                                 operation_model=operation_model, service_model=service_model)
                keys = tuple(dict.fromkeys(picker.get_possible_keys(context)))
                if any("." in k for k in keys):
                    raise _Unsupported(member_key)
                members.append((member_key, keys, compile_shape(member_shape)))

            def write_structure(out, value, key):
                if value is None:
                    return
                if type(value) is not dict:
                    raise _Unsupported(type(value).__name__)
                wrapper = {} if key else out
                for member_key, keys, write in members:
                    for k in keys:
                        if k in value:
                            member_value = value[k]
                            break
                    else:
                        continue
                    if member_value is not None:
                        write(wrapper, member_value, member_key)
                if key:
                    out[key] = wrapper
            writer = write_structure
        elif kind == "map":
            write_value = compile_shape(shape.value)

            def write_map(out, value, key):
                if type(value) is not dict:
                    raise _Unsupported(type(value).__name__)
                out[key] = target = {}
                for sub_key, sub_value in value.items():
                    write_value(target, sub_value, sub_key)
            writer = write_map
        elif kind == "list":
            member_name = shape.member.name
            write_member = compile_shape(shape.member)

            def write_list(out, value, key):
                if type(value) not in (list, tuple):
                    raise _Unsupported(type(value).__name__)
                items = []
                for item in value:
                    wrapper = {}
                    write_member(wrapper, item, member_name)
                    items.append(wrapper.get(member_name, item))
                out[key] = items
            writer = write_list
        elif kind == "string":
            def writer(out, value, key):
                if isinstance(value, Enum):
                    value = value.value
                out[key] = str(value) if value not in [None, {}, []] else value
        elif kind == "blob":
            def writer(out, value, key):
                if isinstance(value, str):
                    value = value.encode("utf-8")
                elif not isinstance(value, bytes):
                    raise _Unsupported(type(value).__name__)
                out[key] = base64.b64encode(value).strip().decode("utf-8")
        elif kind in ("integer", "long"):
            def writer(out, value, key):
                out[key] = int(value)
        elif kind in ("float", "double"):
            def writer(out, value, key):
                out[key] = float(value)
        elif kind == "boolean":
            def writer(out, value, key):
                out[key] = value
        else:
            raise _Unsupported(kind)
        if kind in ("structure", "map", "list"):
            compiled[shape.name] = writer
        return writer

    shape = operation_model.output_shape
    if shape is None:
        return lambda result: {}
    try:
        write = compile_shape(shape)
    except _Unsupported:
        return None

    def serialize(result) -> dict:
        out: dict = {}
        write(out, result, "")
        return out
    return serialize


class DynamoDBDirect:
    """DynamoDB's JSON protocol answered by moto's own DynamoHandler (its validation, its backend, its
    errors), without the generic layers moto's server puts around it for every service: the Flask
    app and werkzeug request objects, the per-request `inspect.getmembers` of the handler class, the
    form/querystring guessing of `setup_class`, and the shape-walking response serializer (a direct
    JSON writer, `_output_writer`, does its walk; moto's serializer still writes errors and anything
    the writer does not handle). Same status, headers and body as moto's path
    (tests/devtools/test_embedded_aws.py compares them). Only while moto's IAM authentication is off (it is,
    unless INITIAL_NO_AUTH_ACTION_COUNT is set): otherwise None, and moto's path answers."""

    def __init__(self):
        import functools

        import moto.core.responses as core_responses
        from moto import settings
        from moto.core.parse import PROTOCOL_PARSERS
        from moto.core.request import determine_request_protocol
        from moto.core.responses import ActionResult
        from moto.core.utils import get_service_model
        from moto.dynamodb.models.utilities import dynamo_to_dict  # noqa: F401 (DynamoResult's)
        from moto.dynamodb.responses import DynamoHandler, DynamoResult
        from moto.iam.models import mark_account_as_visited
        from moto.utilities.utils import get_partition

        self.enabled = settings.INITIAL_NO_AUTH_ACTION_COUNT == float("inf")
        self.service_model = get_service_model("dynamodb")
        self._operations = frozenset(self.service_model.operation_names)
        writers: dict[str, Callable | None] = {}
        plain_results = (ActionResult, DynamoResult)
        settings_module = settings

        # The handler's methods never change once the server runs: list them once per class.
        if not getattr(core_responses.method_names_from_class, "_cached", False):
            cached = functools.lru_cache(maxsize=None)(core_responses.method_names_from_class)
            cached._cached = True
            core_responses.method_names_from_class = cached

        class Handler(DynamoHandler):
            def serialized(self, action_result):
                if type(action_result) in plain_results and not self.RESPONSE_KEY_PATH_TO_TRANSFORMER:
                    action = self._get_action()
                    if action not in writers:
                        writers[action] = _output_writer(self.service_model_.operation_model(action))
                    write = writers[action]
                    if write is not None:
                        try:
                            body = write(action_result.result)
                        except _Unsupported:
                            body = None
                        if body is not None:
                            text = json.dumps(body, indent=4 if settings_module.PRETTIFY_RESPONSES else None)
                            operation = self.service_model_.operation_model(action)
                            headers = {"Content-Type": content_type}
                            headers.update(self.response_headers)
                            return operation.http.get("responseCode", 200), headers, text
                return super().serialized(action_result)

        json_version = self.service_model.metadata.get("jsonVersion", "1.0")
        content_type = f"application/x-amz-json-{json_version}"
        Handler.service_model_ = self.service_model
        self._handler_class = Handler
        self._parsers = PROTOCOL_PARSERS
        self._protocol = determine_request_protocol
        self._visited = mark_account_as_visited
        self._partition = get_partition

    def serves(self, target: str) -> bool:
        """A DynamoDB operation moto's model knows (anything else is left to moto's path)."""
        prefix, _, operation = target.partition(".")
        return prefix.startswith("DynamoDB_") and operation in self._operations

    def answer(self, body: bytes, headers, url: str) -> tuple[int, dict, str]:
        """One request (its raw body, its headers: a case-insensitive mapping) → status, headers, body."""
        from urllib.parse import urlparse

        handler = self._handler_class()
        handler.is_werkzeug_request = True
        handler.method = "POST"
        handler.uri = url
        handler.parsed_url = urlparse(url)
        handler.path = handler.raw_path = handler.parsed_url.path
        handler.headers = headers
        handler.raw_body = body
        handler.body = body.decode("utf-8")
        handler.querystring = handler.data = {}
        handler.uri_match = {}
        handler.response_headers = {"server": "amazon.com"}
        handler.region = handler.get_region_from_url(handler, url)
        handler.partition = self._partition(handler.region)
        action = handler._get_action()
        operation = self.service_model.operation_model(action)
        protocol = self._protocol(self.service_model, headers.get("Content-Type"))
        parser = self._parsers[protocol](operation, map_type=handler.PROTOCOL_PARSER_MAP_TYPE)
        handler.params = parser.parse({"method": "POST", "values": {}, "headers": headers, "body": body,
                                       "url_path": handler.path, "url_params": {}})
        handler.access_key = handler.get_access_key()
        handler.current_account = handler.get_current_account()
        self._visited(account_id=handler.current_account, access_key=handler.access_key,
                      service=handler.service_name, region=handler.region)
        return handler.call_action()


_plain_headers_here = threading.local()


def plain_headers_parsed_directly() -> None:
    """http.server reads a request's headers with `http.client.parse_headers`, which hands them to the
    email package's feed parser: about a sixth of the embedded AWS's time per DynamoDB call. For
    header lines of the ordinary form (`Name: value`, no continuation line) the result is the same
    message built directly: the fields in order, each value as compat32 reads it (leading blanks
    stripped, the line ending dropped), an empty payload. Any other line, and any thread that is not
    serving DynamoDB here (`request_handler` sets the flag), gets the email parser as before.
    Embedded AWS process (and its tests) only."""
    import email.parser
    import http.client
    import re

    if getattr(http.client.parse_headers, "_plain_directly", False):
        return
    plain_header = re.compile(r"([\x21-\x39\x3b-\x7e]+):(.*)", re.DOTALL)  # a line the email parser reads as one field
    parse_headers = http.client.parse_headers

    def parse(fp, _class=http.client.HTTPMessage):
        if not getattr(_plain_headers_here, "on", False):
            return parse_headers(fp, _class=_class)
        lines = http.client._read_headers(fp)  # (its limits: line length, number of headers)
        message = _class()
        fields = []
        for line in lines[:-1] if lines and lines[-1] in (b"\r\n", b"\n") else lines:  # (the blank line ends them)
            match = plain_header.fullmatch(line.decode("iso-8859-1"))
            if match is None:
                return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
            fields.append((match.group(1), match.group(2).lstrip(" \t").rstrip("\r\n")))
        message._headers = fields
        message.set_payload("")
        return message

    parse._plain_directly = True
    http.client.parse_headers = parse


def request_handler(app: LocalAwsApp, direct: DynamoDBDirect | None):
    """moto's werkzeug request handler, with DynamoDB requests answered by `direct` straight from the
    parsed request (one at a time, under the app's lock), their response written in one piece.
    Anything else, or a DynamoDB request in a form `direct` leaves to moto (chunked, compressed,
    100-continue), goes through the WSGI app, keeping the client's connection as AWS's endpoints do
    (SES's sends, two per purchase, each cost a connection and a server thread; KeepAliveHandler)."""
    from http import HTTPStatus

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.http import http_date

    from lectern_dev.http_servers import KeepAliveHandler

    server_header = None
    date_header = (0, "")  # (second, its HTTP date)
    if direct is not None:
        plain_headers_parsed_directly()

    class Handler(KeepAliveHandler, MotoRequestHandler):  # (moto's make_environ, the keep-alive run_wsgi)
        def parse_request(self) -> bool:
            if direct is None:
                return super().parse_request()
            _plain_headers_here.on = True
            try:
                return super().parse_request()
            finally:
                _plain_headers_here.on = False

        def run_wsgi(self) -> None:
            nonlocal server_header, date_header
            headers = self.headers
            length = headers.get("Content-Length")
            if (direct is None or self.command != "POST" or length is None
                    or not direct.serves(headers.get("X-Amz-Target", ""))
                    or "Transfer-Encoding" in headers or "Expect" in headers
                    or headers.get("Content-Encoding", "identity") != "identity"):
                return super().run_wsgi()
            body = self.rfile.read(int(length))
            url = f"http://{headers.get('Host') or self.server.server_address[0]}{self.path}"
            cors = True  # moto's app has CORS on every answer it makes
            with app.lock:
                try:
                    status, response_headers, text = direct.answer(body, headers, url)
                except Exception:  # noqa: BLE001 - what werkzeug answers for an error moto's app did not expect
                    from werkzeug.exceptions import InternalServerError

                    traceback.print_exc()
                    status, text, cors = 500, InternalServerError().get_body(), False
                    response_headers = {"Content-Type": "text/html; charset=utf-8"}
            data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
            if server_header is None:
                server_header = self.version_string()
            try:
                phrase = HTTPStatus(int(status)).phrase
            except ValueError:
                phrase = ""
            now = int(time.time())
            if date_header[0] != now:
                date_header = (now, http_date(now))
            lines = [f"{self.protocol_version} {status} {phrase}", f"Server: {server_header}",
                     f"Date: {date_header[1]}"]
            names = set()
            for name, value in response_headers.items():
                lines.append(f"{name}: {value}")
                names.add(name.lower())
            if "content-type" not in names:
                lines.append("Content-Type: text/html; charset=utf-8")
            lines.append(f"Content-Length: {len(data)}")
            if cors:
                lines.append("Access-Control-Allow-Origin: *")
            # No `Connection: close` (werkzeug's WSGI path sends it after every answer): the client keeps
            # its connection, as with DynamoDB, instead of a new connection (and server thread) per call.
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    return Handler


def make_server(host: str, port: int):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server as werkzeug_server

    index_queries_by_partition()
    transactions_back_up_their_items()
    moto_models_untracked()
    app = LocalAwsApp(DomainDispatcherApplication(create_backend_app))
    direct = None
    if not os.environ.get(MOTO_PATH_VARIABLE):
        index_queries_read_their_items()
        validators_visit_faster()
        expressions_parsed_once()
        update_checks_once()
        conditions_parsed_once()
        moto_modules_listed_once()
        direct = DynamoDBDirect()
        if not direct.enabled:
            direct = None
    return werkzeug_server(host, port, app, threaded=True, request_handler=request_handler(app, direct))


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
    from lectern_dev import server_gc

    server_gc.settle_after_start_up()
    print(f"listening {args.host}:{server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())

"""The embedded AWS answers like DynamoDB, and a Query on a table's key reads only its partition."""
import base64
import http.client
import json
import os
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from lectern_dev.embedded_aws import MOTO_PATH_VARIABLE, EmbeddedAws


@pytest.fixture(scope="module")
def dynamodb():
    aws = EmbeddedAws()
    aws.start()
    host, port = aws.get_host_and_port()
    client = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    client.create_table(TableName="T", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                        GlobalSecondaryIndexes=[{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "ALL"}}])
    yield client
    aws.stop()


def test_a_query_answers_its_partition_sorted_filtered_and_paged(dynamodb):
    for pk in ("a", "b"):
        for i in range(5):
            dynamodb.put_item(TableName="T", Item={"pk": {"S": pk}, "sk": {"S": f"{i:02}"}, "g": {"S": f"g{pk}"},
                                                   "n": {"N": str(i)}})
    answer = dynamodb.query(TableName="T", KeyConditionExpression="pk = :p AND sk >= :s",
                            ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "02"}}, ScanIndexForward=False)
    assert [i["sk"]["S"] for i in answer["Items"]] == ["04", "03", "02"]
    page = dynamodb.query(TableName="T", KeyConditionExpression="pk = :p", Limit=2,
                          ExpressionAttributeValues={":p": {"S": "b"}})
    assert len(page["Items"]) == 2 and page["LastEvaluatedKey"]["sk"]["S"] == "01"
    filtered = dynamodb.query(TableName="T", KeyConditionExpression="pk = :p", FilterExpression="n > :n",
                              ExpressionAttributeValues={":p": {"S": "b"}, ":n": {"N": "2"}})
    assert [i["n"]["N"] for i in filtered["Items"]] == ["3", "4"]
    assert dynamodb.query(TableName="T", KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "nobody"}})["Items"] == []
    by_index = dynamodb.query(TableName="T", IndexName="gsi1", KeyConditionExpression="g = :g",
                              ExpressionAttributeValues={":g": {"S": "ga"}})
    assert len(by_index["Items"]) == 5


def test_a_query_costs_the_same_whatever_the_size_of_the_table(dynamodb):
    def timed() -> float:
        started = time.perf_counter()
        for _ in range(20):
            dynamodb.query(TableName="T", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
        return time.perf_counter() - started

    small = timed()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: dynamodb.put_item(TableName="T", Item={"pk": {"S": f"x{i}"}, "sk": {"S": "1"}}),
                      range(3000)))
    large = timed()
    # Walking 3,000 more items per query would cost several times more; by partition it is the same work.
    assert large < small * 2.5 + 0.2, (small, large)


def test_an_index_query_costs_the_same_whatever_the_size_of_the_table(dynamodb):
    for i in range(5):
        dynamodb.put_item(TableName="T", Item={"pk": {"S": f"idx{i}"}, "sk": {"S": "1"}, "g": {"S": "wanted"}})

    def timed() -> float:
        started = time.perf_counter()
        for _ in range(20):
            found = dynamodb.query(TableName="T", IndexName="gsi1", KeyConditionExpression="g = :g",
                                   ExpressionAttributeValues={":g": {"S": "wanted"}})["Items"]
            assert sorted(i["pk"]["S"] for i in found) == [f"idx{i}" for i in range(5)]
        return time.perf_counter() - started

    small = timed()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: dynamodb.put_item(TableName="T", Item={"pk": {"S": f"z{i}"}, "sk": {"S": "1"},
                                                                       "g": {"S": f"other{i % 50}"}}),
                      range(3000)))
    large = timed()
    # Sorting every item of the table for each query would cost several times more.
    assert large < small * 2.5 + 0.2, (small, large)


def test_concurrent_conditional_writes_are_atomic(dynamodb):
    """Two hundred conditional increments from many threads: none lost, none applied twice."""
    dynamodb.put_item(TableName="T", Item={"pk": {"S": "counter"}, "sk": {"S": "1"}, "v": {"N": "0"}})

    def bump(_):
        while True:
            current = dynamodb.get_item(TableName="T", Key={"pk": {"S": "counter"}, "sk": {"S": "1"}},
                                        ConsistentRead=True)["Item"]["v"]["N"]
            try:
                dynamodb.update_item(TableName="T", Key={"pk": {"S": "counter"}, "sk": {"S": "1"}},
                                     UpdateExpression="SET v = :new", ConditionExpression="v = :old",
                                     ExpressionAttributeValues={":new": {"N": str(int(current) + 1)},
                                                                ":old": {"N": current}})
                return
            except dynamodb.exceptions.ConditionalCheckFailedException:
                continue

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(200)))
    final = dynamodb.get_item(TableName="T", Key={"pk": {"S": "counter"}, "sk": {"S": "1"}})["Item"]["v"]["N"]
    assert final == "200"


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb):
    """All or nothing, whatever the position of the failing condition."""
    dynamodb.put_item(TableName="T", Item={"pk": {"S": "tx"}, "sk": {"S": "kept"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName="T", Item={"pk": {"S": "guard"}, "sk": {"S": "1"}})
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "T", "Item": {"pk": {"S": "tx"}, "sk": {"S": "new"}}}},
            {"Update": {"TableName": "T", "Key": {"pk": {"S": "tx"}, "sk": {"S": "kept"}},
                        "UpdateExpression": "SET v = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": "T", "Key": {"pk": {"S": "guard"}, "sk": {"S": "1"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    items = dynamodb.query(TableName="T", KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": "tx"}})["Items"]
    assert [(i["sk"]["S"], i["v"]["N"]) for i in items] == [("kept", "1")]
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "T", "Item": {"pk": {"S": "tx"}, "sk": {"S": "new"}}}},
        {"Update": {"TableName": "T", "Key": {"pk": {"S": "tx"}, "sk": {"S": "kept"}},
                    "UpdateExpression": "SET v = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
    ])
    items = dynamodb.query(TableName="T", KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": "tx"}})["Items"]
    assert sorted((i["sk"]["S"], i.get("v", {}).get("N")) for i in items) == [("kept", "2"), ("new", None)]


def test_a_transaction_costs_the_same_whatever_the_size_of_the_table(dynamodb):
    dynamodb.create_table(TableName="Grows", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}])

    def timed() -> float:
        started = time.perf_counter()
        for i in range(20):
            dynamodb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "Grows", "Item": {"pk": {"S": "txs"}, "sk": {"S": f"{i}"}}}}])
        return time.perf_counter() - started

    small = timed()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: dynamodb.put_item(TableName="Grows", Item={"pk": {"S": f"y{i}"}, "sk": {"S": "1"},
                                                                           "pad": {"S": "p" * 200}}),
                      range(3000)))
    large = timed()
    assert large < small * 2.5 + 0.2, (small, large)


# ---------------------------------------------------------------- the direct DynamoDB path against moto's own

def _start(moto_path: bool) -> EmbeddedAws:
    previous = os.environ.pop(MOTO_PATH_VARIABLE, None)
    if moto_path:
        os.environ[MOTO_PATH_VARIABLE] = "1"
    try:
        aws = EmbeddedAws()
        aws.start()
    finally:
        os.environ.pop(MOTO_PATH_VARIABLE, None)
        if previous is not None:
            os.environ[MOTO_PATH_VARIABLE] = previous
    return aws


@pytest.fixture(scope="module")
def both_paths():
    direct, moto = _start(moto_path=False), _start(moto_path=True)
    yield direct, moto
    direct.stop()
    moto.stop()


def _call(aws: EmbeddedAws, operation: str, body: Any, connection=None) -> tuple[int, dict, bytes]:
    """A DynamoDB call as botocore sends it (JSON 1.0, signed-looking), answered raw."""
    host, port = aws.get_host_and_port()
    connection = connection or http.client.HTTPConnection(host, port, timeout=10)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection.request("POST", "/", body=payload, headers={
        "X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host;x-amz-target, Signature=0"})
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


TABLE = {"TableName": "Same", "BillingMode": "PAY_PER_REQUEST",
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
         "GlobalSecondaryIndexes": [{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}]}
RICH = {"pk": {"S": "p1"}, "sk": {"S": "a"}, "g": {"S": "G"}, "n": {"N": "1.50"}, "b": {"B": _b64(b"\x00\xffbin")},
        "bs": {"BS": [_b64(b"one"), _b64(b"\x01\x02")]}, "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2.5"]},
        "m": {"M": {"inner": {"L": [{"S": "l0"}, {"N": "7"}, {"NULL": True}, {"BOOL": False},
                                    {"M": {"deep": {"B": _b64(b"deep")}}}]}}},
        "t": {"BOOL": True}, "e": {"S": ""}}
KEY = {"pk": {"S": "p1"}, "sk": {"S": "a"}}
SCRIPT: list[tuple[str, Any]] = [
    ("CreateTable", TABLE),
    ("ListTables", {}),
    ("PutItem", {"TableName": "Same", "Item": RICH}),
    ("PutItem", {"TableName": "Same", "Item": {**RICH, "sk": {"S": "b"}}, "ReturnValues": "ALL_OLD",
                 "ReturnConsumedCapacity": "TOTAL"}),
    ("PutItem", {"TableName": "Same", "Item": {**RICH, "n": {"N": "2"}}, "ReturnValues": "ALL_OLD"}),
    ("PutItem", {"TableName": "Same", "Item": RICH, "ConditionExpression": "attribute_not_exists(pk)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("PutItem", {"TableName": "Same", "Item": RICH, "ConditionExpression": "attribute_not_exists(pk)"}),
    ("PutItem", {"TableName": "Nowhere", "Item": RICH}),
    ("PutItem", {"TableName": "Same", "Item": {"pk": {"S": ""}, "sk": {"S": "x"}}}),
    ("GetItem", {"TableName": "Same", "Key": KEY}),
    ("GetItem", {"TableName": "Same", "Key": KEY, "ConsistentRead": True, "ReturnConsumedCapacity": "INDEXES"}),
    ("GetItem", {"TableName": "Same", "Key": {"pk": {"S": "p1"}, "sk": {"S": "none"}}}),
    ("GetItem", {"TableName": "Same", "Key": KEY, "ProjectionExpression": "#m.inner[4], b, ns",
                 "ExpressionAttributeNames": {"#m": "m"}}),
    ("GetItem", {"TableName": "Same", "Key": KEY, "ExpressionAttributeNames": {"#unused": "x"}}),
    ("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET n = n + :one, #s = :s ADD c :one "
                    "REMOVE e DELETE ss :x", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": {"S": "paid"}, ":x": {"SS": ["x"]}},
                    "ReturnValues": "ALL_NEW"}),
    ("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET #s = :s",
                    "ConditionExpression": "#s = :old", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "refunded"}, ":old": {"S": "paid"}},
                    "ReturnValues": "UPDATED_OLD"}),
    ("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET #s = :s",
                    "ConditionExpression": "#s = :old", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "paid"}, ":old": {"S": "paid"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    ("UpdateItem", {"TableName": "Same", "Key": {"pk": {"S": "p2"}, "sk": {"S": "new"}},
                    "UpdateExpression": "SET v = if_not_exists(v, :z), l = list_append(if_not_exists(l, :e), :l)",
                    "ExpressionAttributeValues": {":z": {"N": "0"}, ":e": {"L": []}, ":l": {"L": [{"S": "x"}]}},
                    "ReturnValues": "UPDATED_NEW"}),
    ("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET a = :a",
                    "ExpressionAttributeValues": {":a": {"S": "1"}, ":unused": {"S": "2"}}}),
    ("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET pk = :a",
                    "ExpressionAttributeValues": {":a": {"S": "1"}}}),
    ("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET n = n + :a",
                    "ExpressionAttributeValues": {":a": {"S": "text"}}}),
    # One text, other names: the checks that depend on the text, names and key alone (update_checks_once).
    *[("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET #a = :a, #b = :b",
                      "ExpressionAttributeNames": {"#a": a, "#b": b},
                      "ExpressionAttributeValues": {":a": {"S": "1"}, ":b": {"S": "2"}}})
      for a, b in (("note", "tag"), ("note", "tag"), ("sk", "tag"), ("note", "note"), ("note", "tag"))],
    *[("UpdateItem", {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET a = :a SET b = :a",
                      "ExpressionAttributeValues": {":a": {"S": "1"}}})] * 2,
    ("Query", {"TableName": "Same", "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": "p1"}}}),
    ("Query", {"TableName": "Same", "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "Limit": 1,
               "ScanIndexForward": False, "ExpressionAttributeValues": {":p": {"S": "p1"}, ":s": {"S": ""}},
               "ReturnConsumedCapacity": "TOTAL"}),
    ("Query", {"TableName": "Same", "KeyConditionExpression": "pk = :p", "FilterExpression": "n > :n",
               "Select": "COUNT", "ExpressionAttributeValues": {":p": {"S": "p1"}, ":n": {"N": "1"}}}),
    ("Query", {"TableName": "Same", "IndexName": "gsi1", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "G"}}}),
    ("PutItem", {"TableName": "Same", "Item": {"pk": {"S": "p3"}, "sk": {"S": "a"}, "g": {"S": "H"}}}),
    ("PutItem", {"TableName": "Same", "Item": {"pk": {"S": "p0"}, "sk": {"S": "z"}, "g": {"S": "G"}}}),
    ("Query", {"TableName": "Same", "IndexName": "gsi1", "KeyConditionExpression": "g = :g", "Limit": 2,
               "ScanIndexForward": False, "ExpressionAttributeValues": {":g": {"S": "G"}}}),
    ("Query", {"TableName": "Same", "IndexName": "gsi1", "KeyConditionExpression": "g = :g",
               "FilterExpression": "attribute_exists(b)", "ExpressionAttributeValues": {":g": {"S": "G"}}}),
    ("Query", {"TableName": "Same", "IndexName": "gsi1", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "nobody"}}}),
    ("Query", {"TableName": "Same", "IndexName": "gsi1", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"N": "1"}}}),
    ("Query", {"TableName": "Same", "IndexName": "nope", "KeyConditionExpression": "g = :g",
               "ExpressionAttributeValues": {":g": {"S": "G"}}}),
    ("Query", {"TableName": "Same", "KeyConditionExpression": "sk = :p",
               "ExpressionAttributeValues": {":p": {"S": "p1"}}}),
    ("Query", {"TableName": "Same", "KeyConditionExpression": "pk = :p", "ExclusiveStartKey": KEY,
               "ExpressionAttributeValues": {":p": {"S": "p1"}}}),
    ("Scan", {"TableName": "Same"}),
    ("Scan", {"TableName": "Same", "Limit": 2, "FilterExpression": "attribute_exists(b)"}),
    ("BatchWriteItem", {"RequestItems": {"Same": [{"PutRequest": {"Item": {"pk": {"S": "bw"}, "sk": {"S": str(i)}}}}
                                                  for i in range(3)]}}),
    ("BatchGetItem", {"RequestItems": {"Same": {"Keys": [KEY, {"pk": {"S": "bw"}, "sk": {"S": "1"}},
                                                         {"pk": {"S": "no"}, "sk": {"S": "no"}}]}}}),
    ("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "Same", "Item": {"pk": {"S": "tx"}, "sk": {"S": "1"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "9"}}}},
        {"ConditionCheck": {"TableName": "Same", "Key": {"pk": {"S": "bw"}, "sk": {"S": "0"}},
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"Delete": {"TableName": "Same", "Key": {"pk": {"S": "bw"}, "sk": {"S": "2"}}}}]}),
    ("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "Same", "Item": {"pk": {"S": "tx"}, "sk": {"S": "1"}},
                 "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": "Same", "Key": KEY, "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "10"}}}}]}),
    ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "Same", "Key": KEY}},
                                            {"Get": {"TableName": "Same", "Key": {"pk": {"S": "tx"}, "sk": {"S": "1"}}}}]}),
    ("DeleteItem", {"TableName": "Same", "Key": {"pk": {"S": "tx"}, "sk": {"S": "1"}}, "ReturnValues": "ALL_OLD"}),
    ("DeleteItem", {"TableName": "Same", "Key": KEY, "ConditionExpression": "n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "0"}}}),
    ("DescribeTable", {"TableName": "Same"}),
    ("DescribeTable", {"TableName": "Nowhere"}),
    ("NoSuchOperation", {}),
    ("GetItem", b"{not json"),
    ("Scan", {"TableName": "Same"}),
]
VARIES = {"x-amzn-requestid", "date", "connection"}  # and CreationDateTime, below


def _comparable(body: bytes) -> Any:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if isinstance(parsed, dict):
        parsed.get("TableDescription", {}).pop("CreationDateTime", None)
        parsed.get("Table", {}).pop("CreationDateTime", None)
    return parsed


def test_the_direct_dynamodb_path_answers_as_motos_own_server(both_paths):
    """Every answer (status, headers, body: items with every attribute type, ReturnValues, conditions that
    fail, validation errors, cancelled transactions, pages, indexes) as moto's Flask path gives it."""
    direct, moto = both_paths
    kept = http.client.HTTPConnection(*direct.get_host_and_port(), timeout=10)  # one connection, kept alive
    for operation, body in SCRIPT:
        want_status, want_headers, want_body = _call(moto, operation, body)
        status, headers, got = _call(direct, operation, body, kept)
        assert (status, _comparable(got)) == (want_status, _comparable(want_body)), (operation, body)
        assert headers.keys() - VARIES == want_headers.keys() - VARIES, operation
        timestamped = operation in ("CreateTable", "DescribeTable")  # CreationDateTime differs, and its length
        skip = VARIES | {"x-amz-crc32"} | ({"content-length"} if timestamped else set())
        assert {k: v for k, v in headers.items() if k not in skip} == \
            {k: v for k, v in want_headers.items() if k not in skip}, operation
        assert int(headers["content-length"]) == len(got), operation
        if "x-amz-crc32" in headers:
            assert int(headers["x-amz-crc32"]) == zlib.crc32(got), operation
        if not timestamped:
            assert got == want_body, operation  # byte for byte: botocore checks the CRC of these bytes
    assert "connection" not in {k for k in _call(direct, "ListTables", {})[1]}  # kept alive, as DynamoDB


def _server_cpu(aws: EmbeddedAws) -> float:
    fields = Path(f"/proc/{aws._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_direct_path_costs_the_embedded_aws_less_cpu_than_motos(both_paths):
    """The same 300 calls (a webhook delivery's kind: reads, conditional writes, updates returning
    values, queries, transactions), CPU of the embedded AWS process (load-independent)."""
    cost = {}
    for aws in both_paths:
        connection = http.client.HTTPConnection(*aws.get_host_and_port(), timeout=10)
        _call(aws, "CreateTable", {**TABLE, "TableName": "Cost"}, connection)
        started = _server_cpu(aws)
        for i in range(60):
            key = {"pk": {"S": f"c{i}"}, "sk": {"S": "ORDER"}}
            _call(aws, "PutItem", {"TableName": "Cost", "Item": {**RICH, **key},
                                   "ConditionExpression": "attribute_not_exists(pk)"}, connection)
            _call(aws, "GetItem", {"TableName": "Cost", "Key": key, "ConsistentRead": True}, connection)
            _call(aws, "UpdateItem", {"TableName": "Cost", "Key": key, "UpdateExpression": "SET #s = :s",
                                      "ConditionExpression": "attribute_exists(pk)", "ReturnValues": "ALL_NEW",
                                      "ExpressionAttributeNames": {"#s": "status"},
                                      "ExpressionAttributeValues": {":s": {"S": "paid"}}}, connection)
            _call(aws, "Query", {"TableName": "Cost", "KeyConditionExpression": "pk = :p",
                                 "ExpressionAttributeValues": {":p": {"S": f"c{i}"}}}, connection)
            _call(aws, "TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": "Cost", "Item": {"pk": {"S": f"c{i}"}, "sk": {"S": "HIST"}}}},
                {"Update": {"TableName": "Cost", "Key": key, "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"N": "1"}}}}]}, connection)
        cost[aws] = _server_cpu(aws) - started
    direct, moto = both_paths
    assert cost[direct] < cost[moto] * 0.7, cost


@pytest.fixture
def in_process_client():
    """A DynamoDB client of an embedded AWS server run in this process, where a test can watch moto's
    classes through the wrappers the server installs."""
    import threading

    from lectern_dev import embedded_aws

    server = embedded_aws.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                       region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    server.shutdown()


def _keyed_by_pk(client, table: str) -> None:
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])


def test_an_index_query_never_sorts_the_whole_table_through_the_installed_wrappers(in_process_client, monkeypatch):
    """The wrappers stack (partition first, then index items): each must bind moto's own arguments, or
    the index wrapper silently hands every index query back to moto's walk of the whole table (it did:
    the first wrapper's (*args, **kwargs) signature hid `hash_key_conditions` from the second)."""
    from moto.dynamodb.models.table import Table

    client = in_process_client
    client.create_table(
        TableName="W", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "g")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    for i in range(30):
        client.put_item(TableName="W", Item={"pk": {"S": f"p{i}"}, "g": {"S": f"g{i % 3}"}})
    walked = []
    real = Table.all_items
    monkeypatch.setattr(Table, "all_items", lambda self: walked.append(self.name) or real(self))
    found = client.query(TableName="W", IndexName="byg", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {"S": "g1"}})["Items"]
    assert sorted(int(i["pk"]["S"][1:]) for i in found) == list(range(1, 30, 3))
    assert walked == []


def test_an_update_s_item_independent_checks_run_once_per_text_and_names(in_process_client, monkeypatch):
    """The checks of an UpdateExpression against its names and the table's key (moto's first three
    validators, most of a validation) are walked once per text, names and key; the walks that read the
    item run every time; another mapping of the same names is checked again (and refused here)."""
    from moto.dynamodb.parsing.validators import ActionCountValidator, ExpressionAttributeValueProcessor

    client = in_process_client
    _keyed_by_pk(client, "Checks")
    walks = Counter()
    for cls in (ActionCountValidator, ExpressionAttributeValueProcessor):
        monkeypatch.setattr(cls, "traverse", lambda self, node, real=cls.traverse: (
            walks.update([type(self).__name__]), real(self, node))[1])

    def update(name: str, value: str):
        return client.update_item(TableName="Checks", Key={"pk": {"S": "k"}}, UpdateExpression="SET #f = :v",
                                  ExpressionAttributeNames={"#f": name},
                                  ExpressionAttributeValues={":v": {"S": value}}, ReturnValues="ALL_NEW")

    assert [update("status", v)["Attributes"]["status"]["S"] for v in ("a", "b", "c")] == ["a", "b", "c"]
    assert walks == {"ActionCountValidator": 1, "ExpressionAttributeValueProcessor": 4}  # (a new item: twice)
    with pytest.raises(client.exceptions.ClientError, match="key"):
        update("pk", "other")
    assert walks["ActionCountValidator"] == 2


def test_a_condition_is_parsed_once_per_text_names_and_values(in_process_client, monkeypatch):
    """A ConditionExpression is parsed (moto parses it twice a request) once per text, names and values;
    the kept tree answers for those values only: the same text with other values is parsed again and
    decides by them; a request moto refuses for what its condition uses is refused every time."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    client = in_process_client
    _keyed_by_pk(client, "Conditions")
    client.put_item(TableName="Conditions", Item={"pk": {"S": "k"}, "status": {"S": "pending"}})
    parsed = Counter()
    monkeypatch.setattr(ConditionExpressionParser, "_make_op_condition", lambda self, node, real=(
        ConditionExpressionParser._make_op_condition): (parsed.update([self.condition_expression]),
                                                       real(self, node))[1])

    def move(expected: str, to: str) -> bool:
        try:
            client.update_item(TableName="Conditions", Key={"pk": {"S": "k"}}, UpdateExpression="SET #s = :to",
                               ConditionExpression="#s = :expected", ExpressionAttributeNames={"#s": "status"},
                               ExpressionAttributeValues={":to": {"S": to}, ":expected": {"S": expected}})
            return True
        except client.exceptions.ConditionalCheckFailedException:
            return False

    assert move("pending", "paid") is True
    assert parsed["#s = :expected"] == 1  # (twice in the request: once parsed)
    assert move("pending", "paid") is False  # the same condition, kept: decided by the item as it is now
    assert parsed["#s = :expected"] == 1
    assert move("paid", "refunded") is True  # other values: parsed again, and they decide
    assert parsed["#s = :expected"] == 2
    assert client.get_item(TableName="Conditions", Key={"pk": {"S": "k"}})["Item"]["status"]["S"] == "refunded"
    for _ in range(2):
        # What the kept tree found (the names and values it uses) is checked as moto checks it, each time.
        with pytest.raises(client.exceptions.ClientError, match="unused"):
            client.put_item(TableName="Conditions", Item={"pk": {"S": "k"}}, ConditionExpression="#s = :v",
                            ExpressionAttributeNames={"#s": "status", "#extra": "other"},
                            ExpressionAttributeValues={":v": {"S": "x"}})


@pytest.mark.parametrize("raw", [
    (b"Host: 127.0.0.1:4566\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Length: 2\r\n"
     b"Authorization: AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=0\r\n\r\n"),
    b"A:no-space\r\nB:   lead and trail   \r\nB: twice\r\nEmpty:\r\nBare-LF: 1\n\r\n",
    b"x-\xe9: latin-1\r\n\r\n",
    b"Folded: one\r\n  two\r\nNext: 3\r\n\r\n",  # a continuation line: the email parser's own
    b"Bad Name: 1\r\nOk: 2\r\n\r\n",  # not a field to the email parser: its own answer
    b"\r\n",
])
def test_plain_headers_parse_as_the_email_parser_reads_them(raw):
    import http.client
    import io

    from lectern_dev import embedded_aws

    def parsed() -> dict:
        message = http.client.parse_headers(io.BytesIO(raw))
        return {**vars(message), "defects": [type(defect) for defect in message.defects]}

    embedded_aws.plain_headers_parsed_directly()
    expected = parsed()  # (this thread: the email parser)
    embedded_aws._plain_headers_here.on = True
    try:
        assert parsed() == expected
    finally:
        embedded_aws._plain_headers_here.on = False


def test_moto_s_service_folders_are_listed_once(monkeypatch):
    """moto's dispatcher routes every SES request through a listing of moto's package folder; here
    the listing is taken once, and is the folder's."""
    import moto
    from moto import backends

    from lectern_dev import embedded_aws

    embedded_aws.moto_modules_listed_once()
    folder = os.path.dirname(moto.__file__)
    expected = tuple(name for name in sorted(os.listdir(folder))
                     if os.path.isdir(os.path.join(folder, name)) and not name.startswith("__"))
    listings = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda *args: listings.append(args) or real_listdir(*args))
    assert tuple(backends.list_of_moto_modules()) == expected
    assert {"dynamodb", "ses", "s3"} <= set(expected)
    assert listings == []


def test_moto_keeps_no_item_it_no_longer_holds(in_process_client):
    """moto_models_untracked: an item replaced by a put, or deleted, is freed (moto as shipped keeps every
    item it ever made in Item.instances_tracked)."""
    import gc
    import weakref

    from moto.dynamodb.models.dynamo_type import Item

    _keyed_by_pk(in_process_client, "untracked")
    in_process_client.put_item(TableName="untracked", Item={"pk": {"S": "a"}, "n": {"N": "0"}})
    backend = next(b for b in _dynamodb_backends() if "untracked" in b.tables)
    first = weakref.ref(backend.get_item("untracked", {"pk": {"S": "a"}}))
    tracked = len(Item.instances_tracked)
    for n in range(1, 200):
        in_process_client.put_item(TableName="untracked", Item={"pk": {"S": "a"}, "n": {"N": str(n)}})
    in_process_client.put_item(TableName="untracked", Item={"pk": {"S": "b"}})
    in_process_client.delete_item(TableName="untracked", Key={"pk": {"S": "b"}})
    gc.collect()
    assert first() is None
    assert len(Item.instances_tracked) == tracked
    assert in_process_client.get_item(TableName="untracked", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "199"}


def _dynamodb_backends():
    from moto.dynamodb.models import dynamodb_backends

    for account in dynamodb_backends.values():
        yield from account.values()


def test_a_stopped_embedded_aws_answers_no_dynamodb_call_on_a_kept_connection(monkeypatch):
    """Its DynamoDB calls are answered by the direct path, not the WSGI app: a stopped server must not
    answer them on a connection kept from before either (KeepAliveHandler.parse_request)."""
    import threading

    from botocore.config import Config
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    from lectern_dev import embedded_aws

    monkeypatch.delenv(MOTO_PATH_VARIABLE, raising=False)
    server = embedded_aws.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                          region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t",
                          config=Config(retries={"total_max_attempts": 1}))
    client.list_tables()
    server.shutdown()
    server.server_close()
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client.list_tables()

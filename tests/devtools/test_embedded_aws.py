"""The embedded AWS answers like DynamoDB, and a Query on a table's key reads only its partition."""
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from lectern_dev.embedded_aws import EmbeddedAws


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

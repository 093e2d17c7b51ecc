"""Hidden means hidden, over HTTP through the local gateway: a hidden resource answers byte for byte
what an unknown one does (tests/api/test_hidden_content.py has the rules in process)."""
import boto3
import pytest
from lectern_dev import template as tpl
from support.contract import NOT_FOUND, UNKNOWN_RESOURCE

# ------------------------------------------------------------------ over HTTP, through the local gateway

@pytest.mark.stack
def test_over_http_hidden_and_unknown_resources_get_the_identical_404(local_stack):
    from support.http_client import StackClient, unique_email

    client = StackClient(local_stack.urls)
    registered = client.call("POST", "/auth/register", json={
        "name": "Hidden", "email": unique_email("hidden"), "password": "correct horse battery 42"})
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    # A resource of the demo catalog's unpublished course: its id appears in no answer, so read it from AWS.
    dynamodb = boto3.client("dynamodb", endpoint_url=local_stack.urls["aws"], region_name="us-east-1")
    items = dynamodb.query(TableName=tpl.local_physical_name("CatalogTable", "AWS::DynamoDB::Table"),
                           KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
                           ExpressionAttributeValues={":pk": {"S": "COURSE#watercolour-basics"},
                                                      ":sk": {"S": "RESOURCE#"}})["Items"]
    hidden_id = items[0]["id"]["S"]

    hidden = client.call("GET", f"/resources/{hidden_id}/download", token)
    unknown = client.call("GET", f"/resources/{UNKNOWN_RESOURCE}/download", token)
    assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    assert hidden.headers["Content-Length"] == unknown.headers["Content-Length"]
    for path in ("/learn/watercolour-basics", "/learn/watercolour-basics/lessons/choosing-paper-and-paint",
                 "/learn/no-such-course"):
        response = client.call("GET", path, token)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


@pytest.mark.stack
def test_over_http_a_resource_in_a_hidden_module_is_404(local_stack):
    from support.http_client import StackClient, unique_email

    client = StackClient(local_stack.urls)
    registered = client.call("POST", "/auth/register", json={
        "name": "Module", "email": unique_email("module"), "password": "correct horse battery 42"})
    token = registered.json()["access_token"]
    slug = "practical-sql-for-analysts"
    client.buy(slug, token=token)
    module = next(m for m in client.call("GET", f"/learn/{slug}", token).json()["course"]["modules"]
                  if any(lesson["resources"] for lesson in m["lessons"]))
    resource_id = next(r["id"] for lesson in module["lessons"] for r in lesson["resources"])
    assert client.call("GET", f"/resources/{resource_id}/download", token).status_code == 302

    dynamodb = boto3.client("dynamodb", endpoint_url=local_stack.urls["aws"], region_name="us-east-1")
    key = {"pk": {"S": f"COURSE#{slug}"}, "sk": {"S": f"MODULE#{module['id']}"}}
    table = tpl.local_physical_name("CatalogTable", "AWS::DynamoDB::Table")
    dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET is_published = :f",
                         ExpressionAttributeValues={":f": {"BOOL": False}})
    try:
        response = client.call("GET", f"/resources/{resource_id}/download", token)
        assert response.status_code == 404 and response.json() == NOT_FOUND
    finally:  # the stack is shared by the session's other HTTP tests
        dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET is_published = :t",
                             ExpressionAttributeValues={":t": {"BOOL": True}})
    assert client.call("GET", f"/resources/{resource_id}/download", token).status_code == 302

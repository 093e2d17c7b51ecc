"""Create the template's tables, bucket, secrets and SES identity in an AWS endpoint.

Used by the local stack (against moto server or any AWS_ENDPOINT_URL) and by
the tests (inside moto's in-process mock): one schema, read from template.yaml.
"""
from typing import Any

import os

import boto3

from lectern_dev import template as tpl

LOCAL_FRONTEND_URL = "http://127.0.0.1:3002"


def create_all(template: dict[str, Any] | None = None, *, email_from: str | None = None) -> dict[str, list[str]]:
    template = template or tpl.load()
    made: dict[str, list[str]] = {"tables": [], "buckets": []}
    dynamodb = boto3.client("dynamodb")
    existing = set(dynamodb.list_tables().get("TableNames", []))
    for logical_id, resource in tpl.resources_of_type(template, "AWS::DynamoDB::Table").items():
        name = tpl.local_physical_name(logical_id, resource["Type"])
        if name not in existing:
            dynamodb.create_table(**tpl.table_create_kwargs(resource["Properties"], name))
            ttl = resource["Properties"].get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["AttributeName"]})
        made["tables"].append(name)

    s3 = boto3.client("s3")
    for logical_id, resource in tpl.resources_of_type(template, "AWS::S3::Bucket").items():
        name = tpl.local_physical_name(logical_id, resource["Type"])
        try:
            s3.create_bucket(Bucket=name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        made["buckets"].append(name)

    publish_frontend_url(os.environ.get("FRONTEND_URL") or LOCAL_FRONTEND_URL, template)
    sender = email_from or template.get("Parameters", {}).get("EmailFrom", {}).get("Default")
    if sender:
        boto3.client("ses").verify_email_identity(EmailAddress=sender)
    return made


def put_secrets(values: dict[str, dict[str, str]], template: dict[str, Any] | None = None) -> dict[str, str]:
    """Store each template secret's JSON value in Secrets Manager, named by its logical id (creating
    or updating it); returns {logical id: ARN}, what the template's `!Ref` gives a function."""
    import json

    template = template or tpl.load()
    client = boto3.client("secretsmanager")
    arns: dict[str, str] = {}
    for logical_id in tpl.resources_of_type(template, "AWS::SecretsManager::Secret"):
        value = json.dumps(values.get(logical_id, {}))
        try:
            arns[logical_id] = client.create_secret(Name=logical_id, SecretString=value)["ARN"]
        except client.exceptions.ResourceExistsException:
            arns[logical_id] = client.put_secret_value(SecretId=logical_id, SecretString=value)["ARN"]
    return arns


def secret_arns(template: dict[str, Any] | None = None) -> dict[str, str]:
    """{logical id: ARN} of the template's secrets already stored (by a running local stack)."""
    template = template or tpl.load()
    client = boto3.client("secretsmanager")
    arns: dict[str, str] = {}
    for logical_id in tpl.resources_of_type(template, "AWS::SecretsManager::Secret"):
        try:
            arns[logical_id] = client.describe_secret(SecretId=logical_id)["ARN"]
        except client.exceptions.ResourceNotFoundException:
            pass
    return arns


def read_secret(logical_id: str) -> dict[str, str]:
    import json

    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=logical_id)["SecretString"])


# Where a running local stack leaves its addresses for `make invoke` and other tools: in its own AWS.
STACK_PARAMETER = "/lectern/local-stack"


def publish_stack_urls(urls: dict[str, Any]) -> None:
    import json

    boto3.client("ssm").put_parameter(Name=STACK_PARAMETER, Value=json.dumps(urls), Type="String", Overwrite=True)


def stack_urls() -> dict[str, Any]:
    import json

    client = boto3.client("ssm")
    try:
        return json.loads(client.get_parameter(Name=STACK_PARAMETER)["Parameter"]["Value"])
    except client.exceptions.ParameterNotFound:
        return {}


def publish_frontend_url(url: str, template: dict[str, Any] | None = None) -> None:
    """What the deployed stack does once its distribution exists: the shop's address in the SSM
    parameter the functions are given as FRONTEND_URL_PARAMETER (lectern.config.frontend_url)."""
    names = {spec.environment["FRONTEND_URL_PARAMETER"] for spec in tpl.functions(template).values()
             if spec.environment.get("FRONTEND_URL_PARAMETER")}
    for name in names:
        boto3.client("ssm").put_parameter(Name=name, Value=url, Type="String", Overwrite=True)

"""Create the template's tables, bucket, secrets and SES identity in an AWS endpoint.

Used by the local stack (against moto server or any AWS_ENDPOINT_URL) and by
the tests (inside moto's in-process mock): one schema, read from template.yaml.
"""
from typing import Any

import boto3

from lectern_dev import template as tpl


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

    sender = email_from or template.get("Parameters", {}).get("EmailFrom", {}).get("Default")
    if sender:
        boto3.client("ses").verify_email_identity(EmailAddress=sender)
    return made

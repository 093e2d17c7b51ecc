"""A small, production-shaped Lambda handler for an HTTP API (payload format 2.0).

Serverless Python on AWS - lesson "Your first handler". Run it locally:

    python lambda_handler_example.py
"""
import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Created once per execution environment, reused by every warm invocation.
TABLE = boto3.resource("dynamodb").Table(os.environ.get("NOTES_TABLE", "notes"))


def response(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def lambda_handler(event, context):
    method = event["requestContext"]["http"]["method"]
    note_id = (event.get("pathParameters") or {}).get("id")
    logger.info("request", extra={"method": method, "note_id": note_id})

    if method == "GET" and note_id:
        item = TABLE.get_item(Key={"id": note_id}).get("Item")
        return response(200, item) if item else response(404, {"message": "No such note."})

    if method == "PUT" and note_id:
        try:
            body = json.loads(event.get("body") or "{}")
        except json.JSONDecodeError:
            return response(400, {"message": "Body must be JSON."})
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return response(422, {"message": "`text` is required."})
        TABLE.put_item(Item={"id": note_id, "text": text.strip()})
        return response(200, {"id": note_id, "text": text.strip()})

    return response(405, {"message": "Method not allowed."})


if __name__ == "__main__":
    fake_event = {"requestContext": {"http": {"method": "PATCH"}}, "pathParameters": {"id": "n1"}}
    print(lambda_handler(fake_event, None))

"""The Python equivalent of one webhook function, for the cold-start
comparison: import boto3, build a DynamoDB client, then serve invocations
from the Lambda Runtime API, storing each body with one PutItem."""

import hashlib
import json
import os
import urllib.request

import boto3

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
TABLE = os.environ["TABLE_NAME"]
client = boto3.client("dynamodb")

while True:
    with urllib.request.urlopen(API + "next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    body = event.get("body") or ""
    client.put_item(
        TableName=TABLE,
        Item={
            "event_id": {"S": hashlib.sha256(body.encode()).hexdigest()},
            "raw": {"S": body},
        },
    )
    answer = json.dumps({"statusCode": 200, "body": json.dumps({"received": 1})}).encode()
    urllib.request.urlopen(urllib.request.Request(API + request_id + "/response", data=answer, method="POST")).read()

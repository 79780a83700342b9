"""pagewalk quickstart: real walks against an embedded moto server, no AWS account needed.

Run it with::

    pip install ".[demo]"
    python examples/quickstart.py

It starts moto on 127.0.0.1 (a free port), creates an S3 bucket with 3,000 objects, a DynamoDB
table and a CloudWatch Logs stream, then walks them the way you would walk real AWS.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import boto3
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

import pagewalk


def start_moto() -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def seed(url: str) -> tuple[Any, Any, Any]:
    session = boto3.session.Session(
        aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1"
    )
    config = Config(retries={"mode": "standard"})
    s3 = session.client("s3", endpoint_url=url, config=config)
    dynamodb = session.client("dynamodb", endpoint_url=url, config=config)
    logs = session.client("logs", endpoint_url=url, config=config)

    s3.create_bucket(Bucket="demo-bucket")
    # The server runs in this process, so the 3,000 objects go straight into its backend
    # (3,000 PutObject calls over HTTP would take most of a minute).
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for index in range(3000):
        backend.put_object("demo-bucket", f"photos/{index:05d}.jpg", b"...")

    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, 500, 25):
        dynamodb.batch_write_item(
            RequestItems={
                "orders": [
                    {
                        "PutRequest": {
                            "Item": {
                                "id": {"S": f"order-{index:04d}"},
                                "total": {"N": str(index % 97)},
                            }
                        }
                    }
                    for index in range(start, start + 25)
                ]
            }
        )

    logs.create_log_group(logGroupName="/demo/app")
    logs.create_log_stream(logGroupName="/demo/app", logStreamName="web-1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/demo/app",
        logStreamName="web-1",
        logEvents=[{"timestamp": now - 1000 + i, "message": f"request {i}"} for i in range(750)],
    )
    return s3, dynamodb, logs


def main() -> None:
    server, url = start_moto()
    try:
        s3, dynamodb, logs = seed(url)
        print(f"moto is listening on {url}\n")

        print("1. Every page of s3.list_objects_v2, 500 keys a page:")
        walk = pagewalk.pages(s3.list_objects_v2, Bucket="demo-bucket", page_size=500)
        for page in walk:
            print(f"   page with {page['KeyCount']} keys, first {page['Contents'][0]['Key']}")
        print(f"   {walk.stats}\n")

        print("2. Items instead of pages, with a spec pagewalk resolved for you:")
        spec = pagewalk.spec_for(s3.list_objects_v2)
        print(
            f"   {spec.input_token} -> {spec.output_token}, items from {spec.result_key!r} ({spec.source})"
        )
        keys = [obj["Key"] for obj in pagewalk.items(s3.list_objects_v2, Bucket="demo-bucket")]
        print(f"   {len(keys)} keys, {len(set(keys))} distinct, last {keys[-1]}\n")

        print("3. Stop after 1,234 items, save the checkpoint as JSON, resume later:")
        first = pagewalk.items(
            s3.list_objects_v2,
            Bucket="demo-bucket",
            page_size=1000,
            max_items=1234,
        )
        head = [obj["Key"] for obj in first]
        saved = first.checkpoint.to_json() if first.checkpoint else None
        print(f"   got {len(head)} keys; checkpoint: {saved}")
        rest = pagewalk.items(
            s3.list_objects_v2,
            Bucket="demo-bucket",
            page_size=1000,
            resume_from=saved,
        )
        tail = [obj["Key"] for obj in rest]
        print(f"   resumed: {len(tail)} more keys; together exact: {head + tail == keys}\n")

        print("4. A DynamoDB scan with a filter (many pages hold nothing, the walk goes on):")
        pages_seen: list[int] = []
        matches = list(
            pagewalk.items(
                dynamodb.scan,
                TableName="orders",
                FilterExpression="#t > :n",
                ExpressionAttributeNames={"#t": "total"},
                ExpressionAttributeValues={":n": {"N": "90"}},
                page_size=50,
                on_page=lambda info: pages_seen.append(info.items),
            )
        )
        print(f"   {len(matches)} orders over 90, items per page: {pages_seen}\n")

        print("5. CloudWatch Logs GetLogEvents ends by returning the same token: pagewalk knows.")
        events = pagewalk.items(
            logs.get_log_events,
            logGroupName="/demo/app",
            logStreamName="web-1",
            startFromHead=True,
            page_size=200,
        )
        messages = [event["message"] for event in events]
        print(f"   {len(messages)} events, from {messages[0]!r} to {messages[-1]!r}")
        print(f"   mapping: {pagewalk.spec_for(logs.get_log_events)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

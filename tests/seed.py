"""Fast seeding of moto's in-process backends (the server runs in the test process)."""

from __future__ import annotations

import time
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

REGION = "us-east-1"


def s3_objects(client: Any, bucket: str, count: int, prefix: str = "key-") -> list[str]:
    """Create ``bucket`` holding ``count`` small objects; return their keys in listing order."""
    from moto.s3.models import s3_backends

    client.create_bucket(Bucket=bucket)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    keys = [f"{prefix}{index:06d}" for index in range(count)]
    for key in keys:
        backend.put_object(bucket, key, b"x")
    return sorted(keys)


def dynamodb_table(client: Any, table: str, count: int) -> list[dict[str, Any]]:
    """Create ``table`` (hash key ``pk``, string; range key ``sk``, number) with ``count`` items.

    Items are spread over 10 partition keys; every third item has ``flag`` = 1.
    """
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    items = [
        {
            "pk": {"S": f"p{index % 10}"},
            "sk": {"N": str(index)},
            "flag": {"N": str(int(index % 3 == 0))},
        }
        for index in range(count)
    ]
    for start in range(0, count, 25):
        client.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
        )
    return items


def log_stream(client: Any, group: str, stream: str, count: int) -> list[str]:
    """Create a log group and stream with ``count`` events; return their messages in order."""
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    messages = [f"event {index:05d}" for index in range(count)]
    # Recent timestamps: CloudWatch Logs (and moto) drop events older than 14 days.
    base = int(time.time() * 1000) - count - 60_000
    for start in range(0, count, 1000):
        client.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[
                {"timestamp": base + index, "message": messages[index]}
                for index in range(start, min(count, start + 1000))
            ],
        )
    return messages

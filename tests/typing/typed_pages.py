"""Checked by mypy in tests/test_typing.py: typed clients give typed pages without casts."""

from __future__ import annotations

from typing import Any

import boto3
from mypy_boto3_dynamodb.type_defs import ScanOutputTypeDef
from mypy_boto3_s3 import S3Client
from mypy_boto3_s3.type_defs import ListObjectsV2OutputTypeDef
from typing_extensions import assert_type

import pagewalk


def walk_bucket(s3: S3Client) -> None:
    walk = pagewalk.pages(s3.list_objects_v2, Bucket="my-bucket", page_size=100)
    assert_type(walk, pagewalk.Walk[ListObjectsV2OutputTypeDef])
    for page in walk:
        assert_type(page, ListObjectsV2OutputTypeDef)
        for obj in page.get("Contents", []):
            key: str = obj["Key"]
            print(key)
    checkpoint = walk.checkpoint
    assert_type(checkpoint, pagewalk.Checkpoint | None)
    assert_type(walk.stats.pages, int)


def walk_table() -> None:
    dynamodb = boto3.client("dynamodb")
    for page in pagewalk.pages(dynamodb.scan, TableName="t"):
        assert_type(page, ScanOutputTypeDef)
    items = pagewalk.items(dynamodb.scan, TableName="t")
    assert_type(items, pagewalk.Walk[Any])

"""Checked by mypy in tests/test_async.py: typed aiobotocore clients give typed async pages."""

from __future__ import annotations

from typing import Any

from types_aiobotocore_s3 import S3Client
from types_aiobotocore_s3.type_defs import ListObjectsV2OutputTypeDef
from typing_extensions import assert_type

import pagewalk


async def walk_bucket(s3: S3Client) -> None:
    walk = pagewalk.apages(s3.list_objects_v2, Bucket="my-bucket", page_size=100)
    assert_type(walk, pagewalk.AsyncWalk[ListObjectsV2OutputTypeDef])
    async with walk:
        async for page in walk:
            assert_type(page, ListObjectsV2OutputTypeDef)
            for obj in page.get("Contents", []):
                key: str = obj["Key"]
                print(key)
    assert_type(walk.checkpoint, pagewalk.Checkpoint | None)
    assert_type(walk.stats.pages, int)
    assert_type(pagewalk.aitems(s3.list_objects_v2, Bucket="my-bucket"), pagewalk.AsyncWalk[Any])

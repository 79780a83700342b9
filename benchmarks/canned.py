"""Services for the benchmarks that answer without a network: canned responses, fake pages.

``canned_s3`` and ``canned_dynamodb`` give real botocore clients whose requests are answered
in-process by a ``before-send`` handler with pre-rendered, valid response bodies, so botocore's
serialising, signing and parsing all run, but no socket is opened and no server (moto or AWS)
is involved. ``FakeItems`` is a plain callable for walks with ``token_spec=``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

REGION = "us-east-1"
BUCKET = "bench"
TABLE = "bench"
NO_RETRIES = Config(retries={"total_max_attempts": 1})

_S3_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Name>{bucket}</Name><Prefix></Prefix><KeyCount>{count}</KeyCount><MaxKeys>1000</MaxKeys>"
    "<IsTruncated>{truncated}</IsTruncated>{tokens}"
)
_S3_OBJECT = (
    "<Contents><Key>data/{index:09d}.json</Key>"
    "<LastModified>2024-05-01T12:00:00.000Z</LastModified>"
    "<ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag>"
    "<Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
)


class _Body:
    """The raw body botocore reads from an ``AWSResponse``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def _respond(url: str, body: bytes, content_type: str) -> AWSResponse:
    headers = {
        "content-type": content_type,
        "content-length": str(len(body)),
        "x-amz-request-id": "BENCHMARK",
    }
    return AWSResponse(url, 200, headers, _Body(body))


def s3_pages(pages: int, keys_per_page: int) -> list[bytes]:
    """ListObjectsV2 XML bodies: page ``i`` answers token ``t{i}`` and points at ``t{i+1}``."""
    bodies = []
    for page in range(pages):
        last = page == pages - 1
        tokens = f"<ContinuationToken>t{page}</ContinuationToken>" if page else ""
        if not last:
            tokens += f"<NextContinuationToken>t{page + 1}</NextContinuationToken>"
        head = _S3_HEAD.format(
            bucket=BUCKET,
            count=keys_per_page,
            truncated="false" if last else "true",
            tokens=tokens,
        )
        objects = "".join(
            _S3_OBJECT.format(index=page * keys_per_page + key, size=100 + key)
            for key in range(keys_per_page)
        )
        bodies.append((head + objects + "</ListBucketResult>").encode())
    return bodies


def dynamodb_pages(pages: int, items_per_page: int) -> list[bytes]:
    """Scan JSON bodies: page ``i`` answers ``ExclusiveStartKey`` ``k{i}``, points at ``k{i+1}``."""
    bodies = []
    for page in range(pages):
        items = [
            {
                "pk": {"S": f"user-{page * items_per_page + item:09d}"},
                "sk": {"N": str(item)},
                "name": {"S": f"name {item}"},
                "active": {"BOOL": item % 2 == 0},
                "tags": {"SS": ["a", "b"]},
            }
            for item in range(items_per_page)
        ]
        body: dict[str, Any] = {
            "Items": items,
            "Count": items_per_page,
            "ScannedCount": items_per_page,
        }
        if page < pages - 1:
            body["LastEvaluatedKey"] = {"pk": {"S": f"k{page + 1}"}}
        bodies.append(json.dumps(body).encode())
    return bodies


def canned_s3(pages: int, keys_per_page: int = 1000, latency: float = 0.0) -> Any:
    """An S3 client whose ListObjectsV2 calls are answered from ``pages`` canned pages.

    ``latency`` seconds are slept per request, as if the service took that long.
    """
    bodies = s3_pages(pages, keys_per_page)
    client = boto3.session.Session().client(
        "s3",
        region_name=REGION,
        aws_access_key_id="benchmark",
        aws_secret_access_key="benchmark",
        config=NO_RETRIES,
    )

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        query = parse_qs(urlsplit(request.url).query)
        token = query.get("continuation-token", ["t0"])[0]
        if latency:
            time.sleep(latency)
        return _respond(request.url, bodies[int(token[1:])], "application/xml")

    client.meta.events.register("before-send.s3.ListObjectsV2", answer)
    return client


def canned_dynamodb(pages: int, items_per_page: int = 1000) -> Any:
    """A DynamoDB client whose Scan calls are answered from ``pages`` canned pages."""
    bodies = dynamodb_pages(pages, items_per_page)
    client = boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id="benchmark",
        aws_secret_access_key="benchmark",
        config=NO_RETRIES,
    )

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        start = json.loads(request.body).get("ExclusiveStartKey")
        page = int(start["pk"]["S"][1:]) if start else 0
        return _respond(request.url, bodies[page], "application/x-amz-json-1.0")

    client.meta.events.register("before-send.dynamodb.Scan", answer)
    return client


class FakeItems:
    """A paged callable: ``total`` small string items, ``per_page`` a page, made on each call.

    Tokens are the index of the page's first item. Walk it with
    ``TokenSpec("NextToken", "NextToken", result_key="Items")``.
    """

    def __init__(self, total: int, per_page: int = 1000) -> None:
        self.total = total
        self.per_page = per_page

    def __call__(self, **params: Any) -> dict[str, Any]:
        start = int(params.get("NextToken", 0))
        end = min(start + self.per_page, self.total)
        page: dict[str, Any] = {"Items": [f"item-{index:09d}" for index in range(start, end)]}
        if end < self.total:
            page["NextToken"] = str(end)
        return page


class PrebuiltPages:
    """A paged callable that returns the same prebuilt pages each walk (no work per call)."""

    def __init__(self, pages: int, per_page: int) -> None:
        self.pages: list[dict[str, Any]] = []
        for page in range(pages):
            body: dict[str, Any] = {"Items": [{"id": page * per_page + i} for i in range(per_page)]}
            if page < pages - 1:
                body["NextToken"] = str(page + 1)
            self.pages.append(body)

    def __call__(self, **params: Any) -> dict[str, Any]:
        return self.pages[int(params.get("NextToken", 0))]

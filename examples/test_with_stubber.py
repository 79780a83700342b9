"""Testing code that pages through S3, with botocore's Stubber and pagewalk.testing.

Copy this file next to your tests and adapt ``total_size`` (the code under test). It needs no
AWS account, no network and no moto: the Stubber answers every request in memory.

    python -m pytest examples/test_with_stubber.py
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, StubAssertionError
from botocore.stub import Stubber

import pagewalk
from pagewalk.testing import no_sleep, stub_pages

PAGES = [
    {"Contents": [{"Key": "a", "Size": 1}, {"Key": "b", "Size": 2}]},
    {"Contents": [{"Key": "c", "Size": 3}, {"Key": "d", "Size": 4}]},
    {"Contents": [{"Key": "e", "Size": 5}]},
]


def total_size(s3: Any, bucket: str, **params: Any) -> int:
    """The code under test: the bytes stored in ``bucket``, two keys per request."""
    objects = pagewalk.items(s3.list_objects_v2, Bucket=bucket, page_size=2, **params)
    return sum(obj["Size"] for obj in objects)


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    """An S3 client whose requests a Stubber answers."""
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber


def test_total_size_adds_up_every_page(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    # Each request must carry Bucket, MaxKeys=2 and the token of the page before.
    stub_pages(stubber, "list_objects_v2", PAGES, params={"Bucket": "demo"}, page_size=2)
    assert total_size(client, "demo") == 15
    stubber.assert_no_pending_responses()  # exactly three requests were made


def test_the_stubs_describe_s3_so_botocores_paginator_walks_them_too(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    stub_pages(stubber, "list_objects_v2", PAGES, params={"Bucket": "demo"}, page_size=2)
    paginator = client.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket="demo", PaginationConfig={"PageSize": 2})
    assert [obj["Key"] for page in pages for obj in page["Contents"]] == list("abcde")


def test_a_loop_that_drops_the_token_is_caught_at_once(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stub_pages(stubber, "list_objects_v2", PAGES, params={"Bucket": "demo"}, page_size=2)
    client.list_objects_v2(Bucket="demo", MaxKeys=2)
    with pytest.raises(StubAssertionError):
        client.list_objects_v2(Bucket="demo", MaxKeys=2)  # forgot ContinuationToken


def test_the_returned_tokens_resume_a_walk_midway(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    start = {"ContinuationToken": "from-yesterday"}
    tokens = stub_pages(
        stubber, "list_objects_v2", PAGES[1:], params={"Bucket": "demo", **start}, page_size=2
    )
    assert tokens == [{"ContinuationToken": "stub-ContinuationToken-2"}]
    assert total_size(client, "demo", **start) == 12


def test_a_throttled_page_is_retried_without_waiting(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_client_error("list_objects_v2", "SlowDown", http_status_code=503)
    stub_pages(stubber, "list_objects_v2", PAGES, params={"Bucket": "demo"}, page_size=2)
    with no_sleep() as delays:
        assert total_size(client, "demo") == 15
    assert len(delays) == 1


def test_an_access_error_is_not_retried(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_client_error("list_objects_v2", "AccessDenied", http_status_code=403)
    with no_sleep() as delays, pytest.raises(ClientError, match="AccessDenied"):
        total_size(client, "demo")
    assert delays == []

"""Exact request parameters and end detection, checked with botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import pagewalk
from pagewalk import PagewalkError, TokenLoopError, TokenSpec


def make_client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = make_client("s3")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def objects(*keys: str) -> list[dict[str, Any]]:
    return [{"Key": key, "Size": 1} for key in keys]


def test_list_objects_falls_back_to_the_last_key_when_next_marker_is_absent(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    stubber.add_response(
        "list_objects",
        {"IsTruncated": True, "Contents": objects("a", "b")},
        {"Bucket": "bkt", "MaxKeys": 2},
    )
    stubber.add_response(
        "list_objects",
        {"IsTruncated": False, "Contents": objects("c")},
        {"Bucket": "bkt", "MaxKeys": 2, "Marker": "b"},
    )
    keys = [obj["Key"] for obj in pagewalk.items(client.list_objects, Bucket="bkt", page_size=2)]
    assert keys == ["a", "b", "c"]


def test_is_truncated_false_ends_the_walk_even_with_a_marker(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_response(
        "list_objects",
        {"IsTruncated": False, "NextMarker": "zzz", "Contents": objects("a")},
        {"Bucket": "bkt"},
    )
    walk = pagewalk.items(client.list_objects, Bucket="bkt")
    assert [obj["Key"] for obj in walk] == ["a"]
    assert walk.checkpoint is None


def test_more_results_without_a_token_raises_after_delivering_the_page(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    stubber.add_response(
        "list_objects_v2",
        {"IsTruncated": True, "NextContinuationToken": "t1", "Contents": objects("a")},
        {"Bucket": "bkt"},
    )
    stubber.add_response(
        "list_objects_v2",
        {"IsTruncated": True, "Contents": objects("b")},
        {"Bucket": "bkt", "ContinuationToken": "t1"},
    )
    walk = pagewalk.items(client.list_objects_v2, Bucket="bkt")
    got = []
    with pytest.raises(PagewalkError, match="says more results exist") as raised:
        got.extend(obj["Key"] for obj in walk)
    assert got == ["a", "b"]
    assert raised.value.operation == "s3.ListObjectsV2"
    assert raised.value.checkpoint is not None
    assert raised.value.checkpoint == walk.checkpoint
    assert (raised.value.checkpoint.items, raised.value.checkpoint.skip) == (2, 1)


def test_multi_part_token_drops_a_missing_part(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    version = lambda key, vid: {"Key": key, "VersionId": vid}  # noqa: E731
    stubber.add_response(
        "list_object_versions",
        {
            "IsTruncated": True,
            "NextKeyMarker": "a",
            "NextVersionIdMarker": "v2",
            "Versions": [version("a", "v1")],
        },
        {"Bucket": "bkt"},
    )
    stubber.add_response(
        "list_object_versions",
        {"IsTruncated": True, "NextKeyMarker": "b", "Versions": [version("a", "v2")]},
        {"Bucket": "bkt", "KeyMarker": "a", "VersionIdMarker": "v2"},
    )
    stubber.add_response(
        "list_object_versions",
        {"IsTruncated": False, "Versions": [version("c", "v9")]},
        {"Bucket": "bkt", "KeyMarker": "b"},
    )
    got = [
        (v["Key"], v["VersionId"])
        for v in pagewalk.items(client.list_object_versions, Bucket="bkt")
    ]
    assert got == [("a", "v1"), ("a", "v2"), ("c", "v9")]


def test_empty_string_token_ends_the_walk() -> None:
    calls: list[dict[str, Any]] = []

    def describe(**params: Any) -> dict[str, Any]:
        calls.append(params)
        return {"groups": ["a"], "nextToken": ""}

    walk = pagewalk.items(describe, token_spec=TokenSpec("nextToken", "nextToken", "groups"))
    assert list(walk) == ["a"]
    assert walk.checkpoint is None
    assert calls == [{}]


def test_route53_page_size_is_sent_as_a_string() -> None:
    route53 = make_client("route53")
    zone = {"Id": "/hostedzone/Z1", "Name": "a.example.com.", "CallerReference": "r"}
    with Stubber(route53) as stubber:
        stubber.add_response(
            "list_hosted_zones",
            {
                "HostedZones": [zone],
                "IsTruncated": True,
                "NextMarker": "Z2",
                "Marker": "",
                "MaxItems": "1",
            },
            {"MaxItems": "1"},
        )
        stubber.add_response(
            "list_hosted_zones",
            {"HostedZones": [zone], "IsTruncated": False, "Marker": "Z2", "MaxItems": "1"},
            {"MaxItems": "1", "Marker": "Z2"},
        )
        assert len(list(pagewalk.items(route53.list_hosted_zones, page_size=1))) == 2
        stubber.assert_no_pending_responses()


def test_a_token_seen_earlier_in_the_walk_raises_token_loop_error(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    for sent, returned, key in [(None, "t1", "a"), ("t1", "t2", "b"), ("t2", "t1", "c")]:
        expected = {"Bucket": "bkt"} | ({"ContinuationToken": sent} if sent else {})
        stubber.add_response(
            "list_objects_v2",
            {"IsTruncated": True, "NextContinuationToken": returned, "Contents": objects(key)},
            expected,
        )
    walk = pagewalk.items(client.list_objects_v2, Bucket="bkt")
    got = []
    with pytest.raises(TokenLoopError, match="already sent") as raised:
        got.extend(obj["Key"] for obj in walk)
    assert got == ["a", "b", "c"]
    assert raised.value.checkpoint == walk.checkpoint
    assert isinstance(raised.value, RuntimeError)


def test_the_same_token_back_is_a_loop_unless_the_spec_says_it_ends(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    for _ in range(2):
        stubber.add_response(
            "list_objects_v2",
            {"IsTruncated": True, "NextContinuationToken": "t1", "Contents": objects("a")},
            {"Bucket": "bkt", "ContinuationToken": "t1"},
        )
    with pytest.raises(TokenLoopError):
        list(pagewalk.items(client.list_objects_v2, Bucket="bkt", ContinuationToken="t1"))
    ending = TokenSpec(
        "ContinuationToken", "NextContinuationToken", "Contents", stop_on_same_token=True
    )
    walk = pagewalk.items(
        client.list_objects_v2, Bucket="bkt", ContinuationToken="t1", token_spec=ending
    )
    assert [obj["Key"] for obj in walk] == ["a"]
    assert walk.checkpoint is None


def test_on_page_sees_each_page_before_it_is_yielded(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    stubber.add_response(
        "list_objects_v2",
        {"IsTruncated": True, "NextContinuationToken": "t1", "Contents": objects("a", "b")},
        {"Bucket": "bkt"},
    )
    stubber.add_response(
        "list_objects_v2",
        {"IsTruncated": False, "Contents": objects("c")},
        {"Bucket": "bkt", "ContinuationToken": "t1"},
    )
    events: list[Any] = []
    walk = pagewalk.items(
        client.list_objects_v2, Bucket="bkt", on_page=lambda info: events.append(("page", info))
    )
    for obj in walk:
        events.append(("item", obj["Key"]))  # noqa: PERF401 - interleaves with on_page
    assert [kind for kind, _ in events] == ["page", "item", "item", "page", "item"]
    infos = [value for kind, value in events if kind == "page"]
    assert [(i.number, i.items, i.attempts, i.segment, i.last) for i in infos] == [
        (1, 2, 1, None, False),
        (2, 1, 1, None, True),
    ]
    assert all(info.operation == "s3.ListObjectsV2" and info.latency >= 0 for info in infos)


def test_pages_do_not_mutate_the_response_the_client_returned(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    response = {"IsTruncated": False, "Contents": objects("a", "b", "c")}
    stubber.add_response("list_objects_v2", response, {"Bucket": "bkt"})
    (page,) = pagewalk.pages(client.list_objects_v2, Bucket="bkt", max_items=2)
    assert [obj["Key"] for obj in page["Contents"]] == ["a", "b"]
    assert len(response["Contents"]) == 3


def test_any_callable_works_with_a_token_spec() -> None:
    book = {None: (["a", "b"], "p2"), "p2": (["c"], None)}
    sent: list[dict[str, Any]] = []

    def list_things(**params: Any) -> dict[str, Any]:
        sent.append(params)
        things, token = book[params.get("cursor")]
        return {"things": things, "next": token}

    spec = TokenSpec("cursor", "next", "things", "size")
    walk = pagewalk.items(list_things, token_spec=spec, page_size=2, kind="x")
    assert list(walk) == ["a", "b", "c"]
    assert sent == [{"kind": "x", "size": 2}, {"kind": "x", "size": 2, "cursor": "p2"}]
    assert walk.checkpoint is None
    assert walk.stats.requests == 2

"""Starting tokens both ways with botocore's paginator, against moto: a ``NextToken`` from
``build_full_result()`` resumes a pagewalk walk, and ``checkpoint.to_starting_token()`` resumes
botocore's paginator; every item exactly once (S3 ``ListObjectsV2`` inside a page and on a page
boundary, S3 ``ListObjectVersions`` with its two-part token, DynamoDB ``Scan`` with binary keys).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from botocore.paginate import TokenEncoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.core import DEFAULT_ACCOUNT_ID

import pagewalk
from pagewalk import Checkpoint, SpecError

from .seed import dynamodb_table, s3_objects

Aws = Callable[..., Any]


@contextmanager
def counting(client: Any) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(request: Any, **kwargs: Any) -> None:
        sent.append(kwargs.get("event_name", ""))

    client.meta.events.register("before-send", record)
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-send", record)


def decoded(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(token))
    return data


def botocore_first(
    client: Any, operation: str, max_items: int, page_size: int, **params: Any
) -> dict[str, Any]:
    paginator = client.get_paginator(operation)
    config = {"MaxItems": max_items, "PageSize": page_size}
    result: dict[str, Any] = paginator.paginate(
        **params, PaginationConfig=config
    ).build_full_result()
    return result


def botocore_rest(
    client: Any, operation: str, token: str, page_size: int, **params: Any
) -> dict[str, Any]:
    paginator = client.get_paginator(operation)
    config = {"StartingToken": token, "PageSize": page_size}
    result: dict[str, Any] = paginator.paginate(
        **params, PaginationConfig=config
    ).build_full_result()
    return result


# --------------------------------------------------------------------------------------------
# S3 ListObjectsV2: a string token


@pytest.fixture
def s3(aws: Aws) -> Any:
    return aws("s3")


@pytest.fixture
def keys(s3: Any) -> list[str]:
    return s3_objects(s3, "interop", 23)


@pytest.mark.parametrize(
    ("max_items", "truncate"),
    [(7, 2), (10, None), (3, 3)],
    ids=["inside-a-page", "page-boundary", "inside-the-first-page"],
)
@pytest.mark.parametrize("resume_page_size", [5, 3, 8])
def test_botocore_next_token_resumes_pagewalk(
    s3: Any, keys: list[str], max_items: int, truncate: int | None, resume_page_size: int
) -> None:
    first = botocore_first(s3, "list_objects_v2", max_items, 5, Bucket="interop")
    token = first["NextToken"]
    assert decoded(token).get("boto_truncate_amount") == truncate
    if max_items < 5:
        assert decoded(token)["ContinuationToken"] is None  # botocore's first-page form
    rest = pagewalk.items(
        s3.list_objects_v2, Bucket="interop", page_size=resume_page_size, resume_from=token
    )
    seen = [item["Key"] for item in first["Contents"]] + [item["Key"] for item in rest]
    assert seen == keys


@pytest.mark.parametrize("max_items", [7, 10, 3], ids=["inside-a-page", "page-boundary", "first"])
def test_pagewalk_checkpoint_resumes_botocore(s3: Any, keys: list[str], max_items: int) -> None:
    walk = pagewalk.items(s3.list_objects_v2, Bucket="interop", page_size=5, max_items=max_items)
    first = [item["Key"] for item in walk]
    assert walk.checkpoint is not None
    token = walk.checkpoint.to_starting_token()
    assert ("boto_truncate_amount" in decoded(token)) == (max_items % 5 != 0)
    rest = botocore_rest(s3, "list_objects_v2", token, 5, Bucket="interop")
    assert first + [item["Key"] for item in rest["Contents"]] == keys


def test_botocore_resume_token_round_trips_through_pagewalk(s3: Any, keys: list[str]) -> None:
    # botocore -> pagewalk -> botocore: stop twice inside pages, finish with botocore.
    first = botocore_first(s3, "list_objects_v2", 4, 5, Bucket="interop")
    walk = pagewalk.items(
        s3.list_objects_v2, Bucket="interop", page_size=5, max_items=9,
        resume_from=first["NextToken"],
    )  # fmt: skip
    middle = [item["Key"] for item in walk]
    assert walk.checkpoint is not None
    rest = botocore_rest(
        s3, "list_objects_v2", walk.checkpoint.to_starting_token(), 5, Bucket="interop"
    )
    seen = [item["Key"] for item in first["Contents"]] + middle
    assert seen + [item["Key"] for item in rest["Contents"]] == keys


def test_starting_token_is_checked_only_against_the_input_tokens(s3: Any, keys: list[str]) -> None:
    # No digest: the token carries none, so another Prefix is not noticed (the docs say so).
    token = botocore_first(s3, "list_objects_v2", 5, 5, Bucket="interop")["NextToken"]
    walk = pagewalk.items(s3.list_objects_v2, Bucket="interop", Prefix="key-", resume_from=token)
    assert [item["Key"] for item in walk] == keys[5:]


# --------------------------------------------------------------------------------------------
# S3 ListObjectVersions: a two-part token


def test_multi_part_token_both_ways(s3: Any) -> None:
    from moto.s3.models import s3_backends

    s3.create_bucket(Bucket="versions")
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for index in range(5):
        for version in range(3):
            backend.put_object("versions", f"k{index}", b"v%d" % version)
    every = [
        (item["Key"], item["VersionId"])
        for item in pagewalk.items(s3.list_object_versions, Bucket="versions")
    ]
    first = botocore_first(s3, "list_object_versions", 7, 5, Bucket="versions")
    assert set(decoded(first["NextToken"])) == {
        "KeyMarker", "VersionIdMarker", "boto_truncate_amount",
    }  # fmt: skip
    walk = pagewalk.items(
        s3.list_object_versions, Bucket="versions", page_size=5, max_items=4,
        resume_from=first["NextToken"],
    )  # fmt: skip
    middle = [(item["Key"], item["VersionId"]) for item in walk]
    assert walk.checkpoint is not None
    rest = botocore_rest(
        s3, "list_object_versions", walk.checkpoint.to_starting_token(), 5, Bucket="versions"
    )
    seen = [(item["Key"], item["VersionId"]) for item in first["Versions"]] + middle
    assert seen + [(item["Key"], item["VersionId"]) for item in rest["Versions"]] == every
    assert len(every) == 15


# --------------------------------------------------------------------------------------------
# DynamoDB Scan: a dict token with binary values


@pytest.fixture
def dynamodb(aws: Aws) -> Any:
    client = aws("dynamodb")
    client.create_table(
        TableName="blobs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "B"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for index in range(23):
        # Not UTF-8, and a NUL: only base64 carries these through JSON.
        key = bytes([0xFF, index, 0x00]) + b"key"
        client.put_item(TableName="blobs", Item={"pk": {"B": key}, "n": {"N": str(index)}})
    return client


def scanned(dynamodb: Any) -> list[bytes]:
    return [item["pk"]["B"] for item in pagewalk.items(dynamodb.scan, TableName="blobs")]


@pytest.mark.parametrize("max_items", [7, 10], ids=["inside-a-page", "page-boundary"])
def test_dynamodb_binary_token_from_botocore(dynamodb: Any, max_items: int) -> None:
    every = scanned(dynamodb)
    first = botocore_first(dynamodb, "scan", max_items, 5, TableName="blobs")
    raw = decoded(first["NextToken"])
    assert raw["boto_encoded_keys"] == [["ExclusiveStartKey", "pk", "B"]]
    rest = pagewalk.items(
        dynamodb.scan, TableName="blobs", page_size=5, resume_from=first["NextToken"]
    )
    seen = [item["pk"]["B"] for item in first["Items"]] + [item["pk"]["B"] for item in rest]
    assert seen == every
    assert len(set(seen)) == 23


@pytest.mark.parametrize("max_items", [7, 10], ids=["inside-a-page", "page-boundary"])
def test_dynamodb_binary_token_to_botocore(dynamodb: Any, max_items: int) -> None:
    every = scanned(dynamodb)
    walk = pagewalk.items(dynamodb.scan, TableName="blobs", page_size=5, max_items=max_items)
    first = [item["pk"]["B"] for item in walk]
    assert walk.checkpoint is not None
    token = walk.checkpoint.to_starting_token()
    assert decoded(token)["boto_encoded_keys"] == [["ExclusiveStartKey", "pk", "B"]]
    rest = botocore_rest(dynamodb, "scan", token, 5, TableName="blobs")
    assert first + [item["pk"]["B"] for item in rest["Items"]] == every


# --------------------------------------------------------------------------------------------
# Refusals: before any request


def encode(token: dict[str, Any]) -> str:
    return str(TokenEncoder().encode(token))


def test_token_of_another_operation_is_refused(s3: Any, dynamodb: Any, keys: list[str]) -> None:
    scan_token = botocore_first(dynamodb, "scan", 3, 5, TableName="blobs")["NextToken"]
    list_v1_token = encode({"Marker": "key-000003"})
    for token in (scan_token, list_v1_token):
        with counting(s3) as sent, pytest.raises(SpecError, match="another operation"):
            pagewalk.items(s3.list_objects_v2, Bucket="interop", resume_from=token)
        assert sent == []


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


MALFORMED = {
    "not-base64": "not a token!",
    "raw-service-token": "abc123",
    "a-list": b64("[1, 2]"),
    "bad-json": b64('{"ContinuationToken": '),
    "truncate-negative": encode({"ContinuationToken": "t", "boto_truncate_amount": -1}),
    "truncate-text": encode({"ContinuationToken": "t", "boto_truncate_amount": "2"}),
    "truncate-bool": encode({"ContinuationToken": "t", "boto_truncate_amount": True}),
    "wrong-value-type": encode({"ContinuationToken": 5}),
    "missing-name": encode({"boto_truncate_amount": 2}),
    "extra-name": encode({"ContinuationToken": "t", "Bucket": "other"}),
    "encoded-path-missing": b64('{"ContinuationToken": "t", "boto_encoded_keys": [["Nope"]]}'),
    "encoded-path-not-text": b64(
        '{"ContinuationToken": {"a": 1}, "boto_encoded_keys": [["ContinuationToken"]]}'
    ),
    "encoded-path-empty": b64('{"ContinuationToken": "dA==", "boto_encoded_keys": [[]]}'),
    "encoded-not-base64": b64(
        '{"ContinuationToken": "%%", "boto_encoded_keys": [["ContinuationToken"]]}'
    ),
    "encoded-keys-not-a-list": b64('{"ContinuationToken": "t", "boto_encoded_keys": 3}'),
    "deep": b64('{"ContinuationToken": ' + "[" * 5000 + "]" * 5000 + "}"),
    "not-ascii": "eyJ\u00e9",
}


@pytest.mark.parametrize("token", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_token_is_a_spec_error_before_any_request(
    s3: Any, keys: list[str], token: str
) -> None:
    with counting(s3) as sent, pytest.raises(SpecError):
        pagewalk.items(s3.list_objects_v2, Bucket="interop", resume_from=token)
    assert sent == []


def test_raw_service_token_points_at_the_parameter(s3: Any) -> None:
    with pytest.raises(SpecError, match=r"ContinuationToken=\.\.\."):
        pagewalk.items(s3.list_objects_v2, Bucket="interop", resume_from="abc123")


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=60),
        st.binary(max_size=60).map(b64),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=8), children, max_size=3)
            ),
            max_leaves=8,
        ).map(
            lambda value: b64(json.dumps({"ContinuationToken": value, "boto_encoded_keys": value}))
        ),
    )
)
def test_any_text_is_a_checkpoint_a_token_or_a_spec_error(s3: Any, text: str) -> None:
    with suppress(SpecError):
        pagewalk.items(s3.list_objects_v2, Bucket="interop", resume_from=text)


def test_botocore_truncate_amount_cannot_resume_another_result_key(
    s3: Any, keys: list[str]
) -> None:
    token = encode({"ContinuationToken": None, "boto_truncate_amount": 2})
    with pytest.raises(SpecError, match="counts only the first result key"):
        pagewalk.items(
            s3.list_objects_v2, Bucket="interop", Delimiter="/", result_key="CommonPrefixes",
            resume_from=token,
        )  # fmt: skip
    boundary = encode({"ContinuationToken": None})
    walk = pagewalk.items(
        s3.list_objects_v2, Bucket="interop", Delimiter="/", result_key="CommonPrefixes",
        resume_from=boundary,
    )  # fmt: skip
    assert list(walk) == []  # no folders in this bucket


def test_botocore_token_refused_by_a_parallel_scan(dynamodb: Any) -> None:
    token = botocore_first(dynamodb, "scan", 3, 5, TableName="blobs")["NextToken"]
    with counting(dynamodb) as sent, pytest.raises(SpecError, match="parallel scan"):
        pagewalk.parallel_items(
            dynamodb.scan, TableName="blobs", total_segments=2, resume_from=token
        )
    assert sent == []


# --------------------------------------------------------------------------------------------
# to_starting_token refusals


def test_parallel_scan_checkpoint_has_no_starting_token(aws: Aws) -> None:
    dynamodb = aws("dynamodb")
    dynamodb_table(dynamodb, "orders", 20)  # moto cannot split binary hash keys into segments
    walk = pagewalk.parallel_items(
        dynamodb.scan, TableName="orders", total_segments=2, page_size=2, max_items=3
    )
    list(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert checkpoint.total_segments == 2
    with pytest.raises(SpecError, match="parallel scan"):
        checkpoint.to_starting_token()
    # One segment's position is a token for a paginator given that segment.
    segment = checkpoint.segments[0]
    token = segment.to_starting_token()
    rest = botocore_rest(
        dynamodb, "scan", token, 2, TableName="orders", Segment=segment.segment, TotalSegments=2
    )
    assert isinstance(rest["Items"], list)


def test_operation_botocore_cannot_paginate_has_no_starting_token() -> None:
    checkpoint = Checkpoint("tests.fake.list_things", "0" * 32, {"NextToken": "t"})
    with pytest.raises(SpecError, match="no paginator"):
        checkpoint.to_starting_token()


def test_other_result_key_inside_a_page_has_no_starting_token(s3: Any) -> None:
    inside = Checkpoint("s3.ListObjectsV2", "0" * 32, {"ContinuationToken": "t"}, skip=2,
                        result_key="CommonPrefixes")  # fmt: skip
    with pytest.raises(SpecError, match="CommonPrefixes"):
        inside.to_starting_token()
    boundary = Checkpoint("s3.ListObjectsV2", "0" * 32, {"ContinuationToken": "t"},
                          result_key="CommonPrefixes")  # fmt: skip
    assert decoded(boundary.to_starting_token()) == {"ContinuationToken": "t"}


def test_first_page_position_names_every_input_token() -> None:
    start = Checkpoint("s3.ListObjectVersions", "0" * 32, {}, skip=4)
    assert decoded(start.to_starting_token()) == {
        "KeyMarker": None, "VersionIdMarker": None, "boto_truncate_amount": 4,
    }  # fmt: skip


def test_key_range_position_has_no_starting_token() -> None:
    if "key_range" not in {field.name for field in dataclasses.fields(Checkpoint)}:
        pytest.skip("checkpoints of this version hold no key ranges")
    position = Checkpoint(
        "s3.ListObjectsV2", "0" * 32, {"ContinuationToken": "t"}, segment=0,
        key_range=("a", "m"),  # type: ignore[call-arg]
    )  # fmt: skip
    with pytest.raises(SpecError, match="key range"):
        position.to_starting_token()

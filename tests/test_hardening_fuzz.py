"""Fuzzing the checkpoint reader with mutated real checkpoints.

Real checkpoints come from real walks: a plain callable stopped inside a page, S3 on moto stopped
inside a page, a DynamoDB table with binary keys (dict tokens holding bytes), and a parallel
DynamoDB scan (a checkpoint with segments). Hypothesis mutates them (JSON values and types,
deleted and added keys, deep nesting, truncated text, flipped bytes) and resumes from the result.
The only outcomes allowed:

- ``SpecError`` when the walk is created, with no request sent; or
- a walk that behaves: it yields only items of the real data, and every request carries only
  the walk's own parameters, its input tokens and its limit (the service may still reject a
  token it does not know, as it would any stale token).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pagewalk
from pagewalk import SpecError, TokenSpec

from .conftest import MotoServer
from .seed import dynamodb_table, s3_objects

SPEC = TokenSpec("NextToken", "NextToken", result_key="Items", limit_key="Limit")
PLAIN_ITEMS = {f"{page}-{index}" for page in range(5) for index in range(3)}
TOKENS = {f"t{page}": page for page in range(1, 5)}
EXAMPLES = int(os.environ.get("PAGEWALK_FUZZ_EXAMPLES", "100"))  # per kind of checkpoint


class Rejected(Exception):
    """The plain service's answer to a token it never gave out (like a service's 400)."""


@dataclass
class Source:
    """One kind of real walk: how to start it, resume it, and what it may send and yield."""

    name: str
    checkpoint: str
    resume: Callable[[str | bytes], Any]
    allowed: frozenset[str]
    real: Callable[[Any], bool]
    sent: list[frozenset[str]] = field(default_factory=list)


def plain_service(sent: list[frozenset[str]]) -> Callable[..., dict[str, Any]]:
    def list_things(**params: Any) -> dict[str, Any]:
        sent.append(frozenset(params))
        token = params.get("NextToken")
        if token is None:
            page = 0
        elif isinstance(token, str) and token in TOKENS:
            page = TOKENS[token]
        else:
            raise Rejected(f"unknown token {token!r}")
        response: dict[str, Any] = {"Items": [f"{page}-{index}" for index in range(3)]}
        if page < 4:
            response["NextToken"] = f"t{page + 1}"
        return response

    return list_things


def record(client: Any, operation: str, sent: list[frozenset[str]]) -> None:
    def handler(params: dict[str, Any], **kwargs: Any) -> None:
        sent.append(frozenset(params))

    client.meta.events.register(f"provide-client-params.{operation}", handler)


def _plain() -> Source:
    sent: list[frozenset[str]] = []
    method = plain_service(sent)
    walk = pagewalk.items(method, token_spec=SPEC, page_size=3, max_items=4)
    assert len(list(walk)) == 4
    assert walk.checkpoint is not None
    return Source(
        "plain",
        walk.checkpoint.to_json(),
        lambda text: pagewalk.items(
            method, token_spec=SPEC, page_size=3, max_pages=3, retry_policy=None, resume_from=text
        ),
        frozenset({"NextToken", "Limit"}),
        lambda item: item in PLAIN_ITEMS,
        sent,
    )


def _s3(moto: MotoServer) -> Source:
    s3 = moto.client("s3")
    keys = set(s3_objects(s3, "fuzz", 12))
    walk = pagewalk.items(s3.list_objects_v2, Bucket="fuzz", page_size=3, max_items=4)
    assert len(list(walk)) == 4
    assert walk.checkpoint is not None
    source = Source(
        "s3",
        walk.checkpoint.to_json(),
        lambda text: pagewalk.items(
            s3.list_objects_v2,
            Bucket="fuzz",
            page_size=3,
            max_pages=3,
            retry_policy=None,
            resume_from=text,
        ),
        frozenset({"Bucket", "ContinuationToken", "MaxKeys"}),
        lambda item: item["Key"] in keys,
    )
    record(s3, "s3.ListObjectsV2", source.sent)
    return source


def _binary_keys(moto: MotoServer) -> Source:
    ddb = moto.client("dynamodb")
    ddb.create_table(
        TableName="binary",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "B"}],
        BillingMode="PAY_PER_REQUEST",
    )
    keys = {bytes([index, 255 - index, 0]) for index in range(12)}
    for key in keys:
        ddb.put_item(TableName="binary", Item={"pk": {"B": key}})
    walk = pagewalk.items(ddb.scan, TableName="binary", page_size=3, max_items=4)
    assert len(list(walk)) == 4
    assert walk.checkpoint is not None
    assert isinstance(walk.checkpoint.tokens["ExclusiveStartKey"]["pk"]["B"], bytes)
    source = Source(
        "binary",
        walk.checkpoint.to_json(),
        lambda text: pagewalk.items(
            ddb.scan,
            TableName="binary",
            page_size=3,
            max_pages=3,
            retry_policy=None,
            resume_from=text,
        ),
        frozenset({"TableName", "ExclusiveStartKey", "Limit"}),
        lambda item: item["pk"]["B"] in keys,
    )
    record(ddb, "dynamodb.Scan", source.sent)
    return source


def _parallel(moto: MotoServer) -> Source:
    ddb = moto.client("dynamodb")
    rows = {(row["pk"]["S"], row["sk"]["N"]) for row in dynamodb_table(ddb, "segments", 30)}
    walk = pagewalk.parallel_items(
        ddb.scan, TableName="segments", total_segments=3, page_size=2, max_items=5
    )
    assert len(list(walk)) == 5
    assert walk.checkpoint is not None
    assert len(walk.checkpoint.segments) == 3
    source = Source(
        "parallel",
        walk.checkpoint.to_json(),
        lambda text: pagewalk.parallel_items(
            ddb.scan,
            TableName="segments",
            total_segments=3,
            page_size=2,
            max_pages=4,
            retry_policy=None,
            resume_from=text,
        ),
        frozenset({"TableName", "ExclusiveStartKey", "Limit", "Segment", "TotalSegments"}),
        lambda item: (item["pk"]["S"], item["sk"]["N"]) in rows,
    )
    record(ddb, "dynamodb.Scan", source.sent)
    return source


@pytest.fixture(scope="module")
def sources(moto_server: MotoServer) -> Iterator[dict[str, Source]]:
    moto_server.reset()
    made = [_plain(), _s3(moto_server), _binary_keys(moto_server), _parallel(moto_server)]
    yield {source.name: source for source in made}
    moto_server.reset()


# --------------------------------------------------------------------------------------------
# Mutations

TAGS = ["$bytes", "$decimal", "$datetime", "$set", "$map"]
NAMES = [
    *TAGS,
    "Bucket",
    "TableName",
    "Segment",
    "TotalSegments",
    "Limit",
    "MaxKeys",
    "NextToken",
    "ContinuationToken",
    "ExclusiveStartKey",
    "pk",
    "B",
    "S",
    "tokens",
    "segments",
    "segment",
    "skip",
    "items",
    "pages",
    "format",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["", "AAAA", "!!", "x", "NaN", "2024-01-01T00:00:00+00:00", "t2", "t9"]),
    st.text(max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=4), children, max_size=3),
    ),
    max_leaves=8,
)


def _path(data: st.DataObject, root: Any) -> list[Any]:
    """A path from ``root`` to one of its containers, chosen by Hypothesis."""
    path: list[Any] = []
    node = root
    while True:
        children = [
            key
            for key, child in (node.items() if isinstance(node, dict) else enumerate(node))
            if isinstance(child, (dict, list))
        ]
        if not children or not data.draw(st.booleans(), label="deeper"):
            return path
        key = data.draw(st.sampled_from(children), label="into")
        path.append(key)
        node = node[key]


def _mutate_json(data: st.DataObject, root: Any) -> Any:
    path = _path(data, root)
    node = root
    for key in path:
        node = node[key]
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    operation = data.draw(
        st.sampled_from(["replace", "delete", "add", "retype", "nest"] if keys else ["add"]),
        label="operation",
    )
    key = data.draw(st.sampled_from(keys), label="key") if keys else None
    if operation == "replace":
        node[key] = data.draw(JSON, label="value")
    elif operation == "delete":
        del node[key]
    elif operation == "add":
        value = data.draw(JSON, label="value")
        if isinstance(node, dict):
            node[data.draw(st.sampled_from(NAMES) | st.text(max_size=6), label="name")] = value
        else:
            node.insert(data.draw(st.integers(0, len(node)), label="at"), value)
    elif operation == "retype":
        value = node[key]
        if isinstance(value, str):
            options = [[value], {"$map": value}, 1, {"$bytes": value}]
            node[key] = data.draw(st.sampled_from(options), label="as")
        else:
            try:
                node[key] = str(value)
            except RecursionError:  # a value nested by an earlier mutation
                node[key] = "deep"
    else:
        depth = data.draw(st.sampled_from([2, 70, 900, 5000]), label="depth")
        in_lists = data.draw(st.booleans(), label="in lists")
        value = node[key]
        for _ in range(depth):
            value = [value] if in_lists else {"k": value}
        node[key] = value
    return root


def _mutate_text(data: st.DataObject, text: str) -> str | bytes:
    raw = text.encode("utf-8")
    operation = data.draw(st.sampled_from(["truncate", "flip", "insert"]), label="text operation")
    at = data.draw(st.integers(0, len(raw)), label="position")
    if operation == "truncate":
        return raw[:at].decode("utf-8", errors="replace")
    if operation == "flip" and at < len(raw):
        flipped = bytearray(raw)
        flipped[at] ^= data.draw(st.integers(1, 255), label="mask")
        return bytes(flipped)
    inserted = data.draw(st.sampled_from(["[", "{", '"', ",", "]]]", "\\u0000", "1e999", "-"]))
    return text[:at] + inserted + text[at:]


def mutated(data: st.DataObject, checkpoint: str) -> str | bytes:
    root = json.loads(checkpoint)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        root = _mutate_json(data, root)
    try:
        text = json.dumps(root)
    except (RecursionError, ValueError):
        text = json.dumps({"format": "pagewalk.checkpoint/1", "nested": "too deep to write"})
    if data.draw(st.booleans(), label="text too"):
        return _mutate_text(data, text)
    return text


# --------------------------------------------------------------------------------------------
# The property


@pytest.mark.parametrize("name", ["plain", "s3", "binary", "parallel"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_a_mutated_checkpoint_is_refused_before_any_request_or_the_walk_behaves(
    sources: dict[str, Source], name: str, data: st.DataObject
) -> None:
    source = sources[name]
    text = mutated(data, source.checkpoint)
    source.sent.clear()
    try:
        walk = source.resume(text)
    except SpecError:
        assert source.sent == [], "a request was sent before the SpecError"
        return
    items: list[Any] = []
    try:
        items.extend(walk)
    except (ClientError, Rejected):
        pass  # the service rejected a token it does not know: no data was lost or invented
    finally:
        walk.close()
    assert all(source.real(item) for item in items), "an item that is not in the data"
    for params in source.sent:
        assert params <= source.allowed, f"sent {sorted(params - source.allowed)}"


def test_the_fuzzed_checkpoints_are_real_and_resume_exactly(sources: dict[str, Source]) -> None:
    # The starting points of the fuzz: unmutated, each resumes and yields only real items.
    for source in sources.values():
        source.sent.clear()
        items = list(source.resume(source.checkpoint))
        assert items
        assert all(source.real(item) for item in items)
        assert source.sent
        assert all(params <= source.allowed for params in source.sent)

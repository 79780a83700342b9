"""``result_key=``: items() (and aitems(), parallel_items()) yield and count another of the
mapping's result lists, here S3 ``CommonPrefixes`` of a ``Delimiter="/"`` listing on moto."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID

import pagewalk
from pagewalk import Checkpoint, SpecError

from .conftest import MotoServer
from .drivers import aio_client_factory

Aws = Callable[..., Any]


def folders(client: Any, bucket: str = "dirs") -> tuple[list[str], list[str]]:
    """Bucket with 6 top-level keys and 11 folders of 2 keys each; (keys, prefixes) in order."""
    from moto.s3.models import s3_backends

    client.create_bucket(Bucket=bucket)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    keys = [f"top-{index}" for index in range(6)]
    prefixes = [f"d{index:02d}/" for index in range(11)]
    for key in keys:
        backend.put_object(bucket, key, b"x")
    for prefix in prefixes:
        for name in ("a", "b"):
            backend.put_object(bucket, prefix + name, b"x")
    return keys, prefixes


@contextmanager
def counting(client: Any) -> Iterator[list[str]]:
    """Record every request the client sends (its operation name)."""
    sent: list[str] = []

    def record(request: Any, **kwargs: Any) -> None:
        sent.append(kwargs.get("event_name", ""))

    client.meta.events.register("before-send", record)
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-send", record)


def prefixes_of(values: list[dict[str, Any]]) -> list[str]:
    return [value["Prefix"] for value in values]


def test_items_yield_the_common_prefixes(aws: Aws) -> None:
    s3 = aws("s3")
    _, prefixes = folders(s3)
    walk = pagewalk.items(
        s3.list_objects_v2,
        Bucket="dirs",
        Delimiter="/",
        page_size=4,
        result_key="CommonPrefixes",
    )
    assert prefixes_of(list(walk)) == prefixes
    assert walk.stats.items == len(prefixes)


def test_default_result_key_is_still_the_first(aws: Aws) -> None:
    s3 = aws("s3")
    keys, _ = folders(s3)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="dirs", Delimiter="/", page_size=4)
    assert [item["Key"] for item in walk] == keys


def test_max_items_counts_the_chosen_list_exactly(aws: Aws) -> None:
    s3 = aws("s3")
    _, prefixes = folders(s3)
    options: dict[str, Any] = {
        "Bucket": "dirs",
        "Delimiter": "/",
        "page_size": 4,
        "result_key": "CommonPrefixes",
    }
    walk = pagewalk.items(s3.list_objects_v2, max_items=5, **options)
    first = prefixes_of(list(walk))
    checkpoint = walk.checkpoint
    assert first == prefixes[:5]
    assert checkpoint is not None
    assert checkpoint.items == 5
    assert checkpoint.result_key == "CommonPrefixes"
    # Through JSON, as a checkpoint is kept between runs.
    text = checkpoint.to_json()
    rest = prefixes_of(list(pagewalk.items(s3.list_objects_v2, resume_from=text, **options)))
    assert first + rest == prefixes


def test_checkpoint_inside_a_page_resumes_exactly(aws: Aws) -> None:
    s3 = aws("s3")
    _, prefixes = folders(s3)
    options: dict[str, Any] = {
        "Bucket": "dirs",
        "Delimiter": "/",
        "page_size": 5,
        "result_key": "CommonPrefixes",
    }
    walk = pagewalk.items(s3.list_objects_v2, **options)
    first = [next(walk)["Prefix"] for _ in range(7)]
    checkpoint = walk.checkpoint
    walk.close()
    assert checkpoint is not None
    assert checkpoint.skip > 0
    rest = prefixes_of(list(pagewalk.items(s3.list_objects_v2, resume_from=checkpoint, **options)))
    assert first + rest == prefixes


def test_unknown_result_key_is_a_spec_error_at_the_call(aws: Aws) -> None:
    s3 = aws("s3")
    folders(s3)
    with counting(s3) as sent, pytest.raises(SpecError, match="CommonPrefixes") as caught:
        pagewalk.items(s3.list_objects_v2, Bucket="dirs", result_key="Prefixes")
    assert "'Prefixes' is not one of" in str(caught.value)
    assert sent == []


def test_pages_refuse_result_key() -> None:
    def method(**params: Any) -> dict[str, Any]:
        raise AssertionError("no request may be sent")

    with pytest.raises(TypeError, match="result_key"):
        pagewalk.pages(
            method,
            token_spec=pagewalk.TokenSpec("T", "T", result_key=("A", "B")),
            result_key="B",
        )


@pytest.mark.parametrize(("taken", "resumed"), [("CommonPrefixes", None), (None, "CommonPrefixes")])
def test_checkpoint_of_another_result_key_is_refused(
    aws: Aws, taken: str | None, resumed: str | None
) -> None:
    s3 = aws("s3")
    folders(s3)
    walk = pagewalk.items(
        s3.list_objects_v2, Bucket="dirs", Delimiter="/", page_size=3, max_items=2,
        result_key=taken,
    )  # fmt: skip
    list(walk)
    assert walk.checkpoint is not None
    with counting(s3) as sent, pytest.raises(SpecError, match="other request parameters"):
        pagewalk.items(
            s3.list_objects_v2, Bucket="dirs", Delimiter="/", page_size=3,
            resume_from=walk.checkpoint, result_key=resumed,
        )  # fmt: skip
    assert sent == []


def test_explicit_first_result_key_resumes_a_default_walk(aws: Aws) -> None:
    s3 = aws("s3")
    keys, _ = folders(s3)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="dirs", Delimiter="/", max_items=2)
    first = [item["Key"] for item in walk]
    rest = pagewalk.items(
        s3.list_objects_v2, Bucket="dirs", Delimiter="/", resume_from=walk.checkpoint,
        result_key="Contents",
    )  # fmt: skip
    assert first + [item["Key"] for item in rest] == keys


def test_pages_resumed_inside_a_page_leave_out_its_other_lists(aws: Aws) -> None:
    # pages() cuts only the first list at max_items; the page's CommonPrefixes were yielded
    # whole, so the resumed page must not yield them again (botocore's rule too).
    s3 = aws("s3")
    keys, prefixes = folders(s3)
    options: dict[str, Any] = {"Bucket": "dirs", "Delimiter": "/", "page_size": 20}
    walk = pagewalk.pages(s3.list_objects_v2, max_items=3, **options)
    pages = list(walk)
    assert walk.checkpoint is not None
    assert walk.checkpoint.skip == 3
    pages += list(pagewalk.pages(s3.list_objects_v2, resume_from=walk.checkpoint, **options))
    assert [item["Key"] for page in pages for item in page.get("Contents", [])] == keys
    assert prefixes_of([p for page in pages for p in page.get("CommonPrefixes", [])]) == prefixes


def test_parallel_items_check_result_key_at_the_call(aws: Aws) -> None:
    dynamodb = aws("dynamodb")
    with counting(dynamodb) as sent, pytest.raises(SpecError, match="result_key='Rows'"):
        pagewalk.parallel_items(
            dynamodb.scan, TableName="missing", total_segments=2, result_key="Rows"
        )
    assert sent == []


def test_aitems_yield_the_common_prefixes(moto: MotoServer, aws: Aws) -> None:
    pytest.importorskip("aiobotocore")
    _, prefixes = folders(aws("s3"))

    async def walk() -> tuple[list[str], list[str]]:
        async with aio_client_factory(moto.url)("s3") as s3:
            options: dict[str, Any] = {
                "Bucket": "dirs",
                "Delimiter": "/",
                "page_size": 4,
                "result_key": "CommonPrefixes",
            }
            first_walk = pagewalk.aitems(s3.list_objects_v2, max_items=6, **options)
            first = [value["Prefix"] async for value in first_walk]
            checkpoint = first_walk.checkpoint
            rest_walk = pagewalk.aitems(s3.list_objects_v2, resume_from=checkpoint, **options)
            rest = [value["Prefix"] async for value in rest_walk]
            return first, rest

    first, rest = asyncio.run(walk())
    assert first == prefixes[:6]
    assert first + rest == prefixes


def test_checkpoint_json_keeps_the_result_key() -> None:
    checkpoint = Checkpoint("s3.ListObjectsV2", "0" * 32, {"ContinuationToken": "t"}, skip=2,
                            result_key="CommonPrefixes")  # fmt: skip
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    assert "result_key" not in Checkpoint("s3.ListObjectsV2", "0" * 32).to_json()

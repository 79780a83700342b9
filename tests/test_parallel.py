"""Parallel scans and shards: every item exactly once, resumable, bounded, stoppable.

Most tests share one DynamoDB table seeded once for this module on the session's moto server
(scans only read it); they use ``moto_server`` directly, never the resetting ``moto`` fixture,
and each gets a client of its own.
"""

from __future__ import annotations

import gc
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError
from hypothesis import given, settings
from hypothesis import strategies as st

import pagewalk
from pagewalk import Checkpoint, PageInfo, Retry, Shard, SpecError, TokenSpec
from pagewalk.testing import no_sleep

from . import seed
from .conftest import MotoServer

TABLE = "parallel-scan"
COUNT = 2000
PAGE_SIZE = 150


@pytest.fixture(scope="module")
def seeded(moto_server: MotoServer) -> Iterator[None]:
    """The table of COUNT items, seeded once for this module."""
    moto_server.reset()
    seed.dynamodb_table(moto_server.client("dynamodb"), TABLE, COUNT)
    yield
    moto_server.reset()


@pytest.fixture
def table(seeded: None, moto_server: MotoServer) -> Any:
    """A DynamoDB client of its own for each test, so that requests a stopped scan of an earlier
    test still has on the wire never reach this test's event handlers."""
    return moto_server.client("dynamodb")


def key(item: dict[str, Any]) -> int:
    return int(item["sk"]["N"])


def segment_keys(client: Any, segment: int, total: int) -> set[int]:
    """The keys of one segment, read with plain boto3 calls (the reference)."""
    keys: set[int] = set()
    params: dict[str, Any] = {"TableName": TABLE, "Segment": segment, "TotalSegments": total}
    while True:
        response = client.scan(**params)
        keys.update(key(item) for item in response["Items"])
        if "LastEvaluatedKey" not in response:
            return keys
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Requests:
    """Counts the requests a client sends (botocore's ``before-send`` event)."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._client = client

    def __call__(self, request: Any, **_: Any) -> None:
        self.bodies.append(json.loads(request.body or b"{}"))

    def __enter__(self) -> Requests:
        self._client.meta.events.register("before-send.dynamodb", self)
        return self

    def __exit__(self, *_: object) -> None:
        self._client.meta.events.unregister("before-send.dynamodb", self)


# --------------------------------------------------------------------------------------------
# Every item exactly once


@pytest.mark.parametrize("total_segments", [4, 8])
def test_segments_together_yield_every_item_exactly_once(table: Any, total_segments: int) -> None:
    walk = pagewalk.parallel_items(
        table.scan, TableName=TABLE, total_segments=total_segments, page_size=PAGE_SIZE
    )
    counts = Counter(key(item) for item in walk)
    assert sorted(counts) == list(range(COUNT))
    assert set(counts.values()) == {1}
    assert walk.stats.items == COUNT
    assert walk.checkpoint is None


def test_page_info_names_the_segment_each_page_came_from(table: Any) -> None:
    infos: list[PageInfo] = []
    walk = pagewalk.parallel_pages(
        table.scan, TableName=TABLE, total_segments=4, page_size=PAGE_SIZE, on_page=infos.append
    )
    by_segment: dict[int, set[int]] = {segment: set() for segment in range(4)}
    for page, info in zip(walk, infos, strict=True):
        assert info.segment is not None
        by_segment[info.segment].update(key(item) for item in page["Items"])
    for segment in range(4):
        assert by_segment[segment] == segment_keys(table, segment, 4)
    assert [info.number for info in infos] == list(range(1, len(infos) + 1))


def test_every_request_carries_its_segment_and_the_total(table: Any) -> None:
    with Requests(table) as requests:
        walk = pagewalk.parallel_pages(
            table.scan, TableName=TABLE, total_segments=4, page_size=PAGE_SIZE
        )
        pages = list(walk)
    assert len(requests.bodies) == len(pages) == walk.stats.requests
    assert {body["TotalSegments"] for body in requests.bodies} == {4}
    assert {body["Limit"] for body in requests.bodies} == {PAGE_SIZE}
    assert Counter(
        body["Segment"] for body in requests.bodies if "ExclusiveStartKey" not in body
    ) == {
        0: 1,
        1: 1,
        2: 1,
        3: 1,
    }


def test_on_page_runs_in_the_callers_thread(table: Any) -> None:
    threads: set[int] = set()
    walk = pagewalk.parallel_pages(
        table.scan,
        TableName=TABLE,
        total_segments=4,
        page_size=500,
        on_page=lambda info: threads.add(threading.get_ident()),
    )
    list(walk)
    assert threads == {threading.get_ident()}


# --------------------------------------------------------------------------------------------
# Limits across segments, checkpoints and resuming


def test_max_pages_counts_pages_of_all_segments_and_sends_no_extra_request(table: Any) -> None:
    with Requests(table) as requests:
        walk = pagewalk.parallel_pages(
            table.scan, TableName=TABLE, total_segments=8, page_size=PAGE_SIZE, max_pages=5
        )
        pages = list(walk)
    assert len(pages) == 5
    assert len(requests.bodies) == 5


@pytest.mark.parametrize("as_json", [False, True], ids=["object", "json"])
def test_resuming_after_max_pages_completes_the_scan_without_loss_or_repeat(
    table: Any, as_json: bool
) -> None:
    first = pagewalk.parallel_pages(
        table.scan, TableName=TABLE, total_segments=8, page_size=PAGE_SIZE, max_pages=7
    )
    seen = [key(item) for page in first for item in page["Items"]]
    checkpoint = first.checkpoint
    assert checkpoint is not None
    assert checkpoint.total_segments == 8
    assert checkpoint.items == len(seen)
    assert checkpoint.pages == 7
    rest = pagewalk.parallel_pages(
        table.scan,
        TableName=TABLE,
        total_segments=8,
        page_size=PAGE_SIZE,
        resume_from=checkpoint.to_json() if as_json else checkpoint,
    )
    seen += [key(item) for page in rest for item in page["Items"]]
    assert sorted(seen) == list(range(COUNT))
    assert rest.checkpoint is None


def test_breaking_out_mid_page_then_resuming_from_json_loses_and_repeats_nothing(
    table: Any,
) -> None:
    walk = pagewalk.parallel_items(table.scan, TableName=TABLE, total_segments=4, page_size=100)
    seen = []
    for item in walk:
        seen.append(key(item))
        if len(seen) == 250:  # inside the third page
            break
    checkpoint = walk.checkpoint
    walk.close()
    assert checkpoint is not None
    assert checkpoint.items == 250
    assert any(position.skip for position in checkpoint.segments)
    text = checkpoint.to_json()
    assert Checkpoint.from_json(text) == checkpoint
    rest = pagewalk.parallel_items(
        table.scan, TableName=TABLE, total_segments=4, page_size=100, resume_from=text
    )
    seen += [key(item) for item in rest]
    assert sorted(seen) == list(range(COUNT))


def test_checkpoint_omits_finished_segments_and_keeps_running_totals(table: Any) -> None:
    empty = [segment for segment in range(8) if not segment_keys(table, segment, 8)]
    assert empty  # ten hash keys over eight segments leave some segments empty
    walk = pagewalk.parallel_pages(
        table.scan, TableName=TABLE, total_segments=8, page_size=PAGE_SIZE
    )
    assert walk.checkpoint is not None
    assert [position.segment for position in walk.checkpoint.segments] == list(range(8))
    for number, _ in enumerate(walk, start=1):
        if number == 12:
            break
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    remaining = {position.segment for position in checkpoint.segments}
    assert remaining.isdisjoint(empty)
    assert checkpoint.pages == 12
    assert checkpoint.items == walk.stats.items


@pytest.mark.parametrize("mode", ["items", "pages"])
def test_max_items_across_segments_is_exact_and_resume_yields_the_rest(
    table: Any, mode: str
) -> None:
    def scan(**options: Any) -> tuple[list[int], Checkpoint | None]:
        if mode == "items":
            walk = pagewalk.parallel_items(table.scan, TableName=TABLE, total_segments=8, **options)
            return [key(item) for item in walk], walk.checkpoint
        pages = pagewalk.parallel_pages(table.scan, TableName=TABLE, total_segments=8, **options)
        return [key(item) for page in pages for item in page["Items"]], pages.checkpoint

    first, checkpoint = scan(page_size=PAGE_SIZE, max_items=333)
    assert len(first) == 333
    assert checkpoint is not None
    assert checkpoint.items == 333
    rest, done = scan(page_size=PAGE_SIZE, resume_from=checkpoint)
    assert sorted(first + rest) == list(range(COUNT))
    assert done is None


def test_max_items_zero_sends_nothing_and_keeps_every_segment(table: Any) -> None:
    with Requests(table) as requests:
        walk = pagewalk.parallel_items(table.scan, TableName=TABLE, total_segments=4, max_items=0)
        assert list(walk) == []
    assert requests.bodies == []
    assert walk.checkpoint is not None
    assert len(walk.checkpoint.segments) == 4


# --------------------------------------------------------------------------------------------
# A failing segment


class FailSegment:
    """Fails every request of one segment after its first page (a reset connection)."""

    def __init__(self, segment: int) -> None:
        self.segment = segment
        self.failed = 0

    def __call__(self, request: Any, **_: Any) -> None:
        body = json.loads(request.body)
        if body.get("Segment") == self.segment and "ExclusiveStartKey" in body:
            self.failed += 1
            raise ConnectionClosedError(endpoint_url=request.url)


def test_failing_segment_leaves_a_checkpoint_that_completes_the_scan(table: Any) -> None:
    fail = FailSegment(2)
    table.meta.events.register("before-send.dynamodb.Scan", fail)
    seen: list[int] = []
    try:
        walk = pagewalk.parallel_items(
            table.scan,
            TableName=TABLE,
            total_segments=4,
            page_size=100,
            retry_policy=Retry(attempts=2),
        )
        with no_sleep() as delays, pytest.raises(ConnectionClosedError):
            seen.extend(key(item) for item in walk)
    finally:
        table.meta.events.unregister("before-send.dynamodb.Scan", fail)
    assert fail.failed == 2
    assert len(delays) == 1
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    failed = next(position for position in checkpoint.segments if position.segment == 2)
    assert failed.tokens  # segment 2 keeps its first page: it resumes at its second
    assert checkpoint.items == len(seen)
    assert len(seen) > 100
    rest = pagewalk.parallel_items(
        table.scan,
        TableName=TABLE,
        total_segments=4,
        page_size=100,
        resume_from=checkpoint.to_json(),
    )
    seen += [key(item) for item in rest]
    assert sorted(seen) == list(range(COUNT))


def test_a_retried_page_of_one_segment_does_not_disturb_the_others(table: Any) -> None:
    failures = {"left": 1}

    def fail_once(request: Any, **_: Any) -> None:
        if json.loads(request.body).get("Segment") == 1 and failures["left"]:
            failures["left"] -= 1
            raise ConnectionClosedError(endpoint_url=request.url)

    table.meta.events.register("before-send.dynamodb.Scan", fail_once)
    try:
        walk = pagewalk.parallel_items(
            table.scan, TableName=TABLE, total_segments=4, page_size=PAGE_SIZE
        )
        with no_sleep():
            keys = sorted(key(item) for item in walk)
    finally:
        table.meta.events.unregister("before-send.dynamodb.Scan", fail_once)
    assert keys == list(range(COUNT))
    assert walk.stats.retries == 1
    assert walk.stats.requests == walk.stats.pages + 1


# --------------------------------------------------------------------------------------------
# Bad input: refused before any request


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"total_segments": 0}, ValueError),
        ({"total_segments": "4"}, TypeError),
        ({"total_segments": 4, "Segment": 1}, TypeError),
        ({"total_segments": 4, "TotalSegments": 4}, TypeError),
        ({"total_segments": 4, "max_workers": 0}, ValueError),
        ({"total_segments": 4, "prefetch_pages": 2}, TypeError),
        ({"total_segments": 4, "max_item": 3}, TypeError),
        (
            {"total_segments": 4, "ExclusiveStartKey": {"pk": {"S": "p1"}, "sk": {"N": "1"}}},
            ValueError,
        ),
    ],
    ids=[
        "no-segments",
        "segments-not-int",
        "segment-given",
        "total-given",
        "no-workers",
        "prefetch",
        "typo",
        "start-token",
    ],
)
def test_bad_input_raises_before_any_request(
    table: Any, arguments: dict[str, Any], error: type[Exception]
) -> None:
    with Requests(table) as requests, pytest.raises(error):
        pagewalk.parallel_items(table.scan, TableName=TABLE, **arguments)
    assert requests.bodies == []


def test_operation_without_segments_is_refused_before_any_request(table: Any) -> None:
    with Requests(table) as requests, pytest.raises(SpecError, match="Segment"):
        pagewalk.parallel_pages(
            table.query,
            total_segments=4,
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "p1"}},
        )
    with pytest.raises(SpecError, match="Segment"):
        pagewalk.shards(table.list_tables, total_segments=2)
    assert requests.bodies == []


def test_async_method_is_refused_because_parallel_scans_are_sync_only() -> None:
    async def scan(**params: Any) -> dict[str, Any]:
        raise AssertionError("no request may be sent")

    with pytest.raises(TypeError, match="sync"):
        pagewalk.parallel_pages(scan, total_segments=2, token_spec=SPEC)


def test_checkpoint_of_another_scan_is_refused(table: Any) -> None:
    walk = pagewalk.parallel_items(table.scan, TableName=TABLE, total_segments=4, max_items=10)
    list(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    with pytest.raises(SpecError, match="4 segments"):
        pagewalk.parallel_items(
            table.scan, TableName=TABLE, total_segments=8, resume_from=checkpoint
        )
    with pytest.raises(SpecError, match="other request parameters"):
        pagewalk.parallel_items(
            table.scan, TableName="other", total_segments=4, resume_from=checkpoint
        )
    with pytest.raises(SpecError, match="parallel"):
        pagewalk.items(table.scan, TableName=TABLE, resume_from=checkpoint)
    with pytest.raises(SpecError, match="segment"):
        pagewalk.items(table.scan, TableName=TABLE, resume_from=checkpoint.segments[0])


def test_a_walk_checkpoint_is_refused_by_a_parallel_scan(table: Any) -> None:
    walk = pagewalk.items(table.scan, TableName=TABLE, max_items=10)
    list(walk)
    assert walk.checkpoint is not None
    with pytest.raises(SpecError, match=r"pages\(\)/items\(\)"):
        pagewalk.parallel_items(
            table.scan, TableName=TABLE, total_segments=4, resume_from=walk.checkpoint
        )


# --------------------------------------------------------------------------------------------
# Stopping workers (a plain callable with token_spec=, so requests can be held in flight)

SPEC = TokenSpec("NextToken", "NextToken", result_key="Items", limit_key="Limit")


class SlowScan:
    """A Segment/TotalSegments scan of ``pages`` pages per segment whose requests can be held."""

    def __init__(self, pages: int = 3, hold_from: int = 1) -> None:
        self.pages = pages
        self.hold_from = hold_from
        self.release = threading.Event()
        self.held = threading.Semaphore(0)
        self.calls = 0
        self._lock = threading.Lock()

    def scan(self, *, Segment: int, TotalSegments: int, NextToken: str | None = None) -> Any:
        with self._lock:
            self.calls += 1
        if Segment >= self.hold_from:
            self.held.release()
            self.release.wait(10)
        page = int(NextToken or 0)
        response: dict[str, Any] = {"Items": [f"{Segment}/{page}"]}
        if page + 1 < self.pages:
            response["NextToken"] = str(page + 1)
        return response


def worker_threads() -> list[threading.Thread]:
    return [
        thread for thread in threading.enumerate() if thread.name.startswith("pagewalk-parallel")
    ]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def start_and_hold(fake: SlowScan, walk: pagewalk.Walk[Any]) -> int:
    """Take the first item while both workers get held in a request; return the calls so far."""
    assert next(walk) == "0/0"
    for _ in range(2):
        assert fake.held.acquire(timeout=10)
    return fake.calls


@pytest.mark.parametrize("how", ["close", "with", "garbage"])
def test_stopping_the_walk_cancels_queued_pages_without_waiting_for_requests_in_flight(
    how: str,
) -> None:
    fake = SlowScan()
    walk = pagewalk.parallel_items(fake.scan, total_segments=8, max_workers=2, token_spec=SPEC)
    if how == "with":
        with walk:
            calls = start_and_hold(fake, walk)
    else:
        calls = start_and_hold(fake, walk)
        if how == "close":
            walk.close()
        else:
            del walk
            gc.collect()
    # Stopping returned while two requests are still held in flight.
    assert worker_threads()
    fake.release.set()
    wait_until(lambda: not worker_threads())
    assert fake.calls == calls == 3


def test_checkpoint_counts_the_final_page_of_a_segment_while_the_caller_holds_it() -> None:
    fake = SlowScan(pages=1, hold_from=99)  # each segment ends with its first page
    walk = pagewalk.parallel_pages(fake.scan, total_segments=3, max_workers=1, token_spec=SPEC)
    next(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert (checkpoint.pages, checkpoint.items) == (1, 1)
    assert [position.segment for position in checkpoint.segments] == [1, 2]
    walk.close()


def test_plain_callable_with_token_spec_is_scanned_in_parallel() -> None:
    fake = SlowScan(pages=4, hold_from=99)
    walk = pagewalk.parallel_items(fake.scan, total_segments=3, token_spec=SPEC)
    assert sorted(walk) == sorted(f"{segment}/{page}" for segment in range(3) for page in range(4))
    assert walk.stats.pages == 12


class FakeTable:
    """Segments of pages of given sizes (empty pages included), for property tests."""

    def __init__(self, sizes: list[list[int]]) -> None:
        self.sizes = sizes

    def scan(self, *, Segment: int, TotalSegments: int, NextToken: str | None = None) -> Any:
        assert TotalSegments == len(self.sizes)
        page = int(NextToken or 0)
        response: dict[str, Any] = {
            "Items": [(Segment, page, n) for n in range(self.sizes[Segment][page])]
        }
        if page + 1 < len(self.sizes[Segment]):
            response["NextToken"] = str(page + 1)
        return response


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=5), min_size=1, max_size=5),
    workers=st.integers(1, 3),
    stop_after=st.integers(0, 40),
    limit=st.sampled_from(["break", "max_items", "max_pages"]),
)
def test_any_stop_then_resume_yields_every_item_once_in_segment_order(
    sizes: list[list[int]], workers: int, stop_after: int, limit: str
) -> None:
    fake = FakeTable(sizes)
    options: dict[str, Any] = {"total_segments": len(sizes), "max_workers": workers}
    options["token_spec"] = SPEC
    if limit == "max_items":
        first = pagewalk.parallel_items(fake.scan, max_items=stop_after, **options)
    elif limit == "max_pages":
        first = pagewalk.parallel_items(fake.scan, max_pages=stop_after + 1, **options)
    else:
        first = pagewalk.parallel_items(fake.scan, **options)
    # islice takes no item beyond the stop: every item taken from the walk is one it yielded.
    seen = list(itertools.islice(first, stop_after) if limit == "break" else first)
    first.close()
    checkpoint = first.checkpoint
    if limit == "max_items":
        assert len(seen) == min(stop_after, sum(map(sum, sizes)))
    if checkpoint is not None:
        assert checkpoint.items == len(seen)
        rest = pagewalk.parallel_items(fake.scan, resume_from=checkpoint.to_json(), **options)
        seen += list(rest)
        assert rest.checkpoint is None
    expected = [
        (segment, page, n)
        for segment, pages in enumerate(sizes)
        for page, size in enumerate(pages)
        for n in range(size)
    ]
    assert sorted(seen) == expected
    for segment in range(len(sizes)):
        mine = [item for item in seen if item[0] == segment]
        assert mine == sorted(mine)


def test_shards_of_a_plain_callable_run_on_its_object() -> None:
    fake = FakeTable([[2, 1], [0], [3]])
    shards = pagewalk.shards(fake.scan, total_segments=3, token_spec=SPEC)
    assert shards[0].operation == f"{__name__}.FakeTable.scan"
    items = [
        item
        for shard in shards
        for item in Shard.from_json(shard.to_json()).items(fake, token_spec=SPEC)
    ]
    assert items == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (2, 0, 0), (2, 0, 1), (2, 0, 2)]


# --------------------------------------------------------------------------------------------
# Shards


def test_shards_send_no_request_and_cover_every_segment(table: Any) -> None:
    with Requests(table) as requests:
        shards = pagewalk.shards(table.scan, TableName=TABLE, total_segments=5, page_size=200)
    assert requests.bodies == []
    assert [shard.segment for shard in shards] == list(range(5))
    assert {shard.total_segments for shard in shards} == {5}
    assert all(shard.checkpoint is None for shard in shards)


def test_shard_round_trips_through_json_with_binary_and_decimal_params() -> None:
    shard = Shard(
        "dynamodb.Scan",
        {
            "TableName": "t",
            "FilterExpression": "b = :b",
            "ExpressionAttributeValues": {":b": {"B": b"\x00\xff"}, ":n": Decimal("1.5")},
        },
        segment=2,
        total_segments=4,
        checkpoint=Checkpoint(
            "dynamodb.Scan", "0" * 32, {"ExclusiveStartKey": {"pk": {"B": b"\x01"}}}, segment=2
        ),
        page_size=50,
    )
    text = shard.to_json()
    json.loads(text)
    assert Shard.from_json(text) == shard


@pytest.mark.parametrize("text", ["{}", "[1]", "not json", '{"format": "pagewalk.shard/1"}'])
def test_shard_from_json_refuses_what_is_not_a_shard(text: str) -> None:
    with pytest.raises(SpecError, match="shard"):
        Shard.from_json(text)


def test_shards_run_one_by_one_yield_every_item_once(table: Any) -> None:
    shards = pagewalk.shards(table.scan, TableName=TABLE, total_segments=3, page_size=500)
    seen = []
    for shard in shards:
        walk = Shard.from_json(shard.to_json()).items(table)
        seen += [key(item) for item in walk]
        assert walk.checkpoint is None
    assert sorted(seen) == list(range(COUNT))


def test_shard_resumes_from_its_checkpoint_after_a_partial_run(table: Any) -> None:
    (shard,) = [
        shard
        for shard in pagewalk.shards(table.scan, TableName=TABLE, total_segments=2, page_size=100)
        if shard.segment == 1
    ]
    walk = shard.items(table, max_items=150)
    seen = [key(item) for item in walk]
    rest = shard.at(walk.checkpoint)
    assert rest is not None
    assert rest.checkpoint is not None
    assert rest.checkpoint.items == 150
    again = Shard.from_json(rest.to_json())
    seen += [key(item) for item in again.items(table)]
    assert sorted(seen) == sorted(segment_keys(table, 1, 2))
    assert shard.at(None) is None


def test_shards_from_a_scan_checkpoint_continue_the_unfinished_segments(table: Any) -> None:
    walk = pagewalk.parallel_items(
        table.scan, TableName=TABLE, total_segments=4, page_size=PAGE_SIZE, max_items=700
    )
    seen = [key(item) for item in walk]
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    shards = pagewalk.shards(
        table.scan, TableName=TABLE, total_segments=4, page_size=PAGE_SIZE, resume_from=checkpoint
    )
    assert [shard.segment for shard in shards] == [p.segment for p in checkpoint.segments]
    for shard in shards:
        seen += [key(item) for item in shard.items(table)]
    assert sorted(seen) == list(range(COUNT))


def test_shard_refuses_a_client_of_another_service_and_request_parameters(
    table: Any, moto_server: MotoServer
) -> None:
    (shard, *_) = pagewalk.shards(table.scan, TableName=TABLE, total_segments=2)
    with pytest.raises(TypeError, match="dynamodb client"):
        shard.items(moto_server.client("s3"))
    with pytest.raises(TypeError, match="request parameters"):
        shard.items(table, TableName="other")
    with pytest.raises(TypeError, match="max_items"):
        shard.items(table, max_item=3)
    with pytest.raises(TypeError, match=r"shard\.pages"):
        pagewalk.shards(table.scan, TableName=TABLE, total_segments=2, max_items=3)


def test_shards_run_on_a_dask_cluster_yield_every_item_once(
    table: Any, moto_server: MotoServer
) -> None:
    distributed = pytest.importorskip("distributed")
    url = moto_server.url

    def run_shard(text: str) -> tuple[list[int], str | None]:
        import boto3
        from botocore.config import Config

        import pagewalk

        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1}),
        )
        walk = pagewalk.Shard.from_json(text).items(client)
        keys = [int(item["sk"]["N"]) for item in walk]
        return keys, None if walk.checkpoint is None else walk.checkpoint.to_json()

    shards = pagewalk.shards(table.scan, TableName=TABLE, total_segments=6, page_size=500)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        futures = client.map(run_shard, [shard.to_json() for shard in shards], pure=False)
        results = client.gather(futures)
    seen = [item for keys, _ in results for item in keys]
    assert sorted(seen) == list(range(COUNT))
    assert [checkpoint for _, checkpoint in results] == [None] * 6

"""Hardening of walking: what a hostile or unlucky caller does must not lose, repeat or leak.

A failed or closed walk never looks complete when iterated again, a parallel scan stops fanning out
at its first fatal error, ``pages(max_items=...)`` is exact whatever the result key, a checkpoint
taken at a token loop never repeats an item, the loop guard's memory does not grow with token
length, and a walk iterated from two threads at once says so.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import pagewalk
from pagewalk import PagewalkError, TokenSpec

SPEC = TokenSpec("NextToken", "NextToken", result_key="Items")
ROOT = Path(__file__).resolve().parent.parent


def client_error(code: str = "AccessDenied") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "Scan")


class Service:
    """A paged service: page ``i`` (0-based) answers token ``str(i)`` (none for page 0) with two
    items; ``fail`` maps a page to the error its next call raises (once)."""

    def __init__(self, pages: int = 4) -> None:
        self.pages = pages
        self.fail: dict[int, BaseException] = {}
        self.calls: list[int] = []
        self.entered = threading.Event()
        self.release: threading.Event | None = None

    def page(self, NextToken: str | None = None) -> dict[str, Any]:
        number = int(NextToken or 0)
        self.calls.append(number)
        if self.release is not None:
            self.entered.set()
            assert self.release.wait(10)
        if number in self.fail:
            raise self.fail.pop(number)
        response: dict[str, Any] = {"Items": [f"{number}a", f"{number}b"]}
        if number + 1 < self.pages:
            response["NextToken"] = str(number + 1)
        return response

    def list_things(self, NextToken: str | None = None) -> dict[str, Any]:
        return self.page(NextToken)

    async def alist_things(self, NextToken: str | None = None) -> dict[str, Any]:
        await asyncio.sleep(0)
        return self.page(NextToken)


EVERY_ITEM = [f"{page}{half}" for page in range(4) for half in "ab"]

Start = Callable[..., "pagewalk.Walk[Any]"]
SYNC_WALKS: dict[str, Start] = {
    "plain": lambda service, **options: pagewalk.items(
        service.list_things, token_spec=SPEC, **options
    ),
    "prefetch": lambda service, **options: pagewalk.items(
        service.list_things, token_spec=SPEC, prefetch_pages=2, **options
    ),
}


# --------------------------------------------------------------------------------------------
# 4. A walk that stopped on an error stays stopped


@pytest.mark.parametrize("kind", sorted(SYNC_WALKS))
def test_failed_walk_iterated_again_raises_and_points_at_its_checkpoint(kind: str) -> None:
    service = Service()
    denied = client_error()
    service.fail = {2: denied}
    walk = SYNC_WALKS[kind](service, retry_policy=None)
    seen: list[str] = []
    with pytest.raises(ClientError) as first:
        seen.extend(walk)
    assert first.value is denied  # the service's error, unchanged, the first time
    for _ in range(2):
        with pytest.raises(PagewalkError, match=r"resume_from=walk\.checkpoint") as again:
            list(walk)
        assert again.value.__cause__ is denied
        assert again.value.checkpoint == walk.checkpoint
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    rest = SYNC_WALKS[kind](service, resume_from=checkpoint)
    assert seen + list(rest) == EVERY_ITEM


def test_failed_parallel_scan_iterated_again_raises_and_points_at_its_checkpoint() -> None:
    fake = FailingScan()
    walk = pagewalk.parallel_items(
        fake.scan, total_segments=3, max_workers=1, token_spec=SPEC, retry_policy=None
    )
    with pytest.raises(ClientError):
        list(walk)
    with pytest.raises(PagewalkError, match=r"resume_from=walk\.checkpoint") as again:
        list(walk)
    assert again.value.checkpoint is not None
    assert again.value.checkpoint == walk.checkpoint


async def drain(walk: pagewalk.AsyncWalk[str], into: list[str]) -> None:
    # One by one: the items before an error must be kept.
    async for item in walk:
        into.append(item)  # noqa: PERF401


def test_failed_async_walk_iterated_again_raises_and_points_at_its_checkpoint() -> None:
    service = Service()
    denied = client_error()
    service.fail = {2: denied}

    async def main() -> list[str]:
        walk = pagewalk.aitems(service.alist_things, token_spec=SPEC, retry_policy=None)
        seen: list[str] = []
        with pytest.raises(ClientError) as first:
            await drain(walk, seen)
        assert first.value is denied
        with pytest.raises(PagewalkError, match=r"resume_from=walk\.checkpoint") as again:
            await drain(walk, seen)
        assert again.value.__cause__ is denied
        checkpoint = walk.checkpoint
        assert again.value.checkpoint == checkpoint is not None
        rest = pagewalk.aitems(service.alist_things, token_spec=SPEC, resume_from=checkpoint)
        return seen + [item async for item in rest]

    assert asyncio.run(main()) == EVERY_ITEM


@pytest.mark.parametrize("kind", sorted(SYNC_WALKS))
def test_walk_that_ran_to_its_end_stays_exhausted(kind: str) -> None:
    walk = SYNC_WALKS[kind](Service())
    assert list(walk) == EVERY_ITEM
    assert list(walk) == []
    walk.close()
    assert list(walk) == []


@pytest.mark.parametrize("kind", sorted(SYNC_WALKS))
def test_walk_stopped_by_a_limit_stays_exhausted_after_close(kind: str) -> None:
    with SYNC_WALKS[kind](Service(), max_items=3) as walk:
        assert list(walk) == EVERY_ITEM[:3]
    assert list(walk) == []
    assert walk.checkpoint is not None


@pytest.mark.parametrize("kind", sorted(SYNC_WALKS))
def test_walk_closed_before_its_end_raises_when_iterated_again(kind: str) -> None:
    service = Service()
    walk = SYNC_WALKS[kind](service)
    seen = [next(walk), next(walk), next(walk)]
    walk.close()
    with pytest.raises(PagewalkError, match="closed before its end") as again:
        next(walk)
    checkpoint = again.value.checkpoint
    assert checkpoint is not None
    assert checkpoint == walk.checkpoint
    rest = SYNC_WALKS[kind](service, resume_from=checkpoint)
    assert seen + list(rest) == EVERY_ITEM


def test_async_walk_closed_before_its_end_raises_when_iterated_again() -> None:
    async def main() -> None:
        walk = pagewalk.aitems(Service().alist_things, token_spec=SPEC)
        await walk.__anext__()
        await walk.aclose()
        with pytest.raises(PagewalkError, match="closed before its end"):
            await walk.__anext__()

    asyncio.run(main())


def test_a_break_out_of_the_loop_is_not_an_error() -> None:
    walk = pagewalk.items(Service().list_things, token_spec=SPEC)
    for item in walk:
        if item == "1a":
            break
    assert list(walk) == EVERY_ITEM[3:]


# --------------------------------------------------------------------------------------------
# 11. One walk, two threads


@pytest.mark.parametrize("kind", sorted(SYNC_WALKS))
def test_walk_iterated_from_two_threads_says_it_is_not_thread_safe(kind: str) -> None:
    service = Service()
    service.release = threading.Event()
    walk = SYNC_WALKS[kind](service)
    first: list[str] = []
    thread = threading.Thread(target=lambda: first.append(next(walk)))
    thread.start()
    try:
        assert service.entered.wait(10)  # the other thread is inside the walk, in a request
        with pytest.raises(PagewalkError, match="one thread at a time"):
            next(walk)
    finally:
        service.release.set()
        thread.join(10)
    # The refusal did not disturb the walk: it continues where the other thread left it.
    assert first + list(walk) == EVERY_ITEM


def test_async_walk_advanced_by_two_tasks_at_once_says_so() -> None:
    async def main() -> list[str]:
        walk = pagewalk.aitems(Service().alist_things, token_spec=SPEC)
        first = asyncio.create_task(walk.__anext__())
        await asyncio.sleep(0)  # the task is inside the walk, awaiting its first page
        with pytest.raises(PagewalkError, match="one thread at a time"):
            await walk.__anext__()
        return [await first] + [item async for item in walk]

    assert asyncio.run(main()) == EVERY_ITEM


# --------------------------------------------------------------------------------------------
# 5. A parallel scan stops fanning out at its first fatal error


class FailingScan:
    """A Segment/TotalSegments scan of two pages per segment whose segment 0 is denied."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = True
        self._lock = threading.Lock()

    def scan(self, *, Segment: int, TotalSegments: int, NextToken: str | None = None) -> Any:
        with self._lock:
            self.calls += 1
        if Segment == 0 and self.failing:
            raise client_error()
        page = int(NextToken or 0)
        response: dict[str, Any] = {"Items": [f"{Segment}/{page}"]}
        if page == 0:
            response["NextToken"] = "1"
        return response


def test_parallel_scan_sends_few_requests_after_a_fatal_error() -> None:
    fake = FailingScan()
    walk = pagewalk.parallel_items(
        fake.scan, total_segments=1000, max_workers=4, token_spec=SPEC, retry_policy=None
    )
    seen: list[str] = []
    with pytest.raises(ClientError):
        seen.extend(walk)
    # The failing request and at most one more per worker for the pages that completed before
    # the failure was seen: never the 1,000 segments' first pages.
    assert fake.calls <= 8
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert checkpoint.items == len(seen)
    # Nothing is lost: resuming (segment 0 now answers) completes every segment exactly once.
    fake.failing = False
    rest = pagewalk.parallel_items(
        fake.scan, total_segments=1000, token_spec=SPEC, resume_from=checkpoint.to_json()
    )
    everything = seen + list(rest)
    assert sorted(everything) == sorted(f"{s}/{p}" for s in range(1000) for p in range(2))


# --------------------------------------------------------------------------------------------
# 8. Resuming from a token loop's checkpoint repeats nothing


class LoopingService:
    """Pages 0 -> A -> B -> A ... (a token loop); ``fixed`` makes B lead on to C, the last page."""

    def __init__(self) -> None:
        self.fixed = False
        self.calls: list[str | None] = []

    def list_things(self, NextToken: str | None = None) -> dict[str, Any]:
        self.calls.append(NextToken)
        follows = {None: "A", "A": "B", "B": "C" if self.fixed else "A", "C": None}
        number = {None: 0, "A": 1, "B": 2, "C": 3}[NextToken]
        response: dict[str, Any] = {"Items": [f"item {number}"]}
        if follows[NextToken] is not None:
            response["NextToken"] = follows[NextToken]
        return response


@pytest.mark.parametrize("mode", ["items", "pages"])
def test_resuming_from_a_token_loops_checkpoint_delivers_nothing_again(mode: str) -> None:
    service = LoopingService()
    walk_function = pagewalk.items if mode == "items" else pagewalk.pages
    walk = walk_function(service.list_things, token_spec=SPEC)
    seen: list[Any] = []
    with pytest.raises(pagewalk.TokenLoopError) as loop:
        seen.extend(walk)
    checkpoint = loop.value.checkpoint
    assert checkpoint is not None
    assert checkpoint == walk.checkpoint
    assert checkpoint.items == 3
    for _ in range(2):  # resuming again and again keeps raising, and never repeats an item
        again = walk_function(
            service.list_things, token_spec=SPEC, resume_from=checkpoint.to_json()
        )
        delivered: list[Any] = []
        with pytest.raises(pagewalk.TokenLoopError) as loop_again:
            delivered.extend(again)
        items = delivered if mode == "items" else [i for page in delivered for i in page["Items"]]
        assert items == []
        checkpoint = loop_again.value.checkpoint
        assert checkpoint is not None
        assert checkpoint.items == 3


def test_a_loop_that_went_away_resumes_with_every_item_once() -> None:
    service = LoopingService()
    seen: list[str] = []
    walk = pagewalk.items(service.list_things, token_spec=SPEC)
    with pytest.raises(pagewalk.TokenLoopError):
        seen.extend(walk)
    service.fixed = True
    seen.extend(pagewalk.items(service.list_things, token_spec=SPEC, resume_from=walk.checkpoint))
    assert seen == ["item 0", "item 1", "item 2", "item 3"]


# --------------------------------------------------------------------------------------------
# 9. The loop guard's memory does not grow with token length


class LongTokens:
    """``pages`` pages of one item whose tokens are ``length`` characters long, all different."""

    def __init__(self, pages: int, length: int) -> None:
        self.pages = pages
        self.length = length

    def list_things(self, NextToken: str | None = None) -> dict[str, Any]:
        number = int(NextToken[:10]) if NextToken else 0
        response: dict[str, Any] = {"Items": [number]}
        if number + 1 < self.pages:
            response["NextToken"] = f"{number + 1:010d}".ljust(self.length, "x")
        return response


def walk_peak(pages: int, length: int) -> int:
    """Peak bytes allocated while walking ``pages`` pages with tokens of ``length`` characters."""
    service = LongTokens(pages, length)
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, retry_policy=None)
    tracemalloc.start()
    try:
        for _ in walk:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def guard_peak(pages: int, length: int) -> int:
    """:func:`walk_peak` in a fresh interpreter: tracemalloc counts every thread's allocations,
    and other tests leave threads behind (the moto server's, stopped walks' requests)."""
    script = f"from tests.test_hardening_walk import walk_peak; print(walk_peak({pages}, {length}))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return int(result.stdout)


def test_loop_guard_memory_does_not_grow_with_token_length() -> None:
    long = guard_peak(10_000, 1_000)
    short = guard_peak(10_000, 10)
    # Keeping every 1,000-character token took over 12 MB here; digests take about 1 MB.
    assert long < 4_000_000
    assert long < 1.5 * short


# --------------------------------------------------------------------------------------------
# 7. pages(max_items=...) is exact, or refused at the call


class NestedPages:
    """Three pages of three items; ``shape`` says where a page keeps them."""

    def __init__(self, shape: str) -> None:
        self.shape = shape
        self.calls = 0

    def list_things(self, NextToken: str | None = None) -> dict[str, Any]:
        self.calls += 1
        page = int(NextToken or 0)
        items = [f"{page}/{i}" for i in range(3)]
        response: dict[str, Any]
        if self.shape == "rows":
            response = {"Rows": items}
        elif self.shape == "reservations":
            response = {"Reservations": [{"Instances": items[:2]}, {"Instances": items[2:]}]}
        else:
            response = {"Result": {"Items": items, "Count": 3}}
        if page < 2:
            response["NextToken"] = str(page + 1)
        return response


@pytest.mark.parametrize(
    ("shape", "result_key"),
    [("rows", "Rows || Items"), ("reservations", "Reservations[].Instances[]")],
)
def test_pages_max_items_with_an_expression_result_key_is_refused_at_the_call(
    shape: str, result_key: str
) -> None:
    service = NestedPages(shape)
    spec = TokenSpec("NextToken", "NextToken", result_key=result_key)
    with pytest.raises(pagewalk.SpecError, match="items\\(\\)"):
        pagewalk.pages(service.list_things, token_spec=spec, max_items=4)
    assert service.calls == 0
    # items() counts the same items and is exact with the expression.
    assert list(pagewalk.items(service.list_things, token_spec=spec, max_items=4)) == [
        "0/0",
        "0/1",
        "0/2",
        "1/0",
    ]


def test_pages_resumed_inside_a_page_with_an_expression_result_key_is_refused_at_the_call() -> None:
    service = NestedPages("rows")
    spec = TokenSpec("NextToken", "NextToken", result_key="Rows || Items")
    walk = pagewalk.items(service.list_things, token_spec=spec)
    next(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert checkpoint.skip == 1
    calls = service.calls
    with pytest.raises(pagewalk.SpecError, match="resuming inside a page"):
        pagewalk.pages(service.list_things, token_spec=spec, resume_from=checkpoint)
    assert service.calls == calls


def test_pages_max_items_with_a_dotted_result_key_cuts_the_last_page_exactly() -> None:
    service = NestedPages("dotted")
    spec = TokenSpec("NextToken", "NextToken", result_key="Result.Items")
    pages = list(pagewalk.pages(service.list_things, token_spec=spec, max_items=4))
    assert pages == [
        {"Result": {"Items": ["0/0", "0/1", "0/2"], "Count": 3}, "NextToken": "1"},
        {"Result": {"Items": ["1/0"], "Count": 3}, "NextToken": "2"},
    ]

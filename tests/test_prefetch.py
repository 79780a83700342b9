"""prefetch_pages=N: pages fetched ahead in a background thread, delivered as if fetched inline.

Most tests walk a paged service written here (a plain callable with ``token_spec=``) so they can
count requests while the caller holds pages; one walks S3 on the moto server, one checks the
exact requests with botocore's Stubber.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import pagewalk
from pagewalk.testing import no_sleep

from . import seed

SPEC = pagewalk.TokenSpec("NextToken", "NextToken", result_key="Items")
THREAD_PREFIX = "pagewalk-prefetch-"
WAIT = 5.0
"""Longest wait for something the prefetch thread is expected to do; never reached when it works."""
GRACE = 0.05
"""How long a test gives the prefetch thread to do something it must not do."""


def throttled(retry_after: int | None = None) -> ClientError:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return ClientError(
        {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": headers},
        },
        "ListThings",
    )


def access_denied() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "AccessDenied", "Message": "not yours"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "ListThings",
    )


class Service:
    """A paged service: page ``i`` (0-based) answers token ``str(i)`` (none for page 0).

    Records every call (the page asked for and the calling thread) and can fail chosen pages.
    """

    def __init__(self, pages: int = 6, per_page: int = 3, *, endless: bool = False) -> None:
        self.total = pages
        self.per_page = per_page
        self.endless = endless
        self.calls: list[int] = []
        self.threads: set[int] = set()
        self.faults: dict[int, list[Exception]] = {}
        self.loop_at: int | None = None
        self._changed = threading.Condition()

    def items_of(self, index: int) -> list[str]:
        return [f"item-{index}-{k}" for k in range(self.per_page)]

    def all_items(self) -> list[str]:
        return [item for index in range(self.total) for item in self.items_of(index)]

    def list_things(self, **params: Any) -> dict[str, Any]:
        index = int(params.get("NextToken", "0"))
        with self._changed:
            self.calls.append(index)
            self.threads.add(threading.get_ident())
            self._changed.notify_all()
        faults = self.faults.get(index)
        if faults:
            raise faults.pop(0)
        response: dict[str, Any] = {"Items": self.items_of(index)}
        if index == self.loop_at:
            response["NextToken"] = "1"
        elif self.endless or index + 1 < self.total:
            response["NextToken"] = str(index + 1)
        return response

    def wait_for_calls(self, count: int) -> bool:
        """Wait until at least ``count`` calls were made; whether they were."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.calls) >= count, WAIT)

    def no_call_beyond(self, count: int) -> bool:
        """Give the prefetch thread a moment; whether it kept to ``count`` calls."""
        with self._changed:
            return not self._changed.wait_for(lambda: len(self.calls) > count, GRACE)


def first_items(pages: list[Any]) -> list[str]:
    return [page["Items"][0] for page in pages]


def prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(THREAD_PREFIX)]


def threads_left_after_waiting() -> list[threading.Thread]:
    """Join the prefetch threads for a bounded time; return those still alive."""
    deadline = time.monotonic() + WAIT
    for thread in prefetch_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    return prefetch_threads()


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Every test starts without a prefetch thread and must not leave one behind."""
    assert threads_left_after_waiting() == [], "a previous test leaked a prefetch thread"
    yield
    assert threads_left_after_waiting() == [], "this test leaked a prefetch thread"


# -- order and the requests sent ------------------------------------------------------------


def test_prefetched_pages_arrive_in_order_from_moto(aws: Callable[..., Any]) -> None:
    s3 = aws("s3")
    keys = seed.s3_objects(s3, "prefetch-order", 700)

    walk = pagewalk.pages(
        s3.list_objects_v2, Bucket="prefetch-order", page_size=100, prefetch_pages=3
    )
    listed = [obj["Key"] for page in walk for obj in page["Contents"]]

    assert listed == keys
    assert walk.stats.pages == 7


def test_prefetch_sends_the_same_requests_as_an_inline_walk() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(s3) as stubber:
        for index, token in enumerate([None, "t1", "t2"]):
            expected: dict[str, Any] = {"Bucket": "stubbed", "MaxKeys": 2}
            if token is not None:
                expected["ContinuationToken"] = token
            response: dict[str, Any] = {
                "Contents": [{"Key": f"k{index}"}],
                "IsTruncated": index < 2,
            }
            if index < 2:
                response["NextContinuationToken"] = f"t{index + 1}"
            stubber.add_response("list_objects_v2", response, expected)

        keys = list(
            pagewalk.items(s3.list_objects_v2, Bucket="stubbed", page_size=2, prefetch_pages=2)
        )

        stubber.assert_no_pending_responses()
    assert [obj["Key"] for obj in keys] == ["k0", "k1", "k2"]


def test_prefetched_items_arrive_in_order() -> None:
    service = Service(pages=9, per_page=4)

    items = list(pagewalk.items(service.list_things, token_spec=SPEC, prefetch_pages=2))

    assert items == service.all_items()


def test_creating_a_prefetching_walk_sends_nothing_and_starts_no_thread() -> None:
    service = Service()

    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=2)

    assert service.no_call_beyond(0)
    assert prefetch_threads() == []
    walk.close()


def test_pages_are_fetched_outside_the_callers_thread() -> None:
    service = Service()

    list(pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=2))

    assert threading.get_ident() not in service.threads


# -- bounded look-ahead ---------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 3])
def test_prefetch_runs_at_most_n_requests_ahead_of_the_caller(depth: int) -> None:
    service = Service(pages=8)
    requests_while_holding: list[int] = []

    with pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=depth) as walk:
        for taken, _page in enumerate(walk, start=1):
            allowed = min(taken + depth, service.total)
            assert service.wait_for_calls(allowed)
            assert service.no_call_beyond(allowed)
            requests_while_holding.append(len(service.calls))

    assert requests_while_holding == [min(taken + depth, 8) for taken in range(1, 9)]


def test_prefetch_sends_no_request_beyond_max_pages() -> None:
    service = Service(pages=10)

    pages = list(
        pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=4, max_pages=3)
    )

    assert first_items(pages) == ["item-0-0", "item-1-0", "item-2-0"]
    assert service.no_call_beyond(3)
    assert service.calls == [0, 1, 2]


# -- retries --------------------------------------------------------------------------------


def test_prefetch_retries_each_page_with_its_own_token() -> None:
    service = Service(pages=5)
    service.faults = {1: [throttled()], 3: [throttled(), throttled()]}
    infos: list[pagewalk.PageInfo] = []

    with no_sleep() as delays:
        walk = pagewalk.pages(
            service.list_things,
            token_spec=SPEC,
            retry_policy=pagewalk.Retry(attempts=3),
            on_page=infos.append,
            prefetch_pages=2,
        )
        pages = list(walk)

    assert first_items(pages) == [f"item-{index}-0" for index in range(5)]
    assert service.calls == [0, 1, 1, 2, 3, 3, 3, 4]
    assert [info.attempts for info in infos] == [1, 2, 1, 3, 1]
    assert (walk.stats.retries, len(delays)) == (3, 3)


def test_page_out_of_retries_raises_after_the_pages_before_it() -> None:
    service = Service(pages=5)
    service.faults = {2: [throttled(), throttled()]}
    received: list[Any] = []
    walk = pagewalk.pages(
        service.list_things,
        token_spec=SPEC,
        retry_policy=pagewalk.Retry(attempts=2),
        prefetch_pages=3,
    )

    with no_sleep(), pytest.raises(ClientError) as raised:
        received.extend(walk)

    assert raised.value.response["Error"]["Code"] == "Throttling"
    assert first_items(received) == ["item-0-0", "item-1-0"]


def test_closing_during_a_backoff_sends_no_further_request() -> None:
    service = Service(pages=4)
    # Retry-After makes every backoff 30 s, so the thread is surely asleep when closed.
    service.faults = {1: [throttled(retry_after=30) for _ in range(20)]}
    walk = pagewalk.pages(
        service.list_things,
        token_spec=SPEC,
        retry_policy=pagewalk.Retry(attempts=20, maximum=30, timeout=None),
        prefetch_pages=1,
    )
    next(walk)
    assert service.wait_for_calls(2)

    walk.close()

    assert threads_left_after_waiting() == []
    assert service.calls == [0, 1]


# -- errors and checkpoints -----------------------------------------------------------------


def test_error_is_raised_where_its_page_would_have_been_yielded() -> None:
    service = Service(pages=6)
    service.faults = {3: [access_denied()]}
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=5)
    received = [next(walk)]
    assert service.wait_for_calls(4)  # the thread has already met the failing page

    with pytest.raises(ClientError) as raised:
        received.extend(walk)

    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert first_items(received) == ["item-0-0", "item-1-0", "item-2-0"]


def test_checkpoint_after_an_error_points_at_the_failed_page() -> None:
    service = Service(pages=6)
    service.faults = {3: [access_denied()]}
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=5)

    with pytest.raises(ClientError):
        for _page in walk:
            pass

    checkpoint = walk.checkpoint
    assert checkpoint is not None
    assert (dict(checkpoint.tokens), checkpoint.pages, checkpoint.skip) == (
        {"NextToken": "3"},
        3,
        0,
    )


def test_resuming_after_a_prefetch_error_yields_every_item_exactly_once() -> None:
    service = Service(pages=6, per_page=4)
    service.faults = {2: [access_denied()]}
    received: list[str] = []
    walk = pagewalk.items(service.list_things, token_spec=SPEC, prefetch_pages=3)
    with pytest.raises(ClientError):
        received.extend(walk)
    checkpoint = walk.checkpoint
    assert checkpoint is not None

    resumed = pagewalk.items(
        service.list_things, token_spec=SPEC, prefetch_pages=3, resume_from=checkpoint
    )
    received.extend(resumed)

    assert received == service.all_items()
    assert resumed.checkpoint is None


def test_token_loop_found_ahead_is_raised_with_the_callers_checkpoint() -> None:
    service = Service(pages=8)
    service.loop_at = 3  # page 3 sends back page 1's token
    received: list[Any] = []
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=6)
    received.append(next(walk))
    assert service.wait_for_calls(4)

    with pytest.raises(pagewalk.TokenLoopError) as raised:
        received.extend(walk)

    assert first_items(received) == ["item-0-0", "item-1-0", "item-2-0", "item-3-0"]
    assert raised.value.checkpoint == walk.checkpoint
    assert raised.value.checkpoint is not None
    # Past the four pages delivered, at the repeated token with the loop's items to skip.
    assert raised.value.checkpoint.pages == 4


def test_checkpoint_counts_only_pages_given_to_the_caller() -> None:
    service = Service(pages=8)
    with pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=4) as walk:
        next(walk)
        assert service.wait_for_calls(5)

        checkpoint = walk.checkpoint

    assert checkpoint is not None
    assert (dict(checkpoint.tokens), checkpoint.pages) == ({"NextToken": "1"}, 1)


def test_checkpoint_counts_only_items_given_to_the_caller() -> None:
    service = Service(pages=8, per_page=5)
    with pagewalk.items(service.list_things, token_spec=SPEC, prefetch_pages=4) as walk:
        next(walk)
        next(walk)
        assert service.wait_for_calls(5)

        checkpoint = walk.checkpoint

    assert checkpoint is not None
    assert (dict(checkpoint.tokens), checkpoint.skip, checkpoint.items) == ({}, 2, 2)


# -- the caller's thread --------------------------------------------------------------------


def test_on_page_runs_in_the_callers_thread() -> None:
    service = Service()
    callers: set[int] = set()

    list(
        pagewalk.pages(
            service.list_things,
            token_spec=SPEC,
            prefetch_pages=2,
            on_page=lambda info: callers.add(threading.get_ident()),
        )
    )

    assert callers == {threading.get_ident()}


# -- stopping the thread --------------------------------------------------------------------


def start_endless_walk(depth: int = 2) -> tuple[Service, pagewalk.Walk[Any]]:
    """An endless walk whose first page was taken and whose thread has filled its look-ahead."""
    service = Service(endless=True)
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=depth)
    next(walk)
    assert service.wait_for_calls(1 + depth)
    assert len(prefetch_threads()) == 1
    return service, walk


def test_close_stops_the_prefetch_thread() -> None:
    service, walk = start_endless_walk()

    walk.close()

    assert threads_left_after_waiting() == []
    assert len(service.calls) == 3


def test_leaving_a_with_block_stops_the_prefetch_thread() -> None:
    service, walk = start_endless_walk()

    with walk:
        next(walk)

    assert threads_left_after_waiting() == []
    assert service.no_call_beyond(4)


def test_breaking_out_of_the_loop_stops_the_prefetch_thread() -> None:
    service = Service(endless=True)

    for _page in pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=2):
        assert service.wait_for_calls(3)
        break

    assert threads_left_after_waiting() == []
    assert service.no_call_beyond(3)


def test_dropping_the_walk_stops_the_prefetch_thread() -> None:
    service, walk = start_endless_walk()

    del walk
    gc.collect()

    assert threads_left_after_waiting() == []
    assert service.no_call_beyond(3)


class Progress:
    """An on_page callback that reads the checkpoint of the walk it watches."""

    def __init__(self) -> None:
        self.walk: pagewalk.Walk[Any] | None = None
        self.checkpoints: list[pagewalk.Checkpoint | None] = []

    def __call__(self, info: pagewalk.PageInfo) -> None:
        assert self.walk is not None
        self.checkpoints.append(self.walk.checkpoint)


def test_dropping_a_walk_in_a_reference_cycle_stops_the_prefetch_thread() -> None:
    service = Service(endless=True)
    progress = Progress()
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=2, on_page=progress)
    progress.walk = walk  # walk -> on_page -> walk: only the cycle collector can free it
    next(walk)
    assert service.wait_for_calls(3)

    del walk, progress
    deadline = time.monotonic() + WAIT
    while prefetch_threads() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(GRACE)

    assert prefetch_threads() == []
    assert service.no_call_beyond(3)


def test_walk_run_to_the_end_leaves_no_thread() -> None:
    service = Service(pages=4)
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=2)

    list(walk)

    assert threads_left_after_waiting() == []
    assert walk.checkpoint is None


def test_walk_ended_by_an_error_leaves_no_thread() -> None:
    service = Service(pages=4)
    service.faults = {2: [access_denied()]}
    walk = pagewalk.pages(service.list_things, token_spec=SPEC, prefetch_pages=2)

    with pytest.raises(ClientError):
        list(walk)

    assert threads_left_after_waiting() == []

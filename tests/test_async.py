"""What only the async driver does: concurrency, cancellation, the event loop, the prefetch task.

The behaviour both drivers share (exact walks, limits, resume, faults) is in test_behaviour.py.
Tests marked with the ``aio`` fixture walk aiobotocore clients against the moto server and skip
without aiobotocore; the others walk async functions of this file and run everywhere.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import itertools
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

import pagewalk
from pagewalk import PageInfo, Retry, TokenSpec
from pagewalk.testing import no_sleep

from . import seed
from .conftest import MotoServer
from .drivers import aio_client_factory, collect
from .test_core_property import SPECS as PROPERTY_SPECS
from .test_core_property import Service as PropertyService
from .test_core_property import layouts

T = TypeVar("T")
Aws = Callable[..., Any]
SPEC = TokenSpec("NextToken", "NextToken", result_key="Items")
PREFETCH_TASK = "pagewalk-prefetch-"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def throttled(retry_after: int | None = None) -> ClientError:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return ClientError(
        {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": headers},
        },
        "ListThings",
    )


class Service:
    """An async paged service: page ``i`` (0-based) answers token ``str(i)`` (none for page 0).

    Records the page of every call and can fail chosen pages; each call yields to the loop once.
    """

    def __init__(self, pages: int = 6, per_page: int = 3) -> None:
        self.total = pages
        self.per_page = per_page
        self.calls: list[int] = []
        self.faults: dict[int, list[Exception]] = {}

    def items_of(self, index: int) -> list[str]:
        return [f"item-{index}-{k}" for k in range(self.per_page)]

    def all_items(self) -> list[str]:
        return [item for index in range(self.total) for item in self.items_of(index)]

    async def list_things(self, **params: Any) -> dict[str, Any]:
        index = int(params.get("NextToken", "0"))
        self.calls.append(index)
        await asyncio.sleep(0)
        faults = self.faults.get(index)
        if faults:
            raise faults.pop(0)
        response: dict[str, Any] = {"Items": self.items_of(index)}
        if index + 1 < self.total:
            response["NextToken"] = str(index + 1)
        return response


async def settle(rounds: int = 200) -> None:
    """Let every other ready task run until it blocks (the services here never wait on I/O)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def prefetch_tasks() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(PREFETCH_TASK) and not task.done()
    ]


async def consume(walk: AsyncIterator[Any], into: list[Any]) -> None:
    async for value in walk:
        into.append(value)  # noqa: PERF401 - what came before an error must be kept


@pytest.fixture
def aio(moto: MotoServer) -> Callable[[str], Any]:
    """Factory of aiobotocore clients for the fresh moto server; skips without aiobotocore."""
    pytest.importorskip("aiobotocore")
    return aio_client_factory(moto.url)


# -- importing and refusing -----------------------------------------------------------------


def test_pagewalk_imports_without_aiobotocore() -> None:
    code = (
        "import sys; sys.modules['aiobotocore'] = None\n"
        "import pagewalk\n"
        "assert callable(pagewalk.apages) and callable(pagewalk.aitems)\n"
        "assert 'aiobotocore' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_sync_client_method_is_refused_before_any_request(aws: Aws) -> None:
    s3 = aws("s3")
    sent: list[Any] = []
    s3.meta.events.register("before-send", lambda request, **_: sent.append(request))
    with pytest.raises(TypeError, match=r"pagewalk\.pages\(\)"):
        pagewalk.aitems(s3.list_objects_v2, Bucket="bucket")
    assert sent == []


def test_creating_an_async_walk_sends_nothing() -> None:
    service = Service()
    pagewalk.apages(service.list_things, token_spec=SPEC)
    assert service.calls == []


def test_apages_of_a_typed_aiobotocore_method_is_typed_by_its_output() -> None:
    api = pytest.importorskip("mypy.api")
    if importlib.util.find_spec("types_aiobotocore_s3") is None:  # stubs: never imported
        pytest.skip("types-aiobotocore-s3 is not installed")
    target = Path(__file__).parent / "typing" / "typed_async_pages.py"
    options = ["--strict", "--no-incremental", "--cache-dir=/dev/null", "--follow-imports=silent"]
    stdout, stderr, status = api.run([*options, str(target)])
    assert status == 0, stdout + stderr


def test_an_async_on_page_is_refused_before_any_request() -> None:
    service = Service()

    async def on_page(info: PageInfo) -> None:
        pass

    with pytest.raises(TypeError, match="on_page must be a plain callable"):
        pagewalk.aitems(service.list_things, token_spec=SPEC, on_page=on_page)
    assert service.calls == []


# -- retries and the event loop -------------------------------------------------------------


def test_a_failed_page_is_retried_with_its_own_token() -> None:
    service = Service(pages=3)
    service.faults[1] = [throttled(), throttled()]

    async def main() -> list[Any]:
        with no_sleep():
            return await collect(pagewalk.aitems(service.list_things, token_spec=SPEC))

    assert run(main()) == service.all_items()
    assert service.calls == [0, 1, 1, 1, 2]


def test_no_sleep_records_the_backoff_delays_of_an_async_walk() -> None:
    service = Service(pages=2)
    service.faults[1] = [throttled(retry_after=3)]

    async def main() -> pagewalk.AsyncWalk[Any]:
        walk = pagewalk.apages(service.list_things, token_spec=SPEC)
        await collect(walk)
        return walk

    with no_sleep() as delays:
        walk = run(main())
    assert delays == [3.0]
    assert walk.stats.retries == 1
    assert walk.stats.slept == 3.0


def test_backoff_lets_other_tasks_run_and_can_be_cancelled() -> None:
    service = Service(pages=2)
    service.faults[0] = [throttled(retry_after=60)]
    walk = pagewalk.aitems(
        service.list_things, token_spec=SPEC, retry_policy=Retry(maximum=60, timeout=None)
    )

    async def main() -> None:
        task = asyncio.create_task(collect(walk))
        # If the backoff blocked the loop, this task would only run after 60 s, once the
        # retry was sent: the walk would then show two requests.
        while walk.stats.retries == 0:
            await asyncio.sleep(0)
        assert walk.stats.requests == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert service.calls == [0]
    assert walk.checkpoint is not None
    assert walk.checkpoint.pages == 0


@settings(max_examples=150, deadline=None)
@given(
    layout=layouts(),
    shape=st.sampled_from(sorted(PROPERTY_SPECS)),
    mode=st.sampled_from(["items", "pages"]),
    max_items=st.none() | st.integers(min_value=0, max_value=12),
    max_pages=st.none() | st.integers(min_value=1, max_value=4),
    stop_after=st.none() | st.integers(min_value=1, max_value=8),
    prefetch=st.integers(min_value=0, max_value=3),
)
def test_the_async_walk_yields_and_checkpoints_exactly_like_the_sync_walk(
    layout: list[list[int]],
    shape: str,
    mode: str,
    max_items: int | None,
    max_pages: int | None,
    stop_after: int | None,
    prefetch: int,
) -> None:
    options: dict[str, Any] = {
        "token_spec": PROPERTY_SPECS[shape],
        "max_items": max_items,
        "max_pages": max_pages,
        "prefetch_pages": prefetch,
    }
    walker = pagewalk.items if mode == "items" else pagewalk.pages
    sync_walk = walker(PropertyService(layout, shape), **options)
    sync_got = list(itertools.islice(sync_walk, stop_after))
    sync_walk.close()

    service = PropertyService(layout, shape)

    async def list_async(**params: Any) -> dict[str, Any]:
        return service(**params)

    async def main() -> tuple[pagewalk.AsyncWalk[Any], list[Any]]:
        awalker = pagewalk.aitems if mode == "items" else pagewalk.apages
        async with awalker(list_async, **options) as walk:
            got = []
            async for output in walk:
                got.append(output)
                if len(got) == stop_after:
                    break
        return walk, got

    async_walk, async_got = run(main())
    assert async_got == sync_got

    def position(checkpoint: pagewalk.Checkpoint | None) -> Any:
        if checkpoint is None:
            return None
        return checkpoint.tokens, checkpoint.skip, checkpoint.pages, checkpoint.items

    assert position(async_walk.checkpoint) == position(sync_walk.checkpoint)
    assert async_walk.stats.items == sync_walk.stats.items
    if not prefetch:  # prefetching fetches ahead as far as timing allows
        assert async_walk.stats.requests == sync_walk.stats.requests == service.requests


# -- prefetch task --------------------------------------------------------------------------


def test_prefetched_items_arrive_in_order() -> None:
    service = Service(pages=7)

    async def main() -> list[Any]:
        return await collect(
            pagewalk.aitems(service.list_things, token_spec=SPEC, prefetch_pages=3)
        )

    assert run(main()) == service.all_items()


@pytest.mark.parametrize("depth", [1, 3])
def test_prefetch_runs_at_most_n_requests_ahead_of_the_caller(depth: int) -> None:
    service = Service(pages=10)

    async def main() -> None:
        async with pagewalk.apages(
            service.list_things, token_spec=SPEC, prefetch_pages=depth
        ) as walk:
            await walk.__anext__()
            await settle()
            assert len(service.calls) == 1 + depth

    run(main())


def test_prefetch_error_is_raised_where_its_page_would_have_been() -> None:
    service = Service(pages=6)
    service.faults[3] = [throttled()]
    got: list[Any] = []

    async def main() -> None:
        walk = pagewalk.apages(
            service.list_things, token_spec=SPEC, prefetch_pages=4, retry_policy=None
        )
        with pytest.raises(ClientError):
            await consume(walk, got)
        assert walk.checkpoint is not None
        assert walk.checkpoint.pages == 3

    run(main())
    assert [page["Items"][0] for page in got] == ["item-0-0", "item-1-0", "item-2-0"]


def test_on_page_runs_in_the_iterating_task_with_prefetch() -> None:
    service = Service(pages=4)
    tasks: list[asyncio.Task[Any] | None] = []

    def on_page(info: PageInfo) -> None:
        tasks.append(asyncio.current_task())

    async def main() -> asyncio.Task[Any] | None:
        await collect(
            pagewalk.apages(service.list_things, token_spec=SPEC, prefetch_pages=2, on_page=on_page)
        )
        return asyncio.current_task()

    caller = run(main())
    assert tasks == [caller] * 4


def test_aclose_cancels_the_prefetch_task() -> None:
    service = Service(pages=10)

    async def main() -> None:
        walk = pagewalk.apages(service.list_things, token_spec=SPEC, prefetch_pages=2)
        await walk.__anext__()
        assert len(prefetch_tasks()) == 1
        await walk.aclose()
        assert prefetch_tasks() == []

    run(main())


def test_leaving_async_with_cancels_the_prefetch_task() -> None:
    service = Service(pages=10)

    async def main() -> None:
        async with pagewalk.apages(service.list_things, token_spec=SPEC, prefetch_pages=2) as walk:
            await walk.__anext__()
        assert prefetch_tasks() == []

    run(main())


def test_dropping_a_walk_mid_iteration_cancels_the_prefetch_task() -> None:
    service = Service(pages=10)

    async def main() -> None:
        walk = pagewalk.apages(service.list_things, token_spec=SPEC, prefetch_pages=2)
        await walk.__anext__()
        del walk
        gc.collect()
        await settle()
        assert prefetch_tasks() == []

    run(main())


# -- concurrency and cancellation against moto ----------------------------------------------


def test_five_walks_at_once_with_gather_are_each_exact(aws: Aws, aio: Callable[[str], Any]) -> None:
    s3 = aws("s3")
    expected = {f"gather-{n}": seed.s3_objects(s3, f"gather-{n}", 9 + 4 * n) for n in range(5)}

    async def main() -> list[list[Any]]:
        async with aio("s3") as client:
            walks = [
                collect(pagewalk.aitems(client.list_objects_v2, Bucket=bucket, page_size=4))
                for bucket in expected
            ]
            return await asyncio.gather(*walks)

    results = run(main())
    assert [[obj["Key"] for obj in objects] for objects in results] == list(expected.values())


def hang_at_request(client: Any, number: int) -> asyncio.Event:
    """Make the client's ``number``-th request (1-based) wait for an answer forever.

    Returns an event set when that request is reached. An async ``before-send`` handler, which
    aiobotocore awaits.
    """
    reached = asyncio.Event()
    count = 0

    async def handler(**_: Any) -> None:
        nonlocal count
        count += 1
        if count == number:
            reached.set()
            await asyncio.Event().wait()

    client.meta.events.register("before-send", handler)
    return reached


@pytest.mark.parametrize("prefetch", [0, 2])
def test_cancelling_during_a_request_then_resuming_loses_and_repeats_nothing(
    aws: Aws,
    aio: Callable[[str], Any],
    prefetch: int,
) -> None:
    keys = seed.s3_objects(aws("s3"), "cancel", 23)
    got: list[Any] = []

    async def main() -> list[Any]:
        async with aio("s3") as client:
            reached = hang_at_request(client, 3)
            walk = pagewalk.aitems(
                client.list_objects_v2, Bucket="cancel", page_size=5, prefetch_pages=prefetch
            )
            task = asyncio.create_task(consume(walk, got))
            await reached.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert prefetch_tasks() == []
            checkpoint = walk.checkpoint
            assert checkpoint is not None
            assert checkpoint.items == len(got)
        async with aio("s3") as client:
            return await collect(
                pagewalk.aitems(
                    client.list_objects_v2,
                    Bucket="cancel",
                    page_size=5,
                    resume_from=checkpoint.to_json(),
                )
            )

    rest = run(main())
    assert [obj["Key"] for obj in got + rest] == keys


def test_cancelling_while_the_caller_holds_an_item_then_resuming_is_exact(
    aws: Aws, aio: Callable[[str], Any]
) -> None:
    keys = seed.s3_objects(aws("s3"), "cancel", 23)
    got: list[Any] = []

    async def main() -> list[Any]:
        async with aio("s3") as client:
            walk = pagewalk.aitems(client.list_objects_v2, Bucket="cancel", page_size=5)
            holding = asyncio.Event()

            async def slow_consumer() -> None:
                async for obj in walk:
                    got.append(obj)
                    if len(got) == 7:  # mid page 2: this item is the caller's now
                        holding.set()
                        await asyncio.Event().wait()

            task = asyncio.create_task(slow_consumer())
            await holding.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await walk.aclose()
            checkpoint = walk.checkpoint
            assert checkpoint is not None
            assert (checkpoint.pages, checkpoint.skip) == (1, 2)
            return await collect(
                pagewalk.aitems(
                    client.list_objects_v2, Bucket="cancel", page_size=5, resume_from=checkpoint
                )
            )

    rest = run(main())
    assert [obj["Key"] for obj in got + rest] == keys

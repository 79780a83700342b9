"""The async driver's cost: ratios against baselines measured in the same run.

    python benchmarks/async_overhead.py           # about half a minute on 2 cores
    python benchmarks/async_overhead.py --quick   # smoke mode: seconds; figures not meaningful

core     ``apages()``/``aitems()`` vs a hand-written async token loop over an async function
         that answers at once (no I/O), so only the walking machinery is measured; the sync
         ``pages()`` over the same pages (a sync function) is shown next to it.
moto     (needs aiobotocore and moto) ``apages()`` vs a hand-written loop vs aiobotocore's own
         paginator, listing an S3 bucket on an embedded moto server; botocore's parsing and the
         server dominate, so all three should be within noise of each other.

Each contender runs in alternating repetitions; medians are compared, with the spread of the
baseline as the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pagewalk

SPEC = pagewalk.TokenSpec("NextToken", "NextToken", result_key="Items")


def make_pages(count: int, per_page: int) -> list[dict[str, Any]]:
    pages = []
    for index in range(count):
        page: dict[str, Any] = {"Items": list(range(index * per_page, (index + 1) * per_page))}
        if index + 1 < count:
            page["NextToken"] = f"t{index + 1}"
        pages.append(page)
    return pages


async def measure(
    contenders: dict[str, Callable[[], Awaitable[int] | int]], repeats: int
) -> dict[str, list[float]]:
    """Seconds per run of each contender, in alternating rounds after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(repeats + 1):
        for name, contender in contenders.items():
            started = time.perf_counter()
            result = contender()
            if inspect.isawaitable(result):
                await result
            if round_number:
                times[name].append(time.perf_counter() - started)
    return times


def report(title: str, times: dict[str, list[float]], baseline: str, pages: int) -> None:
    base = statistics.median(times[baseline])
    noise = (max(times[baseline]) - min(times[baseline])) / base
    print(f"\n{title} (baseline: {baseline}, noise +-{noise:.0%})")
    for name, values in times.items():
        median = statistics.median(values)
        extra = (median - base) / pages * 1e6
        print(f"  {name:<28} {median / base:5.2f}x   {extra:+8.1f} us/page over the baseline")


def bench_core(pages: int, per_page: int, repeats: int) -> None:
    data = make_pages(pages, per_page)

    def answer(**params: Any) -> dict[str, Any]:
        token = params.get("NextToken")
        return data[int(token[1:]) if token else 0]

    async def answer_async(**params: Any) -> dict[str, Any]:
        return answer(**params)

    async def hand_written() -> int:
        count, params = 0, {}
        while True:
            page = await answer_async(**params)
            count += len(page["Items"])
            token = page.get("NextToken")
            if not token:
                return count
            params = {"NextToken": token}

    async def hand_written_items() -> int:
        count, params = 0, {}
        while True:
            page = await answer_async(**params)
            for _item in page["Items"]:
                count += 1
            token = page.get("NextToken")
            if not token:
                return count
            params = {"NextToken": token}

    async def apages() -> int:
        return sum(
            [len(page["Items"]) async for page in pagewalk.apages(answer_async, token_spec=SPEC)]
        )

    async def aitems() -> int:
        return len([item async for item in pagewalk.aitems(answer_async, token_spec=SPEC)])

    async def apages_prefetch() -> int:
        walk = pagewalk.apages(answer_async, token_spec=SPEC, prefetch_pages=2)
        return sum([len(page["Items"]) async for page in walk])

    def sync_pages() -> int:
        return sum(len(page["Items"]) for page in pagewalk.pages(answer, token_spec=SPEC))

    times = asyncio.run(
        measure(
            {
                "hand-written async loop": hand_written,
                "hand-written, per item": hand_written_items,
                "pagewalk.apages": apages,
                "pagewalk.aitems": aitems,
                "apages(prefetch_pages=2)": apages_prefetch,
                "pagewalk.pages (sync)": sync_pages,
            },
            repeats,
        )
    )
    report(f"core: {pages} pages of {per_page} items", times, "hand-written async loop", pages)


def bench_moto(objects: int, page_size: int, repeats: int) -> None:
    try:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        print(f"\nmoto: skipped ({exc.name} is not installed; pip install '.[async,demo]')")
        return
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    credentials = {
        "region_name": "us-east-1",
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
    }
    try:
        boto3.client("s3", endpoint_url=url, **credentials).create_bucket(Bucket="bench")
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for index in range(objects):
            backend.put_object("bench", f"k/{index:07d}", b"x")
        config = AioConfig(retries={"total_max_attempts": 1})

        async def hand_written(s3: Any) -> int:
            count, params = 0, {"Bucket": "bench", "MaxKeys": page_size}
            while True:
                page = await s3.list_objects_v2(**params)
                count += len(page.get("Contents", []))
                if not page.get("IsTruncated"):
                    return count
                params["ContinuationToken"] = page["NextContinuationToken"]

        async def paginator(s3: Any) -> int:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket="bench", PaginationConfig={"PageSize": page_size}
            )
            return sum([len(page.get("Contents", [])) async for page in pages])

        async def apages(s3: Any) -> int:
            walk = pagewalk.apages(s3.list_objects_v2, Bucket="bench", page_size=page_size)
            return sum([len(page.get("Contents", [])) async for page in walk])

        async def run_all() -> dict[str, list[float]]:
            session = get_session()
            async with session.create_client(
                "s3", endpoint_url=url, config=config, **credentials
            ) as s3:
                return await measure(
                    {
                        "hand-written async loop": lambda: hand_written(s3),
                        "aiobotocore paginator": lambda: paginator(s3),
                        "pagewalk.apages": lambda: apages(s3),
                    },
                    repeats,
                )

        times = asyncio.run(run_all())
        report(
            f"moto: S3 ListObjectsV2, {objects} keys, {page_size} a page",
            times,
            "hand-written async loop",
            -(-objects // page_size),
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    quick = parser.parse_args().quick
    if quick:
        bench_core(pages=50, per_page=10, repeats=3)
        bench_moto(objects=200, page_size=50, repeats=1)
    else:
        bench_core(pages=5000, per_page=100, repeats=11)
        bench_moto(objects=3000, page_size=300, repeats=5)


if __name__ == "__main__":
    main()

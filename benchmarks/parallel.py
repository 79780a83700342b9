"""Parallel scan speedup: 1, 2, 4 and 8 segments against a one-segment hand-written loop.

    python benchmarks/parallel.py           # 96 pages of 20 ms, 3 repetitions (about 25 s)
    python benchmarks/parallel.py --quick   # smoke mode: seconds; figures not meaningful

Every page takes 20 ms of simulated service latency, the way a real Scan page does; moto cannot
show a speedup (it scans the whole table under the GIL per request). Two services:

plain     a plain callable walked with ``token_spec=`` that sleeps 20 ms per page.
botocore  a real botocore DynamoDB client whose ``before-send`` handler sleeps 20 ms and answers
          with a canned Scan page (JSON), so serialising, signing and parsing run in the workers.

The baseline of each is a hand-written ``ExclusiveStartKey`` / ``NextToken`` loop over one
segment, timed in the same run; every figure printed is a ratio to it (higher is faster).
Target: 8 segments at least 5x faster than the baseline.

A third section lists an S3 bucket on moto (a server in this process) with 150 ms of added
latency per request (a ``before-send`` sleep): 3,000 keys at 100 a page, uniform (hash-like)
and skewed (every key under ``data/2024/05/part-``) layouts, sequential ``items()`` against
``parallel_items(max_workers=8)``, which splits the key space into ranges on the fly, and 8
threads over a perfect static 8-way split of the known keys (the ceiling: moto runs in this
process, so its CPU and botocore's share one interpreter lock, and on a slow or busy machine
that caps the speedup well below 8x). It prints the speedup, the share of the static split's
speed reached, and the requests splitting cost beyond the sequential walk's (of them probes:
``MaxKeys=1`` requests that find how far skewed keys go). Targets: 5x on uniform keys, 4.5x
on skewed keys (a perfect static 8-way split once reached 5.7x here).

    python benchmarks/parallel.py --s3-only                  # just the S3 listing section
    python benchmarks/parallel.py --s3-only --fast-parsing   # with pagewalk.fast_parsing()
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

import pagewalk

LATENCY = 0.020
ITEMS_PER_PAGE = 100
SPEC = pagewalk.TokenSpec("NextToken", "NextToken", result_key="Items")


class PlainScan:
    """``pages`` pages split evenly over the segments; each page sleeps ``LATENCY``."""

    def __init__(self, pages: int) -> None:
        self.pages = pages

    def scan(self, *, Segment: int, TotalSegments: int, NextToken: str | None = None) -> Any:
        time.sleep(LATENCY)
        page = int(NextToken or 0)
        items = [{"segment": Segment, "page": page, "n": n} for n in range(ITEMS_PER_PAGE)]
        response: dict[str, Any] = {"Items": items}
        if page + 1 < self.pages // TotalSegments:
            response["NextToken"] = str(page + 1)
        return response


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def botocore_scan(pages: int) -> Any:
    """A DynamoDB client answered in-process: ``pages`` canned Scan pages over the segments."""
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://dynamodb.invalid",
        aws_access_key_id="benchmark",
        aws_secret_access_key="benchmark",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=16),
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        time.sleep(LATENCY)
        body = json.loads(request.body)
        segment, total = body.get("Segment", 0), body.get("TotalSegments", 1)
        page = int(body.get("ExclusiveStartKey", {}).get("sk", {}).get("N", "0"))
        items = [
            {"pk": {"S": f"p{segment}"}, "sk": {"N": str(page * ITEMS_PER_PAGE + n)}}
            for n in range(ITEMS_PER_PAGE)
        ]
        response: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if page + 1 < pages // total:
            response["LastEvaluatedKey"] = {"pk": {"S": f"p{segment}"}, "sk": {"N": str(page + 1)}}
        data = json.dumps(response).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "content-length": str(len(data))}
        return AWSResponse(request.url, 200, headers, _Body(data))

    client.meta.events.register("before-send.dynamodb.Scan", answer)
    return client


def hand_loop(method: Callable[..., Any], token_in: str, token_out: str, **params: Any) -> int:
    """The baseline: the loop people write by hand, one segment."""
    items = 0
    while True:
        response = method(Segment=0, TotalSegments=1, **params)
        items += len(response["Items"])
        token = response.get(token_out)
        if not token:
            return items
        params[token_in] = token


def timed(run: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    items = run()
    elapsed = time.perf_counter() - started
    if items != expected:
        raise SystemExit(f"wrong result: {items} items, expected {expected}")
    return elapsed


def section(
    name: str, contenders: dict[str, Callable[[], int]], expected: int, repeat: int
) -> float:
    """Time every contender ``repeat`` times, alternating; print medians as ratios."""
    times: dict[str, list[float]] = {label: [] for label in contenders}
    for _ in range(repeat):
        for label, run in contenders.items():
            times[label].append(timed(run, expected))
    medians = {label: statistics.median(values) for label, values in times.items()}
    baseline = next(iter(medians.values()))
    print(
        f"\n{name}: {expected} items in {expected // ITEMS_PER_PAGE} pages of {LATENCY * 1000:.0f} ms"
    )
    print(f"  {'contender':<34} {'median s':>9} {'speedup':>8}")
    for label, median in medians.items():
        print(f"  {label:<34} {median:>9.3f} {baseline / median:>7.2f}x")
    return baseline / medians["parallel_pages, 8 segments"]


def contenders(
    method: Callable[..., Any],
    token: tuple[str, str],
    params: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Callable[[], int]]:
    """The baseline first, then pagewalk over one segment, then 1, 2, 4 and 8 segments."""

    def count(walk: Any) -> int:
        return sum(len(page["Items"]) for page in walk)

    def parallel(segments: int) -> Callable[[], int]:
        return lambda: count(
            pagewalk.parallel_pages(method, total_segments=segments, **options, **params)
        )

    runs: dict[str, Callable[[], int]] = {
        "hand-written loop, 1 segment": lambda: hand_loop(method, *token, **params),
        "pagewalk.pages, 1 segment": lambda: count(
            pagewalk.pages(method, Segment=0, TotalSegments=1, **options, **params)
        ),
    }
    for segments in (1, 2, 4, 8):
        runs[f"parallel_pages, {segments} segment{'s' if segments > 1 else ''}"] = parallel(
            segments
        )
    return runs


def s3_listing(
    keys: int, latency: float, repeat: int, fast_parsing: bool = False
) -> dict[str, float]:
    """Sequential items() against parallel_items(max_workers=8) on moto with added latency,
    and against a perfect static 8-way split of the known keys (the ceiling on this machine)."""
    import hashlib
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="benchmark",
        aws_secret_access_key="benchmark",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=16),
    )
    if fast_parsing:
        pagewalk.fast_parsing(client)
    sent = [0, 0]  # requests, of which probes (MaxKeys=1)

    def delay(request: Any, **_: Any) -> None:
        sent[0] += 1
        sent[1] += "max-keys=1" in request.url.partition("?")[2].split("&")
        time.sleep(latency)

    client.meta.events.register("before-send.s3.ListObjectsV2", delay)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    layouts = {
        "uniform": [hashlib.md5(str(n).encode()).hexdigest() for n in range(keys)],
        "skewed": [f"data/2024/05/part-{n:05d}.parquet" for n in range(keys)],
    }

    def static(bucket: str, names: list[str]) -> int:
        """8 threads over a perfect 8-way split of the known keys: each walks from its start
        key and stops at its last (the page crossing it is fetched, as a range's is)."""
        ordered = sorted(names)
        bounds: list[str | None] = [None]
        bounds += [ordered[len(ordered) * part // 8 - 1] for part in range(1, 8)]
        bounds.append(None)

        def part(index: int) -> int:
            start, end = bounds[index], bounds[index + 1]
            found = 0
            walk = pagewalk.items(
                client.list_objects_v2,
                Bucket=bucket,
                page_size=100,
                rate_limit=None,
                **({"StartAfter": start} if start is not None else {}),
            )
            for item in walk:
                if end is not None and item["Key"] > end:
                    break
                found += 1
            return found

        with ThreadPoolExecutor(8) as pool:
            return sum(pool.map(part, range(8)))

    ratios: dict[str, float] = {}
    print(
        f"\nS3 ListObjectsV2 on moto: {keys} keys, 100 a page, {latency * 1000:.0f} ms a request"
        f"{', fast_parsing' if fast_parsing else ''}"
    )
    print(
        f"  {'layout':<8} {'items() s':>10} {'static s':>9} {'parallel s':>11} {'speedup':>8} "
        f"{'of static':>10}  requests (extra, of them probes)"
    )
    try:
        for layout, names in layouts.items():
            bucket = f"bench-{layout}"
            client.create_bucket(Bucket=bucket)
            for name in names:
                backend.put_object(bucket, name, b"x")
            runs: dict[str, list[float]] = {"items": [], "static": [], "parallel": []}
            requests: dict[str, tuple[int, int]] = {}
            for _ in range(repeat):
                for label in runs:
                    sent[:] = [0, 0]
                    started = time.perf_counter()
                    if label == "items":
                        walk = pagewalk.items(client.list_objects_v2, Bucket=bucket, page_size=100)
                        found = sum(1 for _ in walk)
                    elif label == "static":
                        found = static(bucket, names)
                    else:
                        walk = pagewalk.parallel_items(
                            client.list_objects_v2, Bucket=bucket, page_size=100, max_workers=8
                        )
                        found = sum(1 for _ in walk)
                    runs[label].append(time.perf_counter() - started)
                    if found != keys:
                        raise SystemExit(f"wrong result: {found} keys, expected {keys}")
                    requests[label] = (sent[0], sent[1])
            sequential = statistics.median(runs["items"])
            ceiling = statistics.median(runs["static"])
            parallel = statistics.median(runs["parallel"])
            ratios[layout] = sequential / parallel
            ratios[f"{layout} static"] = sequential / ceiling
            base = requests["items"][0]
            total, probes = requests["parallel"]
            print(
                f"  {layout:<8} {sequential:>10.2f} {ceiling:>9.2f} {parallel:>11.2f} "
                f"{ratios[layout]:>7.2f}x {ceiling / parallel:>9.0%}  {total} = {base} "
                f"+{total - base} ({(total - base) / base:.0%}, {probes} probes)"
            )
    finally:
        server.stop()
    print(
        f"  target: >= 5x uniform ({ratios['uniform']:.2f}x), >= 4.5x skewed "
        f"({ratios['skewed']:.2f}x); a static 8-way split of the known keys: "
        f"{ratios['uniform static']:.2f}x, {ratios['skewed static']:.2f}x"
    )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; figures not meaningful")
    parser.add_argument("--s3-only", action="store_true", help="only the S3 listing section")
    parser.add_argument(
        "--fast-parsing",
        action="store_true",
        help="S3 section: the client with pagewalk.fast_parsing()",
    )
    arguments = parser.parse_args()
    if arguments.s3_only:
        if arguments.quick:
            s3_listing(300, 0.02, 1, arguments.fast_parsing)
        else:
            s3_listing(3000, 0.150, 3, arguments.fast_parsing)
        return
    pages, repeat = (16, 1) if arguments.quick else (96, 3)
    expected = pages * ITEMS_PER_PAGE

    plain = PlainScan(pages)
    plain_ratio = section(
        "plain callable (token_spec=)",
        contenders(plain.scan, ("NextToken", "NextToken"), {}, {"token_spec": SPEC}),
        expected,
        repeat,
    )
    client = botocore_scan(pages)
    botocore_ratio = section(
        "botocore DynamoDB client (before-send answers)",
        contenders(client.scan, ("ExclusiveStartKey", "LastEvaluatedKey"), {"TableName": "b"}, {}),
        expected,
        repeat,
    )
    print(
        f"\n8 segments vs one-segment loop: {plain_ratio:.2f}x (plain), "
        f"{botocore_ratio:.2f}x (botocore); target >= 5x"
    )
    if arguments.quick:
        s3_listing(300, 0.02, 1, arguments.fast_parsing)
    else:
        s3_listing(3000, 0.150, 3, arguments.fast_parsing)


if __name__ == "__main__":
    main()

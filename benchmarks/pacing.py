"""Pacing under a request quota: throttled share and time against the ideal N / R.

    python benchmarks/pacing.py           # about 90 s
    python benchmarks/pacing.py --quick   # smoke mode: seconds; figures not meaningful

A simulated quota sits in botocore's ``before-send`` event in front of a moto server: a token
bucket (capacity 2, refilled at R per second) that lets a request through to moto while it has
a token and otherwise answers HTTP 400 ``ThrottlingException`` itself. The handler is registered
after botocore's own ``before-send`` handlers, so botocore's adaptive mode waits for its token
before the quota sees the request, as a real service would (moto's server needs no handler).

Contenders, each walking the same listing with a fresh client:

botocore standard   botocore's paginator, retry mode "standard" (up to 10 attempts)
botocore adaptive   botocore's paginator, retry mode "adaptive" (up to 10 attempts)
rate_limit=None     pagewalk without pacing (its own retries; botocore's off)
default             pagewalk as it comes: an adaptive RateLimit() per walk
known rate          pagewalk with rate_limit=R

Scenarios: a sequential S3 ListObjectsV2 walk; an 8-segment parallel DynamoDB Scan (botocore:
eight threads, one paginator per segment, one client); two walks in two threads sharing one
``RateLimit(per_second=R)``. Printed: requests, throttled share (overall, and "steady" for the
requests sent after the first two seconds), and time as a ratio to the ideal N / R, where N is
the number of pages (the requests the quota let through). Targets: sequential unknown quota <= 2% throttled in steady state and
<= 1.10x ideal; known rate 0 throttled; parallel unknown quota <= 10% and <= 1.25x; two walks
sharing a RateLimit 0 throttled.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

import pagewalk

STEADY_AFTER = 2.0
CAPACITY = 2.0


class Quota:
    """A token bucket in front of a client's requests: too fast and the request is throttled."""

    def __init__(self, per_second: float, capacity: float = CAPACITY) -> None:
        self.per_second = per_second
        self.capacity = capacity
        self._tokens = capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()
        self.started = self._stamp
        self.log: list[tuple[float, bool]] = []  # (seconds since start, throttled)
        self._json = False

    def attach(self, client: Any) -> Any:
        self._json = client.meta.service_model.protocol.startswith("json")
        client.meta.events.register_last("before-send", self._before_send)
        return client

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.per_second)
            self._stamp = now
            throttled = self._tokens < 1.0
            if not throttled:
                self._tokens -= 1.0
            self.log.append((now - self.started, throttled))
        if not throttled:
            return None
        if self._json:
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
        else:
            headers = {"Content-Type": "text/xml"}
            body = (
                b"<Error><Code>ThrottlingException</Code><Message>Rate exceeded</Message></Error>"
            )
        return AWSResponse(request.url, 400, headers, _Raw(body))  # type: ignore[arg-type]

    def figures(self) -> tuple[int, float, float]:
        """Requests, throttled share, throttled share of the requests after STEADY_AFTER s."""
        total = len(self.log)
        throttled = sum(1 for _, hit in self.log if hit)
        steady = [hit for when, hit in self.log if when >= STEADY_AFTER]
        return (
            total,
            throttled / total if total else 0.0,
            sum(steady) / len(steady) if steady else 0.0,
        )


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def client(url: str, service: str, mode: str | None) -> Any:
    retries: dict[str, Any] = (
        {"total_max_attempts": 1} if mode is None else {"mode": mode, "total_max_attempts": 10}
    )
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries=retries),  # type: ignore[arg-type]
    )


def seed(url: str, pages: int, segments: int) -> None:
    s3 = client(url, "s3", None)
    s3.create_bucket(Bucket="paced")
    for n in range(pages * 5):
        s3.put_object(Bucket="paced", Key=f"key-{n:05d}", Body=b"")
    ddb = client(url, "dynamodb", None)
    ddb.create_table(
        TableName="paced",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(pages * 2):
        ddb.put_item(TableName="paced", Item={"pk": {"S": f"item-{n:05d}"}})


def run_one(url: str, service: str, mode: str | None, walk: Callable[[Any], int], rate: float):
    quota = Quota(rate)
    made = quota.attach(client(url, service, mode))
    started = time.monotonic()
    error = ""
    try:
        count = walk(made)
    except Exception as exc:  # a contender that gives up is reported, not fatal
        count = -1
        error = type(exc).__name__
    return time.monotonic() - started, count, quota.figures(), error


def sequential(contender: str) -> Callable[[Any], int]:
    def walk(s3: Any) -> int:
        if contender.startswith("botocore"):
            paginator = s3.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket="paced", PaginationConfig={"PageSize": 5})
            return sum(len(page.get("Contents", [])) for page in pages)
        option = _option(contender)
        return sum(
            1 for _ in pagewalk.items(s3.list_objects_v2, Bucket="paced", page_size=5, **option)
        )

    return walk


def parallel(contender: str, segments: int) -> Callable[[Any], int]:
    def walk(ddb: Any) -> int:
        if contender.startswith("botocore"):
            counts = [0] * segments

            def one(segment: int) -> None:
                paginator = ddb.get_paginator("scan")
                for page in paginator.paginate(
                    TableName="paced",
                    Segment=segment,
                    TotalSegments=segments,
                    PaginationConfig={"PageSize": 1},
                ):
                    counts[segment] += len(page["Items"])

            threads = [threading.Thread(target=one, args=(n,)) for n in range(segments)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return sum(counts)
        option = _option(contender)
        scan = pagewalk.parallel_items(
            ddb.scan, TableName="paced", total_segments=segments, page_size=1, **option
        )
        return sum(1 for _ in scan)

    return walk


def shared(rate: float, together: bool) -> Callable[[Any], int]:
    def walk(s3: Any) -> int:
        limit = pagewalk.RateLimit(per_second=rate)
        counts = [0, 0]

        def one(n: int) -> None:
            option = {"rate_limit": limit} if together else {}
            counts[n] = sum(
                1
                for _ in pagewalk.items(s3.list_objects_v2, Bucket="paced", page_size=10, **option)
            )

        threads = [threading.Thread(target=one, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts)

    return walk


_RATE: float = 0.0


def _option(contender: str) -> dict[str, Any]:
    if contender == "rate_limit=None":
        return {"rate_limit": None}
    if contender == "known rate":
        return {"rate_limit": _RATE}
    return {}


CONTENDERS = ("botocore standard", "botocore adaptive", "rate_limit=None", "default", "known rate")


def _mode(contender: str) -> str | None:
    return contender.split()[1] if contender.startswith("botocore") else None


def report(label: str, seconds: float, count: int, figures: Any, error: str, rate: float) -> None:
    requests, share, steady = figures
    # The ideal: every page (every accepted request) at exactly the quota, none throttled.
    ideal = requests * (1.0 - share) / rate
    state = f"  FAILED ({error})" if error else ""
    print(
        f"  {label:<22} {requests:>5} requests  throttled {share:6.1%}  steady {steady:6.1%}  "
        f"time {seconds / ideal:5.2f}x ideal{state}"
    )


def main() -> None:
    global _RATE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode: tiny sizes")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    if args.quick:
        sequential_rate, sequential_pages = 40.0, 20
        parallel_rate, segments = 40.0, 8
        shared_pages = 20
    else:
        sequential_rate, sequential_pages = 20.0, 160
        parallel_rate, segments = 30.0, 8
        shared_pages = 80
    try:
        seed(url, max(sequential_pages, shared_pages), segments)
        _RATE = sequential_rate
        print(
            f"[a] sequential S3 ListObjectsV2, {sequential_pages} pages, quota "
            f"{sequential_rate:g}/s (capacity {CAPACITY:g})"
        )
        for contender in CONTENDERS:
            result = run_one(url, "s3", _mode(contender), sequential(contender), sequential_rate)
            report(contender, *result, sequential_rate)
        print("  target: default <= 2% throttled in steady state and <= 1.10x; known rate 0")

        _RATE = parallel_rate
        items = 2 * max(sequential_pages, shared_pages)
        print(
            f"[b] {segments}-segment parallel DynamoDB Scan, {items} items at 1 a page, quota "
            f"{parallel_rate:g}/s (capacity {CAPACITY:g})"
        )
        for contender in CONTENDERS:
            result = run_one(
                url, "dynamodb", _mode(contender), parallel(contender, segments), parallel_rate
            )
            report(contender, *result, parallel_rate)
        print("  target: default <= 10% throttled and <= 1.25x; known rate 0")

        print(
            f"[c] two S3 walks in two threads, 10 keys a page, quota {sequential_rate:g}/s "
            f"(capacity {CAPACITY:g})"
        )
        for label, together in (("one default each", False), ("one shared RateLimit", True)):
            result = run_one(url, "s3", None, shared(sequential_rate, together), sequential_rate)
            report(label, *result, sequential_rate)
        print("  target: one shared RateLimit(per_second=R): 0 throttled")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

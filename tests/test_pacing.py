"""Pacing: the RateLimit token bucket, its adaptive control, and every driver waiting for it.

Behaviour is checked against moto with a simulated quota: a token bucket (capacity 2, R per
second) in botocore's ``before-send`` event that answers HTTP 400 ``ThrottlingException`` when it
is empty. Assertions are on counts of throttled requests and on exact items; time appears only as
"at least (N - 1) / R seconds". The limiter's own schedule is tested without I/O, with made-up
times.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

import pagewalk
from pagewalk import RateLimit
from pagewalk._pacing import MIN_RATE, documented_quota
from pagewalk._plan import make_plan
from pagewalk.testing import inject_faults, no_sleep

SPEC = pagewalk.TokenSpec("NextToken", "NextToken", result_key="Items")


# --------------------------------------------------------------------------------------------
# A simulated quota


class Quota:
    """A token bucket in front of a client: a request it has no token for is throttled."""

    def __init__(self, per_second: float, capacity: float = 2.0) -> None:
        self.per_second = per_second
        self.capacity = capacity
        self._tokens = capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()
        self.accepted = 0
        self.throttled = 0

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.per_second)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.accepted += 1
                return True
            self.throttled += 1
            return False

    def attach(self, client: Any) -> Any:
        json_protocol = client.meta.service_model.protocol.startswith("json")

        def before_send(request: Any, **_: Any) -> AWSResponse | None:
            if self.take():
                return None
            if json_protocol:
                headers = {"Content-Type": "application/x-amz-json-1.0"}
                body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            else:
                headers = {"Content-Type": "text/xml"}
                body = b"<Error><Code>ThrottlingException</Code><Message>slow</Message></Error>"
            return AWSResponse(request.url, 400, headers, _Raw(body))  # type: ignore[arg-type]

        client.meta.events.register_first("before-send", before_send)
        return client


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _bucket(aws: Callable[..., Any], keys: int) -> Any:
    s3 = aws("s3")
    s3.create_bucket(Bucket="paced")
    for n in range(keys):
        s3.put_object(Bucket="paced", Key=f"key-{n:04d}", Body=b"")
    return s3


def _keys(walk: Any) -> list[str]:
    return [obj["Key"] for obj in walk]


# --------------------------------------------------------------------------------------------
# The schedule, without I/O


def test_a_known_rate_spaces_requests_one_interval_apart() -> None:
    limit = RateLimit(per_second=4)
    assert [limit._acquire(0.0) for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


def test_burst_lets_that_many_requests_out_at_once() -> None:
    limit = RateLimit(per_second=2, burst=3)
    assert [limit._acquire(10.0) for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]
    # Refilled at per_second: two seconds later, two tokens more than the debt.
    assert limit._acquire(13.0) == 0.0


def test_waits_are_reservations_shared_fairly_between_threads() -> None:
    limit = RateLimit(per_second=10)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            wait = limit._acquire(0.0)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # No two requests got the same slot: the 200 slots are exactly 0.0, 0.1, ..., 19.9.
    assert sorted(round(wait, 6) for wait in waits) == [round(n / 10, 6) for n in range(200)]


def test_unlimited_until_throttled_and_a_sequential_walk_never_waits() -> None:
    limit = RateLimit()
    now = 0.0
    for _ in range(100):
        assert limit._acquire(now) == 0.0
        now += 0.01
        limit._answered(now - 0.01, now, accepted=True, throttled=False)
    assert limit.rate is None


def test_slow_start_spaces_a_first_burst_of_overlapping_requests() -> None:
    limit = RateLimit()
    waits = [limit._acquire(0.0) for _ in range(8)]
    assert waits[:2] == [0.0, 0.0]  # TCP's initial window of two
    assert all(later > earlier for earlier, later in itertools.pairwise(waits[1:]))
    assert limit.rate is None


def test_slow_start_lets_a_window_go_at_once_once_the_latency_is_measured() -> None:
    limit = RateLimit()
    assert limit._acquire(0.0) == 0.0
    limit._answered(0.0, 0.2, accepted=True, throttled=False)  # TCP's window of ten now
    waits = [limit._acquire(0.2) for _ in range(11)]
    assert waits[:10] == pytest.approx([0.0] * 10, abs=1e-9)
    assert waits[10] > 0.01
    assert limit.rate is None


def _sent_per_round_trip(limit: RateLimit, workers: int, latency: float, first: int) -> list[int]:
    """Workers that send again as soon as their answer arrives (``first`` of them start, the
    others join once the first answer is in, as a parallel listing fans out): how many
    requests were sent in each round trip."""
    events: list[tuple[float, int, int]] = [(0.0, 0, worker) for worker in range(first)]
    joined = first
    sends: list[float] = []
    while events:
        events.sort()
        now, kind, worker = events.pop(0)
        if kind == 0:  # ready: ask the limiter, send after the wait
            sent = now + limit._acquire(now)
            sends.append(sent)
            events.append((sent + latency, 1, worker))
        else:  # answered
            limit._answered(now - latency, now, accepted=True, throttled=False)
            if len(sends) >= 200:
                continue
            events.append((now, 0, worker))
            while joined < workers:
                events.append((now, 0, joined))
                joined += 1
    rounds = int(max(sends) / latency) + 1
    return [
        sum(1 for sent in sends if start * latency <= sent < start * latency + latency)
        for start in range(rounds)
    ]


def test_slow_start_reaches_the_workers_concurrency_within_a_few_round_trips() -> None:
    # A listing that sends one request, then fans out to 8 workers, against a service that
    # never throttles and answers in 200 ms.
    sent = _sent_per_round_trip(RateLimit(), workers=8, latency=0.2, first=1)
    assert sent[0] == 1
    assert min(sent[1:-1]) == 8  # all eight at once from the second round trip on


def _send_at(limit: RateLimit, rate: float, start: float, seconds: float) -> float:
    """Send at ``rate`` from ``start`` for ``seconds``, every request accepted; return the end."""
    now = start
    while now < start + seconds:
        now += limit._acquire(now)
        limit._answered(now, now + 0.001, accepted=True, throttled=False)
        now += 1.0 / rate
    return now


def test_a_throttle_lowers_the_rate_below_the_rate_requests_were_sent_at() -> None:
    limit = RateLimit()
    now = _send_at(limit, 50.0, 0.0, 3.0)
    limit._acquire(now)
    limit._answered(now, now + 0.01, accepted=False, throttled=True)
    assert limit.rate is not None
    assert limit.rate < 50.0 * 0.9


def test_throttles_of_requests_sent_before_a_cut_cut_once() -> None:
    limit = RateLimit()
    now = _send_at(limit, 50.0, 0.0, 3.0)
    sent = [now + limit._acquire(now) for _ in range(8)]
    limit._answered(sent[0], now + 0.02, accepted=False, throttled=True)
    after_one = limit.rate
    for when in sent[1:]:
        limit._answered(when, now + 0.03, accepted=False, throttled=True)
    assert limit.rate == after_one


def test_successes_raise_the_rate_again_but_never_above_per_second() -> None:
    limit = RateLimit(per_second=20)
    now = _send_at(limit, 20.0, 0.0, 3.0)
    limit._answered(now, now, accepted=False, throttled=True)
    lowered = limit.rate
    assert lowered is not None
    assert lowered < 20.0
    highest = 0.0
    for _ in range(400):
        now += limit._acquire(now)
        limit._answered(now, now + 0.001, accepted=True, throttled=False)
        assert limit.rate is not None
        highest = max(highest, limit.rate)
        now += 0.01
    assert highest == 20.0
    assert limit.rate == 20.0


def test_throttles_that_do_not_depend_on_the_rate_do_not_drive_it_to_the_floor() -> None:
    # One request in three is throttled whatever the pace (injected faults): the rate stays
    # near what the service accepts instead of halving again and again down to MIN_RATE.
    limit = RateLimit()
    now = _send_at(limit, 40.0, 0.0, 3.0)
    lowest = math.inf
    for n in range(600):
        now += limit._acquire(now)
        throttled = n % 3 == 0
        limit._answered(now, now + 0.005, accepted=not throttled, throttled=throttled)
        now += 0.005
        if limit.rate is not None:
            lowest = min(lowest, limit.rate)
    assert lowest > 10 * MIN_RATE
    assert limit.rate is not None
    assert limit.rate > 10.0


def test_a_fixed_limit_ignores_throttles() -> None:
    limit = RateLimit(per_second=5, adaptive=False)
    now = _send_at(limit, 5.0, 0.0, 2.0)
    limit._answered(now, now, accepted=False, throttled=True)
    assert limit.rate == 5.0


def test_a_cut_respaces_the_reservations_not_yet_given_out() -> None:
    limit = RateLimit(per_second=10)
    assert [limit._acquire(0.0) for _ in range(3)] == [0.0, 0.1, 0.2]
    limit._rate = 10.0
    limit._set_rate(5.0, 0.0)
    assert limit._acquire(0.0) == pytest.approx(0.6)


# --------------------------------------------------------------------------------------------
# Values


@pytest.mark.parametrize("per_second", [0, -1, -0.5, math.nan, math.inf, -math.inf])
def test_a_rate_that_is_not_a_finite_positive_number_is_refused(per_second: float) -> None:
    with pytest.raises(ValueError, match="per_second"):
        RateLimit(per_second)


def test_a_burst_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="burst"):
        RateLimit(5, burst=0)


def test_a_rate_limit_of_another_type_is_a_type_error_before_any_request(
    aws: Callable[..., Any],
) -> None:
    s3 = aws("s3")
    sent: list[Any] = []
    s3.meta.events.register_first("before-send", lambda **kwargs: sent.append(kwargs))
    with pytest.raises(TypeError, match="rate_limit"):
        pagewalk.pages(s3.list_objects_v2, Bucket="b", rate_limit="fast")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rate_limit"):
        pagewalk.parallel_pages(
            aws("dynamodb").scan,
            TableName="t",
            total_segments=2,
            rate_limit="fast",  # type: ignore[arg-type]
        )
    assert sent == []


def test_a_number_is_a_rate_limit_of_that_many_requests_per_second(
    aws: Callable[..., Any],
) -> None:
    s3 = aws("s3")
    plan = make_plan(s3.list_objects_v2, "pages", {"Bucket": "b"}, rate_limit=7)
    assert plan.rate_limit is not None
    assert (plan.rate_limit.per_second, plan.rate_limit.rate) == (7.0, 7.0)
    assert (
        make_plan(s3.list_objects_v2, "pages", {"Bucket": "b"}, rate_limit=None).rate_limit is None
    )


def test_a_rate_limit_pickles_as_its_settings_for_another_process() -> None:
    limit = RateLimit(3, burst=2, adaptive=False)
    copy = pickle.loads(pickle.dumps(limit))
    assert (copy.per_second, copy.burst, copy.adaptive, copy.rate) == (3.0, 2, False, 3.0)
    assert copy is not limit


# --------------------------------------------------------------------------------------------
# Defaults


def test_every_walk_gets_its_own_adaptive_limiter_by_default(aws: Callable[..., Any]) -> None:
    s3 = aws("s3")
    first = make_plan(s3.list_objects_v2, "pages", {"Bucket": "b"}).rate_limit
    second = make_plan(s3.list_objects_v2, "pages", {"Bucket": "b"}).rate_limit
    assert first is not None
    assert second is not None
    assert first is not second
    assert (first.rate, first.adaptive) == (None, True)


def test_cloudtrail_lookup_events_starts_at_its_documented_quota(aws: Callable[..., Any]) -> None:
    cloudtrail = aws("cloudtrail")
    plan = make_plan(cloudtrail.lookup_events, "items", {})
    assert plan.rate_limit is not None
    assert plan.rate_limit.rate == 2.0
    quota = documented_quota("cloudtrail.LookupEvents")
    assert quota is not None
    assert quota.url.startswith("https://docs.aws.amazon.com/")
    given = RateLimit(1)
    assert make_plan(cloudtrail.lookup_events, "items", {}, rate_limit=given).rate_limit is given


def test_a_default_walk_without_a_quota_never_waits(aws: Callable[..., Any]) -> None:
    s3 = _bucket(aws, 30)
    walk = pagewalk.items(s3.list_objects_v2, Bucket="paced", page_size=2)
    assert len(_keys(walk)) == 30
    assert (walk.stats.paced, walk.stats.throttled) == (0.0, 0)


def test_a_parallel_scan_shares_one_limiter_between_its_segments(
    aws: Callable[..., Any],
) -> None:
    from pagewalk._parallel import plan_segments

    ddb = aws("dynamodb")
    _, _, plans, _ = plan_segments(
        ddb.scan, "items", {"TableName": "t"}, 4, None, pagewalk._parallel._PARALLEL_OPTIONS
    )
    limiters = {id(plan.rate_limit) for plan in plans.values()}
    assert len(limiters) == 1
    assert None not in [plan.rate_limit for plan in plans.values()]


# --------------------------------------------------------------------------------------------
# Against a quota


RATE = 20.0
# Walks that know the quota pace a little under it: a loaded test machine can hold one request
# back until the next is due, and three arriving together would overflow a bucket of two.
UNDER = 0.9 * RATE


def test_a_known_rate_is_never_throttled_and_takes_at_least_n_minus_one_intervals(
    aws: Callable[..., Any],
) -> None:
    s3 = _bucket(aws, 60)
    quota = Quota(RATE)
    quota.attach(s3)
    started = time.monotonic()
    walk = pagewalk.items(s3.list_objects_v2, Bucket="paced", page_size=2, rate_limit=UNDER)
    keys = _keys(walk)
    elapsed = time.monotonic() - started
    assert keys == [f"key-{n:04d}" for n in range(60)]
    assert (quota.throttled, walk.stats.throttled) == (0, 0)
    assert elapsed >= (walk.stats.requests - 1) / UNDER
    assert walk.stats.paced > 0.0


def test_an_unknown_quota_is_found_and_kept_to(aws: Callable[..., Any]) -> None:
    s3 = _bucket(aws, 120)
    unpaced = Quota(RATE)
    quota = Quota(RATE)
    fast_retry = pagewalk.Retry(attempts=20, initial=0.05, maximum=0.5)
    keys = _keys(
        pagewalk.items(
            unpaced.attach(aws("s3")).list_objects_v2,
            Bucket="paced",
            page_size=2,
            rate_limit=None,
            retry_policy=fast_retry,
        )
    )
    assert len(keys) == 120
    walk = pagewalk.items(
        quota.attach(s3).list_objects_v2, Bucket="paced", page_size=2, retry_policy=fast_retry
    )
    assert _keys(walk) == keys
    assert walk.stats.throttled == quota.throttled
    # Found within a few throttles, then kept to: far fewer than bouncing off it.
    assert quota.throttled <= 10
    assert quota.throttled < unpaced.throttled


def test_an_eight_segment_scan_against_an_unknown_quota_is_rarely_throttled(
    aws: Callable[..., Any],
) -> None:
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName="paced",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(60):
        ddb.put_item(TableName="paced", Item={"pk": {"S": f"item-{n:03d}"}})
    quota = Quota(RATE)
    walk = pagewalk.parallel_items(
        quota.attach(ddb).scan,
        TableName="paced",
        total_segments=8,
        page_size=1,
        retry_policy=pagewalk.Retry(attempts=20, initial=0.05, maximum=0.5),
    )
    items = sorted(item["pk"]["S"] for item in walk)
    assert items == [f"item-{n:03d}" for n in range(60)]
    assert walk.stats.throttled == quota.throttled
    # Unpaced, eight segments against this quota get about half their requests throttled.
    assert quota.throttled <= 0.2 * walk.stats.requests


def test_two_walks_in_two_threads_sharing_a_rate_limit_are_never_throttled(
    aws: Callable[..., Any],
) -> None:
    s3 = _bucket(aws, 40)
    quota = Quota(RATE)
    quota.attach(s3)
    shared = RateLimit(per_second=UNDER)
    results: list[list[str]] = [[], []]

    def walk(n: int) -> None:
        results[n] = _keys(
            pagewalk.items(s3.list_objects_v2, Bucket="paced", page_size=2, rate_limit=shared)
        )

    started = time.monotonic()
    threads = [threading.Thread(target=walk, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == results[1] == [f"key-{n:04d}" for n in range(40)]
    assert quota.throttled == 0
    assert time.monotonic() - started >= (quota.accepted - 1) / UNDER


def test_prefetching_waits_for_the_limiter_too(aws: Callable[..., Any]) -> None:
    s3 = _bucket(aws, 30)
    quota = Quota(RATE)
    walk = pagewalk.items(
        quota.attach(s3).list_objects_v2,
        Bucket="paced",
        page_size=2,
        prefetch_pages=4,
        rate_limit=UNDER,
    )
    assert len(_keys(walk)) == 30
    assert quota.throttled == 0


def test_shard_pages_take_a_rate_limit(aws: Callable[..., Any]) -> None:
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName="paced",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(20):
        ddb.put_item(TableName="paced", Item={"pk": {"S": f"item-{n:03d}"}})
    quota = Quota(RATE)
    quota.attach(ddb)
    shared = RateLimit(per_second=UNDER)
    found = []
    for shard in pagewalk.shards(ddb.scan, TableName="paced", total_segments=3):
        found.extend(shard.items(ddb, page_size=1, rate_limit=shared))
    assert len(found) == 20
    assert quota.throttled == 0


# --------------------------------------------------------------------------------------------
# Retries, stats, no_sleep, logging


class Flaky:
    """Pages of one item; the first try of every page fails with a retryable 500."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.calls = 0
        self.failed: set[int] = set()

    def list_things(self, NextToken: str | None = None) -> dict[str, Any]:
        self.calls += 1
        page = int(NextToken or 0)
        if page not in self.failed:
            self.failed.add(page)
            raise ClientError(
                {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "ListThings",
            )
        response: dict[str, Any] = {"Items": [page]}
        if page + 1 < self.pages:
            response["NextToken"] = str(page + 1)
        return response


def test_retries_wait_for_the_limiter_and_no_sleep_makes_it_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = Flaky(pages=3)
    retry = pagewalk.Retry(initial=0.0)
    monkeypatch.setattr(time, "sleep", _no_real_sleep)
    with no_sleep() as delays:
        walk = pagewalk.items(
            service.list_things, token_spec=SPEC, rate_limit=RateLimit(2), retry_policy=retry
        )
        assert list(walk) == [0, 1, 2]
    # Six requests (a retry per page), each after the one before: five intervals of 0.5 s.
    assert (walk.stats.requests, walk.stats.retries) == (6, 3)
    assert walk.stats.paced == pytest.approx(2.5, abs=0.05)
    assert delays == [0.0, 0.0, 0.0]  # backoff delays only: pacing waits are not listed


def _no_real_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s for real under no_sleep()")


def test_throttling_errors_are_counted_whether_retried_or_not(aws: Callable[..., Any]) -> None:
    s3 = _bucket(aws, 40)
    with no_sleep(), inject_faults(s3, rate=0.4, kinds=("throttle", "slowdown", "server")) as log:
        walk = pagewalk.items(s3.list_objects_v2, Bucket="paced", page_size=2)
        assert len(_keys(walk)) == 40
    throttles = [fault for fault in log if fault.kind in ("throttle", "slowdown")]
    assert throttles
    assert len(throttles) < len(log)
    assert walk.stats.throttled == len(throttles)


def test_a_parallel_scan_adds_up_throttled_and_paced(aws: Callable[..., Any]) -> None:
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName="paced",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(12):
        ddb.put_item(TableName="paced", Item={"pk": {"S": f"item-{n:03d}"}})
    with no_sleep(), inject_faults(ddb, rate=0.3, kinds=("throttle",), seed=3) as log:
        walk = pagewalk.parallel_items(
            ddb.scan, TableName="paced", total_segments=3, page_size=1, rate_limit=RateLimit(5)
        )
        assert len(list(walk)) == 12
    assert walk.stats.throttled == len(log) > 0
    assert walk.stats.paced > 0.0
    assert "throttled=" in repr(walk.stats)
    assert "paced=" in repr(walk.stats)


def test_each_pacing_wait_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    service = Flaky(pages=2)
    with caplog.at_level(logging.DEBUG, logger="pagewalk"), no_sleep():
        list(pagewalk.items(service.list_things, token_spec=SPEC, rate_limit=RateLimit(4)))
    waits = [r for r in caplog.records if "for the rate limit" in r.getMessage()]
    assert len(waits) == 3  # every request but the first
    assert "requests/s" in waits[0].getMessage()


# --------------------------------------------------------------------------------------------
# asyncio


class AsyncService:
    """An async listing behind a quota: too fast and it raises a throttling error."""

    def __init__(self, pages: int, quota: Quota) -> None:
        self.pages = pages
        self.quota = quota

    async def list_things(self, NextToken: str | None = None) -> dict[str, Any]:
        await asyncio.sleep(0.002)
        if not self.quota.take():
            raise ClientError(
                {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {}}, "ListThings"
            )
        page = int(NextToken or 0)
        response: dict[str, Any] = {"Items": [page]}
        if page + 1 < self.pages:
            response["NextToken"] = str(page + 1)
        return response


def test_async_walks_in_two_tasks_sharing_a_rate_limit_are_never_throttled() -> None:
    quota = Quota(RATE)
    service = AsyncService(pages=20, quota=quota)
    shared = RateLimit(per_second=UNDER)

    async def walk() -> list[int]:
        return [
            item
            async for item in pagewalk.aitems(
                service.list_things, token_spec=SPEC, rate_limit=shared
            )
        ]

    async def both() -> list[list[int]]:
        ticking = 0

        async def tick() -> None:
            nonlocal ticking
            while True:
                await asyncio.sleep(0.01)
                ticking += 1

        ticker = asyncio.create_task(tick())
        results = await asyncio.gather(walk(), walk())
        ticker.cancel()
        # The event loop kept running while the walks waited for the limiter.
        assert ticking >= 10
        return list(results)

    started = time.monotonic()
    results = asyncio.run(both())
    assert results == [list(range(20)), list(range(20))]
    assert quota.throttled == 0
    assert time.monotonic() - started >= (40 - 1) / UNDER


# --------------------------------------------------------------------------------------------
# Command line


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from pagewalk._cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_shows_a_documented_quota(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(
        capsys, "cloudtrail", "lookup-events", "--region", "us-east-1", "--explain"
    )
    assert (code, err) == (0, "")
    described = json.loads(out)["rate_limit"]
    assert described["per_second"] == 2.0
    assert described["documented_quota"]["per_second"] == 2.0
    assert "API_LookupEvents" in described["documented_quota"]["url"]


def test_explain_shows_the_rate_limit_given(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(
        capsys, "s3", "list-objects-v2", "Bucket=b", "--rate-limit", "5", "--explain"
    )
    assert code == 0
    assert json.loads(out)["rate_limit"] == {
        "per_second": 5.0,
        "adaptive": True,
        "documented_quota": None,
    }


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_a_rate_limit_that_is_not_a_positive_number_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, out, err = _main(capsys, "s3", "list-objects-v2", "Bucket=b", f"--rate-limit={value}")
    assert (code, out) == (2, "")
    assert "--rate-limit" in err


def test_the_command_line_paces_its_requests(
    aws: Callable[..., Any], moto: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _bucket(aws, 10)
    started = time.monotonic()
    code, out, _ = _main(
        capsys,
        "s3",
        "list-objects-v2",
        "Bucket=paced",
        "--items",
        "--page-size",
        "2",
        "--rate-limit",
        "10",
        "--endpoint-url",
        moto.url,
        "--region",
        "us-east-1",
    )
    assert code == 0
    assert len(out.splitlines()) == 10
    assert time.monotonic() - started >= 4 / 10  # five pages, four intervals


def test_the_progress_line_shows_the_rate_once_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from pagewalk._cli_progress import Progress

    class Walk:
        stats = pagewalk.WalkStats()

    progress = Progress(io.StringIO(), io.StringIO())
    progress._walk = Walk()
    assert "requests/s" not in progress._text()
    progress.rate_limit = RateLimit()  # unlimited: nothing to show
    assert "requests/s" not in progress._text()
    progress.rate_limit = RateLimit(2.5)
    assert progress._text().endswith(", paced at 2.5 requests/s")


def test_the_limiter_keeps_a_bounded_history_however_long_the_walk() -> None:
    from pagewalk._pacing import HISTORY

    limit = RateLimit()
    now = 0.0
    for _ in range(5 * HISTORY):
        limit._acquire(now)
        limit._answered(now, now, accepted=True, throttled=False)
        now += 0.0001  # 10,000 pages a second: all of them inside one measuring window
    assert len(limit._sends) <= HISTORY
    assert len(limit._accepted) <= HISTORY
    # Measured over the time the history covers, not the whole window.
    assert limit._send_rate(now) == pytest.approx(10_000, rel=0.01)

"""Parallel scans: ``Segment``/``TotalSegments`` segments walked at once on a thread pool.

Each segment is an ordinary walk: its own ``Cursor`` planned by
``make_plan()``, its own retries. The driver here only decides *when* each
segment's next page is requested: a thread pool sends one page of one segment per task (through
``request_page()``, the retry loop every driver shares), while the caller's
thread receives and delivers pages in the order they complete and submits that segment's next
page. The segments share one ``Budget``, so ``max_pages`` and
``max_items`` count across the whole scan. The planning here is shared with ``._shards``.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import itertools
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from . import _sleep
from ._checkpoint import Checkpoint, params_digest
from ._cursor import Attempt, Budget, Cursor, Page, WalkStats, delivering
from ._errors import PagewalkError, SpecError
from ._keyranges import KeyRange, KeySample, KeySpace, Splitter, check_key, key_space
from ._pacing import PER_WALK, RateLimit
from ._plan import (
    OPTION_NAMES,
    Mode,
    Plan,
    check_int,
    check_scan_checkpoint,
    make_plan,
)
from ._retry import Retry
from ._spec import Operation, TokenSpec, resolve
from ._walk import Walk, request_page

__all__ = ["SEGMENT", "TOTAL_SEGMENTS", "parallel_items", "parallel_pages", "plan_segments"]

T = TypeVar("T")

SEGMENT = "Segment"
TOTAL_SEGMENTS = "TotalSegments"
DEFAULT_MAX_WORKERS = 8

_PARALLEL_OPTIONS = (*OPTION_NAMES, "total_segments", "max_workers")


# --------------------------------------------------------------------------------------------
# Planning: shared with shards, sends nothing


def _check_segmentable(operation: Operation, params: Mapping[str, Any]) -> None:
    given = [name for name in (SEGMENT, TOTAL_SEGMENTS) if name in params]
    if given:
        raise TypeError(
            f"do not pass {' / '.join(given)}: pagewalk sets them for each segment; give "
            "total_segments=N instead"
        )
    if operation.operation_model is None:
        return  # a plain callable with token_spec=: trust it to take Segment/TotalSegments
    missing = [name for name in (SEGMENT, TOTAL_SEGMENTS) if operation.input_member(name) is None]
    if missing:
        raise SpecError(
            f"{operation.name} takes no {' / '.join(missing)} parameter, so it cannot be split "
            "into parallel segments; walk it with pagewalk.pages() or pagewalk.items()",
            operation=operation.name,
        )


def plan_segments(
    method: Callable[..., Any],
    mode: Mode,
    params: dict[str, Any],
    total_segments: Any,
    resume_from: Checkpoint | str | bytes | None,
    known_options: tuple[str, ...],
    **options: Any,
) -> tuple[Plan, int, dict[int, Plan], Checkpoint | None]:
    """Plan the scan: its plan without segments, the number of segments, the plan of every
    unfinished segment, and the checkpoint it resumes from."""
    if total_segments is None:
        raise TypeError("total_segments is required: how many segments to split the scan into")
    if inspect.iscoroutinefunction(method):
        raise TypeError(
            "parallel scans run on sync clients only for now: give a boto3 client's method, or "
            "run one pagewalk.apages(..., Segment=k, TotalSegments=n) per segment with asyncio"
        )
    total = check_int("total_segments", total_segments, 1)
    assert total is not None
    base = make_plan(method, mode, params, known_options=known_options, **options)
    # One limiter for the whole scan: every segment's requests wait for the same budget.
    options["rate_limit"] = base.rate_limit
    _check_segmentable(base.operation, params)
    name = base.operation.name
    if base.start.tokens:
        raise ValueError(
            f"a parallel scan of {name} cannot start at a token "
            f"({', '.join(base.start.tokens)}): every segment starts at its own beginning; "
            "continue an earlier scan with resume_from=walk.checkpoint"
        )
    checkpoint: Checkpoint | None = None
    if resume_from is None:
        positions: dict[int, Checkpoint | None] = dict.fromkeys(range(total))
    else:
        checkpoint = Checkpoint.coerce(resume_from)
        found = check_scan_checkpoint(checkpoint, name, base.digest, total)
        positions = {segment: found[segment] for segment in sorted(found)}
    plans = {
        segment: make_plan(
            method,
            mode,
            {**params, SEGMENT: segment, TOTAL_SEGMENTS: total},
            resume_from=position,
            segment=segment,
            known_options=known_options,
            **options,
        )
        for segment, position in positions.items()
    }
    return base, total, plans, checkpoint


@dataclasses.dataclass
class RangePlanner:
    """Plans the ranges of an ordered key space (S3 listings): each range is an ordinary walk,
    planned by ``make_plan()`` with its start-after key, whose cursor trims at its end key."""

    method: Callable[..., Any]
    mode: Mode
    space: KeySpace
    params: dict[str, Any]
    """The request parameters without the start-after key (and its version marker)."""
    known_options: tuple[str, ...]
    options: dict[str, Any]
    base: Plan
    digest: str
    """The scan's digest: its parameters and where it starts."""
    prefix: str
    sample: KeySample

    def range_params(self, after: str | None) -> dict[str, Any]:
        """The parameters of a range that starts after ``after`` (at its first page)."""
        params = dict(self.params)
        if after is not None:
            params[self.space.start_parameter] = after
        return params

    def plan(
        self,
        segment: int,
        key_range: KeyRange,
        resume_from: Checkpoint | None = None,
        start: Mapping[str, Any] | None = None,
    ) -> Plan:
        """The plan of one range: at its start (or at ``start`` tokens), or at ``resume_from``."""
        if resume_from is not None and self.space.start_is_token:
            params = dict(self.params)  # the checkpoint holds the marker
        else:
            params = self.range_params(key_range.after)
            params.update(start or {})
        return make_plan(
            self.method,
            self.mode,
            params,
            resume_from=resume_from,
            segment=segment,
            known_options=self.known_options,
            **self.options,
        )

    def probe_plan(self, after: str) -> Plan:
        """The plan of a probe: one request for the first key after ``after``."""
        options = {
            name: self.options[name]
            for name in ("retry_policy", "token_spec", "rate_limit")
            if name in self.options
        }
        return make_plan(
            self.method,
            "pages",
            self.range_params(after),
            page_size=1,
            known_options=self.known_options,
            **options,
        )

    def position(self, tokens: Mapping[str, Any], after: str | None, skip: int) -> str | None:
        """Where a range at ``tokens`` stands in the key space; ``None`` while unknown: at an
        opaque token, or with items of its next page already delivered (they lie past the
        marker, so the range must not be split before that page says where they end)."""
        if skip:
            return None
        if not tokens:
            return after
        if self.space.start_is_token:
            value = tokens.get(self.space.start_parameter)
            return value if isinstance(value, str) else None
        return None


def plan_ranges(
    method: Callable[..., Any],
    mode: Mode,
    params: dict[str, Any],
    space: KeySpace,
    resume_from: Checkpoint | str | bytes | None,
    known_options: tuple[str, ...],
    **options: Any,
) -> tuple[RangePlanner, dict[int, tuple[Plan, KeyRange]], Checkpoint | None]:
    """Plan a key-range scan: its planner, the plan and range of every unfinished range, and
    the checkpoint it resumes from. Sends nothing."""
    name = space.operation
    rest = dict(params)
    if rest.get("Delimiter"):
        raise SpecError(
            f"a parallel listing of {name} refuses Delimiter: a range boundary inside a common "
            "prefix would yield that prefix twice. List without Delimiter, or walk it with "
            "pagewalk.pages()",
            operation=name,
        )
    if "EncodingType" in rest:
        raise SpecError(
            f"a parallel listing of {name} refuses EncodingType: it compares keys, which "
            "botocore already decodes when EncodingType is not given",
            operation=name,
        )
    after = rest.pop(space.start_parameter, None)
    start: dict[str, Any] = {}
    if after is not None:
        after = check_key(after, space.start_parameter) or None
    if space.operation == "s3.ListObjectVersions" and "VersionIdMarker" in rest:
        start = {"VersionIdMarker": rest.pop("VersionIdMarker")}
        if after is None:
            raise ValueError("VersionIdMarker needs a KeyMarker")
    prefix = check_key(rest.get("Prefix", ""), "Prefix")
    base = make_plan(method, mode, rest, known_options=known_options, **options)
    options["rate_limit"] = base.rate_limit  # one limiter for the whole scan
    if base.start.tokens:
        raise ValueError(
            f"a parallel listing of {name} cannot start at a token "
            f"({', '.join(base.start.tokens)}): start after a key with "
            f"{space.start_parameter}=, or continue an earlier listing with "
            "resume_from=walk.checkpoint"
        )
    digest = params_digest(name, {"params": base.digest, "after": after, "start": start})
    planner = RangePlanner(
        method, mode, space, rest, known_options, options, base, digest, prefix, KeySample()
    )
    if resume_from is None:
        first = KeyRange(space, after, None, after, planner.sample)
        if start:
            first.position = None if after is None else after
        start_tokens = {space.start_parameter: after, **start} if start else None
        return planner, {0: (planner.plan(0, first, start=start_tokens), first)}, None
    checkpoint = Checkpoint.coerce(resume_from)
    if checkpoint.operation != name:
        raise SpecError(
            f"this checkpoint belongs to {checkpoint.operation}, not {name}",
            operation=name,
            checkpoint=checkpoint,
        )
    if (
        checkpoint.total_segments is None
        or not checkpoint.segments
        or any(position.key_range is None for position in checkpoint.segments)
    ):
        raise SpecError(
            f"this checkpoint of {name} is not one of a parallel listing; resume it with "
            "pagewalk.pages()/items()",
            operation=name,
            checkpoint=checkpoint,
        )
    if checkpoint.params_digest != digest:
        raise SpecError(
            f"this checkpoint of {name} was taken with other request parameters; resume with "
            "exactly the parameters of the listing that made it (page_size may differ)",
            operation=name,
            checkpoint=checkpoint,
        )
    ranges: dict[int, tuple[Plan, KeyRange]] = {}
    for position in sorted(checkpoint.segments, key=lambda position: position.segment or 0):
        assert position.key_range is not None
        assert position.segment is not None
        low, high = position.key_range
        if position.segment in ranges or position.segment >= checkpoint.total_segments:
            raise SpecError(
                f"this checkpoint of {name} is damaged: range {position.segment} is repeated "
                "or out of range",
                operation=name,
                checkpoint=checkpoint,
            )
        key_range = KeyRange(
            space, low, high, planner.position(position.tokens, low, position.skip), planner.sample
        )
        ranges[position.segment] = (
            planner.plan(position.segment, key_range, resume_from=position),
            key_range,
        )
    bounds = sorted((key_range.after or "", key_range.end) for _, key_range in ranges.values())
    for (_, end), (following, _) in itertools.pairwise(bounds):
        if end is None or end > following:
            raise SpecError(
                f"this checkpoint of {name} is damaged: its ranges overlap",
                operation=name,
                checkpoint=checkpoint,
            )
    return planner, ranges, checkpoint


# --------------------------------------------------------------------------------------------
# The parallel driver


class _Stopped(Exception):
    """The scan was closed while this worker waited to retry."""


def _fetch(cursor: Cursor, params: dict[str, Any], stop: threading.Event) -> tuple[Any, Attempt]:
    """Worker task: send one page of one segment, with that segment's retries."""
    # A module-level function: workers must not keep the scan (and so its Walk) alive.
    if stop.is_set():
        raise _Stopped

    def sleep(delay: float) -> float:
        slept = _sleep.sleep_unless(stop, delay)
        if stop.is_set():
            raise _Stopped
        return slept

    attempt = cursor.attempt()
    return request_page(cursor.plan.method, params, attempt, sleep), attempt


class _Scan:
    """The state of one parallel scan: its segment cursors, shared budget and worker pool."""

    def __init__(
        self,
        base: Plan,
        total: int,
        plans: dict[int, Plan],
        workers: int,
        resumed: Checkpoint | None,
    ) -> None:
        self.base = base
        self.total = total
        self.workers = workers
        self.budget = Budget(base.max_pages, base.max_items)
        self.cursors = {segment: Cursor(plan, self.budget) for segment, plan in plans.items()}
        self._counts = (resumed.pages, resumed.items) if resumed is not None else (0, 0)
        self._delivered = 0
        self._stats = WalkStats()
        self._stop = threading.Event()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def checkpoint(self) -> Checkpoint | None:
        """Every unfinished segment's position; ``None`` once every segment ran to the end."""
        segments: list[Checkpoint] = []
        pages, items = self._counts
        for cursor in self.cursors.values():
            start = cursor.plan.start
            position = cursor.checkpoint
            if position is not None:
                segments.append(position)
            done_pages, done_items = cursor.counts
            pages += done_pages - start.pages
            items += done_items - start.items
        if not segments:
            return None
        return Checkpoint(
            operation=self.base.operation.name,
            params_digest=self.base.digest,
            pages=pages,
            items=items,
            total_segments=self.total,
            segments=tuple(segments),
        )

    @property
    def stats(self) -> WalkStats:
        """The counters of every segment, added up."""
        return self._stats.total(cursor.stats for cursor in self.cursors.values())

    def _number(self, page: Page) -> Page:
        # Pages are numbered across the whole scan, in the order they are delivered.
        self._delivered += 1
        info = dataclasses.replace(page.info, number=self._counts[0] + self._delivered)
        return page._replace(info=info)

    def run(self) -> Iterator[Any]:
        """Fetch pages of every segment on the pool; deliver them as they complete."""
        try:
            with delivering(self):
                yield from self._deliver()
        finally:
            self.close()

    def _deliver(self) -> Iterator[Any]:
        budget = self.budget
        completed: queue.SimpleQueue[Future[tuple[Any, Attempt]]] = queue.SimpleQueue()
        in_flight: dict[Future[tuple[Any, Attempt]], int] = {}
        waiting = collections.deque(self.cursors)
        failure: BaseException | None = None
        self._stats.start()
        executor = self._executor = ThreadPoolExecutor(
            max_workers=self.workers,
            thread_name_prefix=f"pagewalk-parallel-{self.base.operation.name}",
        )
        ready: tuple[Cursor, Page] | None = None
        while True:
            # Submit what the budget allows, never more pages in flight than max_pages left, and
            # at most one page per worker: a segment's next page is submitted as soon as its last
            # one was received, so no queue builds up, and a failure stops the scan after the
            # pages already in flight instead of after every queued one.
            while failure is None and not budget.exhausted:
                if len(in_flight) >= self.workers:
                    break
                if budget.pages is not None and len(in_flight) >= budget.pages:
                    break
                if waiting:
                    segment = waiting.popleft()
                else:
                    # A free worker and nothing to send: a key-range scan splits a range.
                    split = self._split(set(in_flight.values()), self.workers - len(in_flight))
                    if split is None:
                        break
                    segment = split
                cursor = self._cursor(segment)
                try:
                    params = cursor.next_request()
                except PagewalkError as exc:
                    failure = exc
                    break
                if params is None:
                    continue
                future = executor.submit(_fetch, cursor, params, self._stop)
                in_flight[future] = segment
                future.add_done_callback(completed.put)
            if ready is not None:
                # Delivered only now, once the workers have their next pages to fetch.
                emitting, page = ready
                ready = None
                yield from emitting.emit(page)
            if not in_flight or budget.exhausted:
                break
            future = completed.get()
            if future not in in_flight:
                continue  # cancelled after a failure
            segment = in_flight.pop(future)
            if segment < 0:
                self._probed(segment, future)
                continue
            cursor = self.cursors[segment]
            try:
                response, attempt = future.result()
                page = cursor.receive(response, attempt)
            except Exception as exc:
                # The segment stays before this page; the others' pages still arrive. Pages
                # not yet started are not sent: their segments stay where they are.
                failure = failure or exc
                for pending in [pending for pending in in_flight if pending.cancel()]:
                    del in_flight[pending]
                continue
            if not cursor.finished:
                waiting.append(segment)
            ready = (cursor, self._number(page))
        if failure is not None:
            raise failure

    def _split(self, busy: set[int], free: int) -> int | None:
        """A new segment for a free worker, or ``None``; ``busy`` have a page in flight,
        ``free`` workers wait for one (this one included). A key-range scan may answer with
        a probe instead: a negative number (see ``_RangeScan``)."""
        return None

    def _cursor(self, segment: int) -> Cursor:
        return self.cursors[segment]

    def _probed(self, segment: int, future: Future[tuple[Any, Attempt]]) -> None:
        """Take the answer to a probe (a key-range scan's only)."""
        raise AssertionError(f"no probe {segment} was sent")

    def close(self) -> None:
        """Stop the workers: cancel queued pages, do not wait for requests in flight."""
        self._stop.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


class _RangeScan(_Scan):
    """A parallel listing of an ordered key space: whenever a worker is free, the range with
    the most keys left is split (see ``Splitter``) and the new range starts at once."""

    def __init__(
        self,
        planner: RangePlanner,
        ranges: dict[int, tuple[Plan, KeyRange]],
        workers: int,
        resumed: Checkpoint | None,
    ) -> None:
        plans = {segment: plan for segment, (plan, _) in ranges.items()}
        total = max(resumed.total_segments or 1 if resumed else 1, max(ranges) + 1)
        super().__init__(planner.base, total, plans, workers, resumed)
        self.base = planner.base._replace(digest=planner.digest)
        self.cursors = {
            segment: Cursor(plan, self.budget, key_range)
            for segment, (plan, key_range) in ranges.items()
        }
        self.planner = planner
        self.splitter = Splitter(planner.prefix, planner.sample)
        # Probes (MaxKeys=1 requests that find where the keys are) by negative number: their
        # cursors, the keys they start after, and the probes waiting for a worker.
        self.probes: dict[int, tuple[Cursor, str]] = {}
        self._queued: collections.deque[str] = collections.deque()
        self._probe_stats: list[WalkStats] = []

    @property
    def stats(self) -> WalkStats:
        """The counters of every range, added up, with the requests of probes."""
        return super().stats.add_requests(self._probe_stats)

    def _cursor(self, segment: int) -> Cursor:
        return self.probes[segment][0] if segment < 0 else self.cursors[segment]

    def _probing(self) -> bool:
        """Whether probes may be sent: not when the budget is a few pages anyway."""
        budget = self.budget
        page = self.planner.sample.page
        keys = 2 * page[2] if page is not None else 1
        return not (
            (budget.pages is not None and budget.pages < 4 * self.workers)
            or (budget.items is not None and budget.items < 4 * self.workers * keys)
        )

    def _split(self, busy: set[int], free: int) -> int | None:
        candidates = [
            (cursor.key_range, segment in busy)
            for segment, cursor in self.cursors.items()
            if cursor.key_range is not None and not cursor.finished
        ]
        if not self._queued and self._probing():
            self._queued.extend(self.splitter.probes(candidates, free))
        if self._queued:
            return self._probe(self._queued.popleft())
        choice = self.splitter.choose(candidates, free)
        if choice is None:
            return None
        key_range, at = choice
        rest = key_range.split(at)
        segment = self.total
        self.total += 1
        self.cursors[segment] = Cursor(self.planner.plan(segment, rest), self.budget, rest)
        return segment

    def _probe(self, after: str) -> int:
        """Start a probe: the first key after ``after``."""
        cursor = Cursor(self.planner.probe_plan(after), Budget(None, None))
        self._probe_stats.append(cursor.stats)
        segment = -1 - len(self._probe_stats)
        self.probes[segment] = (cursor, after)
        return segment

    def _probed(self, segment: int, future: Future[tuple[Any, Attempt]]) -> None:
        cursor, after = self.probes.pop(segment)
        try:
            response, attempt = future.result()
            page = cursor.receive(response, attempt)
        except Exception:
            # A probe is a hint: without its answer the ranges are split all the same (a
            # failing service fails the ranges' own requests).
            self.splitter.probe_lost()
            return
        keys: list[str] = [
            entry["Key"]
            for name in self.planner.space.lists
            for entry in page.response.get(name) or ()
            if isinstance(entry, Mapping) and isinstance(entry.get("Key"), str)
        ]
        self.splitter.probed(after, min(keys) if keys else None)


def _start_scan(
    method: Callable[..., Any],
    mode: Mode,
    params: dict[str, Any],
    total_segments: int | None,
    max_workers: int | None,
    prefetch_pages: int,
    resume_from: Checkpoint | str | None,
    **options: Any,
) -> Walk[Any]:
    if check_int("prefetch_pages", prefetch_pages, 0):
        raise TypeError(
            "prefetch_pages does not apply to a parallel scan: each segment's next page is "
            "already fetched while the caller works; raise max_workers for more pages in flight"
        )
    workers = check_int("max_workers", max_workers, 1)
    operation, _ = resolve(method, options.get("token_spec"))
    space = key_space(operation.name)
    if space is not None:
        if total_segments is not None:
            raise TypeError(
                f"{operation.name} lists an ordered key space: pagewalk splits it into ranges "
                "itself, so give no total_segments (max_workers= sets how many run at once)"
            )
        planner, ranges, resumed_listing = plan_ranges(
            method, mode, params, space, resume_from, _PARALLEL_OPTIONS, **options
        )
        listing = _RangeScan(planner, ranges, workers or DEFAULT_MAX_WORKERS, resumed_listing)
        return Walk(listing.run(), listing, listing.close)
    base, total, plans, resumed = plan_segments(
        method, mode, params, total_segments, resume_from, _PARALLEL_OPTIONS, **options
    )
    if workers is None:
        workers = min(total, DEFAULT_MAX_WORKERS)
    scan = _Scan(base, total, plans, workers, resumed)
    return Walk(scan.run(), scan, scan.close)


def parallel_pages(
    method: Callable[..., T],
    /,
    *,
    total_segments: int | None = None,
    max_workers: int | None = None,
    page_size: int | None = None,
    max_pages: int | None = None,
    max_items: int | None = None,
    resume_from: Checkpoint | str | None = None,
    retry_policy: Retry | None = Retry(),  # noqa: B008 (frozen: one shared instance is fine)
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    rate_limit: RateLimit | float | None = PER_WALK,
    **params: Any,
) -> Walk[T]:
    """Yield every page of a scan split into ``total_segments`` segments, as pages complete.

    Each segment is an ordinary walk with its own retries; up to ``max_workers`` pages are
    requested at once, in worker threads. ``PageInfo.segment`` says where a page came from;
    ``on_page`` runs in the caller's thread. ``max_pages`` and ``max_items`` count across all
    segments, and ``walk.checkpoint`` holds every unfinished segment's position.

    >>> for page in pagewalk.parallel_pages(ddb.scan, TableName="t", total_segments=4):  # doctest: +SKIP
    ...     print(len(page["Items"]))

    Args:
        method: a bound method of a boto3 or botocore client that takes ``Segment`` and
            ``TotalSegments`` (DynamoDB ``scan``); any other callable that does works when
            ``token_spec`` is given.
        total_segments: how many segments to split the scan into (``>= 1``), sent as
            ``TotalSegments``. Not taken by S3 ``ListObjectsV2``, ``ListObjects`` and
            ``ListObjectVersions``: their ordered key space is cut into key ranges, split
            further whenever a worker is free (see "Listing big S3 buckets" in the guide).
        max_workers: how many pages are requested at once (``>= 1``). Default:
            ``min(total_segments, 8)``, or 8 for a key space.
        page_size: results to ask for per request (``>= 1``), sent as the operation's limit
            parameter (``MaxKeys``, ``Limit``, ``MaxResults``, ...), converted to its type.
        max_pages: stop after this many pages (``>= 1``) across all segments.
        max_items: stop after exactly this many items (``>= 0``) across all segments: the
            last page's result list is cut to fit, and no page past the limit is requested.
        resume_from: continue a scan where it stopped: its
            [`Checkpoint`][pagewalk.Checkpoint] (which holds every unfinished segment) or that
            checkpoint's JSON.
        retry_policy: how one page is retried, on top of botocore's own retries; ``None``
            turns pagewalk's retries off. Default: ``Retry()``.
        token_spec: the token mapping to use, over registered mappings, botocore's paginator
            model and inference (see [`spec_for`][pagewalk.spec_for]).
        on_page: called with each page's [`PageInfo`][pagewalk.PageInfo] just before the
            page is yielded, in the caller's thread.
        prefetch_pages: not taken by a parallel scan: anything but ``0`` raises
            ``TypeError``.
        rate_limit: pace requests to stay under the service's rate limit: a
            [`RateLimit`][pagewalk.RateLimit] (shared as given), a number of requests per
            second, or ``None`` for no pacing. Default: an adaptive ``RateLimit()`` shared by
            the scan's segments.
        **params: the request parameters, sent unchanged with every request of every segment
            (without ``Segment`` and ``TotalSegments``, which the scan sets).

    Returns:
        A [`Walk`][pagewalk.Walk] over the pages of every segment: iterate it (once), and read
            ``walk.checkpoint`` and ``walk.stats`` at any time.

    Raises:
        TypeError: an unknown option (a keyword with an underscore), an option of the wrong
            type, ``prefetch_pages`` (each segment's next page is already fetched while the
            caller works), or ``Segment``/``TotalSegments`` among the parameters.
        ValueError: an option out of range.
        SpecError: the operation takes no ``Segment``/``TotalSegments``, no token mapping,
            ``page_size`` for an operation without a limit parameter, or a checkpoint of
            another scan.

    Nothing is sent before these checks pass. A segment's error surfaces while iterating,
    after the pages already in flight were delivered; ``walk.checkpoint`` then resumes the
    whole scan.
    """
    return _start_scan(
        method,
        "pages",
        params,
        total_segments,
        max_workers,
        prefetch_pages,
        resume_from,
        page_size=page_size,
        max_pages=max_pages,
        max_items=max_items,
        retry_policy=retry_policy,
        token_spec=token_spec,
        on_page=on_page,
        rate_limit=rate_limit,
    )


def parallel_items(
    method: Callable[..., Any],
    /,
    *,
    total_segments: int | None = None,
    max_workers: int | None = None,
    page_size: int | None = None,
    max_pages: int | None = None,
    max_items: int | None = None,
    resume_from: Checkpoint | str | None = None,
    retry_policy: Retry | None = Retry(),  # noqa: B008 (frozen: one shared instance is fine)
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    rate_limit: RateLimit | float | None = PER_WALK,
    result_key: str | None = None,
    **params: Any,
) -> Walk[Any]:
    """Yield every item of a scan split into ``total_segments`` segments, page by page as they
    complete (items of one page stay together and in order).

    The same scan as [`parallel_pages`][pagewalk.parallel_pages], item by item; ``max_items``
    is exact across segments.

    >>> for item in pagewalk.parallel_items(ddb.scan, TableName="t", total_segments=8):  # doctest: +SKIP
    ...     print(item["pk"])

    Args:
        method: a bound method of a boto3 or botocore client that takes ``Segment`` and
            ``TotalSegments`` (DynamoDB ``scan``); any other callable that does works when
            ``token_spec`` is given.
        total_segments: how many segments to split the scan into (``>= 1``), sent as
            ``TotalSegments``. Not taken by S3 ``ListObjectsV2``, ``ListObjects`` and
            ``ListObjectVersions``: their ordered key space is cut into key ranges, split
            further whenever a worker is free (see "Listing big S3 buckets" in the guide).
        max_workers: how many pages are requested at once (``>= 1``). Default:
            ``min(total_segments, 8)``, or 8 for a key space.
        page_size: results to ask for per request (``>= 1``), sent as the operation's limit
            parameter (``MaxKeys``, ``Limit``, ``MaxResults``, ...), converted to its type.
        max_pages: stop after this many pages (``>= 1``) across all segments.
        max_items: stop after exactly this many items (``>= 0``) across all segments, in the
            middle of a page if need be; no page past the limit is requested.
        resume_from: continue a scan where it stopped: its
            [`Checkpoint`][pagewalk.Checkpoint] (which holds every unfinished segment) or that
            checkpoint's JSON.
        retry_policy: how one page is retried, on top of botocore's own retries; ``None``
            turns pagewalk's retries off. Default: ``Retry()``.
        token_spec: the token mapping to use, over registered mappings, botocore's paginator
            model and inference (see [`spec_for`][pagewalk.spec_for]).
        on_page: called with each page's [`PageInfo`][pagewalk.PageInfo] just before the
            page is yielded, in the caller's thread.
        prefetch_pages: not taken by a parallel scan: anything but ``0`` raises
            ``TypeError``.
        rate_limit: pace requests to stay under the service's rate limit: a
            [`RateLimit`][pagewalk.RateLimit] (shared as given), a number of requests per
            second, or ``None`` for no pacing. Default: an adaptive ``RateLimit()`` shared by
            the scan's segments.
        result_key: the result list to yield and count, one of the token mapping's result
            keys (S3 ``CommonPrefixes`` with a ``Delimiter``). Default: the first.
        **params: the request parameters, sent unchanged with every request of every segment
            (without ``Segment`` and ``TotalSegments``, which the scan sets).

    Returns:
        A [`Walk`][pagewalk.Walk] over the items of every segment: iterate it (once), and read
            ``walk.checkpoint`` and ``walk.stats`` at any time.

    Raises:
        TypeError: an unknown option (a keyword with an underscore), an option of the wrong
            type, ``prefetch_pages`` (each segment's next page is already fetched while the
            caller works), or ``Segment``/``TotalSegments`` among the parameters.
        ValueError: an option out of range.
        SpecError: the operation takes no ``Segment``/``TotalSegments``, no token mapping,
            ``page_size`` for an operation without a limit parameter, a ``result_key``
            that is not one of the mapping's, or a checkpoint of another scan.

    Nothing is sent before these checks pass. A segment's error surfaces while iterating,
    after the pages already in flight were delivered; ``walk.checkpoint`` then resumes the
    whole scan.
    """
    return _start_scan(
        method,
        "items",
        params,
        total_segments,
        max_workers,
        prefetch_pages,
        resume_from,
        page_size=page_size,
        max_pages=max_pages,
        max_items=max_items,
        retry_policy=retry_policy,
        token_spec=token_spec,
        on_page=on_page,
        rate_limit=rate_limit,
        result_key=result_key,
    )

"""Parallel scans (``Segment``/``TotalSegments``) and shards for distributed engines.

Each segment is an ordinary walk: its own :class:`~pagewalk._cursor.Cursor` planned by
:func:`~pagewalk._plan.make_plan`, its own retries. The driver here only decides *when* each
segment's next page is requested: a thread pool sends one page of one segment per task (through
:func:`~pagewalk._walk.request_page`, the retry loop every driver shares), while the caller's
thread receives and delivers pages in the order they complete and submits that segment's next
page. The segments share one :class:`~pagewalk._cursor.Budget`, so ``max_pages`` and
``max_items`` count across the whole scan.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeGuard, TypeVar

from . import _sleep
from ._checkpoint import Checkpoint, decode_value, encode_value
from ._cursor import Attempt, Budget, Cursor, Page, WalkStats
from ._errors import PagewalkError, SpecError
from ._plan import (
    DEFAULT_RETRY,
    OPTION_NAMES,
    Mode,
    Plan,
    check_int,
    check_no_unknown_options,
    check_scan_checkpoint,
    make_plan,
)
from ._retry import Retry
from ._spec import Operation, TokenSpec
from ._walk import Walk, request_page, run

__all__ = ["Shard", "parallel_items", "parallel_pages", "shards"]

T = TypeVar("T")

SEGMENT = "Segment"
TOTAL_SEGMENTS = "TotalSegments"
DEFAULT_MAX_WORKERS = 8

_PARALLEL_OPTIONS = (*OPTION_NAMES, "total_segments", "max_workers")
_SHARD_OPTIONS = ("total_segments", "page_size", "resume_from", "token_spec")
_SHARD_FORMAT = "pagewalk.shard/1"


# --------------------------------------------------------------------------------------------
# Planning: shared by parallel scans and shards, sends nothing


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


def _plan_segments(
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
        self._done: dict[int, tuple[int, int]] = {}
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
        for segment, cursor in self.cursors.items():
            start = cursor.plan.start
            position = cursor.position
            if position is None:
                done_pages, done_items = self._done.get(segment, (start.pages, start.items))
            else:
                segments.append(cursor.plan.checkpoint(position))
                done_pages, done_items = position.pages, position.items
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
        stats = self._stats
        parts = [cursor.stats for cursor in self.cursors.values()]
        stats.pages = sum(part.pages for part in parts)
        stats.items = sum(part.items for part in parts)
        stats.requests = sum(part.requests for part in parts)
        stats.retries = sum(part.retries for part in parts)
        stats.slept = sum(part.slept for part in parts)
        return stats

    def _number(self, page: Page) -> Page:
        # Pages are numbered across the whole scan, in the order they are delivered.
        self._delivered += 1
        info = dataclasses.replace(page.info, number=self._counts[0] + self._delivered)
        return dataclasses.replace(page, info=info)

    def run(self) -> Iterator[Any]:
        """Fetch pages of every segment on the pool; deliver them as they complete."""
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
        try:
            while True:
                # Submit what the budget allows; never more pages in flight than max_pages left.
                while waiting and failure is None and not budget.exhausted:
                    if budget.pages is not None and len(in_flight) >= budget.pages:
                        break
                    segment = waiting.popleft()
                    cursor = self.cursors[segment]
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
                if not in_flight or budget.exhausted:
                    break
                future = completed.get()
                segment = in_flight.pop(future)
                cursor = self.cursors[segment]
                try:
                    response, attempt = future.result()
                    page = cursor.receive(response, attempt)
                except Exception as exc:
                    # The segment stays before this page; the others' pages still arrive.
                    failure = failure or exc
                    continue
                if not cursor.finished:
                    waiting.append(segment)
                page = self._number(page)
                if page.after is None:
                    # The segment's final counts, for the checkpoint's totals once its cursor
                    # has delivered everything (while the page is out, its position counts).
                    self._done[segment] = (
                        page.start.pages + 1,
                        page.start.items + len(page.items),
                    )
                yield from cursor.emit(page)
            if failure is not None:
                raise failure
        except PagewalkError as exc:
            exc.checkpoint = self.checkpoint
            raise
        finally:
            self.close()
            self._stats.finish()

    def close(self) -> None:
        """Stop the workers: cancel queued pages, do not wait for requests in flight."""
        self._stop.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def _start_scan(
    method: Callable[..., Any],
    mode: Mode,
    params: dict[str, Any],
    total_segments: int,
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
    base, total, plans, resumed = _plan_segments(
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
    total_segments: int,
    max_workers: int | None = None,
    page_size: int | None = None,
    max_pages: int | None = None,
    max_items: int | None = None,
    resume_from: Checkpoint | str | None = None,
    retry_policy: Retry | None = DEFAULT_RETRY,
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    **params: Any,
) -> Walk[T]:
    """Yield every page of a scan split into ``total_segments`` segments, as pages complete.

    Each segment is an ordinary walk with its own retries; up to ``max_workers`` (default
    ``min(total_segments, 8)``) pages are requested at once. ``PageInfo.segment`` says where a
    page came from; ``on_page`` runs in the caller's thread. ``max_pages`` and ``max_items``
    count across all segments. ``walk.checkpoint`` holds every unfinished segment's position,
    and a segment that fails stops the scan only after the pages already in flight were
    delivered.

    >>> for page in pagewalk.parallel_pages(ddb.scan, TableName="t", total_segments=4):  # doctest: +SKIP
    ...     print(len(page["Items"]))

    Raises:
        SpecError: the operation takes no ``Segment``/``TotalSegments`` (checked before any
            request), or the checkpoint belongs to another scan.
        TypeError: ``Segment`` or ``TotalSegments`` was given: use ``total_segments=``.
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
    )


def parallel_items(
    method: Callable[..., Any],
    /,
    *,
    total_segments: int,
    max_workers: int | None = None,
    page_size: int | None = None,
    max_pages: int | None = None,
    max_items: int | None = None,
    resume_from: Checkpoint | str | None = None,
    retry_policy: Retry | None = DEFAULT_RETRY,
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    **params: Any,
) -> Walk[Any]:
    """Yield every item of a scan split into ``total_segments`` segments, page by page as they
    complete (items of one page stay together and in order).

    Same options and guarantees as :func:`parallel_pages`; ``max_items`` is exact across
    segments.

    >>> for item in pagewalk.parallel_items(ddb.scan, TableName="t", total_segments=8):  # doctest: +SKIP
    ...     print(item["pk"])
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
    )


# --------------------------------------------------------------------------------------------
# Shards: one segment each, as JSON, for Dask, Ray or any other engine


@dataclass(frozen=True)
class Shard:
    """One segment of a scan and where it stands: a frozen value that round-trips through JSON.

    Send shards to workers (Dask, Ray, a queue), run each with :meth:`pages` or :meth:`items`
    on a client made there, and after a partial run take ``shard.at(walk.checkpoint)`` to retry
    the rest.

    Attributes:
        operation: the scanned operation, ``"dynamodb.Scan"``.
        params: the request parameters, without ``Segment``/``TotalSegments``.
        segment: this shard's segment, ``0 <= segment < total_segments``.
        total_segments: how many segments the scan has.
        checkpoint: where this segment continues; ``None`` for its beginning.
        page_size: the page size given to :func:`shards`, if any.
    """

    operation: str
    params: Mapping[str, Any]
    segment: int
    total_segments: int
    checkpoint: Checkpoint | None = None
    page_size: int | None = None

    def pages(self, client: Any, /, **options: Any) -> Walk[Any]:
        """Yield the pages of this shard's segment, using ``client``'s method for the operation.

        ``options`` are walk options (``max_pages``, ``retry_policy``, ``on_page``,
        ``token_spec``, ``resume_from``, ...); the request parameters are fixed in the shard.
        ``walk.checkpoint`` is this segment's position, for :meth:`at`.
        """
        return self._walk(client, "pages", options)

    def items(self, client: Any, /, **options: Any) -> Walk[Any]:
        """Yield the items of this shard's segment; see :meth:`pages`."""
        return self._walk(client, "items", options)

    def at(self, checkpoint: Checkpoint | str | None) -> Shard | None:
        """This shard, continuing at ``checkpoint`` (a partial run's ``walk.checkpoint``).

        Returns ``None`` when ``checkpoint`` is ``None``: the segment ran to the end.
        """
        if checkpoint is None:
            return None
        position = Checkpoint.coerce(checkpoint)
        if position.operation != self.operation or position.segment != self.segment:
            raise SpecError(
                f"this checkpoint belongs to segment {position.segment} of "
                f"{position.operation}, not to segment {self.segment} of {self.operation}",
                operation=self.operation,
                checkpoint=position,
            )
        return Shard(
            self.operation,
            self.params,
            self.segment,
            self.total_segments,
            position,
            self.page_size,
        )

    def _method(self, client: Any) -> Callable[..., Any]:
        meta = getattr(client, "meta", None)
        mapping = getattr(meta, "method_to_api_mapping", None)
        service_model = getattr(meta, "service_model", None)
        if isinstance(mapping, Mapping) and service_model is not None:
            service, _, api_name = self.operation.partition(".")
            if service_model.service_name != service:
                raise TypeError(
                    f"this shard scans {self.operation}: give it a {service} client, not a "
                    f"{service_model.service_name} one"
                )
            for python_name, mapped in mapping.items():
                if mapped == api_name:
                    method: Callable[..., Any] = getattr(client, python_name)
                    return method
            raise SpecError(
                f"this {service} client has no method for {api_name}; is botocore too old?",
                operation=self.operation,
            )
        # A plain callable walked with token_spec=: its name is the last part of the operation.
        name = self.operation.rpartition(".")[2]
        found: Callable[..., Any] | None = getattr(client, name, None)
        if not callable(found):
            raise TypeError(f"this shard scans {self.operation}, but {client!r} has no {name}()")
        return found

    def _walk(self, client: Any, mode: Mode, options: dict[str, Any]) -> Walk[Any]:
        check_no_unknown_options({name: None for name in options if name not in OPTION_NAMES})
        requests = [name for name in options if "_" not in name]
        if requests:
            raise TypeError(
                f"shard.{mode}() takes walk options only, not request parameters "
                f"({', '.join(requests)}): those are fixed in the shard; make new shards instead"
            )
        options.setdefault("resume_from", self.checkpoint)
        if self.page_size is not None:
            options.setdefault("page_size", self.page_size)
        params = {**self.params, SEGMENT: self.segment, TOTAL_SEGMENTS: self.total_segments}
        plan = make_plan(self._method(client), mode, params, segment=self.segment, **options)
        cursor = Cursor(plan)
        return Walk(run(cursor), cursor)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tagged values included); :meth:`from_dict` reads it back."""
        return {
            "format": _SHARD_FORMAT,
            "operation": self.operation,
            "params": encode_value(dict(self.params)),
            "segment": self.segment,
            "total_segments": self.total_segments,
            "page_size": self.page_size,
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict(),
        }

    def to_json(self) -> str:
        """The shard as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Shard:
        """Read a shard written by :meth:`to_json`.

        Raises:
            SpecError: the text is not a pagewalk shard.
        """
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"not a pagewalk shard: the text is not JSON ({exc})") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Shard:
        """Read a shard from :meth:`to_dict` data.

        Raises:
            SpecError: the data is not a pagewalk shard.
        """
        if not isinstance(data, dict) or data.get("format") != _SHARD_FORMAT:
            raise SpecError(
                f"not a pagewalk shard (expected a JSON object with format {_SHARD_FORMAT!r})"
            )
        operation, params = data.get("operation"), decode_value(data.get("params", {}))
        segment, total = data.get("segment"), data.get("total_segments")
        page_size = data.get("page_size")
        if (
            not isinstance(operation, str)
            or not isinstance(params, dict)
            or not _is_int(total, 1)
            or not _is_int(segment, 0)
            or segment >= total
            or (page_size is not None and not _is_int(page_size, 1))
        ):
            raise SpecError(f"not a valid pagewalk shard: {data!r}")
        raw = data.get("checkpoint")
        checkpoint = None if raw is None else Checkpoint.from_dict(raw)
        return cls(operation, params, segment, total, checkpoint, page_size)


def _is_int(value: Any, minimum: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def shards(
    method: Callable[..., Any],
    /,
    *,
    total_segments: int,
    page_size: int | None = None,
    resume_from: Checkpoint | str | None = None,
    token_spec: TokenSpec | None = None,
    **params: Any,
) -> list[Shard]:
    """Split a scan into one :class:`Shard` per segment, for a distributed engine to run.

    Sends no request. With ``resume_from`` (a parallel scan's checkpoint) only the unfinished
    segments come back, each at its position. Per-run options (``max_items``,
    ``retry_policy``, ``on_page``, ...) go to :meth:`Shard.pages` / :meth:`Shard.items`; so does
    ``token_spec`` (it cannot travel as JSON).

    >>> for shard in pagewalk.shards(ddb.scan, TableName="t", total_segments=16):  # doctest: +SKIP
    ...     futures.append(dask_client.submit(run_shard, shard.to_json()))
    """
    for name in params:
        if name in (*OPTION_NAMES, "max_workers"):
            raise TypeError(
                f"{name} is an option of each shard's run: pass it to shard.pages(client, "
                f"{name}=...) or shard.items(client, {name}=...)"
            )
    base, total, plans, resumed = _plan_segments(
        method,
        "pages",
        params,
        total_segments,
        resume_from,
        _SHARD_OPTIONS,
        page_size=page_size,
        token_spec=token_spec,
    )
    return [
        Shard(
            operation=base.operation.name,
            params=dict(base.params),
            segment=segment,
            total_segments=total,
            checkpoint=None if resumed is None else plan.checkpoint(plan.start),
            page_size=page_size,
        )
        for segment, plan in plans.items()
    ]

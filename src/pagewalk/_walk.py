"""The sync driver: ``pages()``, ``items()``, and prefetching in a background thread."""

from __future__ import annotations

import contextlib
import queue
import threading
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

from . import _sleep
from ._checkpoint import Checkpoint
from ._cursor import Attempt, Cursor, Iteration, Page, WalkState, WalkStats, delivering
from ._pacing import PER_WALK, RateLimit
from ._plan import Plan, make_plan
from ._retry import Retry
from ._spec import TokenSpec

__all__ = ["Walk", "fetch_page", "fetch_pages", "items", "pages", "request_page"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


def request_page(
    method: Callable[..., Any],
    params: Mapping[str, Any],
    attempt: Attempt,
    sleep: Callable[[float], float] = _sleep.sleep,
) -> Any:
    """Send one page request, retrying it as ``attempt``'s policy says; return the response.

    Every try first waits for the walk's rate limiter (with ``sleep``). The error of the last
    try propagates when the policy gives up, or at once when it is not retryable. Every driver
    (inline, prefetch, parallel workers) sends pages through here.
    """
    while True:
        pause = attempt.begin()
        if pause:
            _sleep.pacing(sleep, pause)
        try:
            response = method(**params)
        except Exception as exc:
            delay = attempt.on_error(exc)
            if delay is None:
                raise
            attempt.slept(delay, sleep(delay))
        else:
            attempt.on_success()
            return response


def fetch_page(cursor: Cursor, sleep: Callable[[float], float] = _sleep.sleep) -> Page | None:
    """Request the next page of ``cursor``'s walk, retrying it as its policy says.

    Returns ``None`` when the walk is over.
    """
    params = cursor.next_request()
    if params is None:
        return None
    attempt = cursor.attempt()
    response = request_page(cursor.plan.method, params, attempt, sleep)
    return cursor.receive(response, attempt)


def fetch_pages(
    cursor: Cursor, sleep: Callable[[float], float] = _sleep.sleep
) -> Generator[Page, None, None]:
    """Request every page of ``cursor``'s walk, retrying each one as its policy says."""
    while (page := fetch_page(cursor, sleep)) is not None:
        yield page


class Walk(Generic[T_co]):
    """An iterator over a walk's pages or items, with its ``checkpoint`` and ``stats``.

    Usable once. ``close()``, leaving a ``with`` block, or dropping the walk stops any background
    work (prefetch threads, parallel workers).
    """

    def __init__(
        self,
        iterator: Iterator[T_co],
        state: WalkState,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._iterator = iterator
        self._state = state
        self._on_close = on_close
        self._iteration = Iteration(state)

    def __iter__(self) -> Walk[T_co]:
        return self

    def __next__(self) -> T_co:
        iteration = self._iteration
        try:
            iteration.take()
        except IndexError:
            iteration.busy()
        try:
            return next(self._iterator)
        except StopIteration:
            iteration.ended()
            raise
        except BaseException as exc:
            iteration.failed(exc)
            raise
        finally:
            iteration.give(None)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """Where the walk would continue: the start before the first page, just past the last
        page or item yielded while it runs, ``None`` once it ran to the end. After an error it
        points at the page that failed."""
        return self._state.checkpoint

    @property
    def stats(self) -> WalkStats:
        """Counters: pages, items, requests, retries, elapsed and slept seconds."""
        return self._state.stats

    def close(self) -> None:
        """Stop the walk and any background work; the checkpoint stays where it is.

        Iterating a walk closed before its end raises [`PagewalkError`][pagewalk.PagewalkError]
        (continue with ``resume_from=walk.checkpoint``); one that had ended stays exhausted.
        """
        self._iteration.closed()
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> Walk[T_co]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # A walk dropped mid-iteration must not leave a prefetch thread behind.
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return f"<pagewalk.Walk {self.stats!r}>"


class _Closed(BaseException):
    """Raised inside a prefetch thread whose walk was closed while it waited to retry a page."""


class Prefetcher:
    """Fetch up to ``depth`` pages ahead of the caller in a daemon thread.

    Pages come out in order; an error comes out exactly where its page would have. The thread
    only moves the cursor's frontier, so the checkpoint reflects delivered pages only. It holds
    at most ``depth`` pages that the caller has not taken, counting the one in flight.
    """

    def __init__(self, cursor: Cursor, depth: int) -> None:
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_prefetch,
            args=(weakref.ref(cursor), self._queue, self._slots, self._stop),
            name=f"pagewalk-prefetch-{cursor.plan.operation.name}",
            daemon=True,
        )
        self._started = False

    def __iter__(self) -> Iterator[Page]:
        if not self._started:
            self._started = True
            self._thread.start()
        try:
            while True:
                kind, value = self._queue.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                self._slots.release()
                yield value
        finally:
            self.close()

    def close(self) -> None:
        """Tell the thread to stop: at once when it is waiting, else after the request in flight.

        A backoff in progress is cut short and no further request is sent.
        """
        if not self._stop.is_set():
            self._stop.set()
            self._slots.release()  # wakes the thread if it waits for the caller


def _prefetch(
    cursor_ref: weakref.ref[Cursor],
    out: queue.SimpleQueue[tuple[str, Any]],
    slots: threading.Semaphore,
    stop: threading.Event,
) -> None:
    """The prefetch thread: fetch a page whenever a slot is free, until the end, an error or stop.

    The thread holds its cursor only while it fetches. Waiting for a slot it keeps a weak
    reference, so a walk dropped without ``close()`` is collected even when it is part of a
    reference cycle (an ``on_page`` that refers to the walk), and its finalizer stops the thread.
    """

    def sleep(delay: float) -> float:
        if stop.is_set():
            raise _Closed
        slept = _sleep.sleep_unless(stop, delay)
        if stop.is_set():
            raise _Closed
        return slept

    try:
        while True:
            slots.acquire()
            if stop.is_set():
                return
            cursor = cursor_ref()
            if cursor is None:
                return
            page = fetch_page(cursor, sleep)
            del cursor
            if page is None:
                out.put(("end", None))
                return
            out.put(("page", page))
    except _Closed:
        return
    except BaseException as exc:  # handed to the caller's thread, raised there
        out.put(("error", exc))


def run(cursor: Cursor) -> Iterator[Any]:
    """Drive ``cursor``: fetch (inline or ahead) and hand pages or items to the caller."""
    plan = cursor.plan
    source: Iterator[Page] | Prefetcher = (
        Prefetcher(cursor, plan.prefetch_pages) if plan.prefetch_pages else fetch_pages(cursor)
    )
    try:
        with delivering(cursor):
            for page in source:
                yield from cursor.emit(page)
    finally:
        if isinstance(source, Prefetcher):
            source.close()


def _start(plan: Plan) -> Walk[Any]:
    cursor = Cursor(plan)
    return Walk(run(cursor), cursor)


def pages(
    method: Callable[..., T],
    /,
    *,
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
    """Yield every page (response dict) of ``method(**params)``, passing the token back.

    Everything that can be checked is checked now, before any request: the options, the token
    mapping, ``page_size`` against the operation's limit parameter, a checkpoint against this
    walk, and the request parameters against the operation's input shape.

    >>> for page in pagewalk.pages(s3.list_objects_v2, Bucket="demo", page_size=100):  # doctest: +SKIP
    ...     print(page["KeyCount"])

    Args:
        method: a bound method of a boto3 or botocore client (``s3.list_objects_v2``); any
            other callable that returns a mapping works when ``token_spec`` is given.
        page_size: results to ask for per request (``>= 1``), sent as the operation's limit
            parameter (``MaxKeys``, ``Limit``, ``MaxResults``, ...), converted to its type.
        max_pages: stop after this many pages (``>= 1``). A resumed walk gets a fresh budget.
        max_items: stop after exactly this many items of the result key (``>= 0``): the last
            page's result list is cut to fit, and no page past the limit is requested.
        resume_from: continue exactly where an earlier walk stopped: its
            [`Checkpoint`][pagewalk.Checkpoint], the checkpoint's JSON, or a starting token
            printed by botocore's paginator or the AWS CLI.
        retry_policy: how one page is retried, on top of botocore's own retries; ``None``
            turns pagewalk's retries off. Default: ``Retry()``.
        token_spec: the token mapping to use, over registered mappings, botocore's paginator
            model and inference (see [`spec_for`][pagewalk.spec_for]).
        on_page: called with each page's [`PageInfo`][pagewalk.PageInfo] just before the
            page is yielded, in the caller's thread.
        prefetch_pages: fetch up to this many pages ahead in a background thread while the
            caller works (``>= 0``; default ``0``, none).
        rate_limit: pace requests to stay under the service's rate limit: a
            [`RateLimit`][pagewalk.RateLimit] (shared as given), a number of requests per
            second, or ``None`` for no pacing. Default: an adaptive ``RateLimit()`` of the
            walk's own.
        **params: the request parameters, sent unchanged with every request. A token
            parameter among them (``ContinuationToken="..."``) is the starting token.

    Returns:
        A [`Walk`][pagewalk.Walk] over the pages: iterate it (once), and read
            ``walk.checkpoint`` and ``walk.stats`` at any time.

    Raises:
        TypeError: an unknown option (a keyword with an underscore), an option of the wrong
            type, botocore's ``PaginationConfig=``, or a coroutine method (walk it with
            [`apages`][pagewalk.apages]).
        ValueError: an option out of range, or a starting token given twice.
        SpecError: no token mapping for the operation, ``page_size`` for an operation without a
            limit parameter, or a checkpoint of another walk.
        botocore.exceptions.ParamValidationError: request parameters the operation does not
            take, or of the wrong type.

    Nothing is sent before these checks pass. Errors of requests surface while iterating:
    the service's and botocore's errors propagate unchanged once retries are exhausted.
    """
    plan = make_plan(
        method,
        "pages",
        params,
        page_size=page_size,
        max_pages=max_pages,
        max_items=max_items,
        resume_from=resume_from,
        retry_policy=retry_policy,
        token_spec=token_spec,
        on_page=on_page,
        prefetch_pages=prefetch_pages,
        rate_limit=rate_limit,
    )
    return _start(plan)


def items(
    method: Callable[..., Any],
    /,
    *,
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
    """Yield every item of the first result key (``Contents``, ``Items``, ...) of every page.

    The same walk as [`pages`][pagewalk.pages], item by item: ``max_items`` and the checkpoint
    count items, so a walk stopped in the middle of a page resumes at the next item.

    >>> for obj in pagewalk.items(s3.list_objects_v2, Bucket="demo"):  # doctest: +SKIP
    ...     print(obj["Key"])

    Args:
        method: a bound method of a boto3 or botocore client (``s3.list_objects_v2``); any
            other callable that returns a mapping works when ``token_spec`` is given.
        page_size: results to ask for per request (``>= 1``), sent as the operation's limit
            parameter (``MaxKeys``, ``Limit``, ``MaxResults``, ...), converted to its type.
        max_pages: stop after this many pages (``>= 1``). A resumed walk gets a fresh budget.
        max_items: stop after exactly this many items (``>= 0``), in the middle of a page if
            need be; no page past the limit is requested.
        resume_from: continue exactly where an earlier walk stopped: its
            [`Checkpoint`][pagewalk.Checkpoint], the checkpoint's JSON, or a starting token
            printed by botocore's paginator or the AWS CLI.
        retry_policy: how one page is retried, on top of botocore's own retries; ``None``
            turns pagewalk's retries off. Default: ``Retry()``.
        token_spec: the token mapping to use, over registered mappings, botocore's paginator
            model and inference (see [`spec_for`][pagewalk.spec_for]).
        on_page: called with each page's [`PageInfo`][pagewalk.PageInfo] just before the
            page is yielded, in the caller's thread.
        prefetch_pages: fetch up to this many pages ahead in a background thread while the
            caller works (``>= 0``; default ``0``, none).
        rate_limit: pace requests to stay under the service's rate limit: a
            [`RateLimit`][pagewalk.RateLimit] (shared as given), a number of requests per
            second, or ``None`` for no pacing. Default: an adaptive ``RateLimit()`` of the
            walk's own.
        result_key: the result list to yield and count, one of the token mapping's result
            keys (S3 ``CommonPrefixes`` with a ``Delimiter``). Default: the first.
        **params: the request parameters, sent unchanged with every request. A token
            parameter among them (``ContinuationToken="..."``) is the starting token.

    Returns:
        A [`Walk`][pagewalk.Walk] over the items: iterate it (once), and read
            ``walk.checkpoint`` and ``walk.stats`` at any time.

    Raises:
        TypeError: an unknown option (a keyword with an underscore), an option of the wrong
            type, botocore's ``PaginationConfig=``, or a coroutine method (walk it with
            [`aitems`][pagewalk.aitems]).
        ValueError: an option out of range, or a starting token given twice.
        SpecError: no token mapping for the operation, ``page_size`` for an operation without a
            limit parameter, a ``result_key`` that is not one of the mapping's,
            an operation without a result list, or a checkpoint of another walk.
        botocore.exceptions.ParamValidationError: request parameters the operation does not
            take, or of the wrong type.

    Nothing is sent before these checks pass. Errors of requests surface while iterating:
    the service's and botocore's errors propagate unchanged once retries are exhausted.
    """
    plan = make_plan(
        method,
        "items",
        params,
        page_size=page_size,
        max_pages=max_pages,
        max_items=max_items,
        resume_from=resume_from,
        retry_policy=retry_policy,
        token_spec=token_spec,
        on_page=on_page,
        prefetch_pages=prefetch_pages,
        rate_limit=rate_limit,
        result_key=result_key,
    )
    return _start(plan)

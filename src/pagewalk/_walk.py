"""The sync driver: ``pages()``, ``items()``, and prefetching in a background thread."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from . import _sleep
from ._checkpoint import Checkpoint
from ._cursor import Attempt, Cursor, Page, WalkStats
from ._errors import PagewalkError
from ._plan import DEFAULT_RETRY, Plan, make_plan
from ._retry import Retry
from ._spec import TokenSpec

__all__ = ["Walk", "fetch_pages", "items", "pages", "request_page"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


def request_page(
    method: Callable[..., Any],
    params: Mapping[str, Any],
    attempt: Attempt,
    sleep: Callable[[float], float] = _sleep.sleep,
) -> Any:
    """Send one page request, retrying it as ``attempt``'s policy says; return the response.

    The error of the last try propagates when the policy gives up, or at once when it is not
    retryable. Every driver (inline, prefetch, parallel workers) sends pages through here.
    """
    while True:
        attempt.begin()
        try:
            return method(**params)
        except Exception as exc:
            delay = attempt.on_error(exc)
            if delay is None:
                raise
            attempt.slept(delay, sleep(delay))


def fetch_pages(cursor: Cursor, sleep: Callable[[float], float] = _sleep.sleep) -> Iterator[Page]:
    """Request every page of ``cursor``'s walk, retrying each one as its policy says."""
    method = cursor.plan.method
    while (params := cursor.next_request()) is not None:
        attempt = cursor.attempt()
        response = request_page(method, params, attempt, sleep)
        yield cursor.receive(response, attempt)


class _WalkState(Protocol):
    @property
    def checkpoint(self) -> Checkpoint | None: ...

    @property
    def stats(self) -> WalkStats: ...


class Walk(Generic[T_co]):
    """An iterator over a walk's pages or items, with its ``checkpoint`` and ``stats``.

    Usable once. ``close()``, leaving a ``with`` block, or dropping the walk stops any background
    work (prefetch threads, parallel workers).
    """

    def __init__(
        self,
        iterator: Iterator[T_co],
        state: _WalkState,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._iterator = iterator
        self._state = state
        self._on_close = on_close

    def __iter__(self) -> Walk[T_co]:
        return self

    def __next__(self) -> T_co:
        return next(self._iterator)

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
        """Stop the walk and any background work; the checkpoint stays where it is."""
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
        try:
            self.close()
        except Exception:  # noqa: S110 - nothing useful can be done while being collected
            pass

    def __repr__(self) -> str:
        return f"<pagewalk.Walk {self.stats!r}>"


class Prefetcher:
    """Fetch up to ``depth`` pages ahead of the caller in a daemon thread.

    Pages come out in order; an error comes out exactly where its page would have. The thread
    only moves the cursor's frontier, so the checkpoint reflects delivered pages only.
    """

    def __init__(self, cursor: Cursor, depth: int) -> None:
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._slots = threading.Semaphore(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(cursor, self._queue, self._slots, self._stop),
            name=f"pagewalk-prefetch-{cursor.plan.operation.name}",
            daemon=True,
        )
        self._started = False

    @staticmethod
    def _run(
        cursor: Cursor,
        out: queue.SimpleQueue[tuple[str, Any]],
        slots: threading.Semaphore,
        stop: threading.Event,
    ) -> None:
        # A static method: the thread must not keep the Walk (and so itself) alive.
        def interruptible_sleep(delay: float) -> float:
            if _sleep.record_instant(delay):
                return 0.0
            started = time.monotonic()
            stop.wait(delay)
            return time.monotonic() - started

        pages = fetch_pages(cursor, interruptible_sleep)
        try:
            while True:
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    page = next(pages)
                except StopIteration:
                    out.put(("end", None))
                    return
                out.put(("page", page))
        except BaseException as exc:  # handed to the caller's thread, raised there
            out.put(("error", exc))
        finally:
            pages.close()

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
        """Tell the thread to stop; it ends after the request in flight, if any."""
        self._stop.set()


def run(cursor: Cursor) -> Iterator[Any]:
    """Drive ``cursor``: fetch (inline or ahead) and hand pages or items to the caller."""
    plan = cursor.plan
    source: Iterator[Page] | Prefetcher = (
        Prefetcher(cursor, plan.prefetch_pages) if plan.prefetch_pages else fetch_pages(cursor)
    )
    try:
        for page in source:
            yield from cursor.emit(page)
    except PagewalkError as exc:
        exc.checkpoint = cursor.checkpoint
        raise
    finally:
        cursor.stats.finish()
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
    retry_policy: Retry | None = DEFAULT_RETRY,
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    **params: Any,
) -> Walk[T]:
    """Yield every page (response dict) of ``method(**params)``, passing the token back.

    Everything that can be checked is checked now, before any request: bad options, an
    operation without a token mapping, ``page_size`` without a limit parameter, a checkpoint of
    another walk.

    >>> for page in pagewalk.pages(s3.list_objects_v2, Bucket="demo", page_size=100):  # doctest: +SKIP
    ...     print(page["KeyCount"])
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
    retry_policy: Retry | None = DEFAULT_RETRY,
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    **params: Any,
) -> Walk[Any]:
    """Yield every item of the first result key (``Contents``, ``Items``, ...) of every page.

    >>> for obj in pagewalk.items(s3.list_objects_v2, Bucket="demo"):  # doctest: +SKIP
    ...     print(obj["Key"])
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
    )
    return _start(plan)

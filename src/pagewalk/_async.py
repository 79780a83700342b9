"""The async driver: ``apages()``, ``aitems()``, and prefetching in an asyncio task.

A thin loop over the same ``Cursor``, ``make_plan()``
and retry decisions (``Attempt``) as the sync driver in ``_walk.py``:
only the waiting differs. Requests are awaited, backoff waits with ``asleep()``
(never blocking the event loop), and a cancelled walk leaves the cursor's delivered position,
and so its checkpoint, just past the last page or item the caller got.

Nothing here imports aiobotocore: it is only needed to make the clients.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

from . import _sleep
from ._checkpoint import Checkpoint
from ._cursor import Attempt, Cursor, Iteration, Page, WalkState, WalkStats, delivering
from ._pacing import PER_WALK, RateLimit
from ._plan import Plan, make_plan
from ._retry import Retry
from ._spec import TokenSpec

__all__ = ["AsyncWalk", "afetch_page", "afetch_pages", "aitems", "apages", "arequest_page"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


async def arequest_page(
    method: Callable[..., Any],
    params: Mapping[str, Any],
    attempt: Attempt,
    sleep: Callable[[float], Awaitable[float]] = _sleep.asleep,
) -> Any:
    """Send one page request, retrying it as ``attempt``'s policy says; return the response.

    The async twin of ``request_page()``. ``method`` may be a coroutine
    function (aiobotocore) or return an awaitable; a plain return value is used as it is.
    """
    while True:
        pause = attempt.begin()
        if pause:
            await _sleep.apacing(sleep, pause)
        try:
            response = method(**params)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            delay = attempt.on_error(exc)
            if delay is None:
                raise
            attempt.slept(delay, await sleep(delay))
        else:
            attempt.on_success()
            return response


async def afetch_page(cursor: Cursor) -> Page | None:
    """Request the next page of ``cursor``'s walk, retrying it; ``None`` when the walk is over."""
    params = cursor.next_request()
    if params is None:
        return None
    attempt = cursor.attempt()
    response = await arequest_page(cursor.plan.method, params, attempt)
    return cursor.receive(response, attempt)


async def afetch_pages(cursor: Cursor) -> AsyncGenerator[Page, None]:
    """Request every page of ``cursor``'s walk, retrying each one as its policy says."""
    while (page := await afetch_page(cursor)) is not None:
        yield page


async def _produce(
    cursor: Cursor, out: asyncio.Queue[tuple[str, Any]], slots: asyncio.Semaphore
) -> None:
    """The prefetch task: fetch a page whenever a slot is free, until the end or an error."""
    try:
        while True:
            await slots.acquire()
            page = await afetch_page(cursor)
            if page is None:
                out.put_nowait(("end", None))
                return
            out.put_nowait(("page", page))
    except Exception as exc:  # handed to the caller's task and raised there, in page order
        out.put_nowait(("error", exc))


async def prefetch(cursor: Cursor, depth: int) -> AsyncGenerator[Page, None]:
    """Yield ``cursor``'s pages while an asyncio task fetches up to ``depth`` pages ahead.

    Pages come out in order; an error comes out exactly where its page would have. The task
    only moves the cursor's frontier, so the checkpoint reflects delivered pages only. Closing
    (or cancelling) the consumer cancels the task, request in flight included, and waits for it.
    """
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    slots = asyncio.Semaphore(depth)
    task = asyncio.create_task(
        _produce(cursor, queue, slots), name=f"pagewalk-prefetch-{cursor.plan.operation.name}"
    )
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            slots.release()
            yield value
    finally:
        task.cancel()
        await asyncio.wait([task])


async def arun(cursor: Cursor) -> AsyncGenerator[Any, None]:
    """Drive ``cursor``: fetch (inline or ahead) and hand pages or items to the caller."""
    plan = cursor.plan
    source = prefetch(cursor, plan.prefetch_pages) if plan.prefetch_pages else afetch_pages(cursor)
    try:
        with delivering(cursor):
            async for page in source:
                for value in cursor.emit(page):
                    yield value
    finally:
        await source.aclose()


class AsyncWalk(Generic[T_co]):
    """An async iterator over a walk's pages or items, with its ``checkpoint`` and ``stats``.

    Usable once. ``aclose()`` or leaving an ``async with`` block stops it and any prefetch task.
    Cancelling the task that iterates it leaves ``checkpoint`` just past the last page or item
    it yielded, so resuming from it loses and repeats nothing.
    """

    def __init__(self, iterator: AsyncGenerator[T_co, None], state: WalkState) -> None:
        self._iterator = iterator
        self._state = state
        self._iteration = Iteration(state)

    def __aiter__(self) -> AsyncWalk[T_co]:
        return self

    async def __anext__(self) -> T_co:
        iteration = self._iteration
        try:
            iteration.take()
        except IndexError:
            iteration.busy()
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
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
        page or item yielded while it runs, ``None`` once it ran to the end. After an error or
        a cancellation it points at the page that was not delivered."""
        return self._state.checkpoint

    @property
    def stats(self) -> WalkStats:
        """Counters: pages, items, requests, retries, elapsed and slept seconds."""
        return self._state.stats

    async def aclose(self) -> None:
        """Stop the walk and any prefetch task; the checkpoint stays where it is.

        Iterating a walk closed before its end raises [`PagewalkError`][pagewalk.PagewalkError]
        (continue with ``resume_from=walk.checkpoint``); one that had ended stays exhausted.
        """
        self._iteration.closed()
        await self._iterator.aclose()

    async def __aenter__(self) -> AsyncWalk[T_co]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<pagewalk.AsyncWalk {self.stats!r}>"


def _check_async(plan: Plan) -> None:
    """Refuse, before any request, what cannot work in an async walk.

    A sync botocore client method would block the event loop; an async ``on_page`` would never
    be awaited (``on_page`` is called between pages, like in the sync walk).
    """
    if plan.on_page is not None and inspect.iscoroutinefunction(plan.on_page):
        raise TypeError(
            "on_page must be a plain callable, not an async function: pagewalk calls it between "
            "pages and does not await it. Do async work per page in the async for loop instead."
        )
    if plan.operation.service is None:
        return
    owner = getattr(plan.method, "__self__", None)
    make_api_call = getattr(owner, "_make_api_call", None)
    if make_api_call is not None and not inspect.iscoroutinefunction(make_api_call):
        raise TypeError(
            f"{plan.operation.name} belongs to a sync boto3/botocore client, which would block "
            "the event loop: walk it with pagewalk.pages()/items(), or make the client with "
            "aiobotocore (pip install 'pagewalk[async]')"
        )


def _start(plan: Plan) -> AsyncWalk[Any]:
    _check_async(plan)
    cursor = Cursor(plan)
    return AsyncWalk(arun(cursor), cursor)


def apages(
    method: Callable[..., Awaitable[T]],
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
) -> AsyncWalk[T]:
    """Yield every page (response dict) of ``await method(**params)``, passing the token back.

    The async twin of [`pages`][pagewalk.pages]: same options, same checks before any request,
    same checkpoints. ``on_page`` is a plain callable, run in the iterating task.

    >>> async for page in pagewalk.apages(s3.list_objects_v2, Bucket="demo"):  # doctest: +SKIP
    ...     print(page["KeyCount"])

    Args:
        method: a method of an aiobotocore client (``s3.list_objects_v2``); any other async
            callable that returns a mapping works when ``token_spec`` is given.
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
            page is yielded, in the iterating task.
        prefetch_pages: fetch up to this many pages ahead in an asyncio task while the caller
            works (``>= 0``; default ``0``, none).
        rate_limit: pace requests to stay under the service's rate limit: a
            [`RateLimit`][pagewalk.RateLimit] (shared as given), a number of requests per
            second, or ``None`` for no pacing. Default: an adaptive ``RateLimit()`` of the
            walk's own.
        **params: the request parameters, sent unchanged with every request. A token
            parameter among them (``ContinuationToken="..."``) is the starting token.

    Returns:
        An [`AsyncWalk`][pagewalk.AsyncWalk] over the pages: iterate it with ``async for``
            (once), and read ``walk.checkpoint`` and ``walk.stats`` at any time.

    Raises:
        TypeError: an unknown option (a keyword with an underscore), an option of the wrong
            type, botocore's ``PaginationConfig=``, or a method that is not a coroutine (walk
            it with [`pages`][pagewalk.pages]).
        ValueError: an option out of range, or a starting token given twice.
        SpecError: no token mapping for the operation, ``page_size`` for an operation without a
            limit parameter, or a checkpoint of another walk.
        botocore.exceptions.ParamValidationError: request parameters the operation does not
            take, or of the wrong type.

    Nothing is sent before these checks pass. Errors of requests surface in ``async for``:
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
        asynchronous=True,
    )
    return _start(plan)


def aitems(
    method: Callable[..., Awaitable[Any]],
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
) -> AsyncWalk[Any]:
    """Yield every item of the first result key (``Contents``, ``Items``, ...) of every page.

    The async twin of [`items`][pagewalk.items]: same options, same checks before any request,
    same checkpoints.

    >>> async for obj in pagewalk.aitems(s3.list_objects_v2, Bucket="demo"):  # doctest: +SKIP
    ...     print(obj["Key"])

    Args:
        method: a method of an aiobotocore client (``s3.list_objects_v2``); any other async
            callable that returns a mapping works when ``token_spec`` is given.
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
            page is yielded, in the iterating task.
        prefetch_pages: fetch up to this many pages ahead in an asyncio task while the caller
            works (``>= 0``; default ``0``, none).
        rate_limit: pace requests to stay under the service's rate limit: a
            [`RateLimit`][pagewalk.RateLimit] (shared as given), a number of requests per
            second, or ``None`` for no pacing. Default: an adaptive ``RateLimit()`` of the
            walk's own.
        result_key: the result list to yield and count, one of the token mapping's result
            keys (S3 ``CommonPrefixes`` with a ``Delimiter``). Default: the first.
        **params: the request parameters, sent unchanged with every request. A token
            parameter among them (``ContinuationToken="..."``) is the starting token.

    Returns:
        An [`AsyncWalk`][pagewalk.AsyncWalk] over the items: iterate it with ``async for``
            (once), and read ``walk.checkpoint`` and ``walk.stats`` at any time.

    Raises:
        TypeError: an unknown option (a keyword with an underscore), an option of the wrong
            type, botocore's ``PaginationConfig=``, or a method that is not a coroutine (walk
            it with [`items`][pagewalk.items]).
        ValueError: an option out of range, or a starting token given twice.
        SpecError: no token mapping for the operation, ``page_size`` for an operation without a
            limit parameter, a ``result_key`` that is not one of the mapping's,
            an operation without a result list, or a checkpoint of another walk.
        botocore.exceptions.ParamValidationError: request parameters the operation does not
            take, or of the wrong type.

    Nothing is sent before these checks pass. Errors of requests surface in ``async for``:
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
        asynchronous=True,
    )
    return _start(plan)

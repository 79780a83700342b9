"""One test body, two drivers: the same walk through ``pages()``/``items()`` or ``apages()``/``aitems()``.

A test names what to walk (a :class:`Call` of a client method by service and name, or a plain
:class:`Function` with ``token_spec=``) and gets a :class:`Run` back: the results, the walk object
(for ``checkpoint`` and ``stats``), the error it expected, and what its client hook gave. The sync
driver makes boto3 clients, the async driver aiobotocore clients (inside ``asyncio.run``) and an
async wrapper of a :class:`Function`; both talk to the same moto server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from botocore.exceptions import ConnectionClosedError

import pagewalk

from .conftest import REGION, MotoServer

Kind = Literal["pages", "items"]


@dataclass(frozen=True)
class Call:
    """A client method to walk: ``Call("s3", "list_objects_v2")``."""

    service: str
    method: str


@dataclass(frozen=True)
class Function:
    """A plain function to walk with ``token_spec=``; the async driver walks an async wrapper."""

    function: Callable[..., Mapping[str, Any]]


Target = Call | Function
ClientHook = Callable[[Any], AbstractContextManager[Any]]
"""Given the walk's client, a context manager entered around the walk (``inject_faults``, ...)."""


@dataclass
class Run:
    """What a driver's walk produced."""

    results: list[Any]
    walk: Any
    """The ``Walk`` or ``AsyncWalk``; ``None`` when it could not be created."""
    error: BaseException | None
    hooked: Any
    """What the client hook's context manager gave, e.g. the list of injected faults."""


class Driver(ABC):
    """Runs a walk to its end (or to ``stop_after`` results) and reports what came out."""

    name: str

    def pages(
        self,
        target: Target,
        /,
        *,
        with_client: ClientHook | None = None,
        stop_after: int | None = None,
        raises: type[BaseException] | None = None,
        **options: Any,
    ) -> Run:
        """Walk pages; ``raises=`` expects that error (from creation or iteration), else fails."""
        return self._checked("pages", target, with_client, stop_after, raises, options)

    def items(
        self,
        target: Target,
        /,
        *,
        with_client: ClientHook | None = None,
        stop_after: int | None = None,
        raises: type[BaseException] | None = None,
        **options: Any,
    ) -> Run:
        """Walk items; ``raises=`` expects that error (from creation or iteration), else fails."""
        return self._checked("items", target, with_client, stop_after, raises, options)

    def _checked(
        self,
        kind: Kind,
        target: Target,
        with_client: ClientHook | None,
        stop_after: int | None,
        raises: type[BaseException] | None,
        options: dict[str, Any],
    ) -> Run:
        run = self._run(kind, target, with_client, stop_after, raises, options)
        if raises is not None and run.error is None:
            pytest.fail(f"{self.name} {kind}() did not raise {raises.__name__}")
        return run

    @abstractmethod
    def _run(
        self,
        kind: Kind,
        target: Target,
        with_client: ClientHook | None,
        stop_after: int | None,
        raises: type[BaseException] | None,
        options: dict[str, Any],
    ) -> Run: ...


def _expected(exc: BaseException, raises: type[BaseException] | None) -> bool:
    return raises is not None and isinstance(exc, raises)


class SyncDriver(Driver):
    """``pagewalk.pages()``/``items()`` over clients from a sync factory (``moto.client``)."""

    name = "sync"

    def __init__(self, client_factory: Callable[[str], Any]) -> None:
        self._client_factory = client_factory

    def _run(
        self,
        kind: Kind,
        target: Target,
        with_client: ClientHook | None,
        stop_after: int | None,
        raises: type[BaseException] | None,
        options: dict[str, Any],
    ) -> Run:
        if isinstance(target, Call):
            client = self._client_factory(target.service)
            method = getattr(client, target.method)
        else:
            client, method = None, target.function
        start = pagewalk.pages if kind == "pages" else pagewalk.items
        results: list[Any] = []
        walk = None
        error = None
        with with_client(client) if with_client else contextlib.nullcontext() as hooked:
            try:
                walk = start(method, **options)
                with walk:
                    for value in walk:
                        results.append(value)
                        if stop_after is not None and len(results) >= stop_after:
                            break
            except Exception as exc:
                if not _expected(exc, raises):
                    raise
                error = exc
        return Run(results, walk, error, hooked)


class AsyncDriver(Driver):
    """``pagewalk.apages()``/``aitems()`` over clients from an async factory (aiobotocore).

    Each walk runs in its own ``asyncio.run``, with a client made inside that loop.
    """

    name = "async"

    def __init__(self, client_factory: Callable[[str], AbstractAsyncContextManager[Any]]) -> None:
        self._client_factory = client_factory

    def _run(
        self,
        kind: Kind,
        target: Target,
        with_client: ClientHook | None,
        stop_after: int | None,
        raises: type[BaseException] | None,
        options: dict[str, Any],
    ) -> Run:
        return asyncio.run(self._arun(kind, target, with_client, stop_after, raises, options))

    async def _arun(
        self,
        kind: Kind,
        target: Target,
        with_client: ClientHook | None,
        stop_after: int | None,
        raises: type[BaseException] | None,
        options: dict[str, Any],
    ) -> Run:
        start = pagewalk.apages if kind == "pages" else pagewalk.aitems
        results: list[Any] = []
        walk = None
        error = None
        async with contextlib.AsyncExitStack() as stack:
            if isinstance(target, Call):
                client = await stack.enter_async_context(self._client_factory(target.service))
                method = getattr(client, target.method)
            else:
                client, method = None, as_async(target.function)
            hooked = stack.enter_context(with_client(client)) if with_client else None
            try:
                walk = start(method, **options)
                async with walk:
                    async for value in walk:
                        results.append(value)
                        if stop_after is not None and len(results) >= stop_after:
                            break
            except Exception as exc:
                if not _expected(exc, raises):
                    raise
                error = exc
        return Run(results, walk, error, hooked)


def as_async(function: Callable[..., Mapping[str, Any]]) -> Callable[..., Any]:
    """An async function returning what ``function`` returns, after yielding to the loop once.

    It keeps ``function``'s name, so checkpoints of both drivers name the same operation.
    """

    @functools.wraps(function)
    async def call(**params: Any) -> Mapping[str, Any]:
        await asyncio.sleep(0)
        return function(**params)

    return call


def aio_client_factory(url: str) -> Callable[[str], AbstractAsyncContextManager[Any]]:
    """Factory of aiobotocore clients for the moto server at ``url``, botocore retries off."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    session = get_session()
    config = AioConfig(retries={"total_max_attempts": 1})

    def create(service: str) -> AbstractAsyncContextManager[Any]:
        return session.create_client(  # type: ignore[no-any-return]
            service,
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )

    return create


def make_driver(name: str, moto: MotoServer) -> Driver:
    """The ``"sync"`` or ``"async"`` driver for ``moto``; skips ``"async"`` without aiobotocore."""
    if name == "sync":
        return SyncDriver(moto.client)
    pytest.importorskip("aiobotocore")
    return AsyncDriver(aio_client_factory(moto.url))


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest, moto: MotoServer) -> Driver:
    """Each test using it runs twice: through the sync and through the async driver."""
    return make_driver(request.param, moto)


@contextlib.contextmanager
def fail_requests(client: Any, *numbers: int) -> Iterator[list[int]]:
    """Make the client's requests number ``numbers`` (1-based) fail with a connection reset.

    A ``before-send`` handler raises ``ConnectionClosedError`` before those requests are sent;
    it works the same for boto3 and aiobotocore clients. Yields the numbers that failed so far.
    """
    failed: list[int] = []
    count = 0

    def handler(request: Any, **kwargs: Any) -> None:
        nonlocal count
        count += 1
        if count in numbers:
            failed.append(count)
            raise ConnectionClosedError(endpoint_url=request.url)

    client.meta.events.register("before-send", handler)
    try:
        yield failed
    finally:
        client.meta.events.unregister("before-send", handler)


@contextlib.contextmanager
def count_requests(client: Any) -> Iterator[list[str]]:
    """Record the URL of every request the client sends (boto3 or aiobotocore)."""
    sent: list[str] = []

    def handler(request: Any, **kwargs: Any) -> None:
        sent.append(request.url)

    client.meta.events.register("before-send", handler)
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-send", handler)


async def collect(walk: AsyncIterator[Any]) -> list[Any]:
    """Everything an async walk yields, in order."""
    return [value async for value in walk]

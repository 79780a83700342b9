"""The walking state machine: no I/O, one instance per walk (or per segment of a parallel scan).

A driver asks ``Cursor.next_request()`` for the parameters of the next page, sends them (with
retries, see ``Attempt``), hands the response to ``Cursor.receive()``, and gives the
caller what ``Cursor.emit()`` yields. Token handling, end detection, the loop guard, limits and
checkpoints live here and nowhere else.

The cursor keeps two positions apart: the *frontier* (what to request next; advanced by
``receive``) and the *delivered* position (what the caller has got; advanced by ``emit``). A
driver that fetches ahead (prefetch, parallel) therefore never moves the checkpoint past what the
caller has seen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import re
import sys
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Protocol

from . import _sleep
from ._checkpoint import Checkpoint, canonical_json
from ._errors import PagewalkError, SpecError, TokenLoopError
from ._plan import Plan, Position
from ._retry import PageAttempts, error_code, is_throttling, is_token_error

if TYPE_CHECKING:
    from ._keyranges import KeyRange  # only parallel listings load it

__all__ = [
    "Attempt",
    "Budget",
    "Cursor",
    "Iteration",
    "LoopGuard",
    "Page",
    "PageInfo",
    "WalkState",
    "WalkStats",
    "delivering",
]

logger = logging.getLogger("pagewalk")


class WalkStats:
    """Counters of one walk.

    Attributes:
        pages: pages received from the service.
        items: items (of the result key ``items()`` yields) handed to the caller.
        requests: calls pagewalk made to the method, its own retries included.
        retries: pagewalk's own retries (botocore's retries inside one call are not counted).
        slept: seconds spent in pagewalk's backoff.
        throttled: responses that were throttling errors (HTTP 429, ``Throttling``, ``SlowDown``,
            ...), whether retried or not.
        paced: seconds spent waiting for the rate limiter.
    """

    __slots__ = (
        "_finished",
        "_started",
        "items",
        "paced",
        "pages",
        "requests",
        "retries",
        "slept",
        "throttled",
    )

    def __init__(self) -> None:
        self.pages = 0
        self.items = 0
        self.requests = 0
        self.retries = 0
        self.slept = 0.0
        self.throttled = 0
        self.paced = 0.0
        self._started: float | None = None
        self._finished: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds from the first request to the end of the walk (or to now while it runs)."""
        if self._started is None:
            return 0.0
        end = self._finished if self._finished is not None else time.monotonic()
        return end - self._started

    def start(self) -> None:
        """Note the start of the walk (the first request)."""
        if self._started is None:
            self._started = time.monotonic()

    def finish(self) -> None:
        """Note the end of the walk."""
        if self._finished is None and self._started is not None:
            self._finished = time.monotonic()

    def total(self, parts: Iterable[WalkStats]) -> WalkStats:
        """Set every counter to the sum of ``parts``' (a parallel scan's segments); the clock
        stays this object's own."""
        parts = list(parts)
        for name in _COUNTERS:
            setattr(self, name, sum(getattr(part, name) for part in parts))
        return self

    def add_requests(self, parts: Iterable[WalkStats]) -> WalkStats:
        """Add the request counters of ``parts`` that deliver no pages (a listing's probes)."""
        for part in parts:
            for name in _REQUEST_COUNTERS:
                setattr(self, name, getattr(self, name) + getattr(part, name))
        return self

    def __repr__(self) -> str:
        return (
            f"WalkStats(pages={self.pages}, items={self.items}, requests={self.requests}, "
            f"retries={self.retries}, throttled={self.throttled}, elapsed={self.elapsed:.3f}, "
            f"slept={self.slept:.3f}, paced={self.paced:.3f})"
        )


_REQUEST_COUNTERS = ("paced", "requests", "retries", "slept", "throttled")
"""The counters of ``WalkStats`` that every request adds to, whether it delivers a page or not."""
_COUNTERS = ("items", "pages", *_REQUEST_COUNTERS)
"""Every counter of ``WalkStats``: what adds up across the segments of a parallel scan."""


@dataclass(frozen=True)
class PageInfo:
    """What ``on_page`` learns about a page, just before it is yielded.

    Attributes:
        number: the page's number in the whole walk (1-based; a resumed walk continues counting).
        items: result items in this page (as yielded, after any ``max_items`` truncation).
        attempts: tries this page took (1 when no retry was needed).
        latency: seconds from the first try to the response, backoff included.
        segment: the segment of a parallel scan, else ``None``.
        operation: the walked operation, ``"s3.ListObjectsV2"``.
        last: whether this is the last page of the walk.
    """

    number: int
    items: int
    attempts: int
    latency: float
    segment: int | None = None
    operation: str = ""
    last: bool = False


class Page(NamedTuple):
    """A received page, ready to be handed to the caller (a named tuple: cheaper to define at
    import than a dataclass)."""

    response: Mapping[str, Any]
    items: list[Any]
    start: Position
    after: Position | None
    info: PageInfo


class Attempt:
    """Retry bookkeeping of one page request, wired to the walk's stats and log."""

    __slots__ = ("_botocore_retries", "_cursor", "_sent", "_tries", "first_try", "tokens")

    def __init__(self, cursor: Cursor, tokens: Mapping[str, Any]) -> None:
        self._cursor = cursor
        self._tries = PageAttempts(cursor.plan.retry_policy)
        self.tokens = tokens
        self.first_try = time.monotonic()
        self._sent = 0.0
        self._botocore_retries = 0

    @property
    def attempts(self) -> int:
        """Tries made so far."""
        return self._tries.attempts

    def begin(self) -> float:
        """Count one call to the method; return the seconds to wait for the rate limiter first.

        The driver waits that long (through ``_sleep.pacing``), then sends, then reports the
        answer with ``on_success()`` or ``on_error()``.
        """
        self._tries.attempts += 1
        cursor = self._cursor
        cursor.stats.requests += 1
        limiter = cursor.plan.rate_limit
        if limiter is None:
            return 0.0
        now = _sleep.clock()
        wait = limiter._acquire(now)
        self._sent = now + wait
        if wait > 0.0:
            cursor.stats.paced += wait
            # DEBUG, not INFO like retries: with a low quota every request waits.
            logger.debug(
                "%s: page %d try %d waits %.2fs for the rate limit (%.2f requests/s)",
                cursor.plan.operation.name,
                cursor.next_page_number,
                self._tries.attempts,
                wait,
                limiter.rate or 0.0,
                extra={"pagewalk_pacing": (wait, limiter.rate)},
            )
        return wait

    def on_success(self) -> None:
        """Report that the request was answered with a response."""
        limiter = self._cursor.plan.rate_limit
        if limiter is not None:
            limiter._answered(self._sent, _sleep.clock(), accepted=True, throttled=False)

    def on_error(self, exc: Exception) -> float | None:
        """Seconds to wait before the next try, or ``None`` when ``exc`` must propagate.

        When it must propagate, the error has been annotated (expired token) as needed.
        """
        cursor = self._cursor
        throttled = is_throttling(exc)
        if throttled:
            cursor.stats.throttled += 1
        limiter = cursor.plan.rate_limit
        if limiter is not None:
            limiter._answered(self._sent, _sleep.clock(), accepted=False, throttled=throttled)
        self._botocore_retries += _botocore_retries(exc)
        delay = self._tries.on_error(exc)
        if delay is None:
            cursor.annotate(exc, self.tokens)
            self._explain_tries(exc)
            return None
        cursor.stats.retries += 1
        cursor.stats.slept += delay
        logger.info(
            "%s: page %d try %d failed with %s; retrying in %.2fs (token %s)",
            cursor.plan.operation.name,
            cursor.next_page_number,
            self._tries.attempts,
            _describe_error(exc),
            delay,
            "<redacted>" if self.tokens else "<first page>",
            # For a handler that shows retries its own way (the command line's progress line).
            extra={"pagewalk_retry": (_describe_error(exc), delay)},
        )
        return delay

    def _explain_tries(self, exc: Exception) -> None:
        """Say how the two retry layers stacked up for a page that failed after retries: each of
        pagewalk's tries is a call in which botocore may retry on its own."""
        tries, extra = self.attempts, self._botocore_retries
        if (tries < 2 and not extra) or sys.version_info < (3, 11):
            return
        exc.add_note(
            f"pagewalk: page {self._cursor.next_page_number} failed after {tries} "
            f"{'try' if tries == 1 else 'tries'} by pagewalk and {extra} more by botocore "
            f"inside them: {tries + extra} requests. pagewalk's tries are set by "
            "retry_policy=Retry(attempts=...), botocore's by Config(retries=...) or "
            "AWS_MAX_ATTEMPTS."
        )

    def slept(self, requested: float, actual: float) -> None:
        """Report a backoff sleep."""
        self._tries.slept(requested, actual)


def _botocore_retries(exc: BaseException) -> int:
    """How many times botocore retried inside the call that raised ``exc`` (0 when unknown)."""
    response = getattr(exc, "response", None)
    metadata = response.get("ResponseMetadata") if isinstance(response, Mapping) else None
    count = metadata.get("RetryAttempts") if isinstance(metadata, Mapping) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0


def _describe_error(exc: BaseException) -> str:
    # Not every error's ``response`` is a dict: botocore's ReadTimeoutError carries None.
    code = error_code(exc)
    return f"{type(exc).__name__}({code})" if code else type(exc).__name__


_LOW_64 = (1 << 64) - 1


class LoopGuard:
    """The tokens a walk has sent, to recognise one that comes back, in memory that does not
    grow with the tokens' length.

    Each token is kept as a 128-bit digest (SHA-256, truncated) of a canonical text: about 100
    bytes per page whatever the token's length (a set entry, and two array slots recording where
    it was sent). Digests cannot cause a false ``TokenLoopError`` in practice: a walk of ``n``
    pages has under ``n**2 / 2`` pairs of tokens, each pair sharing a digest with probability
    ``2**-128``, so the chance of any collision is below ``n**2 / 2**129``: about ``1e-25`` for
    ten million pages, far below the odds of a hardware fault corrupting an exact comparison.
    """

    __slots__ = ("_before", "_digests", "_order")

    def __init__(self) -> None:
        self._digests: set[int] = set()
        # In the order sent: each digest's low 64 bits, and the items delivered before its page.
        self._order = array("Q")
        self._before = array("q")

    @staticmethod
    def _digest(tokens: Mapping[str, Any]) -> int:
        if all(isinstance(value, str) for value in tokens.values()):
            # Length-prefixed, so that no two token sets make the same text; cheaper than JSON.
            text = "s" + "".join(
                f"{len(name)}:{name}{len(value)}:{value}" for name, value in sorted(tokens.items())
            )
        else:
            text = "j" + canonical_json(tokens)
        # SHA-256 is hardware-accelerated on common CPUs; its first 128 bits are the digest.
        data = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(data[:16], "big")

    def add(self, tokens: Mapping[str, Any], before: int) -> None:
        """Note that ``tokens`` are sent, for a page after ``before`` delivered items."""
        digest = self._digest(tokens)
        self._digests.add(digest)
        self._order.append(digest & _LOW_64)
        self._before.append(before)

    def sent_before(self, tokens: Mapping[str, Any]) -> int | None:
        """How many items had been delivered when ``tokens`` were first sent; ``None`` if never."""
        digest = self._digest(tokens)
        if digest not in self._digests:
            return None
        # Only on a loop, which ends the walk: a linear search (in C) is fine here.
        return self._before[self._order.index(digest & _LOW_64)]


_PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _check_cuttable(plan: Plan, result: str | None, others: list[str]) -> None:
    """Refuse, before any request, a ``pages()`` walk that may have to cut a result list that is
    not at a plain key or dotted path (``"Rows || Items"``, ``"Reservations[].Instances[]"``):
    there is no one place in the page to put the cut list back.

    ``max_items`` may cut the yielded list; resuming inside a page cuts it and empties the
    others (see ``Cursor._without_other_results()``).
    """
    skip = plan.start.skip > 0
    cut = [result] if result is not None and (plan.max_items is not None or skip) else []
    if skip:
        cut += others
    expressions = [path for path in cut if not _PLAIN_PATH.fullmatch(path)]
    if not expressions:
        return
    name = plan.operation.name
    why = "resuming inside a page" if skip else "max_items"
    raise SpecError(
        f"{name}: pages() with {why} cuts the page's result list, which needs a plain key or "
        f"dotted path, and {expressions[0]!r} is an expression; use items() (which counts the "
        "same items and is exact with any expression), or a token_spec whose result_key names "
        "the list itself",
        operation=name,
    )


def _replace_result(
    response: Mapping[str, Any], expression: str, value: list[Any]
) -> dict[str, Any]:
    """A copy of ``response`` with ``expression`` (a dotted path) set to ``value``.

    Dicts along the path are copied, so the response the method returned is left as it was.
    """
    copy = dict(response)
    node = copy
    parts = expression.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, Mapping):
            # Rare, and botocore.utils is slow to import: imported here, not with pagewalk.
            from botocore.utils import set_value_from_jmespath

            set_value_from_jmespath(copy, expression, value)
            return copy
        node[part] = dict(child)
        node = node[part]
    node[parts[-1]] = value
    return copy


class Budget:
    """How many pages and items a walk may still take (``None``: no limit).

    Each walk has its own; the segment cursors of a parallel scan share one, so ``max_pages`` and
    ``max_items`` count across segments. Only the thread that calls ``Cursor.receive()`` may
    use it.
    """

    __slots__ = ("items", "pages")

    def __init__(self, pages: int | None, items: int | None) -> None:
        self.pages = pages
        self.items = items

    @property
    def exhausted(self) -> bool:
        """Whether no further page may be taken."""
        return self.pages == 0 or self.items == 0

    def take(self, items: int) -> None:
        """Count one received page holding ``items`` items."""
        if self.pages is not None:
            self.pages -= 1
        if self.items is not None:
            self.items -= items


class Cursor:
    """The state machine of one walk. Not thread-safe by itself: a fetching thread may own the
    frontier (``next_request()``, ``receive()``) while the caller's thread owns delivery
    (``emit()``, ``checkpoint``)."""

    def __init__(
        self, plan: Plan, budget: Budget | None = None, key_range: KeyRange | None = None
    ) -> None:
        self.plan = plan
        # One range of an ordered key space: every page passes through its receive(), which
        # trims the page that crosses the range's end and ends the walk there.
        self.key_range = key_range
        self.stats = WalkStats()
        self.budget = budget if budget is not None else Budget(plan.max_pages, plan.max_items)
        spec = plan.spec
        compiled_outputs, compiled_results, compiled_more = spec._compiled
        self._outputs = tuple(zip(spec.input_tokens, compiled_outputs, strict=True))
        # The list yielded and counted: the first result key, or the one result_key= chose.
        index = spec.result_keys.index(plan.result_key) if plan.result_key is not None else 0
        self._result = compiled_results[index] if compiled_results else None
        self._result_path = spec.result_keys[index] if spec.result_keys else None
        self._more = compiled_more
        self._others = tuple(
            (path, compiled)
            for path, compiled in zip(spec.result_keys, compiled_results, strict=True)
            if path != self._result_path
        )
        if plan.mode == "pages":
            _check_cuttable(plan, self._result_path, [path for path, _ in self._others])
        # Frontier, advanced by receive().
        self._send: Position | None = plan.start
        self._guard = LoopGuard()
        start = plan.start
        if start.tokens:
            self._guard.add(start.tokens, start.items - start.skip)
        self._failure: PagewalkError | None = None
        self._loop: tuple[dict[str, Any], int] | None = None
        if self.budget.exhausted:
            self._send = None
        # Delivered position, advanced by emit().
        self._delivered: Position | None = plan.start
        self._current: Page | None = None
        self._progress = 0
        self._end_counts = (plan.start.pages, plan.start.items)

    # -- frontier ---------------------------------------------------------------------------

    @property
    def next_page_number(self) -> int:
        """The number the next page received will carry."""
        send = self._send
        return (send.pages if send is not None else 0) + 1

    def next_request(self) -> dict[str, Any] | None:
        """The parameters of the next page request, or ``None`` when the walk is over.

        Raises:
            PagewalkError: the previous page ended the walk abnormally (a token loop, or more
                results announced without a token); the pages before it were delivered.
        """
        if self._failure is not None:
            failure, self._failure = self._failure, None
            failure.checkpoint = self.checkpoint
            raise failure
        send = self._send
        if send is None:
            return None
        params = dict(self.plan.params)
        params.update(send.tokens)
        if self.plan.limit is not None:
            params[self.plan.limit[0]] = self.plan.limit[1]
        return params

    def attempt(self) -> Attempt:
        """Start the retry bookkeeping of the next page request."""
        self.stats.start()
        send = self._send
        return Attempt(self, send.tokens if send is not None else {})

    def receive(self, response: Any, attempt: Attempt) -> Page:
        """Take the response to the request ``next_request()`` described; return the page.

        Works out the items the caller gets from it (skipping what a checkpoint says was
        already yielded, truncating at ``max_items``) and the next request.
        """
        plan = self.plan
        send = self._send
        if send is None:
            raise RuntimeError("receive() called after the walk ended")
        if not isinstance(response, Mapping):
            raise PagewalkError(
                f"{plan.operation.name} returned {type(response).__name__}, not a mapping",
                operation=plan.operation.name,
                checkpoint=self.checkpoint,
            )
        ended = False
        if self.key_range is not None:
            response, ended = self.key_range.receive(response)
        page = response
        items: list[Any] = []
        carry = 0
        if self._result is not None:
            found = self._result.search(response)
            if found is None:
                found = []
            elif not isinstance(found, list):
                raise PagewalkError(
                    f"{plan.operation.name}: result_key {self._result_path!r} is a "
                    f"{type(found).__name__}, not a list",
                    operation=plan.operation.name,
                    checkpoint=self.checkpoint,
                )
            items = found
            sliced = False
            if send.skip:
                # Items run in one order from a token whatever the page size, so a skip larger
                # than this page (a resume with a smaller page_size) carries over to the next.
                carry = max(0, send.skip - len(found))
                items = items[send.skip :]
                sliced = True
            truncated = False
            left = self.budget.items
            if left is not None and len(items) > left:
                items = items[:left]
                sliced = truncated = True
            if plan.mode == "pages":
                # Only pages() hands out the page; items() yields ``items`` themselves.
                if sliced and self._result_path is not None:
                    page = _replace_result(response, self._result_path, items)
                if send.skip:
                    page = self._without_other_results(page)
        else:
            truncated = False
        count = len(items)
        self.budget.take(count)
        self.stats.pages += 1
        partial = Position(send.tokens, send.skip + count, send.pages, send.items + count)
        after: Position | None
        if truncated:
            after = partial
            self._send = None
        else:
            next_tokens = None if ended else self._next_tokens(response, send)
            if next_tokens is None:
                after = None if self._failure is None else partial
                if self._loop is not None:
                    # Resume at the repeated token with every item delivered since it was first
                    # sent to skip: a resumed walk walks the loop again delivering nothing (skip
                    # carries over pages), then meets the token again and raises at once.
                    tokens, before = self._loop
                    delivered = send.items + count
                    after = Position(tokens, delivered - before, send.pages + 1, delivered)
                self._send = None
            else:
                after = Position(next_tokens, carry, send.pages + 1, send.items + count)
                self._guard.add(next_tokens, after.items - after.skip)
                self._send = None if self.budget.exhausted else after
        info = PageInfo(
            number=send.pages + 1,
            items=count,
            attempts=attempt.attempts,
            latency=time.monotonic() - attempt.first_try,
            segment=plan.segment,
            operation=plan.operation.name,
            last=self._send is None and self._failure is None,
        )
        return Page(page, items, send, after, info)

    def _without_other_results(self, page: Mapping[str, Any]) -> Mapping[str, Any]:
        """``page`` resumed inside it, without its other result lists, as botocore does: the
        walk that stopped there delivered them whole (only the first list is cut at
        ``max_items``, and only it is counted by ``skip`` and ``boto_truncate_amount``)."""
        for path, compiled in self._others:
            sample = compiled.search(page)
            if isinstance(sample, list) and sample:
                page = _replace_result(page, path, [])
        return page

    def _next_tokens(self, response: Mapping[str, Any], sent: Position) -> dict[str, Any] | None:
        """The tokens of the next request, or ``None`` at the end (or on a deferred failure)."""
        name = self.plan.operation.name
        more = self._more.search(response) if self._more is not None else None
        if self._more is not None and not more:
            return None
        tokens: dict[str, Any] = {}
        for input_name, expression in self._outputs:
            value = expression.search(response)
            # An empty string means "no more pages", as in botocore.
            if value is not None and value != "":
                tokens[input_name] = value
        if not tokens:
            if more:
                self._failure = PagewalkError(
                    f"{name}: page {sent.pages + 1} says more results exist "
                    f"({self.plan.spec.more_results} is {more!r}) but carries no "
                    f"{' / '.join(self.plan.spec.output_tokens)} token; stopping here rather "
                    "than silently losing the rest. The token mapping may be wrong: see "
                    "pagewalk.spec_for() and token_spec=.",
                    operation=name,
                )
            return None
        if self.plan.spec.stop_on_same_token and tokens == dict(sent.tokens):
            return None
        before = self._guard.sent_before(tokens)
        if before is not None:
            self._loop = (tokens, before)
            self._failure = TokenLoopError(
                f"{name}: page {sent.pages + 1} returned a continuation token this walk has "
                "already sent; following it would repeat pages forever. If the service "
                "signals its end by echoing the token, use TokenSpec(..., stop_on_same_token=True).",
                operation=name,
            )
            return None
        return tokens

    # -- delivery ---------------------------------------------------------------------------

    def emit(self, page: Page) -> Iterator[Any]:
        """What the caller gets from ``page``: the page itself, or its items one by one.

        Calls ``on_page`` first. The checkpoint moves past each page or item as it is yielded.
        """
        on_page = self.plan.on_page
        if on_page is not None:
            on_page(page.info)
        if page.after is None:
            self._end_counts = (page.start.pages + 1, page.start.items + len(page.items))
        if self.plan.mode == "pages":
            self._delivered = page.after
            self.stats.items += len(page.items)
            yield page.response
            return
        self._current = page
        stats = self.stats
        for progress, item in enumerate(page.items, 1):
            self._progress = progress
            stats.items += 1
            yield item
        self._delivered = page.after
        self._current = None
        self._progress = 0

    @property
    def position(self) -> Position | None:
        """The delivered position; ``None`` once the walk has delivered everything."""
        page = self._current
        if page is not None:
            progress = self._progress
            if progress < len(page.items):
                start = page.start
                return Position(
                    start.tokens, start.skip + progress, start.pages, start.items + progress
                )
            return page.after
        return self._delivered

    @property
    def counts(self) -> tuple[int, int]:
        """The running ``(pages, items)`` delivered, as a checkpoint counts them, also once the
        walk has delivered everything (when there is no checkpoint any more)."""
        position = self.position
        return self._end_counts if position is None else (position.pages, position.items)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """Where the walk would continue; ``None`` after it ran to the end."""
        position = self.position
        if position is None:
            return None
        checkpoint = self.plan.checkpoint(position)
        if self.key_range is not None:
            checkpoint = dataclasses.replace(checkpoint, key_range=self.key_range.bounds)
        return checkpoint

    @property
    def finished(self) -> bool:
        """Whether nothing is left to request."""
        return self._send is None and self._failure is None

    def annotate(self, exc: BaseException, tokens: Mapping[str, Any]) -> None:
        """Add context to an error that ends the walk (PEP 678 notes on Python >= 3.11)."""
        if isinstance(exc, PagewalkError) and exc.checkpoint is None:
            exc.checkpoint = self.checkpoint
        if tokens and is_token_error(exc) and sys.version_info >= (3, 11):
            exc.add_note(
                f"pagewalk: {self.plan.operation.name} rejected the continuation token of page "
                f"{self.next_page_number} (expired or invalid). Retrying cannot help: restart the "
                "walk from the beginning, or resume from an earlier checkpoint whose token is "
                "still valid."
            )


class WalkState(Protocol):
    """What a walk object exposes: a cursor, or a parallel scan's many cursors."""

    @property
    def checkpoint(self) -> Checkpoint | None: ...

    @property
    def stats(self) -> WalkStats: ...


class Iteration:
    """How a walk object (sync or async) is iterated: by one caller at a time, and never into a
    silent end after an error or a ``close()``.

    Around advancing its iterator, the walk object takes its turn with ``take()`` (and calls
    ``busy()`` when that raises ``IndexError``) and gives it back with ``give(None)``; it calls
    ``failed()`` when advancing raised, and ``ended()`` when the iterator said it is
    exhausted: an exhausted generator cannot tell a complete walk from one that stopped on an
    error, so a walk that failed or was closed before its end raises there instead of ending,
    which would look like a complete walk to a retry loop.
    """

    __slots__ = ("_closed", "_exhausted", "_failure", "_state", "give", "take")

    def __init__(self, state: WalkState) -> None:
        self._state = state
        self._failure: BaseException | None = None
        self._closed = False
        self._exhausted = False
        # One turn to advance the walk, taken and given back for every page or item: a list's
        # pop and append are atomic and cost far less than a lock's acquire and release.
        turn: list[None] = [None]
        self.take: Callable[[], None] = turn.pop
        self.give: Callable[[None], None] = turn.append

    def busy(self) -> NoReturn:
        """Refuse to advance the walk while another caller advances it.

        Raises:
            PagewalkError: always.
        """
        raise PagewalkError(
            "this walk is already being advanced by another thread (or task, or its own "
            "on_page): a walk is not thread-safe and must be iterated by one thread at a "
            "time. Give each thread a walk of its own, or fetch in parallel with "
            "pagewalk.parallel_pages()/parallel_items().",
            operation=self._operation(),
        ) from None

    def failed(self, exc: BaseException) -> None:
        """Advancing the walk raised ``exc``: the walk stopped there."""
        if self._failure is None:
            self._failure = exc

    def closed(self) -> None:
        """The walk was closed."""
        self._closed = True

    def ended(self) -> None:
        """The iterator is exhausted: return if the walk really ended, else raise.

        Raises:
            PagewalkError: the walk stopped on an error, or was closed before its end.
        """
        if self._exhausted:
            return
        failure = self._failure
        if failure is not None:
            raise PagewalkError(
                f"this walk stopped on an error ({type(failure).__name__}) and cannot be "
                "iterated again: continue it in a new walk with resume_from=walk.checkpoint",
                operation=self._operation(),
                checkpoint=self._state.checkpoint,
            ) from failure
        if self._closed and self._state.checkpoint is not None:
            raise PagewalkError(
                "this walk was closed before its end and cannot be iterated again: continue it "
                "in a new walk with resume_from=walk.checkpoint",
                operation=self._operation(),
                checkpoint=self._state.checkpoint,
            )
        self._exhausted = True

    def _operation(self) -> str | None:
        checkpoint = self._state.checkpoint
        return checkpoint.operation if checkpoint is not None else None


@contextlib.contextmanager
def delivering(state: WalkState) -> Iterator[None]:
    """Around every driver's delivery loop: a pagewalk error leaves carrying the checkpoint of
    what was delivered (a fetching thread or task cannot know it), and the walk's clock stops."""
    try:
        yield
    except PagewalkError as exc:
        exc.checkpoint = state.checkpoint
        raise
    finally:
        state.stats.finish()

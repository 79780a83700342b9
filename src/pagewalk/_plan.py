"""Checking a walk's options and parameters before any request is sent.

Every driver (sync, async, prefetch, parallel, the command line) builds a ``Plan`` here, so
every way of walking rejects the same bad input with the same error, and none of them sends a
request first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

from ._checkpoint import Checkpoint, params_digest
from ._errors import SpecError, short_repr
from ._pacing import PER_WALK, RateLimit, coerce_rate_limit
from ._retry import Retry
from ._spec import Operation, TokenSpec, describe, resolve
from ._starting_token import read_resume_from

__all__ = [
    "DEFAULT_RETRY",
    "OPTION_NAMES",
    "Plan",
    "Position",
    "check_int",
    "check_scan_checkpoint",
    "make_plan",
]

Mode = Literal["pages", "items"]

DEFAULT_RETRY = Retry()

OPTION_NAMES = (
    "page_size",
    "max_pages",
    "max_items",
    "resume_from",
    "retry_policy",
    "token_spec",
    "on_page",
    "prefetch_pages",
    "rate_limit",
    "result_key",
)
"""Every option of a single walk. ``result_key`` is taken by the ``items`` functions only."""


class Position(NamedTuple):
    """A place in a walk: the tokens the next request sends and how much is already done.

    A named tuple, not a dataclass: it is made for every page, and ``import pagewalk`` pays
    for every dataclass it defines.
    """

    tokens: Mapping[str, Any]
    skip: int = 0
    pages: int = 0
    items: int = 0


class Plan(NamedTuple):
    """A fully checked walk: what to call, how it pages, where it starts, when it stops.

    A named tuple (``plan._replace(...)`` makes a changed copy), not a dataclass: defining a
    dataclass costs ``import pagewalk`` about 0.7 ms.
    """

    method: Callable[..., Any]
    operation: Operation
    spec: TokenSpec
    mode: Mode
    params: Mapping[str, Any]
    """The request parameters without token parameters and without the page size."""
    limit: tuple[str, Any] | None
    """``(limit_key, converted page size)`` when ``page_size`` was given."""
    start: Position
    max_pages: int | None
    max_items: int | None
    retry_policy: Retry | None
    on_page: Callable[[Any], object] | None
    prefetch_pages: int
    digest: str
    segment: int | None = None
    rate_limit: RateLimit | None = None
    """The limiter every request of this walk waits for (shared by a parallel scan's segments)."""
    result_key: str | None = None
    """The result list ``items()`` yields and ``max_items`` counts: one of the mapping's
    ``result_keys`` (the first unless ``result_key=`` chose another)."""

    def checkpoint(self, position: Position) -> Checkpoint:
        """The checkpoint for ``position`` in this walk."""
        return Checkpoint(
            operation=self.operation.name,
            params_digest=self.digest,
            tokens=dict(position.tokens),
            skip=position.skip,
            pages=position.pages,
            items=position.items,
            segment=self.segment,
            result_key=self.result_key if self.result_key != self._first_result_key else None,
        )

    @property
    def _first_result_key(self) -> str | None:
        return self.spec.result_keys[0] if self.spec.result_keys else None


def check_int(name: str, value: Any, minimum: int) -> int | None:
    """``value`` if it is ``None`` or an int ``>= minimum``; else a TypeError or ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int >= {minimum}, got {type(value).__name__} {short_repr(value)}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {short_repr(value)}")
    return value


def check_no_unknown_options(
    params: Mapping[str, Any], known: tuple[str, ...] = OPTION_NAMES
) -> None:
    """Raise ``TypeError`` for a keyword with an underscore that is not a pagewalk option.

    AWS parameter names never contain an underscore, so such a keyword is a misspelt option.
    """
    for name in params:
        if "_" in name:
            if name in known or name in OPTION_NAMES or name in ("total_segments", "max_workers"):
                # Options a function takes never reach **params: this one takes no such option.
                raise TypeError(
                    f"{name} is a pagewalk option, but not one of this function's: "
                    "see its documentation for the options it takes"
                )
            import difflib  # only for this error message

            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; pagewalk's options are {', '.join(known)}"
            )
            raise TypeError(
                f"unknown pagewalk option {name!r} (AWS parameter names have no underscore){hint}"
            )


def _convert_limit(operation: Operation, limit_key: str, page_size: int) -> Any:
    shape = operation.input_member(limit_key)
    if shape is not None and shape.type_name == "string":
        return str(page_size)
    return page_size


def make_plan(
    method: Callable[..., Any],
    mode: Mode,
    params: dict[str, Any],
    *,
    page_size: int | None = None,
    max_pages: int | None = None,
    max_items: int | None = None,
    resume_from: Checkpoint | str | bytes | None = None,
    retry_policy: Retry | None = DEFAULT_RETRY,
    token_spec: TokenSpec | None = None,
    on_page: Callable[[Any], object] | None = None,
    prefetch_pages: int = 0,
    rate_limit: RateLimit | float | None = PER_WALK,
    result_key: str | None = None,
    segment: int | None = None,
    known_options: tuple[str, ...] = OPTION_NAMES,
    asynchronous: bool = False,
) -> Plan:
    """Check everything that can be checked before the first request and build the plan.

    Raises:
        TypeError: an unknown option, or an option of the wrong type.
        ValueError: an option value out of range.
        SpecError: no token mapping, ``page_size`` without a limit parameter, ``items()`` of an
            operation without a result list, or a checkpoint of another walk.
    """
    check_no_unknown_options(params, known_options)
    check_no_pagination_config(params)
    if not asynchronous:
        check_sync_method(method)
    page_size = check_int("page_size", page_size, 1)
    max_pages = check_int("max_pages", max_pages, 1)
    max_items = check_int("max_items", max_items, 0)
    prefetch = check_int("prefetch_pages", prefetch_pages, 0) or 0
    if retry_policy is not None and not isinstance(retry_policy, Retry):
        raise TypeError(
            f"retry_policy must be a pagewalk.Retry or None, got {type(retry_policy).__name__}"
        )
    if on_page is not None and not callable(on_page):
        raise TypeError(f"on_page must be a callable taking a PageInfo, got {short_repr(on_page)}")
    limiter = coerce_rate_limit(rate_limit)
    if result_key is not None and mode == "pages":
        raise TypeError("result_key applies to items: pages are yielded whole")
    if result_key is not None and not isinstance(result_key, str):
        raise TypeError(f"result_key must be a str, got {type(result_key).__name__}")
    operation, spec = resolve(method, token_spec)
    if rate_limit is PER_WALK:
        # The default limiter starts at the operation's documented quota, when it has one.
        limiter = coerce_rate_limit(rate_limit, operation.name)
    if mode == "items" and not spec.result_keys:
        raise SpecError(
            f"{operation.name}: the token mapping names no result_key, so there are no items to "
            "yield; use pagewalk.pages(), or pass token_spec= with a result_key",
            operation=operation.name,
        )
    chosen = _choose_result_key(operation, spec, result_key)
    rest = dict(params)
    start_tokens = {name: rest.pop(name) for name in spec.input_tokens if name in rest}
    limit = None
    if page_size is not None:
        if spec.limit_key is None:
            raise SpecError(
                f"{operation.name} has no page size parameter (the token mapping names no "
                "limit_key), so page_size cannot be used",
                operation=operation.name,
            )
        if spec.limit_key in rest:
            raise ValueError(
                f"give the page size once: page_size={page_size} or {spec.limit_key}="
                f"{short_repr(rest[spec.limit_key])}, not both"
            )
        limit = (spec.limit_key, _convert_limit(operation, spec.limit_key, page_size))
    digest_params = {key: value for key, value in rest.items() if key != spec.limit_key}
    if chosen is not None and spec.result_keys and chosen != spec.result_keys[0]:
        # A checkpoint's skip and counts count this list: it must not resume a walk of another.
        # The name has an underscore, so it cannot collide with an AWS parameter.
        digest_params["result_key"] = chosen
    digest = params_digest(operation.name, digest_params)
    start = Position(tokens=start_tokens)
    if resume_from is not None:
        if start_tokens:
            raise ValueError(
                f"give either a starting token ({', '.join(start_tokens)}) or resume_from, not both"
            )
        checkpoint = read_resume_from(resume_from, operation, spec, digest, chosen, segment)
        check_checkpoint(checkpoint, operation.name, digest, segment, spec.input_tokens)
        start = Position(
            dict(checkpoint.tokens), checkpoint.skip, checkpoint.pages, checkpoint.items
        )
    check_request(method, operation, {**rest, **start_tokens}, limit, start.tokens)
    return Plan(
        method=method,
        operation=operation,
        spec=spec,
        mode=mode,
        params=rest,
        limit=limit,
        start=start,
        max_pages=max_pages,
        max_items=max_items,
        retry_policy=retry_policy,
        on_page=on_page,
        prefetch_pages=prefetch,
        digest=digest,
        segment=segment,
        rate_limit=limiter,
        result_key=chosen,
    )


def _choose_result_key(operation: Operation, spec: TokenSpec, result_key: str | None) -> str | None:
    """The result list to yield: ``result_key`` if it is one of the mapping's, else the first."""
    if result_key is None:
        return spec.result_keys[0] if spec.result_keys else None
    if result_key not in spec.result_keys:
        known = ", ".join(repr(key) for key in spec.result_keys) or "none"
        raise SpecError(
            f"{operation.name}: result_key={result_key!r} is not one of the token mapping's "
            f"result keys ({known})",
            operation=operation.name,
        )
    return result_key


def check_no_pagination_config(params: Mapping[str, Any]) -> None:
    """Refuse botocore's paginator argument, naming the options that replace its parts."""
    if "PaginationConfig" in params:
        raise TypeError(
            "PaginationConfig= is botocore's paginator argument, not a request parameter: "
            "pagewalk takes its parts as options: max_items= (MaxItems), page_size= (PageSize) "
            "and resume_from= (StartingToken: a pagewalk checkpoint or botocore's token)"
        )


def check_sync_method(method: Callable[..., Any]) -> None:
    """Refuse a coroutine method (an aiobotocore client's) in a sync walk, before any request:
    calling it would only make coroutines that are never awaited."""
    owner = getattr(method, "__self__", None)
    make_api_call = getattr(owner, "_make_api_call", None)
    if inspect.iscoroutinefunction(method) or (
        make_api_call is not None and inspect.iscoroutinefunction(make_api_call)
    ):
        raise TypeError(
            f"{describe(method).name} is a coroutine method (an aiobotocore client's or an "
            "async def): walk it with pagewalk.apages()/aitems() in an async for loop, or give "
            "pages()/items() a boto3 client's method"
        )


# Request members botocore's own handlers fill in before it validates (``before-parameter-build``):
# idempotency tokens (every service) and Glacier's accountId ("-", the caller's account).
_FILLED_BY_BOTOCORE = {"glacier": ("accountId",)}


def check_request(
    method: Callable[..., Any],
    operation: Operation,
    params: Mapping[str, Any],
    limit: tuple[str, Any] | None,
    resumed: Mapping[str, Any],
) -> None:
    """Validate a botocore client method's request against its input shape, as botocore would
    at the first request, when the client validates parameters (its default).

    ``params`` are the caller's (a starting token included); ``resumed`` the tokens a
    checkpoint supplies.

    Raises:
        ParamValidationError: the caller's parameters (botocore's error, message shortened).
        SpecError: a checkpoint's token is not a value of the token's shape.
    """
    model = operation.operation_model
    shape = model.input_shape if model is not None else None
    # A resource method (dynamodb.Table.scan) takes Python values that boto3 converts later:
    # only a client's own method is checked.
    client = getattr(method, "__self__", None)
    if shape is None or not hasattr(client, "_make_api_call"):
        return
    from botocore.exceptions import ParamValidationError
    from botocore.validate import ParamValidationDecorator, ParamValidator

    # Config(parameter_validation=False) (or the config file's setting) leaves the client a
    # serializer without the validating decorator; meta.config does not record the setting.
    serializer = getattr(client, "_serializer", None)
    if serializer is not None and not isinstance(serializer, ParamValidationDecorator):
        return

    request = dict(params)
    if limit is not None:
        request[limit[0]] = limit[1]
    for name, member in shape.members.items():
        filled = name in _FILLED_BY_BOTOCORE.get(operation.service or "", ())
        if (filled or member.metadata.get("idempotencyToken")) and name not in request:
            request[name] = "-"
    validator = ParamValidator()
    report = validator.validate(request, shape)
    if report.has_errors():
        raise ParamValidationError(report=_short_report(report.generate_report()))
    if resumed:
        report = validator.validate({**request, **resumed}, shape)
        if report.has_errors():
            raise SpecError(
                f"this checkpoint of {operation.name} holds a token botocore would refuse: "
                f"{_short_report(report.generate_report())}. Resume with the checkpoint "
                "exactly as the walk wrote it",
                operation=operation.name,
            )


def _short_report(report: str) -> str:
    lines = [line if len(line) <= 200 else line[:197] + "..." for line in report.splitlines()]
    if len(lines) > 10:
        lines[10:] = [f"... and {len(lines) - 10} more"]
    return "\n".join(lines)


def check_checkpoint(
    checkpoint: Checkpoint,
    operation: str,
    digest: str,
    segment: int | None,
    input_tokens: tuple[str, ...],
) -> None:
    """Refuse a checkpoint that belongs to another operation, other parameters or another
    segment, or that would send anything but the mapping's input tokens."""
    if checkpoint.operation != operation:
        raise SpecError(
            f"this checkpoint belongs to {checkpoint.operation}, not {operation}",
            operation=operation,
            checkpoint=checkpoint,
        )
    if checkpoint.total_segments is not None and segment is None:
        raise SpecError(
            f"this checkpoint of {operation} belongs to a parallel scan; resume it with "
            "parallel_pages()/parallel_items()",
            operation=operation,
            checkpoint=checkpoint,
        )
    if checkpoint.segment != segment:
        where = "a walk of one segment" if segment is None else f"segment {segment}"
        if checkpoint.segment is None:
            message = (
                f"this checkpoint of {operation} belongs to a walk of one segment, not to "
                f"{where}; resume it with pagewalk.pages()/items()"
            )
        else:
            message = (
                f"this checkpoint belongs to segment {checkpoint.segment} of a parallel scan of "
                f"{operation}, not to {where}; run that segment with shard.at(checkpoint), or "
                "resume the whole scan from its own checkpoint with parallel_pages()/"
                "parallel_items()"
            )
        raise SpecError(message, operation=operation, checkpoint=checkpoint)
    if checkpoint.params_digest != digest:
        raise SpecError(
            f"this checkpoint of {operation} was taken with other request parameters; resume "
            "with exactly the parameters of the walk that made it (page_size may differ)",
            operation=operation,
            checkpoint=checkpoint,
        )
    check_checkpoint_tokens(checkpoint, operation, input_tokens)


def check_checkpoint_tokens(
    checkpoint: Checkpoint, operation: str, input_tokens: tuple[str, ...]
) -> None:
    """Refuse a checkpoint whose tokens are not the mapping's input tokens, or are values no
    walk records (a checkpoint may only say where to continue, never change the request)."""
    for name, value in checkpoint.tokens.items():
        if name not in input_tokens:
            raise SpecError(
                f"this checkpoint of {operation} carries {short_repr(name)}, which is not one of "
                f"its input tokens ({', '.join(input_tokens)}): a checkpoint cannot add or change "
                "a request parameter. Resume with the checkpoint exactly as the walk wrote it",
                operation=operation,
                checkpoint=checkpoint,
            )
        if value is None or value == "":
            raise SpecError(
                f"this checkpoint of {operation} has an empty {name}; a walk never records one "
                "(an empty token means the end). Resume with the checkpoint exactly as the walk "
                "wrote it",
                operation=operation,
                checkpoint=checkpoint,
            )


def check_scan_checkpoint(
    checkpoint: Checkpoint, operation: str, digest: str, total_segments: int
) -> dict[int, Checkpoint]:
    """Check a parallel scan's checkpoint; return the position of each unfinished segment.

    ``digest`` is the digest of the scan's parameters without ``Segment``/``TotalSegments``.
    Each segment's own position is checked again by ``make_plan()`` when its walk is planned.
    """
    if checkpoint.operation != operation:
        raise SpecError(
            f"this checkpoint belongs to {checkpoint.operation}, not {operation}",
            operation=operation,
            checkpoint=checkpoint,
        )
    if checkpoint.total_segments is None:
        raise SpecError(
            f"this checkpoint of {operation} belongs to a walk of one segment, not a parallel "
            "scan; resume it with pagewalk.pages()/items()",
            operation=operation,
            checkpoint=checkpoint,
        )
    if checkpoint.params_digest != digest:
        raise SpecError(
            f"this checkpoint of {operation} was taken with other request parameters; resume "
            "with exactly the parameters of the scan that made it (page_size may differ)",
            operation=operation,
            checkpoint=checkpoint,
        )
    if checkpoint.total_segments != total_segments:
        raise SpecError(
            f"this checkpoint of {operation} belongs to a scan of {checkpoint.total_segments} "
            f"segments, not {total_segments}; resume with total_segments="
            f"{checkpoint.total_segments}",
            operation=operation,
            checkpoint=checkpoint,
        )
    positions: dict[int, Checkpoint] = {}
    for position in checkpoint.segments:
        segment = position.segment
        if segment is None or not 0 <= segment < total_segments or segment in positions:
            raise SpecError(
                f"this checkpoint of {operation} is damaged: it holds a position for segment "
                f"{segment!r}, which is missing, out of range or repeated",
                operation=operation,
                checkpoint=checkpoint,
            )
        positions[segment] = position
    return positions

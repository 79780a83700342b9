"""Shards: one segment of a parallel scan each, as JSON values for a distributed engine.

[`shards()`][pagewalk.shards] plans a scan exactly as [`parallel_pages()`][pagewalk.parallel_pages] does (same checks, no
request) and returns one [`Shard`][pagewalk.Shard] per unfinished segment. A shard runs anywhere as an
ordinary walk of its segment; pagewalk never ships a scheduler.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from ._checkpoint import (
    Checkpoint,
    check_format,
    decode_value,
    encode_value,
    load_json,
    read_key_range,
)
from ._cursor import Cursor
from ._errors import SpecError, short_repr
from ._keyranges import KeyRange, Splitter, key_space
from ._parallel import SEGMENT, TOTAL_SEGMENTS, RangePlanner, plan_ranges, plan_segments
from ._plan import OPTION_NAMES, Mode, check_int, check_no_unknown_options, make_plan
from ._spec import TokenSpec, resolve
from ._walk import Walk, fetch_page, run

__all__ = ["Shard", "shards"]

_SHARD_OPTIONS = ("total_segments", "page_size", "resume_from", "token_spec")
_SHARD_FORMAT = "pagewalk.shard/1"


@dataclass(frozen=True)
class Shard:
    """One segment of a scan and where it stands: a frozen value that round-trips through JSON.

    Send shards to workers (Dask, Ray, a queue), run each with [`pages()`][pagewalk.Shard.pages] or [`items()`][pagewalk.Shard.items]
    on a client made there, and after a partial run take ``shard.at(walk.checkpoint)`` to retry
    the rest.

    Attributes:
        operation: the scanned operation, ``"dynamodb.Scan"``.
        params: the request parameters, without ``Segment``/``TotalSegments``.
        segment: this shard's segment, ``0 <= segment < total_segments``.
        total_segments: how many segments the scan has.
        checkpoint: where this segment continues; ``None`` for its beginning.
        page_size: the page size given to [`shards()`][pagewalk.shards], if any.
        key_range: for a listing of an ordered key space (S3), ``(after, end)``: the shard
            lists the keys after ``after`` up to and including ``end`` (``None``: from the
            start, to the end); ``params`` then hold no start-after key.
    """

    operation: str
    params: Mapping[str, Any]
    segment: int
    total_segments: int
    checkpoint: Checkpoint | None = None
    page_size: int | None = None
    key_range: tuple[str | None, str | None] | None = None

    def pages(self, client: Any, /, **options: Any) -> Walk[Any]:
        """Yield the pages of this shard's segment, using ``client``'s method for the operation.

        ``walk.checkpoint`` is this segment's position, for [`at()`][pagewalk.Shard.at].

        Args:
            client: a client of the shard's service, made where the shard runs.
            **options: walk options, as [`pages`][pagewalk.pages] takes them (``max_pages``,
                ``retry_policy``, ``on_page``, ``token_spec``, ...); the request parameters
                are fixed in the shard.

        Returns:
            A [`Walk`][pagewalk.Walk] over the segment's pages.

        Raises:
            TypeError: a request parameter among ``options``, an unknown option, or a client
                of another service.
            SpecError: as [`pages`][pagewalk.pages] raises it.
        """
        return self._walk(client, "pages", options)

    def items(self, client: Any, /, **options: Any) -> Walk[Any]:
        """Yield the items of this shard's segment; see [`pages()`][pagewalk.Shard.pages].

        Args:
            client: a client of the shard's service, made where the shard runs.
            **options: walk options, as [`items`][pagewalk.items] takes them (``max_items``,
                ``result_key``, ...).

        Returns:
            A [`Walk`][pagewalk.Walk] over the segment's items.
        """
        return self._walk(client, "items", options)

    def at(self, checkpoint: Checkpoint | str | None) -> Shard | None:
        """This shard, continuing at ``checkpoint`` (a partial run's ``walk.checkpoint``).

        Args:
            checkpoint: where a run of this shard stopped, or its JSON.

        Returns:
            A new shard of the same segment at ``checkpoint``; ``None`` when ``checkpoint`` is
                ``None``: the segment ran to the end.

        Raises:
            SpecError: the checkpoint belongs to another segment or operation.
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
            self.key_range,
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
            raise TypeError(
                f"this shard scans {self.operation}, but {short_repr(client)} has no {name}()"
            )
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
        key_range: KeyRange | None = None
        if self.key_range is not None:
            space = key_space(self.operation)
            if space is None or space.start_parameter in self.params:
                raise SpecError(
                    f"this shard of {self.operation} holds a key range, which shards() writes "
                    "only for S3 listings, without a start-after parameter",
                    operation=self.operation,
                )
            after, end = self.key_range
            key_range = KeyRange(space, after, end, None)
            params = dict(self.params)
            if after is not None and not (space.start_is_token and options["resume_from"]):
                params[space.start_parameter] = after
        else:
            params = {**self.params, SEGMENT: self.segment, TOTAL_SEGMENTS: self.total_segments}
        plan = make_plan(self._method(client), mode, params, segment=self.segment, **options)
        tokens = [name for name in plan.spec.input_tokens if name in self.params]
        if tokens and key_range is None:
            raise SpecError(
                f"this shard's params hold the input token {', '.join(tokens)}, which shards() "
                "never writes: a shard continues from its checkpoint, never from a parameter",
                operation=self.operation,
            )
        if key_range is not None:
            tokens = [name for name in tokens if name != key_range.space.start_parameter]
        cursor = Cursor(plan, key_range=key_range)
        return Walk(run(cursor), cursor)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tagged values included); [`from_dict()`][pagewalk.Shard.from_dict] reads it back."""
        return {
            "format": _SHARD_FORMAT,
            "operation": self.operation,
            "params": encode_value(dict(self.params)),
            "segment": self.segment,
            "total_segments": self.total_segments,
            "page_size": self.page_size,
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict(),
            **({} if self.key_range is None else {"key_range": list(self.key_range)}),
        }

    def to_json(self) -> str:
        """The shard as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Shard:
        """Read a shard written by [`to_json()`][pagewalk.Shard.to_json].

        Args:
            text: the JSON text (``str`` or UTF-8 ``bytes``).

        Returns:
            The shard.

        Raises:
            SpecError: the text is not a well-formed pagewalk shard.
        """
        return cls.from_dict(load_json(text, "shard"))

    @classmethod
    def from_dict(cls, data: Any) -> Shard:
        """Read a shard from [`to_dict()`][pagewalk.Shard.to_dict] data.

        Nothing in ``data`` is trusted: anything [`to_dict()`][pagewalk.Shard.to_dict] could
        not have written raises ``SpecError`` (the checkpoint inside is read as
        [`Checkpoint.from_dict()`][pagewalk.Checkpoint.from_dict] reads one).

        Args:
            data: plain JSON data, as [`to_dict()`][pagewalk.Shard.to_dict] returns it.

        Returns:
            The shard.

        Raises:
            SpecError: the data is not a well-formed pagewalk shard.
        """
        check_format(data, _SHARD_FORMAT, "shard")
        operation, segment = data.get("operation"), data.get("segment")
        total, page_size = data.get("total_segments"), data.get("page_size")
        problem = None
        if not isinstance(operation, str):
            problem = "'operation' must be a string"
        elif not _is_int(total, 1):
            problem = "'total_segments' must be an integer >= 1"
        elif not _is_int(segment, 0) or segment >= total:
            problem = "'segment' must be an integer from 0 to total_segments - 1"
        elif page_size is not None and not _is_int(page_size, 1):
            problem = "'page_size' must be an integer >= 1 or null"
        elif not isinstance(data.get("params", {}), dict):
            problem = "'params' must be an object"
        if problem is not None:
            raise SpecError(f"not a valid pagewalk shard: {problem}")
        try:
            params = decode_value(data.get("params", {}))
        except (ValueError, RecursionError) as exc:
            raise SpecError(f"not a valid pagewalk shard: its params: {exc}") from None
        if not isinstance(params, dict):
            raise SpecError("not a valid pagewalk shard: 'params' must hold an object")
        for name in params:
            if "_" in name or name in (SEGMENT, TOTAL_SEGMENTS):
                raise SpecError(
                    f"not a valid pagewalk shard: {short_repr(name)} is not a request parameter "
                    "a shard can hold (shards() never writes it)"
                )
        try:
            key_range = read_key_range(data)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"not a valid pagewalk shard: {exc}") from None
        raw = data.get("checkpoint")
        checkpoint = None if raw is None else Checkpoint.from_dict(raw)
        if checkpoint is not None and checkpoint.key_range != key_range:
            raise SpecError("not a valid pagewalk shard: its checkpoint is of another key range")
        if checkpoint is not None and (
            checkpoint.operation != operation or checkpoint.segment != segment
        ):
            raise SpecError(
                f"not a valid pagewalk shard: its checkpoint belongs to segment "
                f"{checkpoint.segment} of {short_repr(checkpoint.operation)}, not to segment "
                f"{segment} of {short_repr(operation)}"
            )
        return cls(operation, params, segment, total, checkpoint, page_size, key_range)


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
    """Split a scan into one [`Shard`][pagewalk.Shard] per segment, for a distributed engine to run.

    Sends no request: the scan is checked as [`parallel_pages`][pagewalk.parallel_pages]
    checks it. Per-run options (``max_items``, ``retry_policy``, ``on_page``, ...) go to
    [`Shard.pages()`][pagewalk.Shard.pages] / [`Shard.items()`][pagewalk.Shard.items]; so
    does ``token_spec`` (it cannot travel as JSON).

    >>> for shard in pagewalk.shards(ddb.scan, TableName="t", total_segments=16):  # doctest: +SKIP
    ...     futures.append(dask_client.submit(run_shard, shard.to_json()))

    Args:
        method: a bound method of a boto3 or botocore client that takes ``Segment`` and
            ``TotalSegments`` (DynamoDB ``scan``).
        total_segments: how many segments to split the scan into (``>= 1``).
        page_size: results to ask for per request, kept in every shard.
        resume_from: a parallel scan's [`Checkpoint`][pagewalk.Checkpoint] (or its JSON):
            only the unfinished segments come back, each at its position.
        token_spec: the token mapping to check the scan with; give it to the shards' runs
            too.
        **params: the request parameters, kept in every shard (without ``Segment`` and
            ``TotalSegments``).

    Returns:
        One [`Shard`][pagewalk.Shard] per unfinished segment, in segment order.

    Raises:
        TypeError: an unknown option, ``max_workers`` (a shard runs where it is sent), or
            ``Segment``/``TotalSegments`` among the parameters.
        ValueError: an option out of range.
        SpecError: the operation takes no ``Segment``/``TotalSegments``, no token mapping, or
            a checkpoint of another scan.
    """
    if "max_workers" in params:
        raise TypeError(
            "shards() takes no max_workers: the engine that runs the shards decides how many "
            "run at once"
        )
    for name in params:
        if name in OPTION_NAMES:
            raise TypeError(
                f"{name} is an option of each shard's run: pass it to shard.pages(client, "
                f"{name}=...) or shard.items(client, {name}=...)"
            )
    operation, _ = resolve(method, token_spec)
    space = key_space(operation.name)
    if space is not None:
        return _range_shards(method, params, total_segments, resume_from, page_size, token_spec)
    base, total, plans, resumed = plan_segments(
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


PROBE_KEYS = 100
"""Keys asked for by each request that looks for split points (or ``page_size`` if smaller)."""


def _range_shards(
    method: Callable[..., Any],
    params: dict[str, Any],
    total_segments: Any,
    resume_from: Checkpoint | str | None,
    page_size: int | None,
    token_spec: TokenSpec | None,
) -> list[Shard]:
    """Shards of an ordered key space: ``total_segments`` ranges covering it exactly once."""
    total = check_int("total_segments", total_segments, 1)
    if total is None:
        raise TypeError("total_segments is required: how many shards to split the listing into")
    space = key_space(resolve(method, token_spec)[0].name)
    assert space is not None
    if "VersionIdMarker" in params:
        raise ValueError(
            "shards of ListObjectVersions start after a key: give KeyMarker without VersionIdMarker"
        )
    planner, ranges, resumed = plan_ranges(
        method,
        "pages",
        params,
        space,
        resume_from,
        _SHARD_OPTIONS,
        page_size=page_size,
        token_spec=token_spec,
    )
    if resumed is not None:
        found = resumed.total_segments or 1
        return [
            _shard(planner, segment, found, key_range.bounds, page_size, plan.start)
            for segment, (plan, key_range) in ranges.items()
        ]
    bounds = _find_ranges(planner, ranges[0][1], total, min(page_size or PROBE_KEYS, PROBE_KEYS))
    return [
        _shard(planner, segment, total, key_range, page_size, None)
        for segment, key_range in enumerate(bounds)
    ]


def _shard(
    planner: RangePlanner,
    segment: int,
    total: int,
    key_range: tuple[str | None, str | None],
    page_size: int | None,
    start: Any,
) -> Shard:
    plan = planner.plan(segment, KeyRange(planner.space, *key_range, None))
    checkpoint = None
    if start is not None:
        checkpoint = dataclasses.replace(plan.checkpoint(start), key_range=key_range)
    return Shard(
        planner.space.operation,
        dict(planner.params),
        segment,
        total,
        checkpoint,
        page_size,
        key_range,
    )


def _find_ranges(
    planner: RangePlanner, first: KeyRange, total: int, probe_keys: int
) -> list[tuple[str | None, str | None]]:
    """Cut the key space into ``total`` ranges with at most ``2 * total`` list requests: one
    page at the start says what the keys look like, up to two rounds of ``total - 1`` probes
    (``MaxKeys=1``) find how far they go when they sit under a long prefix, and the splitter
    then cuts where the keys are; ranges left to make are cut at keys the requests saw."""
    splitter = Splitter(planner.prefix, planner.sample)
    splitter.min_piece_pages = 0.5  # a shard is a task of its own: balance over request count
    seen: list[str] = []

    def keys(page: Any) -> list[str]:
        return [
            entry["Key"]
            for name in planner.space.lists
            for entry in page.response.get(name) or ()
            if isinstance(entry, Mapping) and isinstance(entry.get("Key"), str)
        ]

    plan = make_plan(
        planner.method,
        "pages",
        planner.range_params(first.after),
        page_size=probe_keys,
        segment=0,
        token_spec=planner.options.get("token_spec"),
        rate_limit=planner.options.get("rate_limit"),
    )
    cursor = Cursor(plan, key_range=first)
    page = fetch_page(cursor)
    if page is not None:
        seen.extend(keys(page))
    requests = 1
    while not cursor.finished and requests < 2 * total:
        probes = splitter.probes(
            [(first, False)], min(total - 1, 2 * total - requests), thorough=True
        )
        if not probes:
            break
        for after in probes:
            probe = Cursor(planner.probe_plan(after))
            answer = fetch_page(probe)
            found = keys(answer) if answer is not None else []
            splitter.probed(after, min(found) if found else None)
            seen.extend(found)
            requests += 1
    ranges = [first]
    while len(ranges) < total:
        choice = splitter.choose(((key_range, False) for key_range in ranges), total - len(ranges))
        if choice is None:
            break
        key_range, at = choice
        ranges.append(key_range.split(at))
    seen = sorted(set(seen))
    while len(ranges) < total:
        ranges.append(_cut(ranges, seen, planner.prefix))
    return sorted((key_range.bounds for key_range in ranges), key=lambda bounds: bounds[0] or "")


def _cut(ranges: list[KeyRange], seen: list[str], prefix: str) -> KeyRange:
    """Split the range holding the most keys seen at its middle one (or, when none holds two,
    the last range just after its start): the new range."""
    best: tuple[int, KeyRange, str] | None = None
    for key_range in ranges:
        low = bisect.bisect_right(seen, key_range.after or "")
        high = len(seen) if key_range.end is None else bisect.bisect_left(seen, key_range.end)
        if high - low >= 2 and (best is None or high - low > best[0]):
            best = (high - low, key_range, seen[(low + high) // 2 - 1])
    if best is not None:
        _, key_range, at = best
    else:
        key_range = max(ranges, key=lambda key_range: key_range.after or "")
        at = (key_range.after or prefix) + "\U0010ffff"
    key_range.position = key_range.after or ""
    return key_range.split(at)

"""Checkpoints: where a walk would continue, as a frozen value that round-trips through JSON.

Tokens are stored as the request parameters they will be sent as. Values JSON cannot carry
(bytes in a DynamoDB binary key, ``Decimal`` from a boto3 resource, datetimes) are written as
one-key tagged objects, and a dict whose keys could be mistaken for a tag is wrapped, so the
encoding is unambiguous. Nothing is ever pickled or evaluated.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ._errors import SpecError, short_repr

__all__ = [
    "Checkpoint",
    "check_format",
    "decode_value",
    "encode_value",
    "load_json",
    "params_digest",
    "read_key_range",
]

_FORMAT = "pagewalk.checkpoint/1"


def encode_value(value: Any) -> Any:
    """``value`` as plain JSON data, with bytes, Decimal and datetime tagged."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, Mapping):
        encoded = {str(key): encode_value(item) for key, item in value.items()}
        if any(key.startswith("$") for key in encoded):
            return {"$map": encoded}
        return encoded
    if isinstance(value, (list, tuple)):
        return [encode_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode_value(item) for item in sorted(value, key=repr)]}
    value_attr = getattr(value, "value", None)  # boto3.dynamodb.types.Binary
    if isinstance(value_attr, (bytes, bytearray)):
        return encode_value(bytes(value_attr))
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint: {short_repr(value)}")


MAX_DEPTH = 64
"""How deeply values may nest in a checkpoint or shard: far more than any real token needs
(a DynamoDB key is three levels), far less than what would exhaust Python's recursion limit."""

_TAGS = ("$bytes", "$decimal", "$datetime", "$set", "$map")


def decode_value(data: Any, _depth: int = 0) -> Any:
    """The inverse of ``encode_value()``.

    Raises:
        ValueError: ``data`` is not something ``encode_value()`` writes (an unknown or
            malformed tag, a value nested deeper than ``MAX_DEPTH``).
    """
    if _depth > MAX_DEPTH:
        raise ValueError(f"values are nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, list):
        return [decode_value(item, _depth + 1) for item in data]
    if not isinstance(data, dict):
        return data
    tags = [key for key in data if isinstance(key, str) and key.startswith("$")]
    if not tags:
        return {key: decode_value(item, _depth + 1) for key, item in data.items()}
    if len(data) != 1 or tags[0] not in _TAGS:
        raise ValueError(
            f"unknown tagged value {short_repr(tags[0])} (known: {', '.join(_TAGS)}, alone in an "
            "object)"
        )
    tag, inner = tags[0], data[tags[0]]
    if tag == "$map":
        if not isinstance(inner, dict):
            raise ValueError(f"$map must hold an object, got {type(inner).__name__}")
        return {key: decode_value(item, _depth + 1) for key, item in inner.items()}
    if tag == "$set":
        if not isinstance(inner, list):
            raise ValueError(f"$set must hold a list, got {type(inner).__name__}")
        members = [decode_value(item, _depth + 1) for item in inner]
        try:
            return set(members)
        except TypeError as exc:
            raise ValueError(f"$set holds an unhashable value ({exc})") from None
    if not isinstance(inner, str):
        raise ValueError(f"{tag} must hold a string, got {type(inner).__name__}")
    try:
        if tag == "$bytes":
            return base64.b64decode(inner, validate=True)
        if tag == "$decimal":
            return Decimal(inner)
        return datetime.datetime.fromisoformat(inner)
    except (ValueError, ArithmeticError) as exc:  # binascii.Error, decimal.InvalidOperation
        raise ValueError(f"{tag} {short_repr(inner)} is malformed") from exc


def canonical_json(value: Any) -> str:
    """Stable JSON text for hashing and storing."""
    return json.dumps(
        encode_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def params_digest(operation: str, params: Mapping[str, Any]) -> str:
    """A digest of the operation and its non-token, non-limit parameters."""
    text = canonical_json({"operation": operation, "params": dict(params)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Checkpoint:
    """Where a walk would continue: a frozen value that round-trips through JSON.

    Attributes:
        operation: the walked operation, ``"dynamodb.Scan"``.
        params_digest: digest of the request parameters (tokens and page size excluded), so a
            checkpoint is refused by a walk of other parameters.
        tokens: the token parameter(s) the next request sends; empty for the first page.
        skip: how many items of that page were already yielded.
        pages: pages completed so far, across every resumed walk.
        items: items yielded so far, across every resumed walk.
        segment: the segment of a parallel scan this position belongs to.
        total_segments: for a parallel scan, how many segments it has.
        segments: for a parallel scan, the position of every unfinished segment.
        result_key: the result list ``skip`` and ``items`` count, when the walk yielded
            another than the mapping's first (``items(..., result_key="CommonPrefixes")``).
        key_range: for one range of an ordered key space (S3 listings), ``(after, end)``:
            the range holds the keys after ``after`` up to and including ``end`` (``None``:
            from the start, to the end).

    >>> cp = Checkpoint("s3.ListObjectsV2", "0" * 32, {"ContinuationToken": "abc"}, skip=3)
    >>> Checkpoint.from_json(cp.to_json()) == cp
    True
    """

    operation: str
    params_digest: str
    tokens: Mapping[str, Any] = field(default_factory=dict)
    skip: int = 0
    pages: int = 0
    items: int = 0
    segment: int | None = None
    total_segments: int | None = None
    segments: tuple[Checkpoint, ...] = ()
    result_key: str | None = None
    key_range: tuple[str | None, str | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tagged values included); [`from_dict()`][pagewalk.Checkpoint.from_dict] reads it back."""
        data: dict[str, Any] = {
            "format": _FORMAT,
            "operation": self.operation,
            "params_digest": self.params_digest,
            "tokens": encode_value(dict(self.tokens)),
            "skip": self.skip,
            "pages": self.pages,
            "items": self.items,
        }
        if self.segment is not None:
            data["segment"] = self.segment
        if self.total_segments is not None:
            data["total_segments"] = self.total_segments
        if self.total_segments is not None or self.segments:
            # Segments without total_segments are malformed: written, so that reading refuses them.
            data["segments"] = [segment.to_dict() for segment in self.segments]
        if self.result_key is not None:
            data["result_key"] = self.result_key
        if self.key_range is not None:
            data["key_range"] = list(self.key_range)
        return data

    def to_json(self) -> str:
        """The checkpoint as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def to_starting_token(self) -> str:
        """The starting token botocore's paginator (and the AWS CLI's ``--starting-token``)
        accepts for this position: ``PaginationConfig={"StartingToken": ...}``.

        A position inside a page becomes botocore's ``boto_truncate_amount``; botocore skips
        that many items of the first page it fetches, so give its paginator a ``PageSize`` at
        least that large (the walk's ``page_size`` is). The token holds no parameter digest:
        call the paginator with the walk's parameters.

        Returns:
            botocore's base64 token text.

        Raises:
            SpecError: the position has no botocore form: a parallel scan's checkpoint, an
                operation botocore has no paginator for, or a walk of another result list
                (``result_key=``) stopped inside a page.
        """
        from ._starting_token import to_starting_token

        return to_starting_token(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Read a checkpoint written by [`to_json()`][pagewalk.Checkpoint.to_json].

        Args:
            text: the JSON text (``str`` or UTF-8 ``bytes``).

        Returns:
            The checkpoint, checked as [`from_dict()`][pagewalk.Checkpoint.from_dict] checks.

        Raises:
            SpecError: the text is not a well-formed pagewalk checkpoint.
        """
        return cls.from_dict(load_json(text, "checkpoint"))

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        """Read a checkpoint from [`to_dict()`][pagewalk.Checkpoint.to_dict] data.

        Nothing in ``data`` is trusted: anything [`to_dict()`][pagewalk.Checkpoint.to_dict]
        could not have written (wrong types, negative counts, unknown tagged values, values
        nested too deeply, segments without a scan or inside a segment) raises ``SpecError``.

        Args:
            data: plain JSON data, as [`to_dict()`][pagewalk.Checkpoint.to_dict] returns it.

        Returns:
            The checkpoint.

        Raises:
            SpecError: the data is not a well-formed pagewalk checkpoint.
        """
        check_format(data, _FORMAT, "checkpoint")
        try:
            checkpoint = cls._read(data, nested=False)
        except (TypeError, ValueError, KeyError, RecursionError) as exc:
            raise SpecError(
                f"not a valid pagewalk checkpoint: {_reason(exc)}; resume with the checkpoint "
                "text exactly as the walk wrote it"
            ) from None
        return checkpoint

    @classmethod
    def _read(cls, data: Any, *, nested: bool) -> Checkpoint:
        if not isinstance(data, dict):
            raise TypeError(f"a segment position must be an object, got {type(data).__name__}")
        operation = _typed(data, "operation", str)
        digest = _typed(data, "params_digest", str)
        tokens = decode_value(_typed(data, "tokens", dict, {}))
        if not isinstance(tokens, dict):
            raise TypeError(f"field 'tokens' must hold an object, got {type(tokens).__name__}")
        counts = {name: _typed(data, name, int, 0) for name in ("skip", "pages", "items")}
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"field {name!r} must not be negative, got {value}")
        segment = _typed(data, "segment", int, None)
        total = _typed(data, "total_segments", int, None)
        raw_segments = _typed(data, "segments", list, [])
        result_key = _typed(data, "result_key", str, None)
        key_range = read_key_range(data)
        if key_range is not None and segment is None:
            raise ValueError("only a segment's position has a key_range")
        if segment is not None and segment < 0:
            raise ValueError(f"field 'segment' must not be negative, got {segment}")
        if total is not None and total < 1:
            raise ValueError(f"field 'total_segments' must be at least 1, got {total}")
        if nested and (segment is None or total is not None or raw_segments):
            raise ValueError("a segment's position must name its segment and hold no segments")
        if total is None and raw_segments:
            raise ValueError("only a parallel scan's checkpoint (with total_segments) has segments")
        if total is not None:
            if segment is not None:
                raise ValueError("a parallel scan's checkpoint belongs to no single segment")
            if tokens or counts["skip"]:
                raise ValueError("a parallel scan's positions are in its segments, not at the top")
            if not raw_segments:
                raise ValueError(
                    "a parallel scan's checkpoint must hold at least one unfinished segment "
                    "(a finished scan has no checkpoint)"
                )
        segments = tuple(cls._read(item, nested=True) for item in raw_segments)
        if any(position.operation != operation for position in segments):
            raise ValueError("a segment's position names another operation than its scan")
        if len({position.key_range is None for position in segments}) > 1:
            raise ValueError("either every segment of a scan is a key range or none is")
        return cls(
            operation=operation,
            params_digest=digest,
            tokens=tokens,
            skip=counts["skip"],
            pages=counts["pages"],
            items=counts["items"],
            segment=segment,
            total_segments=total,
            segments=segments,
            result_key=result_key,
            key_range=key_range,
        )

    @classmethod
    def coerce(cls, value: Checkpoint | str | bytes) -> Checkpoint:
        """Accept a checkpoint or its JSON text (``resume_from=``), checked as [`from_dict()`][pagewalk.Checkpoint.from_dict]
        checks JSON: a ``Checkpoint`` built in code must be one a walk could have written.

        Raises:
            SpecError: not a well-formed checkpoint.
            TypeError: ``value`` is neither a checkpoint nor text.
        """
        if isinstance(value, Checkpoint):
            try:
                data = value.to_dict()
            except (TypeError, ValueError) as exc:
                raise SpecError(f"not a valid pagewalk checkpoint: {_reason(exc)}") from None
            return cls.from_dict(data)
        if isinstance(value, (str, bytes)):
            from ._starting_token import is_starting_token

            if is_starting_token(value):
                raise SpecError(
                    "this is a botocore / AWS CLI starting token: it resumes a walk of one "
                    "operation (pages(), items(), apages(), aitems() with resume_from=), not a "
                    "parallel scan or a shard, which resume from their own checkpoint"
                )
            return cls.from_json(value)
        raise TypeError(
            f"resume_from must be a pagewalk.Checkpoint or its JSON string, got {type(value).__name__}"
        )


def load_json(text: Any, what: str) -> Any:
    """Parse the JSON text of a checkpoint or shard; any failure is a ``SpecError``."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise SpecError(f"a pagewalk {what} is JSON text, got {type(text).__name__}")
    try:
        return json.loads(text)
    except RecursionError:
        raise SpecError(
            f"not a pagewalk {what}: the JSON is nested far deeper than any {what}"
        ) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many int digits
        raise SpecError(f"not a pagewalk {what}: the text is not JSON ({_reason(exc)})") from None


def check_format(data: Any, expected: str, what: str) -> None:
    """Refuse data that is not a JSON object of format ``expected``; say so if it is newer."""
    found = data.get("format") if isinstance(data, dict) else None
    if found == expected:
        return
    name, _, version = expected.partition("/")
    if isinstance(found, str) and found.startswith(name + "/"):
        found_version = found[len(name) + 1 :]
        number = found_version.lstrip("0") if found_version.isascii() else ""
        if number.isdigit() and (len(number), number) > (len(version), version):
            raise SpecError(
                f"this {what} has format {short_repr(found)}: it was written by a newer pagewalk, "
                f"and this one reads {expected!r} only. Upgrade pagewalk to resume from it"
            )
        raise SpecError(f"this {what} has an unknown format {short_repr(found)}, not {expected!r}")
    raise SpecError(f"not a pagewalk {what} (expected a JSON object with format {expected!r})")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "values are nested too deeply"
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def read_key_range(data: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    """The ``key_range`` field of checkpoint or shard data, checked (``ValueError``)."""
    raw = _typed(data, "key_range", list, None)
    if raw is None:
        return None
    if len(raw) != 2 or not all(bound is None or isinstance(bound, str) for bound in raw):
        raise ValueError("field 'key_range' must be [after, end], each a string or null")
    for bound in raw:
        if bound is not None and (not bound or len(bound.encode("utf-8", "replace")) > 1024):
            raise ValueError("a key_range bound must be a key of 1 to 1024 bytes")
        if bound is not None and any(0xD800 <= ord(char) <= 0xDFFF for char in bound):
            raise ValueError("a key_range bound must be valid UTF-8 (it holds a lone surrogate)")
    after, end = raw
    if after is not None and end is not None and not after < end:
        raise ValueError("a key_range must end after it starts")
    return after, end


def _typed(data: Mapping[str, Any], name: str, kind: type, *default: Any) -> Any:
    if name not in data:
        if default:
            return default[0]
        raise KeyError(f"missing field {name!r}")
    value = data[name]
    if value is None and default and default[0] is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"field {name!r} must be {_KINDS[kind]}, got {type(value).__name__}")
    return value


_KINDS = {str: "a string", int: "an integer", dict: "an object", list: "a list"}

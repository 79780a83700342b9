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

from ._errors import SpecError

__all__ = ["Checkpoint", "decode_value", "encode_value", "params_digest"]

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
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint: {value!r}")


def decode_value(data: Any) -> Any:
    """The inverse of :func:`encode_value`."""
    if isinstance(data, list):
        return [decode_value(item) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((tag, inner),) = data.items()
        if tag == "$bytes":
            return base64.b64decode(inner, validate=True)
        if tag == "$decimal":
            return Decimal(inner)
        if tag == "$datetime":
            return datetime.datetime.fromisoformat(inner)
        if tag == "$set":
            return {decode_value(item) for item in inner}
        if tag == "$map":
            return {key: decode_value(item) for key, item in inner.items()}
    return {key: decode_value(item) for key, item in data.items()}


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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tagged values included); :meth:`from_dict` reads it back."""
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
            data["segments"] = [segment.to_dict() for segment in self.segments]
        return data

    def to_json(self) -> str:
        """The checkpoint as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Read a checkpoint written by :meth:`to_json`.

        Raises:
            SpecError: the text is not a pagewalk checkpoint.
        """
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"not a pagewalk checkpoint: the text is not JSON ({exc})") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        """Read a checkpoint from :meth:`to_dict` data.

        Raises:
            SpecError: the data is not a pagewalk checkpoint.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise SpecError(
                f"not a pagewalk checkpoint (expected a JSON object with format {_FORMAT!r})"
            )
        try:
            operation = _typed(data, "operation", str)
            digest = _typed(data, "params_digest", str)
            tokens = decode_value(data.get("tokens", {}))
            if not isinstance(tokens, dict):
                raise TypeError("tokens must be an object")
            counts = {name: _typed(data, name, int, 0) for name in ("skip", "pages", "items")}
            if any(value < 0 for value in counts.values()):
                raise ValueError("counts must not be negative")
            segment = _typed(data, "segment", int, None)
            total = _typed(data, "total_segments", int, None)
            raw_segments = data.get("segments", [])
            if not isinstance(raw_segments, list):
                raise TypeError("segments must be a list")
            segments = tuple(cls.from_dict(item) for item in raw_segments)
        except (TypeError, ValueError, KeyError) as exc:
            raise SpecError(f"not a valid pagewalk checkpoint: {exc}") from exc
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
        )

    @classmethod
    def coerce(cls, value: Checkpoint | str | bytes) -> Checkpoint:
        """Accept a checkpoint or its JSON text (``resume_from=``)."""
        if isinstance(value, Checkpoint):
            return value
        if isinstance(value, (str, bytes)):
            return cls.from_json(value)
        raise TypeError(
            f"resume_from must be a pagewalk.Checkpoint or its JSON string, got {type(value).__name__}"
        )


def _typed(data: Mapping[str, Any], name: str, kind: type, *default: Any) -> Any:
    if name not in data:
        if default:
            return default[0]
        raise KeyError(f"missing field {name!r}")
    value = data[name]
    if value is None and default and default[0] is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"field {name!r} must be {kind.__name__}, got {type(value).__name__}")
    return value

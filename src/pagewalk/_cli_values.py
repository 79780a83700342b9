"""The command line's values: from words to a client method and its parameters, and from
responses to JSON lines.

Parameter values are read by the type the operation's input shape gives them, so ``Prefix=123``
stays a string while ``MaxKeys=123`` becomes a number; botocore validates the rest.
"""

from __future__ import annotations

import base64
import datetime
import difflib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from botocore import xform_name
from botocore.exceptions import NoRegionError, ProfileNotFound

from ._spec import _operation_key

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

__all__ = [
    "CommandFailed",
    "UsageError",
    "convert_value",
    "json_default",
    "make_client",
    "method_name",
    "one_line",
    "parse_params",
    "to_json_line",
]


class UsageError(Exception):
    """A mistake in the command line or the setup: exit status 2, nothing was sent."""


class CommandFailed(Exception):
    """The walk failed after it started: exit status 1."""


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def _suggest(word: str, choices: Sequence[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=cutoff)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def make_client(
    service: str,
    *,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    explain: bool = False,
) -> Any:
    """A boto3 client for ``service``; a ``UsageError`` for an unknown service or profile."""
    try:
        session: Any = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise UsageError(f"{exc}; check --profile and your AWS config files") from exc
    services = session.get_available_services()
    if service not in services:
        raise UsageError(f"unknown service {service!r}{_suggest(service.lower(), services, 0.5)}")
    try:
        return session.client(service, endpoint_url=endpoint_url)
    except NoRegionError as exc:
        if explain:  # nothing is sent, so any region describes the operation
            return session.client(service, region_name="us-east-1", endpoint_url=endpoint_url)
        raise UsageError(
            "no AWS region configured: pass --region R or set AWS_DEFAULT_REGION"
        ) from exc
    except ValueError as exc:  # botocore rejects a malformed --endpoint-url this way
        raise UsageError(f"{exc}; check --endpoint-url") from exc


def method_name(client: Any, operation: str) -> str:
    """The client method name of ``operation`` given in any form (kebab, snake or API name)."""
    mapping: Mapping[str, str] = client.meta.method_to_api_mapping
    api_names = set(client.meta.service_model.operation_names)
    by_key = {_operation_key(api): python for python, api in mapping.items() if api in api_names}
    found = by_key.get(_operation_key(operation))
    if found is not None:
        return found
    service = client.meta.service_model.service_name
    kebab = xform_name(operation, "-").replace("_", "-")
    choices = sorted(xform_name(api, "-") for api in api_names)
    raise UsageError(f"{service} has no operation {operation!r}{_suggest(kebab, choices)}")


def _member(name: str, members: Mapping[str, Shape], operation: str) -> str:
    if name in members:
        return name
    folded = [member for member in members if member.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    hint = _suggest(name, list(members))
    if not hint:
        hint = f"; its parameters are {', '.join(members) or 'none'}"
    raise UsageError(f"{operation} has no parameter {name!r}{hint}")


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_JSON_KINDS = {"list": (list, "a JSON list"), "map": (dict, "a JSON object")}


def convert_value(name: str, shape: Shape, text: str) -> Any:
    """``text`` as the Python value the parameter's shape asks for."""
    kind = shape.type_name
    if kind in ("string", "blob"):
        return text
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        raise UsageError(f"{name} takes a number ({kind}), got {text!r}") from None
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise UsageError(f"{name} takes true or false, got {text!r}")
    if kind == "timestamp":
        return _timestamp(name, text)
    if kind in ("list", "map", "structure"):
        expected, what = _JSON_KINDS.get(kind, (dict, "a JSON object"))
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{name} takes {what} ({kind}), got {text!r}: {exc}") from None
        if not isinstance(value, expected):
            raise UsageError(f"{name} takes {what} ({kind}), got {type(value).__name__} {text!r}")
        return value
    return text


def _timestamp(name: str, text: str) -> datetime.datetime:
    cleaned = text.strip()
    if cleaned[-1:] in ("Z", "z"):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        value = datetime.datetime.fromisoformat(cleaned)
    except ValueError:
        raise UsageError(
            f"{name} takes an ISO 8601 timestamp such as 2024-05-01T12:00:00Z, got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def parse_params(operation_model: OperationModel, pairs: Sequence[str]) -> dict[str, Any]:
    """Request parameters from ``Name=value`` texts, converted by the operation's input shape."""
    shape = operation_model.input_shape
    members: Mapping[str, Shape] = shape.members if shape is not None else {}
    label = f"{operation_model.service_model.service_name}.{operation_model.name}"
    params: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise UsageError(f"parameters are given as Name=value, got {pair!r}")
        member = _member(name, members, label)
        if member in params:
            raise UsageError(f"{member} is given twice")
        params[member] = convert_value(member, members[member], text)
    return params


def json_default(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return str(value)


def to_json_line(value: Any, *, ascii_only: bool = True) -> str:
    """One JSON line: datetimes as ISO 8601, bytes as base64, ``Decimal`` as a number."""
    return json.dumps(value, default=json_default, ensure_ascii=ascii_only, separators=(",", ":"))

"""Cheaper response parsing for one client, with the same output as botocore's own parsing.

botocore builds a parser for every response from its endpoint's parser factory, and that parser
hands every timestamp to ``botocore.utils.parse_timestamp``, which runs dateutil's general date
parser (tens of microseconds each: two thirds of a 1,000-key S3 listing page). Here:

- ``parse_timestamp`` reads the wire formats AWS sends (ISO 8601 with ``Z`` or an offset, epoch
  seconds, the RFC 822 dates of HTTP headers) directly and builds the datetime botocore would
  have built, tzinfo class and UTC offset included; anything else goes to botocore's parser.
- For S3 listings (``ListObjectsV2``, ``ListObjectVersions``, ``ListObjects``) the structures are
  read with member tables compiled once from the service model instead of being looked up again
  for every object; every case a table does not cover is handed to botocore's own method.
- ``fast_parsing`` installs both for one client by giving its endpoint a parser factory of its
  own (``client._endpoint._response_parser_factory``, the narrowest hook: botocore's session
  shares one factory among all its clients).
"""

from __future__ import annotations

import datetime
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore import parsers
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from dateutil import tz  # a dependency of botocore: its parsers build these tzinfo classes

__all__ = ["fast_parsing", "parse_timestamp"]

ClientT = TypeVar("ClientT")
# What botocore's parsers use unless told otherwise; the fallback is looked up by name at call
# time, so a test can watch it.
_BOTOCORE_DEFAULT = botocore_parse_timestamp

# -- timestamps ---------------------------------------------------------------------------------

_ISO_8601 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:Z|([+-])(\d\d):?(\d\d))",
    re.ASCII,
)
_RFC_822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d\d):(\d\d):(\d\d) GMT",
    re.ASCII,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UTC: datetime.tzinfo = tz.tzutc()  # dateutil's own tz.UTC (a singleton since 2.7)
_OFFSETS: dict[int, datetime.tzinfo] = {}
_local: tuple[tuple[Any, ...], datetime.tzinfo] | None = None


def _local_zone() -> datetime.tzinfo:
    """dateutil's ``tzlocal()`` for the process's current time zone settings (cached)."""
    global _local
    # tzlocal() reads exactly these when it is made; a time.tzset() changes them.
    key = (time.timezone, time.altzone, time.daylight, time.tzname)
    cached = _local
    if cached is None or cached[0] != key:
        cached = _local = (key, tz.tzlocal())
    return cached[1]


def _utc_zone() -> datetime.tzinfo | None:
    """The tzinfo dateutil gives a ``Z`` or ``+00:00`` time, or None where that needs dateutil.

    dateutil names such a time "UTC" and returns ``tzutc()``, unless "UTC" is one of the local
    zone's names (``TZ=UTC``, most servers): then it returns ``tzlocal()`` when that reports the
    name "UTC" for the time. Without daylight saving time it reports its first name, always.
    """
    names = time.tzname
    if "UTC" not in names:
        return _UTC
    if names[0] == "UTC" and not (time.daylight and time.altzone != time.timezone):
        return _local_zone()
    return None


def _fixed_offset(seconds: int) -> datetime.tzinfo:
    zone = _OFFSETS.get(seconds)
    if zone is None:
        zone = _OFFSETS[seconds] = tz.tzoffset(None, seconds)
    return zone


def parse_timestamp(value: Any) -> datetime.datetime:
    """Parse a timestamp from a response exactly as ``botocore.utils.parse_timestamp`` does, faster.

    Reads ISO 8601 (``2024-05-01T12:00:00.000Z``, any fraction, ``Z`` or a ``+hh:mm``/``+hhmm``
    offset), RFC 822 with ``GMT`` (HTTP headers) and epoch numbers itself; every other value, and
    every value it cannot turn into a datetime, goes to botocore's parser, which returns or raises.
    """
    kind = type(value)
    if kind is str:
        match = _ISO_8601.fullmatch(value)
        if match is not None:
            year, month, day, hour, minute, second, fraction, sign, hours, minutes = match.groups()
            zone: datetime.tzinfo | None
            if sign is None or (hours == "00" and minutes == "00"):
                zone = _utc_zone()
            elif int(hours) < 24 and int(minutes) < 60:
                offset = int(hours) * 3600 + int(minutes) * 60
                zone = _fixed_offset(-offset if sign == "-" else offset)
            else:
                zone = None
            # dateutil moves a year below 100 into the century around today's date.
            if zone is not None and year >= "0100":
                # dateutil keeps the first six digits of a fraction and drops the rest.
                micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
                try:
                    return datetime.datetime(
                        int(year),
                        int(month),
                        int(day),
                        int(hour),
                        int(minute),
                        int(second),
                        micro,
                        zone,
                    )
                except ValueError:
                    pass  # out of range: botocore raises its own error for it
        else:
            match = _RFC_822.fullmatch(value)
            if match is not None and match[3] >= "0100":
                day, month, year, hour, minute, second = match.groups()
                try:
                    return datetime.datetime(
                        int(year),
                        _MONTHS[month],
                        int(day),
                        int(hour),
                        int(minute),
                        int(second),
                        0,
                        _UTC,
                    )
                except ValueError:
                    pass
    elif kind is int or kind is float:
        try:
            return datetime.datetime.fromtimestamp(value, _local_zone())
        except (OverflowError, OSError, ValueError):
            pass  # botocore tries its other ways
    return botocore_parse_timestamp(value)


# -- S3 listing structures ------------------------------------------------------------------------

_LISTINGS = ("ListObjectsV2", "ListObjectVersions", "ListObjects")
_GENERIC, _STRING, _INTEGER, _BOOLEAN, _TIMESTAMP, _STRUCTURE, _STRUCTURES = range(7)
_SCALARS = {
    "string": _STRING,
    "integer": _INTEGER,
    "long": _INTEGER,
    "boolean": _BOOLEAN,
    "timestamp": _TIMESTAMP,
}
_KNOWN_LOCATIONS = ("header", "headers", "statusCode")
# The rest-xml methods whose behaviour the member tables reproduce, and the botocore class that
# defines each: a parser class that has another one (its own, or a botocore without it) is not
# sped up.
_REPRODUCED = (
    ("_parse_shape", parsers.ResponseParser),
    ("_handle_structure", parsers.BaseXMLResponseParser),
    ("_build_name_to_xml_node", parsers.BaseXMLResponseParser),
    ("_member_key_name", parsers.BaseXMLResponseParser),
    ("_node_tag", parsers.BaseXMLResponseParser),
    ("_handle_list", parsers.BaseRestParser),
    ("_handle_string", parsers.RestXMLParser),
    ("_handle_integer", parsers.BaseXMLResponseParser),
    ("_handle_long", parsers.BaseXMLResponseParser),
    ("_handle_boolean", parsers.BaseXMLResponseParser),
    ("_handle_timestamp", parsers.BaseXMLResponseParser),
)
_tags: dict[str, str] = {}


@dataclass(frozen=True)
class _Table:
    """How to read one structure shape: (member name, XML name, kind, member shape) in order."""

    shape: Any
    members: tuple[tuple[str, str, int, Any], ...]


def _xml_name(member: Any, name: str) -> str:
    """The element name of a structure member (botocore's ``_member_key_name``)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        listed = member.member.serialization.get("name")
        if listed is not None:
            return str(listed)
    return str(member.serialization.get("name", name))


def _kind(member: Any) -> int:
    if member.type_name == "structure":
        return _STRUCTURE
    if (
        member.type_name == "list"
        and member.serialization.get("flattened")
        and member.member.type_name == "structure"
    ):
        return _STRUCTURES
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        return _GENERIC
    return _SCALARS.get(member.type_name, _GENERIC)


def _table(shape: Any) -> _Table | None:
    """The member table of a structure, or None where botocore's own method must read it."""
    if shape.metadata.get("exception") or shape.is_tagged_union:
        return None
    members = []
    for name, member in shape.members.items():
        if member.serialization.get("location") in _KNOWN_LOCATIONS or member.serialization.get(
            "eventheader"
        ):
            continue
        if member.serialization.get("xmlAttribute"):
            return None
        members.append((name, _xml_name(member, name), _kind(member), member))
    return _Table(shape, tuple(members))


def _listing_tables(service_model: Any) -> dict[int, _Table]:
    """Member tables of every structure in the S3 listing outputs, by shape object.

    botocore makes a new shape object for every place a shape is referenced from, and hands
    the parser the ones hanging off the operation's output shape: the tables are keyed by
    those objects (each table holds its shape, so the key stays valid).
    """
    if service_model.service_name != "s3" or service_model.protocol != "rest-xml":
        return {}
    operations = set(service_model.operation_names)
    tables: dict[int, _Table] = {}
    pending: list[tuple[Any, tuple[str, ...]]] = [
        (service_model.operation_model(name).output_shape, ())
        for name in _LISTINGS
        if name in operations
    ]
    while pending:
        shape, path = pending.pop()
        if shape is None or shape.name in path:  # a recursive shape: botocore reads the rest
            continue
        path = (*path, shape.name)
        if shape.type_name == "list":
            pending.append((shape.member, path))
        elif shape.type_name == "structure":
            table = _table(shape)
            if table is not None:
                tables[id(shape)] = table
            pending.extend((member, path) for member in shape.members.values())
    return tables


class _ListingStructures:
    """Reads the structures that have a member table; botocore's method reads the rest."""

    _pagewalk_tables: dict[int, _Table]

    def _handle_structure(self, shape: Any, node: Any) -> Any:
        table = self._pagewalk_tables.get(id(shape))
        if table is None or table.shape is not shape:
            return super()._handle_structure(shape, node)  # type: ignore[misc]
        if type(node) is list:
            node = node[0]
        children: dict[str, Any] = {}
        for child in node:
            tag = child.tag
            key = _tags.get(tag)
            if key is None:
                key = self._node_tag(child)  # type: ignore[attr-defined]
                if len(_tags) < 4096:
                    _tags[tag] = key
            if key in children:
                found = children[key]
                if type(found) is list:
                    found.append(child)
                else:
                    children[key] = [found, child]
            else:
                children[key] = child
        parsed: dict[str, Any] = {}
        for name, xml_name, kind, member in table.members:
            value = children.get(xml_name)
            if value is None:
                continue
            if kind == _STRUCTURES:
                item_shape = member.member
                items = value if type(value) is list else [value]
                parsed[name] = [self._handle_structure(item_shape, item) for item in items]
            elif kind == _STRUCTURE:
                parsed[name] = self._handle_structure(member, value)
            elif kind == _GENERIC or type(value) is list:
                parsed[name] = self._parse_shape(member, value)  # type: ignore[attr-defined]
            else:
                text = value.text
                if text is None:
                    text = ""
                if kind == _STRING:
                    parsed[name] = text
                elif kind == _TIMESTAMP:
                    parsed[name] = self._timestamp_parser(text)  # type: ignore[attr-defined]
                elif kind == _INTEGER:
                    parsed[name] = int(text)
                else:
                    parsed[name] = text == "true"
        return parsed


_fast_classes: dict[type, type] = {}


def _listing_class(parser_class: type) -> type | None:
    """``parser_class`` with member tables, or None if it reads XML its own way."""
    fast = _fast_classes.get(parser_class)
    if fast is None:
        reproduced = all(
            getattr(parser_class, name, None) is vars(owner).get(name) is not None
            for name, owner in _REPRODUCED
        )
        if not reproduced or getattr(parser_class, "KNOWN_LOCATIONS", None) != _KNOWN_LOCATIONS:
            return None
        fast = _fast_classes[parser_class] = type(
            f"Fast{parser_class.__name__}", (_ListingStructures, parser_class), {}
        )
    return fast


# -- the hook -------------------------------------------------------------------------------------

_FACTORY_ATTRIBUTE = "_response_parser_factory"
_KNOWN_FACTORIES = {
    ("botocore.parsers", "ResponseParserFactory"),
    ("aiobotocore.parsers", "AioResponseParserFactory"),
}


def _botocore_timestamps(defaults: dict[str, Any]) -> bool:
    """Whether parsers made with ``defaults`` would use botocore's default timestamp parser."""
    chosen = defaults.get("timestamp_parser")
    if chosen is None:
        chosen = parsers.DEFAULT_TIMESTAMP_PARSER
    return chosen is _BOTOCORE_DEFAULT


class _FastParserFactory:
    """One client's parser factory: botocore's parser classes and defaults, faster parsing.

    Where the session's factory has been given its own timestamp parser (``set_parser_defaults``),
    or botocore's default has been replaced, it makes botocore's parsers unchanged.
    """

    def __init__(self, original: Any, service_model: Any) -> None:
        self.original = original
        self._tables = _listing_tables(service_model)
        self._classes: dict[str, type] = {}
        self._failed = False

    def __getattr__(self, name: str) -> Any:
        # Anything else a botocore asks of a parser factory is the session factory's.
        original = self.__dict__.get("original")
        if original is None:
            raise AttributeError(name)
        return getattr(original, name)

    def create_parser(self, protocol_name: str) -> Any:
        defaults = getattr(self.original, "_defaults", None)
        if self._failed or not isinstance(defaults, dict) or not _botocore_timestamps(defaults):
            return self.original.create_parser(protocol_name)
        try:
            parser_class = self._classes.get(protocol_name)
            if parser_class is None:
                parser_class = type(self.original.create_parser(protocol_name))
                if self._tables and protocol_name == "rest-xml":
                    parser_class = _listing_class(parser_class) or parser_class
                self._classes[protocol_name] = parser_class
            parser = parser_class(**{**defaults, "timestamp_parser": parse_timestamp})
        except TypeError as exc:  # a botocore whose parsers take other arguments
            self._failed = True
            warnings.warn(
                f"pagewalk.fast_parsing: cannot make a {protocol_name} parser ({exc}); "
                "this client keeps botocore's parsing",
                RuntimeWarning,
                stacklevel=2,
            )
            return self.original.create_parser(protocol_name)
        if isinstance(parser, _ListingStructures):
            parser._pagewalk_tables = self._tables
        return parser


def _unsupported(endpoint: Any) -> str | None:
    """Why this client's parser factory cannot be replaced, or None when it can."""
    # Only an attribute of the endpoint itself is replaced: not a property, not a class's.
    factory = getattr(endpoint, "__dict__", {}).get(_FACTORY_ATTRIBUTE)
    if factory is None:
        return "this botocore keeps no parser factory at client._endpoint._response_parser_factory"
    kind = type(factory)
    if (kind.__module__, kind.__qualname__) not in _KNOWN_FACTORIES:
        return f"the client's parser factory is not botocore's own ({kind.__qualname__})"
    if not isinstance(getattr(factory, "_defaults", None), dict):
        return "this botocore's parser factory keeps no parser defaults (_defaults)"
    return None


def fast_parsing(client: ClientT, enabled: bool = True) -> ClientT:
    """Make ``client``'s responses cheaper to parse, with the same output; return ``client``.

    Timestamps in the formats AWS sends are parsed without dateutil, and S3 listing pages
    (``ListObjectsV2``, ``ListObjectVersions``, ``ListObjects``) are read with tables compiled
    from the service model. Every page comes out equal to what botocore's own parsing gives: the
    same keys, types and values, datetimes with the same tzinfo and UTC offset; anything else is
    left to botocore. Only this client changes (other clients of its session keep botocore's
    parsing). Works for botocore, boto3 and aiobotocore clients.

    >>> import boto3, pagewalk
    >>> s3 = pagewalk.fast_parsing(boto3.client("s3", region_name="us-east-1"))

    Args:
        client: a botocore, boto3 or aiobotocore client.
        enabled: ``False`` gives the client botocore's parsing back.

    Returns:
        The same client. If this botocore no longer has the attribute the switch is made on,
            the client keeps botocore's parsing and a ``RuntimeWarning`` says so.

    Raises:
        TypeError: ``client`` is not a botocore client.
    """
    if getattr(getattr(client, "meta", None), "service_model", None) is None:
        raise TypeError(
            f"fast_parsing() takes a botocore, boto3 or aiobotocore client, "
            f"not {type(client).__name__}"
        )
    endpoint = getattr(client, "_endpoint", None)
    current = getattr(endpoint, _FACTORY_ATTRIBUTE, None)
    if isinstance(current, _FastParserFactory):
        if not enabled:
            setattr(endpoint, _FACTORY_ATTRIBUTE, current.original)
        return client
    if not enabled:
        return client
    problem = _unsupported(endpoint)
    if problem is not None:
        warnings.warn(
            f"pagewalk.fast_parsing: {problem}; this client keeps botocore's parsing",
            RuntimeWarning,
            stacklevel=2,
        )
        return client
    service_model = client.meta.service_model  # type: ignore[attr-defined]
    setattr(endpoint, _FACTORY_ATTRIBUTE, _FastParserFactory(current, service_model))
    return client

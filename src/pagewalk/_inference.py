"""Token mappings read from an operation's input and output shapes, for operations without one.

``infer`` applies these rules in order (the token mappings page of the documentation lists the
same rules for users; the test suite scores them against botocore's own paginators):

1. Tokens by name: input members with a page-token name, each paired with the output member of
   the same kind that answers it (``Next<Name>``, ``<Name>``, ``LastEvaluated<Name>``, ...) at the
   top level of the output, else inside its only structure member (CloudFront's
   ``DistributionList.NextMarker``), whose path then prefixes the result and the flag.
2. Tokens by position, when no name pairs and a more-results flag stands beside them:
   ``Start<X>`` or ``<X>`` answered by ``Next<X>`` (Route 53), and ``ExclusiveStart<X>`` or a
   bare ``Marker`` answered by the last result (``Shards[-1].ShardId``, ``Jobs[-1].JobId``).
3. The result, the more-results flag and the limit, read where the token was found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.model import ListShape, StructureShape

from ._spec import TokenSpec

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

__all__ = ["infer"]

# Input members that carry a continuation token. Anything else ending in "Token" (ClientToken,
# IdempotencyToken, SessionToken, AccessToken, ChangeToken, ...) is not a page token.
_TOKEN_NAMES = frozenset(
    {
        "nexttoken",
        "pagetoken",
        "nextpagetoken",
        "paginationtoken",
        "continuationtoken",
        "startingtoken",
        "pagingtoken",
        "nextcontinuationtoken",
        "nextmarker",
        "marker",
        "position",
    }
)
_NOT_A_MARKER = re.compile(
    r"(?i)(client|idempotency|session|access|auth|change|update|lock|sequence)"
)
_LIMIT_NAMES = (
    "maxresults",
    "maxrecords",
    "maxitems",
    "limit",
    "pagesize",
    "maxpagesize",
    "maximumpagesize",
    "maxkeys",
    "maxentries",
    "maxrows",
    "maxcount",
    "resultsperpage",
    "itemsperpage",
    "perpage",
)
# Numeric limits under other names, in order: MaxSearchResults, then MaxUploads or
# MaxNumberOfDomains, then ResourcesPerPage.
_LIMIT_PATTERNS = (
    re.compile(r"(?i)^max(imum)?[a-z]*(results|records|items|entries|size)$"),
    re.compile(r"(?i)^max(imum)?(numberof)?[a-z]+s$"),
    re.compile(r"(?i)^[a-z]+perpage$"),
)
# Lists that describe the results rather than being them: column descriptions, warnings,
# failures, the parameters a change set was made with.
_METADATA_LIST = re.compile(
    r"(?i)((warnings|errors|columns?|columninfo|columndescriptions|fields|definitions"
    r"|capabilities|notificationarns|tags|attributes|messages|parameters|schema)$"
    r"|^(errors?|failed|failures?|unprocessed))"
)
_MORE_RESULTS = re.compile(
    r"(?i)^(istruncated|truncated|hasmore[a-z]*|moreresults|additional[a-z]*available"
    r"|[a-z]*pending)$"
)


def _is_input_token(name: str) -> bool:
    lowered = name.lower()
    if lowered in _TOKEN_NAMES or lowered.startswith("exclusivestart"):
        return True
    return lowered.endswith("marker") and not _NOT_A_MARKER.search(name)


def _output_candidates(name: str) -> list[str]:
    """Output member names that answer input token ``name``, most likely first."""
    candidates = ["Next" + name, "next" + name[:1].upper() + name[1:], name]
    lowered = name.lower()
    if lowered == "startingtoken":
        candidates += ["NextToken", "nextToken"]
    if lowered == "marker":
        candidates += ["NextPageMarker"]
    if lowered.startswith("exclusivestart"):
        candidates += ["LastEvaluated" + name[len("ExclusiveStart") :]]
    if lowered.startswith("next"):
        candidates += [name[4:]]
    return candidates


def _shape_kind(shape: Shape) -> str:
    if shape.type_name in ("structure", "map"):
        return "object"
    if shape.type_name in ("integer", "long"):
        return "number"
    return shape.type_name


def _is_token_shape(name: str, shape: Shape) -> bool:
    # Part-number markers (S3 ListParts) are integers; every other page token is a string or a
    # structure (DynamoDB's ExclusiveStartKey).
    kind = _shape_kind(shape)
    return kind in ("string", "object") or (kind == "number" and name.lower().endswith("marker"))


def _is_limit_shape(shape: Shape) -> bool:
    # Some services model their page size as a string (Route 53 MaxItems, API Gateway v2
    # MaxResults); those are only accepted under one of the well-known limit names.
    return shape.type_name in ("integer", "long", "string")


@dataclass(frozen=True)
class _Level:
    """Output members at one depth: the top level, or inside the output's only structure."""

    prefix: str
    members: Mapping[str, Shape]

    def more_results(self) -> str | None:
        for name, shape in self.members.items():
            if shape.type_name == "boolean" and _MORE_RESULTS.match(name):
                return name
        return None


def _levels(output_members: Mapping[str, Shape]) -> list[_Level]:
    levels = [_Level("", output_members)]
    structures = [
        (name, shape) for name, shape in output_members.items() if isinstance(shape, StructureShape)
    ]
    if len(structures) == 1:
        name, shape = structures[0]
        levels.append(_Level(name + ".", shape.members))
    return levels


def _named_pairs(inputs: Mapping[str, Shape], level: _Level) -> list[tuple[str, str]]:
    """Page-token inputs paired by name with the output members that answer them."""
    by_lower = {name.lower(): name for name in level.members}
    pairs: list[tuple[str, str]] = []
    for name, shape in inputs.items():
        if not _is_input_token(name) or not _is_token_shape(name, shape):
            continue
        for candidate in _output_candidates(name):
            found = by_lower.get(candidate.lower())
            if found is not None and _shape_kind(level.members[found]) == _shape_kind(shape):
                pairs.append((name, found))
                break
    # A "NextToken" pairing beats a bare "Marker" one in operations that have both.
    strong = [pair for pair in pairs if pair[0].lower() != "marker" or len(pairs) == 1]
    return strong or pairs


def _positional_pairs(inputs: Mapping[str, Shape], level: _Level) -> list[tuple[str, str]]:
    """Tokens whose names say where a walk starts, not that they are tokens.

    These only count beside a more-results flag: ``LockToken`` -> ``NextLockToken`` (WAF) and
    ``ShardIterator`` -> ``NextShardIterator`` (a stream, not a listing) have none.
    """
    if level.more_results() is None:
        return []
    by_lower = {name.lower(): name for name in level.members}
    pairs: list[tuple[str, str]] = []
    for name, shape in inputs.items():
        if _shape_kind(shape) != "string":
            continue
        # Route 53: StartRecordName -> NextRecordName, DNSName -> NextDNSName.
        rest = name[len("Start") :] if name.lower().startswith("start") else name
        found = by_lower.get("next" + rest.lower())
        if found is not None and _shape_kind(level.members[found]) == "string":
            pairs.append((name, level.prefix + found))
            continue
        last = None
        if name.lower().startswith("exclusivestart"):
            last = _last_result(name[len("ExclusiveStart") :], level)
        elif name.lower() == "marker":
            last = _last_result(None, level)
        if last is not None:
            pairs.append((name, last))
    return pairs


def _last_result(subject: str | None, level: _Level) -> str | None:
    """The member of the last result that a walk starts after: ``Shards[-1].ShardId``.

    ``ExclusiveStart<subject>`` names it; a bare ``Marker`` of a truncated listing with no next
    marker is the last result's ``Key`` or ``<Item>Id`` (Import/Export ``Jobs[-1].JobId``).
    """
    for name, shape in level.members.items():
        if not isinstance(shape, ListShape):
            continue
        member = shape.member
        path = level.prefix + name + "[-1]"
        if subject is None:
            fields = member.members if isinstance(member, StructureShape) else {}
            for field in ("Key", name.removesuffix("s") + "Id"):
                if field in fields:
                    return f"{path}.{field}"
            continue
        if member.type_name == "string" and name.lower() == subject.lower() + "s":
            return path  # DeliveryStreamNames for ExclusiveStartDeliveryStreamName
        if not isinstance(member, StructureShape):
            continue
        by_lower = {field.lower(): field for field in member.members}
        if subject.lower() in by_lower:
            return f"{path}.{by_lower[subject.lower()]}"  # Shards[-1].ShardId
        for lowered, field in by_lower.items():
            # Tags[-1].Key for ExclusiveStartTagKey.
            head = subject[: len(subject) - len(field)]
            if subject.lower().endswith(lowered) and head and name.lower().startswith(head.lower()):
                return f"{path}.{field}"
    return None


def _limit_key(inputs: Mapping[str, Shape], result_key: str | None) -> str | None:
    limits = {name.lower(): name for name, shape in inputs.items() if _is_limit_shape(shape)}
    for candidate in _LIMIT_NAMES:
        if candidate in limits:
            return limits[candidate]
    result = (result_key or "").rsplit(".", 1)[-1].lower().removesuffix("s")
    for pattern in _LIMIT_PATTERNS:
        matches = [
            name
            for lowered, name in limits.items()
            if pattern.match(lowered) and inputs[name].type_name != "string"
        ]
        # Of maxMergeHunks and maxConflictFiles, the one that counts the "conflicts" results.
        named = [name for name in matches if result and result in name.lower()]
        if named or matches:
            return (named or matches)[0]
    return None


def _first_list(members: Mapping[str, Shape]) -> str | None:
    lists = [name for name, shape in members.items() if shape.type_name == "list"]
    # With several lists, the first one that is not metadata about the results (column
    # descriptions, warnings, failures) is the result.
    data = [name for name in lists if not _METADATA_LIST.search(name)]
    return (data or lists)[0] if lists else None


def _result_key(level: _Level, skip: set[str]) -> str | None:
    members = {name: shape for name, shape in level.members.items() if name not in skip}
    found = _first_list(members)
    if found is not None:
        return level.prefix + found
    # No list: a map of results (API Gateway GetUsage "items"), else a list inside the only
    # structure member that has one (Athena "ResultSet.Rows").
    maps = [name for name, shape in members.items() if shape.type_name == "map"]
    if maps:
        return level.prefix + maps[0]
    nested = [
        f"{level.prefix}{name}.{inner}"
        for name, shape in members.items()
        if isinstance(shape, StructureShape) and (inner := _first_list(shape.members)) is not None
    ]
    return nested[0] if len(nested) == 1 else None


def infer(operation_model: OperationModel) -> TokenSpec | None:
    """The token mapping the operation's shapes suggest, or ``None`` when it takes no page token."""
    input_shape = operation_model.input_shape
    output_shape = operation_model.output_shape
    if input_shape is None or output_shape is None:
        return None
    inputs: Mapping[str, Shape] = input_shape.members
    levels = _levels(output_shape.members)
    found: tuple[_Level, list[tuple[str, str]]] | None = None
    for level in levels:
        pairs = [(name, level.prefix + out) for name, out in _named_pairs(inputs, level)]
        if pairs:
            found = (level, pairs)
            break
    else:
        for level in levels:
            pairs = _positional_pairs(inputs, level)
            if pairs:
                found = (level, pairs)
                break
    if found is None:
        return None
    level, pairs = found
    more_results = level.more_results()
    result_key = _result_key(level, {out[len(level.prefix) :] for _, out in pairs})
    return TokenSpec(
        input_token=tuple(name for name, _ in pairs),
        output_token=tuple(out for _, out in pairs),
        result_key=result_key,
        limit_key=_limit_key(inputs, result_key),
        more_results=level.prefix + more_results if more_results else None,
        source="inferred",
    )

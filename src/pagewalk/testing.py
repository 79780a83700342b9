"""Helpers for testing code that pages through AWS: stubbed pages, injected faults, no sleeps.

- [`stub_pages()`][pagewalk.testing.stub_pages] queues a whole paginated conversation on a botocore ``Stubber``: the
  continuation tokens and the exact request parameters of every page.
- [`inject_faults()`][pagewalk.testing.inject_faults] makes a seeded fraction of a client's requests fail before they are
  sent (throttling, 503 SlowDown, 500, connection reset, read timeout), against any endpoint.
- [`no_sleep()`][pagewalk.testing.no_sleep] makes pagewalk's backoff sleeps instant and records them.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import difflib
import importlib
import json
import random
import re
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import jmespath
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.model import ListShape, MapShape, StructureShape

from . import _sleep
from ._cursor import Cursor
from ._errors import SpecError, short_repr
from ._plan import make_plan
from ._spec import TokenSpec, _operation_key

if TYPE_CHECKING:
    from botocore.model import Shape
    from botocore.stub import Stubber

__all__ = ["FAULT_KINDS", "Fault", "inject_faults", "no_sleep", "stub_pages"]


@contextlib.contextmanager
def no_sleep() -> Iterator[list[float]]:
    """Make pagewalk's backoff sleeps instant; yield the list of delays that were asked for.

    The list fills as walks run, in any thread and in async walks. Recorded delays still count
    toward ``Retry(timeout=...)`` as if they had been slept.

    >>> with no_sleep() as delays:
    ...     pass  # run a walk that hits throttling here
    >>> delays
    []

    Yields:
        The list of backoff delays (seconds) the walks asked for, in the order they asked.
    """
    delays: list[float] = []
    with _sleep._lock:
        _sleep.recorders.append(delays)
    try:
        yield delays
    finally:
        with _sleep._lock:
            _sleep.recorders.remove(delays)


# --------------------------------------------------------------------------------------------
# Operation names


def _api_name(client: Any, operation: str, argument: str) -> str:
    """The API name (``"ListObjectsV2"``) of ``operation`` given in any spelling."""
    if not isinstance(operation, str):
        raise TypeError(
            f"{argument} must be an operation name such as 'ListObjectsV2', got {short_repr(operation)}"
        )
    mapping: Mapping[str, str] = client.meta.method_to_api_mapping
    by_key = {_operation_key(api): api for api in mapping.values()}
    found = by_key.get(_operation_key(operation))
    if found is not None:
        return found
    service = client.meta.service_model.service_name
    close = difflib.get_close_matches(operation, [*mapping.values(), *mapping], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{service} has no operation {operation!r}{hint}")


def _check_client(client: Any, function: str) -> None:
    meta = getattr(client, "meta", None)
    if not (hasattr(meta, "events") and hasattr(meta, "service_model")):
        raise TypeError(
            f"{function} needs a botocore/boto3 client (boto3.client('s3')), got {type(client).__name__}"
        )


# --------------------------------------------------------------------------------------------
# Fault injection

FAULT_KINDS = ("throttle", "slowdown", "server", "reset", "timeout")
"""Every fault [`inject_faults()`][pagewalk.testing.inject_faults] can inject."""

_THROTTLE_CODES = {
    "json": "ThrottlingException",
    "rest-json": "ThrottlingException",
    "smithy-rpc-v2-cbor": "ThrottlingException",
    "query": "Throttling",
    "rest-xml": "Throttling",
    "ec2": "RequestLimitExceeded",
}
_JSON_LIKE = frozenset({"json", "rest-json", "smithy-rpc-v2-cbor"})


@dataclass(frozen=True)
class Fault:
    """One fault [`inject_faults()`][pagewalk.testing.inject_faults] injected.

    Attributes:
        kind: one of [`FAULT_KINDS`][pagewalk.testing.FAULT_KINDS].
        operation: the API name of the failed request (``"ListObjectsV2"``).
        request: the request's number among those the block considered (1-based).
        code: the error code the response carries (``"SlowDown"``); ``None`` for ``reset`` and
            ``timeout``, which raise instead of responding.
        status: the HTTP status of the error response; ``None`` for ``reset`` and ``timeout``.
    """

    kind: str
    operation: str
    request: int
    code: str | None = None
    status: int | None = None


def _error(kind: str, protocol: str) -> tuple[int, str]:
    if kind == "throttle":
        return 400, _THROTTLE_CODES[protocol]
    if kind == "slowdown":
        return 503, "SlowDown"
    return 500, "InternalServerError" if protocol in _JSON_LIKE else "InternalError"


def _cbor_text(text: str) -> bytes:
    data = text.encode("utf-8")
    size = len(data)
    if size < 24:
        head = bytes([0x60 | size])
    elif size < 0x100:
        head = bytes([0x78, size])
    elif size < 0x10000:
        head = b"\x79" + struct.pack(">H", size)
    else:
        head = b"\x7a" + struct.pack(">I", size)
    return head + data


def _cbor_map(fields: Mapping[str, str]) -> bytes:
    # The smallest CBOR encoder that error bodies need: one map of text to text.
    return bytes([0xA0 | len(fields)]) + b"".join(
        _cbor_text(key) + _cbor_text(value) for key, value in fields.items()
    )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _error_response_parts(
    protocol: str, service: str, status: int, code: str, message: str, request_id: str
) -> tuple[dict[str, str], bytes]:
    """Headers and body of an error response as ``service`` would send it in ``protocol``."""
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}, body
    if protocol == "rest-json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
        return headers, body
    if protocol == "smithy-rpc-v2-cbor":
        headers = {
            "Content-Type": "application/cbor",
            "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-RequestId": request_id,
        }
        return headers, _cbor_map({"__type": code, "message": message})
    side = "Sender" if status < 500 else "Receiver"
    message = _xml_escape(message)
    if protocol == "query":
        xml = (
            f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    elif protocol == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        )
    elif service == "s3":
        xml = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    else:
        xml = (
            f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    headers = {
        "Content-Type": "text/xml",
        "x-amzn-RequestId": request_id,
        "x-amz-request-id": request_id,
    }
    return headers, ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode()


class _Body:
    """The raw body of a canned response, readable the botocore way and the aiobotocore way."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    async def read(self, *_: Any) -> bytes:
        return self._data


def _response_class(client: Any) -> type[AWSResponse]:
    """``AWSResponse``, or aiobotocore's ``AioAWSResponse`` for an aiobotocore client."""
    if any(cls.__module__.split(".")[0] == "aiobotocore" for cls in type(client).__mro__):
        # Imported by name: aiobotocore is an optional dependency.
        module = importlib.import_module("aiobotocore.awsrequest")
        response_class: type[AWSResponse] = module.AioAWSResponse
        return response_class
    return AWSResponse


def _protocol(client: Any) -> str:
    service_model = client.meta.service_model
    # botocore picks one of a service's protocols when it builds the client (newer releases).
    return str(getattr(service_model, "resolved_protocol", None) or service_model.protocol)


def _check_kinds(kinds: Any) -> tuple[str, ...]:
    if isinstance(kinds, str):
        raise TypeError(
            f"kinds must be a tuple of fault kinds, not a string: write kinds=({short_repr(kinds)},)"
        )
    try:
        chosen = tuple(kinds)
    except TypeError:
        raise TypeError(
            f"kinds must be a tuple of fault kinds such as ('throttle',), got {short_repr(kinds)}"
        ) from None
    if not chosen:
        raise ValueError(f"kinds must name at least one fault kind of {FAULT_KINDS}")
    for kind in chosen:
        if kind not in FAULT_KINDS:
            close = difflib.get_close_matches(str(kind), FAULT_KINDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown fault kind {kind!r}: {hint}the kinds are {', '.join(FAULT_KINDS)}"
            )
    return chosen


@contextlib.contextmanager
def inject_faults(
    client: Any,
    *,
    rate: float = 0.2,
    seed: int | None = 0,
    kinds: Sequence[str] = FAULT_KINDS,
    operations: Iterable[str] | None = None,
) -> Iterator[list[Fault]]:
    """Make a seeded fraction of ``client``'s requests fail before they are sent; yield the log.

    Inside the block every request of ``client`` (of ``operations`` only, when given: API or
    Python names) fails with probability ``rate``, with one of ``kinds`` chosen at random:

    | kind | the request fails with |
    |---|---|
    | ``throttle`` | HTTP 400 ``ThrottlingException`` (``Throttling`` in query and rest-xml services, ``RequestLimitExceeded`` in EC2) |
    | ``slowdown`` | HTTP 503 ``SlowDown`` |
    | ``server`` | HTTP 500 ``InternalError`` (``InternalServerError`` in JSON and CBOR services) |
    | ``reset`` | ``botocore.exceptions.ConnectionClosedError`` |
    | ``timeout`` | ``botocore.exceptions.ReadTimeoutError`` |

    Error bodies are written in the service's own protocol, so botocore parses them into the
    ``ClientError`` a real service would cause, and botocore's own retries (if the client has
    them) see them too. A faulted request never reaches the endpoint, so this works against
    moto, LocalStack or AWS alike. The same ``seed`` and the same requests give the same faults;
    ``seed=None`` varies them from run to run. The yielded list gets one
    [`Fault`][pagewalk.testing.Fault] per injected fault. Works with aiobotocore clients too.

    >>> with inject_faults(s3, rate=0.3) as faults:  # doctest: +SKIP
    ...     keys = [obj["Key"] for obj in pagewalk.items(s3.list_objects_v2, Bucket="demo")]
    >>> faults[0]  # doctest: +SKIP
    Fault(kind='slowdown', operation='ListObjectsV2', request=2, code='SlowDown', status=503)

    Args:
        client: the botocore, boto3 or aiobotocore client whose requests fail.
        rate: the probability that a request fails, in ``[0, 1]``.
        seed: the seed of the random choices; ``None`` varies them from run to run.
        kinds: the kinds of fault to choose from, among
            [`FAULT_KINDS`][pagewalk.testing.FAULT_KINDS].
        operations: the operations whose requests may fail (API names such as
            ``"ListObjectsV2"`` or Python names such as ``"list_objects_v2"``); ``None``
            for all.

    Yields:
        The list of [`Fault`][pagewalk.testing.Fault]s injected so far, one per failed
            request, filled as requests are made.

    Raises:
        TypeError: ``client`` is not a botocore client, ``seed`` is not an int, or ``kinds``
            or ``operations`` is a single string.
        ValueError: ``rate`` is not a number in ``[0, 1]``, no kind or an unknown kind, or an
            operation the client does not have.

    Nothing is registered on the client when the arguments are refused.
    """
    _check_client(client, "inject_faults()")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(
            f"rate must be a number between 0 and 1 (the fraction of requests to fail), got {short_repr(rate)}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(
            f"seed must be an int (or None for a different schedule each run), got {short_repr(seed)}"
        )
    chosen = _check_kinds(kinds)
    wanted: frozenset[str] | None = None
    if operations is not None:
        if isinstance(operations, str):
            raise TypeError(
                f"operations must be a list of names, not a string: write operations=[{short_repr(operations)}]"
            )
        wanted = frozenset(_api_name(client, name, "operations") for name in operations)
    protocol = _protocol(client)
    service = client.meta.service_model.service_name
    if protocol not in _THROTTLE_CODES and set(chosen) & {"throttle", "slowdown", "server"}:
        raise ValueError(
            f"inject_faults() cannot write error responses in {service}'s protocol {protocol!r}; "
            "use kinds=('reset', 'timeout')"
        )
    response_class = _response_class(client)
    rng = random.Random(seed)
    lock = threading.Lock()
    log: list[Fault] = []
    seen = 0

    def before_send(request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        nonlocal seen
        operation = event_name.rsplit(".", 1)[-1]
        if wanted is not None and operation not in wanted:
            return None
        with lock:
            seen += 1
            number = seen
            roll = rng.random()
            kind = chosen[rng.randrange(len(chosen))]
        if roll >= rate:
            return None
        url = str(getattr(request, "url", ""))
        if kind in ("reset", "timeout"):
            log.append(Fault(kind, operation, number))
            if kind == "reset":
                raise ConnectionClosedError(endpoint_url=url)
            raise ReadTimeoutError(endpoint_url=url)
        status, code = _error(kind, protocol)
        log.append(Fault(kind, operation, number, code, status))
        message = f"injected by pagewalk.testing.inject_faults ({kind}, request {number})"
        headers, body = _error_response_parts(
            protocol, service, status, code, message, f"pagewalk-fault-{number:06d}"
        )
        # botocore wraps the headers in its case-insensitive HeadersDict itself.
        return response_class(url, status, cast(Any, headers), _Body(body))

    # Registered first and under the service's own name, so it runs before any other
    # before-send handler (moto's in-process mock answers there too).
    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.register_first(event, before_send)
    try:
        yield log
    finally:
        client.meta.events.unregister(event, before_send)


# --------------------------------------------------------------------------------------------
# Stubbed pages

_PLAIN_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _writable_path(expression: str) -> str | None:
    """The field an output token expression reads first (``"NextMarker || Contents[-1].Key"``
    -> ``"NextMarker"``), or ``None`` when the token is derived from the results."""
    first = expression.split("||", 1)[0].strip()
    return first if _PLAIN_PATH.fullmatch(first) else None


def _member_shape(root: Shape | None, path: str, operation: str) -> Shape:
    shape = root
    for part in path.split("."):
        members = getattr(shape, "members", None)
        if members is None or part not in members:
            raise SpecError(
                f"{operation}: the token mapping names {path!r}, which is not in the response "
                "shape; pass token_spec= with the response member that carries the token",
                operation=operation,
            )
        shape = members[part]
    assert shape is not None
    return shape


def _fake(shape: Shape, label: str, number: int, depth: int = 0) -> Any:
    """A deterministic, obviously fake value of ``shape`` (a continuation token)."""
    kind = shape.type_name
    if depth > 8:
        raise SpecError(f"cannot make up a token of the recursive shape {shape.name}")
    if kind == "string":
        enum = getattr(shape, "enum", None)
        return enum[0] if enum else label
    if kind in ("integer", "long"):
        return number
    if kind in ("float", "double"):
        return float(number)
    if kind == "boolean":
        return True
    if kind == "blob":
        return label.encode("ascii")
    if kind == "timestamp":
        return datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
            seconds=number
        )
    if isinstance(shape, ListShape):
        return [_fake(shape.member, label, number, depth + 1)]
    if isinstance(shape, MapShape):
        return {"stub-key": _fake(shape.value, label, number, depth + 1)}
    if isinstance(shape, StructureShape):
        members = shape.members
        # A union (DynamoDB's AttributeValue) takes one member: the first, usually a string.
        names = list(shape.required_members) or list(members)[:1]
        return {name: _fake(members[name], label, number, depth + 1) for name in names}
    raise SpecError(f"cannot make up a token of shape {shape.name} ({kind}); pass token_spec=")


def _set_path(response: dict[str, Any], path: str, value: Any) -> None:
    node = response
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _has_path(response: Mapping[str, Any], path: str) -> bool:
    return jmespath.search(path, response) is not None


def stub_pages(
    stubber: Stubber,
    operation: str,
    pages: Sequence[Mapping[str, Any]],
    *,
    params: Mapping[str, Any] | None = None,
    page_size: int | None = None,
    token_spec: TokenSpec | None = None,
) -> list[dict[str, Any]]:
    """Queue one ``Stubber`` response per page, chained by continuation tokens; return the tokens.

    Give the page payloads without tokens. The token mapping is resolved exactly as a walk
    would (``token_spec=``, registered mappings, botocore's paginator model, inference), and
    every page but the last gets a made-up output token (``"stub-ContinuationToken-2"``; dict,
    number and multi-part tokens follow the response shape) and, where the operation has one,
    its more-results flag (``IsTruncated``) set. Each queued response expects the request that
    should ask for it: ``params``, the input token(s) of the page before, and ``page_size``
    as the limit parameter (converted to its shape's type). For operations that end by echoing
    the token they were sent (CloudWatch Logs ``GetLogEvents``), the last page echoes it.

    The stubs describe the service, not pagewalk: botocore's own paginator and a hand-written
    loop walk them too. A request with a wrong token fails at once with ``StubAssertionError``.

    Args:
        stubber: a ``botocore.stub.Stubber`` of the client to stub.
        operation: the API name (``"ListObjectsV2"``) or Python name (``"list_objects_v2"``).
        pages: one response payload per page, in order (at least one).
        params: the request parameters every request carries (a token parameter here is the
            starting token of the first request).
        page_size: the page size the code under test asks for.
        token_spec: the token mapping, when the code under test passes one to its walk.

    Returns:
        The tokens written, one dict per page but the last, keyed by the request parameter
            that sends it back: ``[{"ContinuationToken": "stub-ContinuationToken-2"}, ...]``.

    >>> with Stubber(s3) as stubber:  # doctest: +SKIP
    ...     stub_pages(stubber, "list_objects_v2", [{"Contents": [{"Key": "a"}]},
    ...                                             {"Contents": [{"Key": "b"}]}], params={"Bucket": "demo"})
    [{'ContinuationToken': 'stub-ContinuationToken-2'}]

    Raises:
        SpecError: no token mapping, or ``page_size`` for an operation without a limit.
        ValueError: no pages, or a page that already carries a token or more-results flag.
    """
    client = getattr(stubber, "client", None)
    if client is None or not hasattr(stubber, "add_response"):
        raise TypeError(f"stub_pages() needs a botocore.stub.Stubber, got {type(stubber).__name__}")
    _check_client(client, "stub_pages()")
    if isinstance(pages, Mapping) or not all(isinstance(page, Mapping) for page in pages):
        raise TypeError("pages must be a list of response dicts, one per page")
    if not pages:
        raise ValueError("pages must hold at least one page: every walk gets at least one response")
    api_name = _api_name(client, operation, "operation")
    python_name = {api: py for py, api in client.meta.method_to_api_mapping.items()}[api_name]
    plan = make_plan(
        getattr(client, python_name),
        "pages",
        dict(params or {}),
        page_size=page_size,
        retry_policy=None,
        token_spec=token_spec,
        rate_limit=None,
        # Planned only, never walked here: a sync (botocore) or async (aiobotocore) client's
        # method alike.
        asynchronous=True,
    )
    spec, name = plan.spec, plan.operation.name
    output_shape = client.meta.service_model.operation_model(api_name).output_shape
    targets = [
        (inp, out, _writable_path(out))
        for inp, out in zip(spec.input_tokens, spec.output_tokens, strict=True)
    ]
    more_path = spec.more_results
    if more_path is not None and not _PLAIN_PATH.fullmatch(more_path):
        raise SpecError(
            f"{name}: cannot set the more_results expression {more_path!r}; pass token_spec="
        )
    for _, _, path in targets:
        if path is not None:
            _member_shape(output_shape, path, name)
    cursor = Cursor(plan)
    queued: list[tuple[dict[str, Any], dict[str, Any]]] = []
    written: list[dict[str, Any]] = []
    for index, page in enumerate(pages):
        request = cursor.next_request()
        if request is None:
            raise ValueError(
                f"{name}: the walk would end after page {index}, but {len(pages)} pages were given"
            )
        response = copy.deepcopy(dict(page))
        for path in [path for _, _, path in targets if path is not None] + [more_path or ""]:
            if path and _has_path(response, path):
                raise ValueError(
                    f"page {index + 1} already has {path!r}: leave tokens and more-results flags out, "
                    "stub_pages() writes them"
                )
        last = index == len(pages) - 1
        sent = {key: request[key] for key in spec.input_tokens if key in request}
        for input_name, _, path in targets:
            if path is None:
                continue
            if not last:
                shape = _member_shape(output_shape, path, name)
                _set_path(response, path, _fake(shape, f"stub-{input_name}-{index + 2}", index + 2))
            elif spec.stop_on_same_token and input_name in sent:
                _set_path(response, path, sent[input_name])
        if more_path:
            _set_path(response, more_path, not last)
        received = cursor.receive(response, cursor.attempt())
        if not last:
            if received.after is None:
                raise ValueError(
                    f"{name}: page {index + 1} carries no continuation token (its token is derived "
                    "from the results, which are empty); give it results"
                )
            written.append(dict(received.after.tokens))
        queued.append((response, request))
    if cursor.next_request() is not None:
        raise ValueError(
            f"{name}: a walk would not stop after the last page (its token is derived from the "
            "results and the operation has no more-results flag); end with an empty page"
        )
    for response, request in queued:
        stubber.add_response(python_name, response, request)
    return written

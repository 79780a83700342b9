"""Starting tokens of botocore's paginator and the AWS CLI, read and written.

botocore writes a paginator position as base64 of a JSON object: every input token of the
operation by name (``null`` for the first page), plus ``boto_truncate_amount`` when the walk
stopped inside a page (that many items of the page's primary result key were already seen),
plus ``boto_encoded_keys`` listing the paths of bytes values (DynamoDB ``B`` attributes),
which are base64 inside. botocore's own ``TokenEncoder``/``TokenDecoder`` read and write it;
this module only checks what they are given and what they return, since a token is untrusted
input.

A starting token holds no operation and no parameter digest. It is checked against the walk's
token mapping (its names must be exactly the mapping's input tokens) and becomes a checkpoint
of that walk.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from ._checkpoint import MAX_DEPTH, Checkpoint
from ._errors import SpecError, short_repr

if TYPE_CHECKING:
    from ._spec import Operation, TokenSpec

__all__ = [
    "TRUNCATE",
    "from_starting_token",
    "is_starting_token",
    "read_resume_from",
    "to_starting_token",
]

TRUNCATE = "boto_truncate_amount"
ENCODED = "boto_encoded_keys"


def _raw_json(text: str) -> bytes | None:
    """The JSON object bytes inside a base64 starting token, or ``None`` if it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if raw.lstrip()[:1] == b"{" else None


def _as_text(value: str | bytes | bytearray) -> str | None:
    if isinstance(value, str):
        return value
    try:
        return bytes(value).decode("ascii")
    except UnicodeDecodeError:
        return None


def is_starting_token(value: object) -> TypeGuard[str | bytes | bytearray]:
    """Whether ``value`` is text in botocore's starting-token form (base64 of a JSON object).

    A pagewalk checkpoint is JSON text, which is never valid base64 of a JSON object (it starts
    with ``{``), so the two are told apart without guessing.
    """
    if not isinstance(value, (str, bytes, bytearray)):
        return False
    text = _as_text(value)
    if text is None or text.lstrip()[:1] == "{":
        return False
    return _raw_json(text) is not None


def _decode(text: str) -> tuple[dict[str, Any], int]:
    """The token values by name and the truncate amount; ``ValueError`` when malformed."""
    raw = _raw_json(text)
    if raw is None:
        raise ValueError("it is not base64 of a JSON object")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError("its JSON is nested far too deeply") from None
    except ValueError as exc:
        raise ValueError(f"its JSON is malformed ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("it does not hold a JSON object")
    _check_depth(data, 0)
    encoded = data.get(ENCODED)
    if encoded is not None:
        _check_encoded_paths(data, encoded)
    from botocore.paginate import TokenDecoder  # botocore.paginate is slow to import

    try:
        decoded = TokenDecoder().decode(text.strip())
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"botocore cannot decode it ({type(exc).__name__}: {exc})") from None
    if not isinstance(decoded, dict):
        raise ValueError("it does not hold a JSON object")
    truncate = decoded.pop(TRUNCATE, 0)
    if isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 0:
        raise ValueError(f"{TRUNCATE} must be an integer >= 0, got {short_repr(truncate)}")
    return decoded, truncate


def _check_depth(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"its values are nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)


def _check_encoded_paths(data: Mapping[str, Any], encoded: Any) -> None:
    """Every path in ``boto_encoded_keys`` must lead to a base64 string inside the token."""
    if not isinstance(encoded, list):
        raise ValueError(f"{ENCODED} must be a list of paths")
    for path in encoded:
        if not isinstance(path, list) or not path or path[0] in (ENCODED, TRUNCATE):
            raise ValueError(f"{ENCODED} holds a malformed path {short_repr(path)}")
        node: Any = data
        for step in path:
            in_dict = isinstance(node, dict) and isinstance(step, str) and step in node
            in_list = (
                isinstance(node, list)
                and isinstance(step, int)
                and not isinstance(step, bool)
                and 0 <= step < len(node)
            )
            if not (in_dict or in_list):
                raise ValueError(f"{ENCODED} names a path that is not in the token: {path!r}")
            node = node[step]
        if not isinstance(node, str):
            raise ValueError(f"{ENCODED} names a value that is not base64 text: {path!r}")
        try:
            base64.b64decode(node, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the value at {path!r} is not base64") from None


def read_resume_from(
    value: Checkpoint | str | bytes | bytearray,
    operation: Operation,
    spec: TokenSpec,
    digest: str,
    result_key: str | None,
    segment: int | None,
) -> Checkpoint:
    """``resume_from=`` as a checkpoint: a ``Checkpoint``, its JSON text (tried first), or a
    botocore / AWS CLI starting token, which becomes a checkpoint of this walk.

    Raises:
        SpecError: neither a well-formed checkpoint nor a starting token of this operation.
        TypeError: ``value`` is neither a checkpoint nor text.
    """
    if is_starting_token(value):
        return from_starting_token(value, operation, spec, digest, result_key, segment)
    try:
        return Checkpoint.coerce(value)  # type: ignore[arg-type]
    except SpecError as exc:
        text = _as_text(value) if isinstance(value, (str, bytes, bytearray)) else None
        if text is None or text.lstrip()[:1] == "{":
            raise
        raise SpecError(
            f"{exc}, nor a botocore / AWS CLI starting token (base64 of a JSON object). A "
            "token the service returned is a request parameter: pass it as "
            f"{' / '.join(f'{name}=...' for name in spec.input_tokens)}",
            operation=operation.name,
        ) from None


def from_starting_token(
    value: str | bytes | bytearray,
    operation: Operation,
    spec: TokenSpec,
    digest: str,
    result_key: str | None,
    segment: int | None,
) -> Checkpoint:
    """The checkpoint of this walk that a botocore / AWS CLI starting token stands for.

    The token's names must be exactly the mapping's input tokens (as botocore writes them);
    ``null`` (and botocore's ``"None"``) values are not sent, as botocore does not send them.
    ``boto_truncate_amount`` becomes the checkpoint's ``skip``: it counts the primary (first)
    result key, so a walk of another result list cannot resume inside a page from it.

    Raises:
        SpecError: the token is malformed, belongs to another operation, or cannot resume
            this walk.
    """
    name = operation.name
    text = _as_text(value)
    try:
        if text is None:
            raise ValueError("it is not ASCII text")
        decoded, truncate = _decode(text)
    except ValueError as exc:
        raise SpecError(
            f"not a botocore starting token for {name}: {exc}; pass the NextToken that botocore's "
            "paginator or the AWS CLI printed, exactly as printed",
            operation=name,
        ) from None
    expected = set(spec.input_tokens)
    if set(decoded) != expected:
        found = ", ".join(sorted(decoded)) or "no token names"
        raise SpecError(
            f"this botocore starting token holds {found}, but {name} pages with "
            f"{', '.join(spec.input_tokens)}: the token belongs to another operation",
            operation=name,
        )
    tokens: dict[str, Any] = {}
    for token_name in spec.input_tokens:
        token = decoded[token_name]
        if token is None or token == "None":  # botocore sends neither
            continue
        # Its type is checked with every checkpoint's tokens, against the input shape, at the
        # call (make_plan's check_request): one check for checkpoints and starting tokens.
        tokens[token_name] = token
    primary = spec.result_keys[0] if spec.result_keys else None
    if truncate and result_key is not None and result_key != primary:
        raise SpecError(
            f"this botocore starting token stopped inside a page after {truncate} items of "
            f"{primary} (botocore counts only the first result key), so it cannot resume a walk "
            f"of {result_key}; resume without result_key=, or from a page boundary",
            operation=name,
        )
    return Checkpoint(
        operation=name,
        params_digest=digest,
        tokens=tokens,
        skip=truncate,
        segment=segment,
        result_key=result_key if result_key != primary else None,
    )


def _botocore_paging(operation: str) -> tuple[tuple[str, ...], str | None] | None:
    """botocore's paginator input tokens and primary result key for ``"service.Operation"``."""
    service, dot, api_name = operation.partition(".")
    if not dot or not service or not api_name:
        return None
    from ._spec import _paginator_config

    try:
        config = _paginator_config(service, None).get(api_name)
    except Exception:  # a name that is no botocore service (a plain callable's module)
        return None
    if not config:
        return None
    inputs = config["input_token"]
    names = tuple(inputs) if isinstance(inputs, list) else (inputs,)
    result = config.get("result_key")
    primary = result[0] if isinstance(result, list) else result
    return names, primary


def to_starting_token(checkpoint: Checkpoint) -> str:
    """The starting token botocore's paginator accepts for the position ``checkpoint`` holds.

    Raises:
        SpecError: the position cannot be written as a botocore token (a parallel scan's
            checkpoint, an operation botocore has no paginator for, a walk of another result
            list stopped inside a page, token values botocore cannot encode).
    """
    name = checkpoint.operation
    if checkpoint.total_segments is not None:
        raise SpecError(
            f"this checkpoint of a parallel scan of {name} holds {len(checkpoint.segments)} "
            "segment positions, and a botocore starting token holds one: resume the scan with "
            "parallel_pages()/parallel_items(resume_from=checkpoint), or give each segment's "
            "position (checkpoint.segments[i].to_starting_token()) to a paginator called with "
            "that segment's Segment and TotalSegments",
            operation=name,
            checkpoint=checkpoint,
        )
    if getattr(checkpoint, "key_range", None) is not None:
        raise SpecError(
            f"this checkpoint is one key range of a parallel listing of {name}: a botocore "
            "paginator would list past the range's end; resume it with pagewalk",
            operation=name,
            checkpoint=checkpoint,
        )
    paging = _botocore_paging(name)
    if paging is None:
        raise SpecError(
            f"botocore has no paginator for {name}, so no botocore starting token can resume "
            "it; keep checkpoint.to_json() instead",
            operation=name,
            checkpoint=checkpoint,
        )
    names, primary = paging
    unknown = sorted(set(checkpoint.tokens) - set(names))
    if unknown:
        raise SpecError(
            f"this checkpoint of {name} holds {', '.join(unknown)}, which botocore's paginator "
            f"does not take (it pages with {', '.join(names)}); keep checkpoint.to_json() instead",
            operation=name,
            checkpoint=checkpoint,
        )
    if checkpoint.skip and checkpoint.result_key not in (None, primary):
        raise SpecError(
            f"this checkpoint of {name} stopped inside a page after {checkpoint.skip} items of "
            f"{checkpoint.result_key}, and a botocore starting token can only skip items of "
            f"{primary}; resume with pagewalk from checkpoint.to_json() instead",
            operation=name,
            checkpoint=checkpoint,
        )
    token: dict[str, Any] = {key: _plain(checkpoint.tokens.get(key)) for key in names}
    if checkpoint.skip:
        token[TRUNCATE] = checkpoint.skip
    from botocore.paginate import TokenEncoder  # botocore.paginate is slow to import

    try:
        return str(TokenEncoder().encode(token))
    except (TypeError, ValueError) as exc:
        raise SpecError(
            f"this checkpoint of {name} holds a token value botocore cannot write into a "
            f"starting token ({exc}); keep checkpoint.to_json() instead",
            operation=name,
            checkpoint=checkpoint,
        ) from None


def _plain(value: Any) -> Any:
    """``value`` with bytes-like values (``bytearray``, boto3's ``Binary``) as ``bytes``, the one
    kind botocore's ``TokenEncoder`` encodes."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    inner = getattr(value, "value", None)
    if not isinstance(value, (str, bytes, int, float)) and isinstance(inner, (bytes, bytearray)):
        return bytes(inner)
    return value

"""Token mappings: what to send back, what came back, where the results are.

A [`TokenSpec`][pagewalk.TokenSpec] uses botocore's paginator vocabulary. ``resolve()`` finds the mapping for a
client method in this order: an explicit ``token_spec=`` argument, a [`register()`][pagewalk.register]-ed mapping
(users' over the built-in quirks), botocore's own paginator model, then inference from the
operation's input and output shapes.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import jmespath
from botocore.exceptions import DataNotFoundError, UnknownServiceError

from ._errors import SpecError, short_repr

if TYPE_CHECKING:
    from botocore.loaders import Loader
    from botocore.model import OperationModel, ServiceModel, Shape

__all__ = ["Operation", "TokenSpec", "register", "resolve", "spec_for", "unregister"]

Source = Literal["argument", "registry", "botocore", "inferred"]


def _as_tuple(value: str | tuple[str, ...] | list[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(part, str) and part for part in parts):
        raise SpecError(
            f"TokenSpec.{what} must be a non-empty string or a tuple of them, got {short_repr(value)}"
        )
    return parts


def _compile(expression: str, what: str) -> Any:
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise SpecError(
            f"TokenSpec.{what} {expression!r} is not a valid JMESPath expression: {exc}"
        ) from exc


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class TokenSpec:
    """How an operation pages: the token it takes, the token it returns, where its results are.

    Args:
        input_token: request parameter(s) that carry the continuation token. A tuple for
            multi-part tokens (S3 ``ListObjectVersions``: ``("KeyMarker", "VersionIdMarker")``).
        output_token: response member(s) or JMESPath expression(s) holding the next token, one per
            ``input_token`` (``"NextMarker || Contents[-1].Key"``).
        result_key: JMESPath expression(s) of the result list(s); the first one is what
            ``items()`` yields and ``max_items`` counts.
        limit_key: the request parameter that sets the page size (``page_size=``).
        more_results: JMESPath expression that is true while more pages exist (``IsTruncated``).
        stop_on_same_token: the service echoing the token it was sent means the end
            (CloudWatch Logs ``GetLogEvents``) instead of a token loop.

        source: where a resolved mapping came from: ``"argument"``, ``"registry"``,
            ``"botocore"`` or ``"inferred"``. Resolution fills it in
            ([`spec_for`][pagewalk.spec_for], or the walk itself); a mapping you build
            yourself need not set it.

    Raises:
        SpecError: a field of the wrong type, no input token, not one output token per input
            token, a name that is not a request parameter name, or an expression that is not
            valid JMESPath.

    >>> TokenSpec("NextToken", "NextToken", result_key="Items", limit_key="MaxResults")
    TokenSpec(input_token='NextToken', output_token='NextToken', result_key='Items', limit_key='MaxResults', more_results=None, stop_on_same_token=False, source=None)
    """

    input_token: str | tuple[str, ...]
    output_token: str | tuple[str, ...]
    result_key: str | tuple[str, ...] | None = None
    limit_key: str | None = None
    more_results: str | None = None
    stop_on_same_token: bool = False
    source: Source | None = field(default=None, compare=False)
    _compiled: tuple[Any, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for what in ("input_token", "output_token", "result_key"):
            value = getattr(self, what)
            if value is not None and not isinstance(value, (str, tuple, list)):
                raise SpecError(
                    f"TokenSpec.{what} must be a string or a tuple of strings, got "
                    f"{type(value).__name__} {short_repr(value)}"
                )
        if not isinstance(self.stop_on_same_token, bool):
            raise SpecError(
                "TokenSpec.stop_on_same_token must be True or False, got "
                f"{type(self.stop_on_same_token).__name__} {short_repr(self.stop_on_same_token)}"
            )
        inputs = _as_tuple(self.input_token, "input_token")
        outputs = _as_tuple(self.output_token, "output_token")
        results = _as_tuple(self.result_key, "result_key")
        if not inputs:
            raise SpecError("TokenSpec.input_token must name at least one request parameter")
        if len(inputs) != len(outputs):
            raise SpecError(
                f"TokenSpec needs one output_token per input_token: {len(inputs)} input(s) "
                f"{inputs} but {len(outputs)} output(s) {outputs}"
            )
        for name in inputs:
            if not _IDENTIFIER.fullmatch(name):
                raise SpecError(
                    f"TokenSpec.input_token {short_repr(name)} must be a request parameter name"
                )
        if self.limit_key is not None and not (
            isinstance(self.limit_key, str) and _IDENTIFIER.fullmatch(self.limit_key)
        ):
            raise SpecError(
                f"TokenSpec.limit_key must be a request parameter name (a string), got "
                f"{short_repr(self.limit_key)}"
            )
        if self.more_results is not None and not isinstance(self.more_results, str):
            raise SpecError(
                f"TokenSpec.more_results must be a string, got {short_repr(self.more_results)}"
            )
        # Normalise lists to tuples so that specs compare and hash by value.
        object.__setattr__(self, "input_token", inputs[0] if len(inputs) == 1 else inputs)
        object.__setattr__(self, "output_token", outputs[0] if len(outputs) == 1 else outputs)
        if results:
            object.__setattr__(self, "result_key", results[0] if len(results) == 1 else results)
        compiled = (
            tuple(_compile(expr, "output_token") for expr in outputs),
            tuple(_compile(expr, "result_key") for expr in results),
            _compile(self.more_results, "more_results") if self.more_results else None,
        )
        object.__setattr__(self, "_compiled", compiled)

    @property
    def input_tokens(self) -> tuple[str, ...]:
        """The input token parameter names, always as a tuple."""
        return _as_tuple(self.input_token, "input_token")

    @property
    def output_tokens(self) -> tuple[str, ...]:
        """The output token expressions, always as a tuple."""
        return _as_tuple(self.output_token, "output_token")

    @property
    def result_keys(self) -> tuple[str, ...]:
        """The result key expressions, always as a tuple (empty when there is none)."""
        return _as_tuple(self.result_key, "result_key")

    def _with_source(self, source: Source) -> TokenSpec:
        return self if self.source == source else replace(self, source=source)

    def to_dict(self) -> dict[str, Any]:
        """The mapping in botocore's paginator JSON form, plus pagewalk's own fields."""

        def form(value: str | tuple[str, ...] | None) -> str | list[str] | None:
            return list(value) if isinstance(value, tuple) else value

        return {
            "input_token": form(self.input_token),
            "output_token": form(self.output_token),
            "result_key": form(self.result_key),
            "limit_key": self.limit_key,
            "more_results": self.more_results,
            "stop_on_same_token": self.stop_on_same_token,
            "source": self.source,
        }


# --------------------------------------------------------------------------------------------
# Registry


def _operation_key(operation: str) -> str:
    # "GetLogEvents", "get_log_events" and "get-log-events" are the same operation.
    return re.sub(r"[^a-z0-9]", "", operation.lower())


_lock = threading.Lock()
_user_registry: dict[tuple[str, str], TokenSpec] = {}
_builtin_registry: dict[tuple[str, str], TokenSpec] = {}
_registry_version = 0


def _check_names(service: str, operation: str) -> tuple[str, str]:
    if not isinstance(service, str) or not service:
        raise TypeError(
            f"service must be a botocore service name such as 'logs', got {short_repr(service)}"
        )
    if not isinstance(operation, str) or not _operation_key(operation):
        raise TypeError(
            f"operation must be an operation name such as 'GetLogEvents', got {short_repr(operation)}"
        )
    return service.lower(), _operation_key(operation)


def register(service: str, operation: str, spec: TokenSpec) -> None:
    """Use ``spec`` for every walk of ``service``'s ``operation`` from now on.

    A registered mapping wins over the built-in ones, over botocore's paginator model and over
    inference; only an explicit ``token_spec=`` argument beats it. It applies in this process,
    to every thread, until [`unregister`][pagewalk.unregister] removes it.

    Args:
        service: botocore's service name (``"logs"``, ``"s3"``).
        operation: the API name (``"GetLogEvents"``) or the Python method name
            (``"get_log_events"``).
        spec: the token mapping.

    Raises:
        TypeError: ``spec`` is not a [`TokenSpec`][pagewalk.TokenSpec], or an empty name.
    """
    if not isinstance(spec, TokenSpec):
        raise TypeError(f"spec must be a pagewalk.TokenSpec, got {type(spec).__name__}")
    key = _check_names(service, operation)
    global _registry_version
    with _lock:
        _user_registry[key] = spec._with_source("registry")
        _registry_version += 1


def unregister(service: str, operation: str) -> bool:
    """Forget a mapping given to [`register()`][pagewalk.register].

    Built-in mappings cannot be removed: register your own over them instead.

    Args:
        service: botocore's service name, as given to [`register`][pagewalk.register].
        operation: the API name or the Python method name.

    Returns:
        Whether there was a registered mapping to forget.

    Raises:
        TypeError: an empty name.
    """
    key = _check_names(service, operation)
    global _registry_version
    with _lock:
        removed = _user_registry.pop(key, None) is not None
        _registry_version += 1
    return removed


def _builtin(service: str, operation: str, spec: TokenSpec) -> None:
    _builtin_registry[(service, _operation_key(operation))] = spec._with_source("registry")


# The service echoes the token it was given once the stream is exhausted; botocore has no
# paginator for these, and inference would pair nextToken with no output member at all.
_builtin(
    "logs",
    "GetLogEvents",
    TokenSpec("nextToken", "nextForwardToken", "events", "limit", stop_on_same_token=True),
)
_builtin(
    "lightsail",
    "GetRelationalDatabaseLogEvents",
    TokenSpec("pageToken", "nextForwardToken", "resourceLogEvents", stop_on_same_token=True),
)


# --------------------------------------------------------------------------------------------
# botocore's paginator model


@functools.lru_cache(maxsize=1)
def _loader() -> Loader:
    from botocore.loaders import create_loader  # slow to import; a walk with a client has it

    return create_loader()


@functools.lru_cache(maxsize=512)
def _paginator_config(service: str, api_version: str | None) -> Mapping[str, Any]:
    try:
        model = _loader().load_service_model(service, "paginators-1", api_version)
    except (DataNotFoundError, UnknownServiceError):
        return {}
    pagination: Mapping[str, Any] = model.get("pagination", {})
    return pagination


def _from_botocore(service_model: ServiceModel, operation: str) -> TokenSpec | None:
    config = _paginator_config(service_model.service_name, service_model.api_version).get(operation)
    if not config:
        return None
    return TokenSpec(
        input_token=_as_tuple(config["input_token"], "input_token"),
        output_token=_as_tuple(config["output_token"], "output_token"),
        result_key=_as_tuple(config.get("result_key"), "result_key") or None,
        limit_key=config.get("limit_key"),
        more_results=config.get("more_results"),
        source="botocore",
    )


# --------------------------------------------------------------------------------------------
# Resolution


class Operation(NamedTuple):
    """What pagewalk knows about the callable it walks (a named tuple: cheaper to define at
    import than a dataclass)."""

    name: str
    """``"s3.ListObjectsV2"`` for botocore client methods, else the callable's qualified name."""
    service: str | None
    api_name: str | None
    operation_model: OperationModel | None

    def input_member(self, name: str) -> Shape | None:
        """The input shape member ``name``, or ``None`` when unknown."""
        if self.operation_model is None or self.operation_model.input_shape is None:
            return None
        member: Shape | None = self.operation_model.input_shape.members.get(name)
        return member


def describe(method: Callable[..., Any]) -> Operation:
    """Identify the botocore operation behind ``method`` (client or resource method)."""
    owner = getattr(method, "__self__", None)
    meta = getattr(owner, "meta", None)
    client_meta = getattr(getattr(meta, "client", None), "meta", None) or meta
    service_model = getattr(client_meta, "service_model", None)
    py_name = getattr(method, "__name__", None)
    mapping = getattr(client_meta, "method_to_api_mapping", None)
    if service_model is not None and isinstance(mapping, Mapping) and py_name in mapping:
        api_name = mapping[py_name]
        service = service_model.service_name
        return Operation(
            name=f"{service}.{api_name}",
            service=service,
            api_name=api_name,
            operation_model=service_model.operation_model(api_name),
        )
    return Operation(name=callable_name(method), service=None, api_name=None, operation_model=None)


def callable_name(method: Callable[..., Any]) -> str:
    """A plain callable's stable identity: ``module.qualified_name``, the same in every process.

    A ``functools.partial`` is named after the function it wraps (however deeply), a callable
    object after its class; never after ``repr()``, which holds a memory address.
    """
    target: Any = method
    while isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    if not isinstance(name, str):
        target = type(target)  # a callable object: its class is what stays the same
        name = target.__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{name}" if isinstance(module, str) and module else name


_resolved: dict[tuple[str, str | None, str, int], TokenSpec | None] = {}


def _resolve_model(service_model: ServiceModel, api_name: str) -> TokenSpec | None:
    service = service_model.service_name
    # The registry version is part of the key: a register() call invalidates earlier answers.
    cache_key = (service, service_model.api_version, api_name, _registry_version)
    if cache_key in _resolved:
        return _resolved[cache_key]
    key = (service, _operation_key(api_name))
    spec = _user_registry.get(key) or _builtin_registry.get(key)
    if spec is None:
        spec = _from_botocore(service_model, api_name)
    if spec is None:
        from ._inference import infer  # imports this module: loaded on first use

        spec = infer(service_model.operation_model(api_name))
    if len(_resolved) > 4096:
        _resolved.clear()
    _resolved[cache_key] = spec
    return spec


def resolve(
    method: Callable[..., Any], token_spec: TokenSpec | None = None
) -> tuple[Operation, TokenSpec]:
    """The operation behind ``method`` and the mapping to walk it with.

    Raises:
        SpecError: no mapping could be found; the message points at ``token_spec=``.
    """
    if not callable(method):
        raise TypeError(
            f"pagewalk walks a client method such as s3.list_objects_v2, got {short_repr(method)}"
        )
    operation = describe(method)
    if token_spec is not None:
        if not isinstance(token_spec, TokenSpec):
            raise TypeError(
                f"token_spec must be a pagewalk.TokenSpec, got {type(token_spec).__name__}"
            )
        return operation, token_spec._with_source("argument")
    spec = None
    if operation.operation_model is not None and operation.api_name is not None:
        spec = _resolve_model(operation.operation_model.service_model, operation.api_name)
    elif operation.service is None:
        raise SpecError(
            f"{operation.name} is not a botocore client method, so pagewalk cannot look up how it "
            "pages: pass token_spec=pagewalk.TokenSpec(input_token=..., output_token=...)",
            operation=operation.name,
        )
    if spec is None:
        raise SpecError(
            f"{operation.name} takes no continuation token that pagewalk knows of (no registered "
            "mapping, no botocore paginator, and none could be inferred from the service model). "
            "If it does page, pass token_spec=pagewalk.TokenSpec(input_token=..., "
            "output_token=...) or pagewalk.register() a mapping for it.",
            operation=operation.name,
        )
    return operation, spec


def spec_for(method: Callable[..., Any]) -> TokenSpec:
    """The token mapping a walk of ``method`` would use; ``spec.source`` says where it came from.

    Resolution order: a [`register`][pagewalk.register]-ed mapping (yours over the built-in
    ones), botocore's paginator model, then inference from the operation's input and output
    shapes. A walk's ``token_spec=`` argument beats them all.

    Args:
        method: a bound method of a boto3 or botocore client (``s3.list_objects_v2``).

    Returns:
        The resolved [`TokenSpec`][pagewalk.TokenSpec], with ``source`` set.

    >>> import boto3
    >>> s3 = boto3.client("s3", region_name="us-east-1")
    >>> spec = spec_for(s3.list_objects_v2)
    >>> spec.input_token, spec.output_token, spec.source
    ('ContinuationToken', 'NextContinuationToken', 'botocore')

    Raises:
        SpecError: the operation takes no continuation token pagewalk can find.
    """
    return resolve(method)[1]

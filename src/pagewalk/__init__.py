"""pagewalk: walk every page of any AWS API call.

>>> import pagewalk
>>> sorted(pagewalk.__all__)[:3]
['AsyncWalk', 'Checkpoint', 'PageInfo']

The synchronous walk is imported with the package; the async driver, parallel scans, shards and
[`pagewalk.testing`][pagewalk.testing] load on first use (``pagewalk.apages`` imports ``asyncio``
then), so a script or the command line that never uses them does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._checkpoint import Checkpoint
from ._cursor import PageInfo, WalkStats
from ._errors import PagewalkError, SpecError, TokenLoopError
from ._pacing import RateLimit
from ._retry import Retry, is_retryable
from ._spec import TokenSpec, register, spec_for, unregister
from ._version import __version__
from ._walk import Walk, items, pages

if TYPE_CHECKING:
    # What _LAZY loads on first use, seen eagerly by type checkers, IDEs and mkdocstrings.
    from . import testing as testing
    from ._async import AsyncWalk, aitems, apages
    from ._fastparse import fast_parsing
    from ._parallel import parallel_items, parallel_pages
    from ._shards import Shard, shards

__all__ = [
    "AsyncWalk",
    "Checkpoint",
    "PageInfo",
    "PagewalkError",
    "RateLimit",
    "Retry",
    "Shard",
    "SpecError",
    "TokenLoopError",
    "TokenSpec",
    "Walk",
    "WalkStats",
    "__version__",
    "aitems",
    "apages",
    "fast_parsing",
    "is_retryable",
    "items",
    "pages",
    "parallel_items",
    "parallel_pages",
    "register",
    "shards",
    "spec_for",
    "unregister",
]

# Public names imported on first access (PEP 562): name -> the module that defines it. A module
# named by itself ("testing": "testing") is a submodule reached as an attribute.
_LAZY: dict[str, str] = {
    "AsyncWalk": "_async",
    "Shard": "_shards",
    "aitems": "_async",
    "apages": "_async",
    "fast_parsing": "_fastparse",
    "parallel_items": "_parallel",
    "parallel_pages": "_parallel",
    "shards": "_shards",
    "testing": "testing",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    module = import_module(f"{__name__}.{module_name}")
    value = module if module_name == name else getattr(module, name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_LAZY})

"""pagewalk: walk every page of any AWS API call.

>>> import pagewalk
>>> sorted(pagewalk.__all__)[:3]
['AsyncWalk', 'Checkpoint', 'PageInfo']
"""

from ._async import AsyncWalk, aitems, apages
from ._checkpoint import Checkpoint
from ._cursor import PageInfo, WalkStats
from ._errors import PagewalkError, SpecError, TokenLoopError
from ._parallel import parallel_items, parallel_pages
from ._retry import Retry, is_retryable
from ._shards import Shard, shards
from ._spec import TokenSpec, register, spec_for, unregister
from ._version import __version__
from ._walk import Walk, items, pages

__all__ = [
    "AsyncWalk",
    "Checkpoint",
    "PageInfo",
    "PagewalkError",
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

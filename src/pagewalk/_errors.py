"""pagewalk's own exceptions.

Errors raised by the service or by botocore (``ClientError``, ``EndpointConnectionError``, ...)
are never wrapped: they propagate unchanged once pagewalk's retries are exhausted. pagewalk
raises only these::

    PagewalkError                  base class; carries operation and checkpoint
    ├── SpecError (ValueError)     no or invalid token mapping, unusable option, bad checkpoint
    └── TokenLoopError (RuntimeError)
                                   the service sent back a token this walk had already sent
"""

from __future__ import annotations

import reprlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._checkpoint import Checkpoint

__all__ = ["PagewalkError", "SpecError", "TokenLoopError", "short_repr"]

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 2


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened to fit in one line of an error message.

    A user may pass anything where pagewalk expected an option or a method (a 50,000-item
    response dict, say); an error message quotes at most a glimpse of it.
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a broken __repr__ must not replace the error being reported
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 120 else text[:117] + "..."


class PagewalkError(Exception):
    """Base class of every exception pagewalk raises itself.

    Attributes:
        operation: the operation being walked (``"s3.ListObjectsV2"``), when known.
        checkpoint: where the walk can continue from, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.checkpoint = checkpoint


class SpecError(PagewalkError, ValueError):
    """No usable token mapping, an option the operation cannot honour, or a checkpoint that does
    not belong to this walk."""


class TokenLoopError(PagewalkError, RuntimeError):
    """The service returned a continuation token that this walk had already sent.

    Following it would repeat pages forever. If the operation signals its end by echoing the
    token it was given (CloudWatch Logs ``GetLogEvents``), use a ``TokenSpec`` with
    ``stop_on_same_token=True``.
    """

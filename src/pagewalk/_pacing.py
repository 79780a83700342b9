"""Pacing: a token bucket every request of a walk passes through (no I/O: it says how long to wait).

This module holds the [`RateLimit`][pagewalk.RateLimit] value and how ``rate_limit=`` is read. The limiter's
schedule (token bucket, adaptive control) is added here; drivers only do the waiting.
"""

from __future__ import annotations

import math
from typing import Any, Final

__all__ = ["PER_WALK", "RateLimit", "coerce_rate_limit"]


class RateLimit:
    """Pace requests to stay under a rate limit: ``burst`` at once, refilled at ``per_second``.

    Args:
        per_second: requests per second; ``None`` means unlimited until the first throttling
            error (with ``adaptive=True``).
        burst: how many requests may go out at once.
        adaptive: lower the rate on throttling errors and raise it again gradually on success.

    Raises:
        ValueError: ``per_second`` is not a finite number above 0, or ``burst`` is below 1.
    """

    def __init__(
        self, per_second: float | None = None, *, burst: int = 1, adaptive: bool = True
    ) -> None:
        if per_second is not None:
            if isinstance(per_second, bool) or not isinstance(per_second, (int, float)):
                raise TypeError(
                    f"RateLimit(per_second=...) must be a number or None, got "
                    f"{type(per_second).__name__}"
                )
            if not math.isfinite(per_second) or per_second <= 0:
                raise ValueError(
                    f"RateLimit(per_second=...) must be a finite number above 0, got {per_second!r}"
                )
        if isinstance(burst, bool) or not isinstance(burst, int):
            raise TypeError(f"RateLimit(burst=...) must be an int >= 1, got {type(burst).__name__}")
        if burst < 1:
            raise ValueError(f"RateLimit(burst=...) must be an int >= 1, got {burst!r}")
        self.per_second = None if per_second is None else float(per_second)
        self.burst = burst
        self.adaptive = bool(adaptive)

    def __repr__(self) -> str:
        return (
            f"RateLimit(per_second={self.per_second!r}, burst={self.burst}, "
            f"adaptive={self.adaptive})"
        )


class _PerWalk(RateLimit):
    """The default of ``rate_limit=``: a marker, never a limiter itself."""

    def __repr__(self) -> str:
        return "RateLimit()"


PER_WALK: Final[RateLimit] = _PerWalk()
"""The default of ``rate_limit=``: each walk makes its own adaptive [`RateLimit`][pagewalk.RateLimit].

Shown as ``RateLimit()`` in signatures; ``coerce_rate_limit()`` replaces it by a new one."""


def coerce_rate_limit(value: Any) -> RateLimit | None:
    """What ``rate_limit=`` asks for: a [`RateLimit`][pagewalk.RateLimit] (shared as given), a new one for a
    number, a new adaptive one for the default, or ``None`` (no pacing).

    Raises:
        TypeError: ``value`` is of another type.
        ValueError: a number that is not a valid rate.
    """
    if value is PER_WALK:
        return RateLimit()
    if value is None or isinstance(value, RateLimit):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return RateLimit(per_second=value)
    raise TypeError(
        "rate_limit must be a pagewalk.RateLimit, a number of requests per second, or None, "
        f"got {type(value).__name__}"
    )

"""Helpers for testing code that pages through AWS: stubbed pages, injected faults, no sleeps."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from . import _sleep

__all__ = ["no_sleep"]


@contextlib.contextmanager
def no_sleep() -> Iterator[list[float]]:
    """Make pagewalk's backoff sleeps instant; yield the list of delays that were asked for.

    The list fills as walks run, in any thread and in async walks. Recorded delays still count
    toward ``Retry(timeout=...)`` as if they had been slept.

    >>> with no_sleep() as delays:
    ...     pass  # run a walk that hits throttling here
    >>> delays
    []
    """
    delays: list[float] = []
    with _sleep._lock:
        _sleep.recorders.append(delays)
    try:
        yield delays
    finally:
        with _sleep._lock:
            _sleep.recorders.remove(delays)

"""Backoff sleeps, and the switch that [`no_sleep()`][pagewalk.testing.no_sleep] flips.

While any ``no_sleep()`` block is active (in any thread), backoff sleeps return at once and each
requested delay is appended to every active recorder. Pacing waits (run through ``pacing()``)
return at once too but are not recorded: the recorders list backoff delays. Either way the time
skipped is added to ``clock()``, so the rate limiter sees the time pass as if it had been slept.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Awaitable, Callable

__all__ = [
    "apacing",
    "asleep",
    "clock",
    "pacing",
    "record_instant",
    "recorders",
    "sleep",
    "sleep_unless",
]

_lock = threading.Lock()
recorders: list[list[float]] = []
_skipped = 0.0
_pacing: contextvars.ContextVar[bool] = contextvars.ContextVar("pagewalk_pacing", default=False)


def clock() -> float:
    """``time.monotonic()`` plus every wait that ``no_sleep()`` skipped: the limiter's clock."""
    return time.monotonic() + _skipped


def record_instant(delay: float) -> bool:
    global _skipped
    with _lock:
        if not recorders:
            return False
        _skipped += delay
        if not _pacing.get():
            for recorder in recorders:
                recorder.append(delay)
        return True


def pacing(sleep: Callable[[float], float], delay: float) -> float:
    """Wait for the rate limiter with the driver's ``sleep``; return the seconds that passed."""
    token = _pacing.set(True)
    try:
        return sleep(delay)
    finally:
        _pacing.reset(token)


async def apacing(sleep: Callable[[float], Awaitable[float]], delay: float) -> float:
    """The async twin of ``pacing()``."""
    token = _pacing.set(True)
    try:
        return await sleep(delay)
    finally:
        _pacing.reset(token)


def sleep(delay: float) -> float:
    """Wait ``delay`` seconds (interruptible by Ctrl-C); return the seconds that really passed."""
    if record_instant(delay):
        return 0.0
    started = time.monotonic()
    time.sleep(delay)
    return time.monotonic() - started


def sleep_unless(stop: threading.Event, delay: float) -> float:
    """Wait ``delay`` seconds or until ``stop`` is set; return the seconds that really passed.

    For background threads (prefetch, parallel workers) that must end promptly when the walk is
    closed.
    """
    if record_instant(delay):
        return 0.0
    started = time.monotonic()
    stop.wait(delay)
    return time.monotonic() - started


async def asleep(delay: float) -> float:
    """Wait ``delay`` seconds without blocking the event loop; return the seconds that passed."""
    import asyncio  # here, not at the top: `import pagewalk` must not load asyncio

    if record_instant(delay):
        await asyncio.sleep(0)
        return 0.0
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(delay)
    return loop.time() - started

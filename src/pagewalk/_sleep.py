"""Backoff sleeps, and the switch that [`no_sleep()`][pagewalk.testing.no_sleep] flips.

While any ``no_sleep()`` block is active (in any thread), backoff sleeps return at once and each
requested delay is appended to every active recorder.
"""

from __future__ import annotations

import threading
import time

__all__ = ["asleep", "record_instant", "recorders", "sleep", "sleep_unless"]

_lock = threading.Lock()
recorders: list[list[float]] = []


def record_instant(delay: float) -> bool:
    with _lock:
        if not recorders:
            return False
        for recorder in recorders:
            recorder.append(delay)
        return True


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

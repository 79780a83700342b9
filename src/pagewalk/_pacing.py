"""Pacing: a token bucket every request of a walk passes through (no I/O: it says how long to wait).

[`RateLimit`][pagewalk.RateLimit] is a sans-IO limiter in the style of the retry schedule in
``_retry.py``: drivers ask it how long to wait before each request (first tries and retries),
do the waiting themselves (``time.sleep``, a stop-aware wait, ``asyncio.sleep``), and report
each answer back. Every method takes the time from the caller, so the schedule can be tested
with a fake clock, and one limiter can be shared by threads and asyncio tasks: its lock is held
for the arithmetic only, never across a wait. Waits are reservations (the slot is taken when
the wait is handed out), so two waiters never both take the same token.

The bucket is kept as a "theoretical arrival time" (GCRA): one number, ``_tat``, the time at
which the bucket would have given out every token reserved so far; a request may go at
``_tat - (burst - 1) / rate``.

Adaptive control follows botocore's adaptive retry mode (``botocore/retries/adaptive.py``),
reusing its CUBIC calculator (``botocore/retries/throttling.py``): a throttling error cuts the
rate below the rate requests were really being sent at (0.8 times the send rate, or the rate the
service accepted when that is lower: far above a quota most requests are throttled and the
accepted rate is the quota), and the rate then grows back on CUBIC's own clock (concave up to
the rate that was throttled, convex beyond it), never above ``per_second``. These changes keep
it from collapsing where botocore's does:

- one cut per round: a throttled request that was sent before the last cut says nothing about
  the new rate (eight segments throttled at once cut once, not eight times);
- cut after cut without a clean stretch between needs twice the evidence each time (answers to
  requests sent since the last cut), so throttles that do not depend on the rate cannot cut it
  again and again;
- a floor: the rate is never cut below half of the best rate the service has accepted over a
  two-second window in the last half minute or so (a decaying peak), and at least 0.5 per
  second, so throttles that are not about the rate (injected faults, a partition's hiccup)
  cannot drive it to nothing, while a quota that really shrinks pulls the floor down with it;
- slow start while the quota is unknown: requests that overlap one in flight are spaced as in
  TCP's slow start (a window that grows by one request per success, so it doubles per round
  trip), so the first burst of a parallel scan does not arrive all at once (two at once before
  any answer); once an answer has measured the round trip, the window is at least ten (TCP's
  initial window since RFC 6928) and goes back to back, as TCP sends it, so a scan or listing
  the service does not throttle runs at full concurrency from its second round trip; a
  sequential walk never overlaps and never waits.
"""

from __future__ import annotations

import collections
import math
import threading
from typing import Any, Final, NamedTuple

from botocore.retries.throttling import CubicCalculator

__all__ = [
    "PER_WALK",
    "DocumentedQuota",
    "RateLimit",
    "coerce_rate_limit",
    "default_rate_limit",
    "documented_quota",
]

BETA: Final = 0.8
"""The cut on a throttle, CUBIC's multiplicative decrease (botocore's ``CubicCalculator`` uses 0.7;
the cut here starts from the accepted rate when that is lower, which is already at the quota)."""
MIN_RATE: Final = 0.5
"""No adaptive cut goes below this many requests per second (botocore's ``TokenBucket._MIN_RATE``)."""
FLOOR_SHARE: Final = 0.5
"""No adaptive cut goes below this share of the best rate the service recently accepted."""
PEAK_WINDOW: Final = 2.0
"""Seconds over which accepted requests are counted for the floor: long enough that a service's
burst allowance does not pass for its rate."""
PEAK_HALF_LIFE: Final = 30.0
"""Seconds in which the remembered best accepted rate halves when it is not seen again."""
SEND_WINDOW: Final = 1.0
"""Seconds over which the send rate a cut starts from is measured."""
GROWTH_CAP: Final = 2.0
"""The rate never grows past this multiple of the measured send rate (botocore's
``ClientRateLimiter._MAX_RATE_ADJUST_SCALE``): a walk slower than its limit does not earn an
unbounded one."""
FIRST_LATENCY: Final = 0.05
"""The latency slow start assumes before the first answer arrives, in seconds."""
SLOW_START_WINDOW: Final = 2
"""Requests slow start lets out at once before any answer arrived (TCP's initial window)."""
ANSWERED_WINDOW: Final = 10
"""The window once an answer has measured the round trip: TCP's initial window of today
(RFC 6928), which it may send back to back. It grows by one request per success from there."""

HISTORY: Final = 256
"""Send and accept times kept for measuring rates."""
CLEAN_STRETCH: Final = 16
"""Accepted requests in a row after which throttling counts as over: the next throttle cuts at once."""


class RateLimit:
    """Pace requests to stay under a rate limit: ``burst`` at once, refilled at ``per_second``.

    Every request of a walk, retries included, waits for the limiter first. Share one object
    between walks, threads and asyncio tasks to give them one budget; it is safe to use from
    all of them at once.

    Args:
        per_second: requests per second; ``None`` means unlimited until the first throttling
            error (with ``adaptive=True``).
        burst: how many requests may go out at once.
        adaptive: lower the rate on throttling errors and raise it again gradually on success,
            never above ``per_second``.

    Raises:
        ValueError: ``per_second`` is not a finite number above 0, or ``burst`` is below 1.

    >>> limit = RateLimit(per_second=2)
    >>> limit.rate
    2.0
    >>> RateLimit().rate is None  # unlimited until the service throttles
    True
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
        self._lock = threading.Lock()
        self._rate: float | None = self.per_second
        self._tat = -math.inf
        # Adaptive state.
        self._cubic: CubicCalculator | None = None
        self._cut_at = -math.inf
        self._cuts_in_a_row = 0
        self._answered_since_cut = 0
        self._clean = 0
        # Recent send and accept times, bounded: a fast walk keeps the latest HISTORY only, and
        # its rates are measured over the time those cover.
        self._sends: collections.deque[float] = collections.deque(maxlen=HISTORY)
        self._accepted: collections.deque[float] = collections.deque(maxlen=HISTORY)
        self._first_send: float | None = None
        self._peak = 0.0
        self._peak_at = 0.0
        # Slow start (only while the rate is unknown).
        self._in_flight = 0
        self._window = float(SLOW_START_WINDOW)
        self._latency: float | None = None

    @property
    def rate(self) -> float | None:
        """The current rate in requests per second; ``None`` while unlimited."""
        return self._rate

    def __repr__(self) -> str:
        return (
            f"RateLimit(per_second={self.per_second!r}, burst={self.burst}, "
            f"adaptive={self.adaptive})"
        )

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Pacing is per process: a copy sent to another process (a Dask worker) starts afresh.
        return (_restore, (self.per_second, self.burst, self.adaptive))

    # -- the sans-IO protocol used by the drivers (through Attempt) ---------------------------

    def _acquire(self, now: float) -> float:
        """Reserve the next slot for a request; return the seconds to wait before sending it."""
        with self._lock:
            rate = self._rate
            if rate is None:
                slot = self._slow_start_slot(now)
            else:
                interval = 1.0 / rate
                slot = max(now, self._tat - (self.burst - 1) * interval)
                self._tat = max(self._tat, slot) + interval
            self._in_flight += 1
            if self.adaptive:
                if self._first_send is None:
                    self._first_send = slot
                self._sends.append(slot)
            return max(0.0, slot - now)

    def _slow_start_slot(self, now: float) -> float:
        interval = (self._latency or FIRST_LATENCY) / self._window
        if not self.adaptive or self._in_flight == 0:
            # Nothing in flight: a sequential walk (or the first request) goes at once.
            self._tat = max(self._tat, now) + interval
            return now
        # TCP sends its whole window back to back: so may requests here, once an answer has
        # measured the latency (before that, the initial window of two).
        burst = self._window if self._latency is not None else SLOW_START_WINDOW
        slot = max(now, self._tat - (burst - 1) * interval)
        self._tat = max(self._tat, slot) + interval
        return slot

    def _answered(self, sent: float, now: float, *, accepted: bool, throttled: bool) -> None:
        """Take the answer to a request sent at ``sent``: accepted, throttled, or another error."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if not self.adaptive:
                return
            if throttled:
                self._throttled(sent, now)
            elif accepted:
                self._accept(sent, now)

    def _throttled(self, sent: float, now: float) -> None:
        self._clean = 0
        if sent < self._cut_at:
            return  # sent before the last cut: it tells nothing about the new rate
        self._answered_since_cut += 1
        if self._answered_since_cut < 2**self._cuts_in_a_row:
            # Cut after cut with no clean stretch between: each further cut waits for twice the
            # evidence, so throttles that do not depend on the rate cannot halve it again and
            # again, while a rate far above the quota (throttled at most tries) still falls fast.
            return
        self._cuts_in_a_row += 1
        self._answered_since_cut = 0
        # What the service really took: the send rate, or the accepted rate when lower (far
        # above a quota most requests are throttled, and the accepted rate is the quota).
        measured = min(self._send_rate(now), self._accepted_rate(now))
        current = measured if self._rate is None else min(measured, self._rate)
        if self._cubic is None:
            self._cubic = CubicCalculator(starting_max_rate=current, start_time=now, beta=BETA)
        new_rate = float(self._cubic.error_received(current, now))
        self._cut_at = now
        self._set_rate(max(new_rate, self._floor(now)), now)

    def _accept(self, sent: float, now: float) -> None:
        if sent >= self._cut_at:
            self._answered_since_cut += 1
        self._clean += 1
        if self._clean >= CLEAN_STRETCH:
            self._cuts_in_a_row = 0
        latency = max(0.0, now - sent)
        self._latency = latency if self._latency is None else 0.8 * self._latency + 0.2 * latency
        self._window = max(self._window + 1.0, float(ANSWERED_WINDOW))
        self._accepted.append(now)
        if self._first_send is not None and now - self._first_send >= PEAK_WINDOW:
            accepted = _rate(self._accepted, now, PEAK_WINDOW, PEAK_WINDOW)
            self._peak = max(self._decayed_peak(now), accepted)
            self._peak_at = now
        if self._rate is None or self._cubic is None:
            return
        grown = float(self._cubic.success_received(now))
        grown = min(grown, GROWTH_CAP * self._send_rate(now))
        if self.per_second is not None:
            grown = min(grown, self.per_second)
        self._set_rate(max(grown, self._floor(now)), now)

    # -- measurements ---------------------------------------------------------------------------

    def _send_rate(self, now: float) -> float:
        """Requests per second sent over the last second (over the walk so far when younger)."""
        return _rate(self._sends, now, SEND_WINDOW, self._age(now))

    def _accepted_rate(self, now: float) -> float:
        """Requests per second the service accepted over the last second (or the walk so far)."""
        return _rate(self._accepted, now, SEND_WINDOW, self._age(now))

    def _age(self, now: float) -> float:
        first = self._first_send if self._first_send is not None else now
        return max(now - first, FIRST_LATENCY)

    def _decayed_peak(self, now: float) -> float:
        return self._peak * math.pow(0.5, max(0.0, now - self._peak_at) / PEAK_HALF_LIFE)

    def _floor(self, now: float) -> float:
        floor = max(MIN_RATE, FLOOR_SHARE * self._decayed_peak(now))
        if self.per_second is not None:
            floor = min(floor, self.per_second)
        return floor

    def _set_rate(self, rate: float, now: float) -> None:
        old = self._rate
        if old is not None and self._tat > now:
            # Reserved but not yet given out: the same number of tokens at the new rate.
            self._tat = now + (self._tat - now) * old / rate
        self._rate = rate


def _rate(times: collections.deque[float], now: float, window: float, age: float) -> float:
    """Events per second in ``times`` over the last ``window`` seconds (less when younger, or
    when ``times`` is full and covers less); old entries are dropped."""
    while times and times[0] <= now - window:
        times.popleft()
    span = min(window, age)
    if times and len(times) == times.maxlen:
        span = min(span, max(now - times[0], 1e-3))
    return max(len(times), 1) / span


def _restore(per_second: float | None, burst: int, adaptive: bool) -> RateLimit:
    return RateLimit(per_second, burst=burst, adaptive=adaptive)


class _PerWalk(RateLimit):
    """The default of ``rate_limit=``: a marker, never a limiter itself."""

    def __repr__(self) -> str:
        return "RateLimit()"

    def __reduce__(self) -> str:
        return "PER_WALK"


PER_WALK: Final[RateLimit] = _PerWalk()
"""The default of ``rate_limit=``: each walk makes its own adaptive [`RateLimit`][pagewalk.RateLimit].

Shown as ``RateLimit()`` in signatures; ``coerce_rate_limit()`` replaces it by a new one."""


class DocumentedQuota(NamedTuple):
    """A request quota AWS documents for an operation: where a default walk starts."""

    per_second: float
    scope: str
    url: str


# Operations whose documentation names a low request rate. A default walk of one of them starts
# at that rate (and never goes above it); rate_limit= overrides it.
DOCUMENTED_QUOTAS: Final[dict[str, DocumentedQuota]] = {
    "cloudtrail.LookupEvents": DocumentedQuota(
        2.0,
        "per account per Region (cannot be increased)",
        "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html",
    ),
    "cloudtrail.ListInsightsData": DocumentedQuota(
        2.0,
        "per account per Region",
        "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListInsightsData.html",
    ),
    "logs.DescribeLogStreams": DocumentedQuota(
        25.0,
        "per account per Region",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html",
    ),
    "sns.ListTopics": DocumentedQuota(
        30.0, "per account", "https://docs.aws.amazon.com/sns/latest/api/API_ListTopics.html"
    ),
    "sns.ListSubscriptions": DocumentedQuota(
        30.0,
        "per account",
        "https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptions.html",
    ),
    "sns.ListSubscriptionsByTopic": DocumentedQuota(
        30.0,
        "per account",
        "https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html",
    ),
    "sns.ListPlatformApplications": DocumentedQuota(
        15.0,
        "per account",
        "https://docs.aws.amazon.com/sns/latest/api/API_ListPlatformApplications.html",
    ),
    "sns.ListEndpointsByPlatformApplication": DocumentedQuota(
        30.0,
        "per account",
        "https://docs.aws.amazon.com/sns/latest/api/API_ListEndpointsByPlatformApplication.html",
    ),
}


def documented_quota(operation: str) -> DocumentedQuota | None:
    """The documented request quota of ``operation`` (``"cloudtrail.LookupEvents"``), if any."""
    return DOCUMENTED_QUOTAS.get(operation)


def default_rate_limit(operation: str | None = None) -> RateLimit:
    """A new adaptive limiter for one walk of ``operation``: at its documented quota, if any."""
    quota = documented_quota(operation) if operation is not None else None
    return RateLimit(quota.per_second if quota is not None else None)


def coerce_rate_limit(value: Any, operation: str | None = None) -> RateLimit | None:
    """What ``rate_limit=`` asks for: a [`RateLimit`][pagewalk.RateLimit] (shared as given), a new one for a
    number, a new adaptive one for the default (at ``operation``'s documented quota, if any),
    or ``None`` (no pacing).

    Raises:
        TypeError: ``value`` is of another type.
        ValueError: a number that is not a valid rate.
    """
    if value is PER_WALK:
        return default_rate_limit(operation)
    if value is None or isinstance(value, RateLimit):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return RateLimit(per_second=value)
    raise TypeError(
        "rate_limit must be a pagewalk.RateLimit, a number of requests per second, or None, "
        f"got {type(value).__name__}"
    )

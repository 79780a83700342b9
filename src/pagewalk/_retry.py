"""Per-page retries: the policy, the error classifier and the delay schedule.

Nothing here sleeps or sends: ``PageAttempts`` says how long to wait before the next try
of one page, or that the error must propagate. The sync and async drivers do the waiting.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from ._errors import short_repr

__all__ = ["PageAttempts", "Retry", "is_retryable", "is_throttling", "is_token_error"]

# The codes that say "too many requests": botocore's throttled codes (retries/standard.py)
# without the two that mean "busy with another request", plus the spellings other services use.
# The rate limiter (_pacing.py) slows down on these; all of them are retried.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
        "Throttled",
        "TooManyRequests",
    }
)
THROTTLING_STATUS = 429

# botocore's standard retry mode (retries/standard.py: throttling and transient codes) plus
# the throttling and availability codes individual services use.
RETRYABLE_CODES = THROTTLING_CODES | frozenset(
    {
        "TransactionInProgressException",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalServiceError",
        "InternalServiceException",
        "IDPCommunicationError",
    }
)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

# Continuation tokens the service will not accept: retrying with the same token cannot help.
TOKEN_ERROR_CODES = frozenset(
    {
        "InvalidNextTokenException",
        "ExpiredNextTokenException",
        "InvalidNextToken",
        "InvalidPaginationToken",
        "InvalidPaginationTokenException",
        "InvalidPageToken",
        "InvalidPageTokenException",
        "InvalidContinuationToken",
        "InvalidMarker",
        "InvalidToken",
        "InvalidTokenException",
        "ExpiredIteratorException",
        "PaginationTokenExpiredException",
    }
)


def error_code(exc: BaseException) -> str:
    """The service error code of a ``ClientError``, else ``""``."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else ""
    return ""


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def is_throttling(exc: BaseException) -> bool:
    """Whether ``exc`` is the service saying "too many requests" (HTTP 429 or a throttling code)."""
    if not isinstance(exc, ClientError):
        return False
    return error_code(exc) in THROTTLING_CODES or _status(exc) == THROTTLING_STATUS


def is_token_error(exc: BaseException) -> bool:
    """Whether the service rejected a continuation token as expired or invalid."""
    return error_code(exc) in TOKEN_ERROR_CODES


def is_retryable(exc: BaseException) -> bool:
    """Whether trying the same page again may succeed (pagewalk's default classifier).

    True for throttling and transient error codes (botocore's standard retry mode's set plus
    ``SlowDown``, ``RequestLimitExceeded``, ``TooManyRequestsException``, ...), HTTP
    429/500/502/503/504, and connection errors and timeouts. False for everything else, in
    particular validation, access, credential and parameter errors, expired or invalid
    continuation tokens, and ``StubAssertionError`` (a test's stub mismatch must surface at once).

    Args:
        exc: the error a try of a page raised (a ``ClientError``, a botocore connection
            error, ...).

    Returns:
        ``True`` when the page should be tried again, after a backoff.
    """
    if isinstance(exc, AssertionError):
        return False
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in TOKEN_ERROR_CODES:
            return False
        return code in RETRYABLE_CODES or _status(exc) in RETRYABLE_STATUS
    if isinstance(exc, (BotocoreConnectionError, HTTPClientError)):
        return True
    # Builtin ConnectionError and TimeoutError (aiohttp and urllib3 errors that escaped
    # botocore's wrapping end up here).
    return isinstance(exc, (ConnectionError, TimeoutError))


def retry_after(exc: BaseException) -> float | None:
    """The wait the error response asks for, in seconds, or ``None``."""
    if not isinstance(exc, ClientError):
        return None
    headers: Mapping[str, Any] = (
        exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    )
    lowered = {str(key).lower(): value for key, value in headers.items()}
    amz = lowered.get("x-amz-retry-after")
    if amz is not None:
        try:
            return max(0.0, float(amz) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class Retry:
    """Per-page retry policy: full-jitter exponential backoff.

    Before retry ``k`` (1, 2, ...) of a page pagewalk sleeps a uniform random time in
    ``[0, min(maximum, initial * multiplier ** (k - 1))]``, but at least what a ``Retry-After``
    or ``x-amz-retry-after`` header of the error asks for (capped at ``maximum``).

    Args:
        attempts: tries per page, the first one included (``>= 1``).
        initial: upper bound of the first backoff, in seconds.
        maximum: upper bound of any one backoff, in seconds.
        multiplier: growth of the bound per retry.
        timeout: the most time one page may take, tries and sleeps included, in seconds;
            ``None`` for no bound.
        retry_on: replaces [`is_retryable()`][pagewalk.is_retryable] as the classifier.

    >>> Retry(attempts=3, initial=0.1).delay_bound(3)
    0.4
    """

    attempts: int = 8
    initial: float = 0.2
    maximum: float = 20.0
    multiplier: float = 2.0
    timeout: float | None = 120.0
    retry_on: Callable[[BaseException], bool] | None = None

    def __post_init__(self) -> None:
        if (
            isinstance(self.attempts, bool)
            or not isinstance(self.attempts, int)
            or self.attempts < 1
        ):
            raise ValueError(
                f"Retry(attempts=...) must be an int >= 1, got {short_repr(self.attempts)}"
            )
        for name in ("initial", "maximum", "multiplier"):
            value = getattr(self, name)
            if not _finite_number(value) or value < 0:
                raise ValueError(
                    f"Retry({name}=...) must be a finite number >= 0 (seconds), got "
                    f"{short_repr(value)}"
                )
        if self.multiplier < 1:
            raise ValueError(f"Retry(multiplier=...) must be >= 1, got {self.multiplier!r}")
        if self.timeout is not None and (not _finite_number(self.timeout) or self.timeout <= 0):
            raise ValueError(
                "Retry(timeout=...) must be a finite number > 0 (seconds), or None for no "
                f"bound, got {short_repr(self.timeout)}"
            )
        if self.retry_on is not None and not callable(self.retry_on):
            raise TypeError(
                f"Retry(retry_on=...) must be callable, got {short_repr(self.retry_on)}"
            )

    def delay_bound(self, retry: int) -> float:
        """The upper bound of the backoff before retry number ``retry`` (1-based).

        It saturates at ``maximum``, for any number of retries.

        Args:
            retry: the retry's number: 1 for the second try of a page, 2 for the third, ...

        Returns:
            ``min(maximum, initial * multiplier ** (retry - 1))``, in seconds.
        """
        if self.initial == 0:
            return 0.0
        try:
            bound = self.initial * float(self.multiplier) ** (retry - 1)
        except OverflowError:  # the growth passed any float long after reaching maximum
            return float(self.maximum)
        return float(min(self.maximum, bound))

    def should_retry(self, exc: BaseException) -> bool:
        """Whether this policy's classifier lets ``exc`` be retried.

        Args:
            exc: the error a try of the page raised.

        Returns:
            What ``retry_on`` (or [`is_retryable`][pagewalk.is_retryable]) says of ``exc``.
        """
        classify = self.retry_on or is_retryable
        return bool(classify(exc))


def _finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


class PageAttempts:
    """The retry bookkeeping of one page request (no I/O).

    A driver calls ``on_error()`` with each failure; it returns the seconds to wait before the
    next try, or ``None`` when the error must propagate. ``slept()`` reports the wait.
    """

    __slots__ = ("_clock", "_extra", "_rng", "_started", "attempts", "policy")

    def __init__(
        self,
        policy: Retry | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.attempts = 0
        self._clock = clock
        self._rng = rng or _rng
        self._started = clock()
        self._extra = 0.0  # recorded-but-not-slept time (no_sleep) counts toward the timeout

    def on_error(self, exc: BaseException) -> float | None:
        """Seconds to wait before trying again, or ``None`` to let ``exc`` propagate."""
        policy = self.policy
        if policy is None or self.attempts >= policy.attempts or not policy.should_retry(exc):
            return None
        delay = self._rng.uniform(0.0, policy.delay_bound(self.attempts))
        floor = retry_after(exc)
        if floor is not None:
            delay = max(delay, min(floor, policy.maximum))
        if policy.timeout is not None and self.elapsed() + delay > policy.timeout:
            return None
        return delay

    def slept(self, requested: float, actual: float) -> None:
        """Report a backoff: ``requested`` seconds were asked for, ``actual`` really passed."""
        self._extra += max(0.0, requested - actual)

    def elapsed(self) -> float:
        """Seconds this page has taken so far, recorded sleeps included."""
        return self._clock() - self._started + self._extra


_rng = random.Random()

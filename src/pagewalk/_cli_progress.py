"""What the command line shows on stderr while a walk runs: the progress line on a terminal,
and with ``--verbose`` one line per retry or pacing wait.

Both read the ``pagewalk`` logger (and botocore's retry loggers), where the core reports every
retry as it decides it; nothing here changes how the walk runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["Progress", "showing_retries"]


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (``False`` for anything that cannot say)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """The ``pages, items, retries, items/s`` line on a terminal, redrawn in place.

    Drawn only when ``stream`` is a terminal and ``output`` is not: lines printed to the same
    terminal would run into it. A timer thread redraws it every ``interval`` seconds while the
    walk runs, so it moves during long pages, backoff sleeps and filtered scans that print
    nothing; a retry redraws it at once. Every write holds one lock, and nothing is written
    after ``end()``.
    """

    def __init__(self, stream: TextIO, output: TextIO, interval: float = 0.5) -> None:
        self._stream = stream
        self.enabled = isatty(stream) and not isatty(output)
        self._interval = interval
        self._lock = threading.Lock()
        self._walk: Any = None
        self._last = 0.0
        self._width = 0
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry: tuple[int, str] | None = None
        self.rate_limit: Any = None  # a RateLimit whose current rate is shown once it paces

    def start(self, walk: Any) -> None:
        """Show the progress of ``walk`` (anything with ``stats``) until ``end()``."""
        self._walk = walk
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._tick, name="pagewalk-progress", daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            self.update(force=True)

    def update(self, *, force: bool = False) -> None:
        """Redraw, at most ten times a second unless ``force``."""
        if not self.enabled or self._walk is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        with self._lock:
            if self._ended:
                return
            self._last = now
            self._draw()

    def _text(self) -> str:
        stats = self._walk.stats
        elapsed = stats.elapsed
        rate = stats.items / elapsed if elapsed > 0 else 0.0
        text = (
            f"pagewalk: {stats.pages:,} pages, {stats.items:,} items, "
            f"{stats.retries:,} retries, {rate:,.0f} items/s, {elapsed:,.0f}s"
        )
        pacing = getattr(self.rate_limit, "rate", None)
        if pacing is not None:
            text += f", paced at {pacing:,.1f} requests/s"
        retry = self._retry
        if retry is not None and retry[0] == stats.pages:
            text += f"; retrying page {stats.pages + 1}: {retry[1]}"
        return text

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, ValueError, OSError):  # not a real terminal (a test's stream)
            return shutil.get_terminal_size().columns

    def _draw(self) -> None:
        # Never as wide as the terminal: a line that wraps cannot be redrawn in place with \r,
        # and every redraw would leave a copy of its first part behind.
        text = self._text()[: max(self._columns() - 1, 20)]
        with contextlib.suppress(OSError, ValueError):
            self._stream.write("\r" + text.ljust(self._width))
            self._stream.flush()
        self._width = len(text)

    def retried(self, note: str) -> None:
        """A page is being retried: show ``note`` until the page arrives."""
        if not self.enabled or self._walk is None:
            return
        with self._lock:
            self._retry = (self._walk.stats.pages, note)
        self.update(force=True)

    def message(self, stream: TextIO, line: str) -> None:
        """Write ``line`` to ``stream``, clearing the progress line first and redrawing it after
        when both go to the same stream."""
        with self._lock:
            shared = self.enabled and stream is self._stream and self._width and not self._ended
            with contextlib.suppress(OSError, ValueError):
                if shared:
                    stream.write("\r" + " " * self._width + "\r")
                stream.write(line + "\n")
                stream.flush()
            if shared:
                self._width = 0
                self._draw()

    def end(self) -> None:
        """Stop redrawing, leave the line as it is and move to the next one."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            if self._ended:
                return
            self._ended = True
            if self.enabled and self._width:
                with contextlib.suppress(OSError, ValueError):
                    self._stream.write("\n")
                    self._stream.flush()
                self._width = 0


class _RetryLines(logging.Handler):
    """Turns the core's retry records (and botocore's) into progress redraws and, when
    verbose, one stderr line each."""

    def __init__(self, progress: Progress, stream: TextIO, verbose: bool) -> None:
        super().__init__(logging.DEBUG)
        self._progress = progress
        self._stream = stream
        self._verbose = verbose
        self.botocore_error = ""
        """What the request botocore is about to retry failed with (set by the CLI's
        ``needs-retry`` hook)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name.startswith("botocore"):
                line = self._botocore_line(record)
                if line is None:
                    return
            else:
                line = record.getMessage()
                retry = getattr(record, "pagewalk_retry", None)
                if isinstance(retry, tuple) and len(retry) == 2:
                    error, delay = retry
                    self._progress.retried(f"{error}, waiting {delay:.1f}s")
            if self._verbose:
                self._progress.message(self._stream, f"pagewalk: {line}")
        except Exception:  # a display problem must never break the walk
            self.handleError(record)

    def _botocore_line(self, record: logging.LogRecord) -> str | None:
        message = str(record.msg)
        if not message.startswith("Retry needed, retrying") and not message.startswith(
            "Retry needed, action of"
        ):
            return None
        delay = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        error = f" after {self.botocore_error}" if self.botocore_error else ""
        return (
            f"botocore retries a request{error} in {delay}s (its own retry, inside one of "
            "pagewalk's tries)"
        )


_BOTOCORE_RETRY_LOGGERS = ("botocore.retries.standard", "botocore.retryhandler")


@contextlib.contextmanager
def showing_retries(
    progress: Progress, stream: TextIO, *, verbose: bool, client: Any = None
) -> Iterator[None]:
    """While the block runs, show retries on the progress line and, when ``verbose``, one line
    each on ``stream`` (pagewalk's retries and pacing waits, and botocore's own retries of
    ``client``'s requests)."""
    if not verbose and not progress.enabled:
        yield
        return
    handler = _RetryLines(progress, stream, verbose)
    names = ("pagewalk", *(_BOTOCORE_RETRY_LOGGERS if verbose else ()))
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if not logger.isEnabledFor(logging.DEBUG if verbose else logging.INFO):
            logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    hook = None
    if verbose and client is not None:

        def hook(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
            handler.botocore_error = _describe(response, caught_exception)

        # At the service's level, ahead of botocore's retry handler registered there, so the
        # error is known when that handler logs its decision.
        event = f"needs-retry.{client.meta.service_model.service_id.hyphenize()}"
        client.meta.events.register_first(event, hook)
    try:
        yield
    finally:
        if hook is not None:
            client.meta.events.unregister(event, hook)
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _describe(response: Any, caught_exception: Any) -> str:
    if caught_exception is not None:
        return type(caught_exception).__name__
    try:
        http, parsed = response
        code = parsed.get("Error", {}).get("Code")
        return f"{code} (HTTP {http.status_code})" if code else f"HTTP {http.status_code}"
    except (TypeError, ValueError, AttributeError):
        return ""

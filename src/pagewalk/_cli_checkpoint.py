"""``--checkpoint FILE``: the command line keeps a walk's checkpoint in a file, in step with the
lines it printed."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time

from ._checkpoint import Checkpoint
from ._cli_values import CommandFailed, UsageError, one_line
from ._errors import SpecError

__all__ = ["CheckpointFile"]


class CheckpointFile:
    """A walk's checkpoint kept in a file, always replaced atomically (temporary file in the same
    directory, then ``os.replace``).

    ``advance()`` is called after every line printed, with the checkpoint just past that
    line. It rewrites the file at once when the line ends a page (so in pages mode after every
    line) and deletes it when the walk is complete; within a page it writes at most every
    ``interval`` seconds. ``flush()`` writes what is still pending and runs on every way out
    (end, limit, error, Ctrl-C, SIGTERM), so the file then points exactly past the last line
    printed. Only a hard kill (SIGKILL, power loss) can leave it behind that line, never ahead.
    """

    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
            raise UsageError(
                f"cannot write the checkpoint {path}: {directory} is not a writable directory"
            )
        self._directory = directory
        self._prefix = f".{os.path.basename(path)}."
        self._pending: Checkpoint | None = None
        self._dirty = False
        self._written = time.monotonic()

    def load(self) -> Checkpoint | None:
        """The checkpoint in the file, or ``None`` when there is no file."""
        try:
            with open(self.path, encoding="utf-8") as file:
                text = file.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the checkpoint {self.path}: {exc}") from exc
        try:
            return Checkpoint.from_json(text)
        except SpecError as exc:
            raise UsageError(
                f"{self.path}: {one_line(exc)}; delete it to start a new walk, or pass another "
                "--checkpoint"
            ) from exc

    def advance(self, checkpoint: Checkpoint | None) -> None:
        """Note the checkpoint past the line just printed (``None``: the walk is complete)."""
        self._pending = checkpoint
        self._dirty = True
        if (
            checkpoint is None
            or checkpoint.skip == 0
            or time.monotonic() - self._written >= self.interval
        ):
            self.flush()

    def flush(self) -> None:
        """Write the last checkpoint noted, or delete the file if the walk is complete."""
        if not self._dirty:
            return
        try:
            self._write(self._pending)
        except OSError as exc:
            raise CommandFailed(
                f"cannot write the checkpoint {self.path}: {one_line(exc)}; it may point "
                "before the last lines printed, so a rerun may print them again"
            ) from exc
        self._dirty = False
        self._written = time.monotonic()

    def _write(self, checkpoint: Checkpoint | None) -> None:
        if checkpoint is None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            return
        descriptor, temporary = tempfile.mkstemp(
            prefix=self._prefix, suffix=".tmp", dir=self._directory
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(checkpoint.to_json())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise

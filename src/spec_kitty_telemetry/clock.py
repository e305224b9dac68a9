"""Lamport clocks: a counter that orders events across machines without shared time.

The clock's value lives in a :class:`ClockStorage`, so the same logic runs over
memory (tests, single processes) or a small file next to an event log.

Values run from 0 to :data:`MAX_LAMPORT_CLOCK` (2**53-1, the largest integer
every JSON reader keeps exact). A clock that reaches the bound stays there
rather than failing: recording must go on even after a foreign log line
claims the bound, and events that share a clock value are still ordered, by
node id and then event id.
"""

from __future__ import annotations

import errno
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Final, TypeGuard

from ._atomic import write_atomically
from ._emit_result import warn
from ._log import lazy_logger
from ._records import MAX_LAMPORT_CLOCK
from ._safe_paths import read_sidecar
from .errors import ClockError, InvalidClockValueError, UnsafePathError

__all__ = [
    "MAX_CLOCK_FILE_BYTES",
    "MAX_LAMPORT_CLOCK",
    "ClockStorage",
    "FileClockStorage",
    "InMemoryClockStorage",
    "LamportClock",
    "next_timestamp",
]

logger = lazy_logger(__name__)

#: Largest clock file read; a bigger one is corrupt. A clock needs a few dozen
#: bytes; the room is for spec-kitty's per-node entries sharing the file.
MAX_CLOCK_FILE_BYTES: Final = 64 * 1024

#: Our entry in the clock file. Other keys belong to spec-kitty (see FileClockStorage).
_KEY: Final = "lamport_clock"

#: What opening a symlink with O_NOFOLLOW (ELOOP; EMLINK on FreeBSD) or a socket gives.
_NOT_A_FILE_ERRNOS: Final = frozenset({errno.ELOOP, errno.EMLINK, errno.ENXIO})


def is_clock_value(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a Lamport value this package stores: an int in 0..2**53-1."""
    return type(value) is int and 0 <= value <= MAX_LAMPORT_CLOCK


def next_timestamp(seen: int) -> int:
    """Return the timestamp that follows ``seen``: ``seen + 1``, held at the bound."""
    return min(seen + 1, MAX_LAMPORT_CLOCK)


def _checked(value: int, what: str) -> int:
    if not is_clock_value(value):
        raise InvalidClockValueError(
            f"{what} must be a whole number from 0 to 2**53-1, got {_describe(value)}"
        )
    return value


def _describe(value: object) -> str:
    """Return a short repr: a 4,000-digit number must not end up whole in a log record."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _judge(document: dict[str, Any]) -> tuple[int | None, str | None]:
    """Return a clock file's value (its largest valid entry) and what is wrong with it, if anything.

    One rule for :meth:`FileClockStorage.load` and :meth:`FileClockStorage.describe`.
    """
    values = [value for value in document.values() if is_clock_value(value)]
    ours = document.get(_KEY)
    largest = max(values) if values else None
    expected = "expected a whole number from 0 to 2**53-1"
    if ours is not None and not is_clock_value(ours):
        return largest, f"lamport_clock {_describe(ours)}, {expected}"
    if document and not values:
        return None, f"no lamport_clock, {expected}"
    return largest, None


class ClockStorage(ABC):
    """Where a Lamport clock keeps its value between ticks."""

    @abstractmethod
    def load(self) -> int:
        """Return the stored value, 0 when nothing has been stored yet."""

    @abstractmethod
    def save(self, value: int) -> None:
        """Store ``value``; a later :meth:`load` returns it.

        Raises :class:`~spec_kitty_telemetry.errors.InvalidClockValueError` (a
        ValueError) for a value outside 0..2**53-1, storing nothing.
        """


class InMemoryClockStorage(ClockStorage):
    """Clock storage that lives as long as the object does."""

    def __init__(self, value: int = 0) -> None:
        self._value = _checked(value, "a clock's start value")

    def load(self) -> int:
        """Return the value held in memory."""
        return self._value

    def save(self, value: int) -> None:
        """Hold ``value`` in memory."""
        self._value = _checked(value, "a clock value")


class _CorruptClockFile(Exception):
    """The clock file exists but holds nothing usable; the log decides instead."""


class FileClockStorage(ClockStorage):
    """Clock storage in a small JSON file, replaced atomically on every save.

    A missing file reads as 0. A corrupt one also reads as 0 (logged at INFO):
    the clock is a cache of what the log already proves, and a writer that
    applies Lamport's receive rule against its log (as the emitter does)
    recovers the right value from there. Corrupt means: not a regular file (a
    FIFO, a device, a symlink, a directory), larger than
    :data:`MAX_CLOCK_FILE_BYTES`, not a JSON object, or holding no value in
    0..2**53-1. The file is not locked here; callers that share it across
    processes serialise their ticks (the emitter ticks under its log's lock).

    The file is shared with spec-kitty's own (older) telemetry, which keeps
    one entry per clock node (``{"cli:WP01": 41, ...}``) in the same file. Our
    value lives under ``"lamport_clock"``; :meth:`load` returns the largest
    valid value of any entry, and :meth:`save` keeps spec-kitty's entries,
    raising each one below the new value to it. So neither tool's next tick
    goes below what either has handed out from this file.
    """

    def __init__(self, path: str | Path, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync

    def load(self) -> int:
        """Read the stored value (0 if the file is missing or unreadable as a clock)."""
        value, problem = _judge(self._document(note_corruption=True))
        if problem is not None:
            self._note_corrupt(problem)
        return 0 if value is None else value

    def save(self, value: int) -> None:
        """Replace the file with ``value``, keeping spec-kitty's entries (raised to it if below)."""
        _checked(value, "a clock value")
        document = self._document(note_corruption=False)
        for key, entry in document.items():
            if key != _KEY and is_clock_value(entry) and entry < value:
                document[key] = value
        document[_KEY] = value
        data = json.dumps(document, sort_keys=True).encode() + b"\n"
        try:
            write_atomically(self.path, data, fsync=self._fsync)
        except UnsafePathError as exc:
            # A link where the clock belongs: the repository's doing, worth one warning.
            warn(logger, f"telemetry: clock not saved: {exc}")
            raise ClockError(str(exc)) from exc
        except OSError as exc:
            raise ClockError(f"{self.path}: cannot write clock file: {exc}") from exc

    def describe(self) -> tuple[str, int | None]:
        """Say what the file holds, for ``doctor``: (state, value), reading only.

        States: ``missing``; ``corrupt`` (unusable content, or not a regular
        file: the log decides the next stamp, and the next save repairs it);
        ``ok`` with the value :meth:`load` returns.
        """
        if not self.path.exists() and not self.path.is_symlink():
            return "missing", None
        try:
            value, problem = _judge(self._document(note_corruption=False))
        except ClockError:  # unreadable (permissions): the log decides, as for corrupt
            return "corrupt", None
        if problem is not None or value is None:
            return "corrupt", None
        return "ok", value

    def _document(self, *, note_corruption: bool) -> dict[str, Any]:
        """Return the file's JSON object; {} when it is missing or corrupt."""
        try:
            document = json.loads(self._read())
            if not isinstance(document, dict):
                raise _CorruptClockFile(f"a JSON {type(document).__name__}, not an object")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ClockError(f"{self.path}: cannot read clock file: {exc}") from exc
        except (_CorruptClockFile, ValueError, RecursionError) as exc:
            # ValueError: bad JSON, bad UTF-8, an int too long to parse.
            if note_corruption:
                self._note_corrupt(str(exc)[:200])
            return {}
        return document

    def _read(self) -> bytes:
        """Return the bytes of the clock file if it is a small regular file (never blocks)."""
        try:
            return read_sidecar(self.path, MAX_CLOCK_FILE_BYTES)
        except UnsafePathError as exc:  # a FIFO, a device, a folder, too large
            raise _CorruptClockFile(str(exc)) from exc
        except OSError as exc:
            if exc.errno in _NOT_A_FILE_ERRNOS:
                raise _CorruptClockFile("not a regular file (a symlink or a socket)") from exc
            raise

    def _note_corrupt(self, why: str) -> None:
        logger.info("%s: corrupt clock file ignored (%s); restarting from 0", self.path, why)


class LamportClock:
    """A Lamport logical clock over pluggable storage.

    ``tick()`` marks a local event; ``update(remote)`` applies the receive rule
    (the clock jumps past anything it has seen). Both persist before returning,
    so the value a caller stamps on an event is never handed out twice, except
    at the bound 2**53-1, where the clock saturates (see the module docstring).
    """

    def __init__(self, storage: ClockStorage | None = None) -> None:
        self.storage = storage if storage is not None else InMemoryClockStorage()

    def current(self) -> int:
        """Return the last value handed out (0 before the first tick)."""
        return self.storage.load()

    def tick(self) -> int:
        """Advance for a local event and return the event's timestamp."""
        value = next_timestamp(self.storage.load())
        self.storage.save(value)
        return value

    def update(self, remote: int) -> int:
        """Advance past ``remote`` (a timestamp seen elsewhere) and return the new value.

        Raises InvalidClockValueError (a ValueError) when ``remote`` is negative
        or above 2**53-1: no Lamport timestamp is.
        """
        if type(remote) is int and remote < 0:
            raise InvalidClockValueError(f"a Lamport timestamp cannot be negative: {remote}")
        _checked(remote, "a remote Lamport timestamp")
        value = next_timestamp(max(self.storage.load(), remote))
        self.storage.save(value)
        return value

"""Lamport clocks: a counter that orders events across machines without shared time.

The clock's value lives in a :class:`ClockStorage`, so the same logic runs over
memory (tests, single processes) or a small file next to an event log.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from pathlib import Path

from ._atomic import write_atomically
from .errors import ClockError, UnsafePathError

__all__ = ["ClockStorage", "FileClockStorage", "InMemoryClockStorage", "LamportClock"]

logger = logging.getLogger(__name__)


class ClockStorage(ABC):
    """Where a Lamport clock keeps its value between ticks."""

    @abstractmethod
    def load(self) -> int:
        """Return the stored value, 0 when nothing has been stored yet."""

    @abstractmethod
    def save(self, value: int) -> None:
        """Store ``value``; a later :meth:`load` returns it."""


class InMemoryClockStorage(ClockStorage):
    """Clock storage that lives as long as the object does."""

    def __init__(self, value: int = 0) -> None:
        self._value = value

    def load(self) -> int:
        """Return the value held in memory."""
        return self._value

    def save(self, value: int) -> None:
        """Hold ``value`` in memory."""
        self._value = value


class FileClockStorage(ClockStorage):
    """Clock storage in a small JSON file, replaced atomically on every save.

    A missing file reads as 0. A corrupt one also reads as 0 (logged at INFO):
    the clock is a cache of what the log already proves, and a writer that
    applies Lamport's receive rule against its log (as the emitter does)
    recovers the right value from there. The file is not locked here; callers
    that share it across processes serialise their ticks (the emitter ticks
    under its log's lock).
    """

    def __init__(self, path: str | Path, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync

    def load(self) -> int:
        """Read the stored value (0 if the file is missing or unreadable as a clock)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise ClockError(f"{self.path}: cannot read clock file: {exc}") from exc
        try:
            value = json.loads(raw)["lamport_clock"]
            if type(value) is not int or value < 0:
                raise ValueError(f"bad lamport_clock value {value!r}")
        except (ValueError, KeyError, TypeError) as exc:
            logger.info("%s: corrupt clock file ignored (%s); restarting from 0", self.path, exc)
            return 0
        return value

    def save(self, value: int) -> None:
        """Replace the file with ``value``."""
        data = json.dumps({"lamport_clock": value}).encode() + b"\n"
        try:
            write_atomically(self.path, data, fsync=self._fsync)
        except UnsafePathError as exc:
            # A link where the clock belongs: the repository's doing, worth one warning.
            logger.warning("telemetry: clock not saved: %s", exc)
            raise ClockError(str(exc)) from exc
        except OSError as exc:
            raise ClockError(f"{self.path}: cannot write clock file: {exc}") from exc


class LamportClock:
    """A Lamport logical clock over pluggable storage.

    ``tick()`` marks a local event; ``update(remote)`` applies the receive rule
    (the clock jumps past anything it has seen). Both persist before returning,
    so the value a caller stamps on an event is never handed out twice.
    """

    def __init__(self, storage: ClockStorage | None = None) -> None:
        self.storage = storage if storage is not None else InMemoryClockStorage()

    def current(self) -> int:
        """Return the last value handed out (0 before the first tick)."""
        return self.storage.load()

    def tick(self) -> int:
        """Advance for a local event and return the event's timestamp."""
        value = self.storage.load() + 1
        self.storage.save(value)
        return value

    def update(self, remote: int) -> int:
        """Advance past ``remote`` (a timestamp seen elsewhere) and return the new value."""
        if remote < 0:
            raise ValueError(f"a Lamport timestamp cannot be negative: {remote}")
        value = max(self.storage.load(), remote) + 1
        self.storage.save(value)
        return value

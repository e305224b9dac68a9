"""SimpleJsonStore: the event store over one append-only JSON Lines file.

One feature's log is ``kitty-specs/<feature>/execution.events.jsonl``. It is
committed to git and written by several people, agents and branches, so the
store is built for what that does to a file:

* Writers take one exclusive lock per log (a ``.<log>.lock`` sidecar) across
  the whole append, so concurrent processes never interleave or lose lines.
  Bytes already in the file are never rewritten.
* A line torn by a crash loses only itself: the next append starts on a new
  line. Readers skip lines that are not valid events, with one warning naming
  the file and line numbers.
* A ``git merge=union`` or a cherry-pick can leave the same event twice;
  readers return each event id once.
* Saving a fresh event does not re-read the log; see :meth:`SimpleJsonStore.save_event`.

Machine-local sidecars (the lock and the ``.<log>.index.json`` cache) sit next
to the log and belong in ``.gitignore``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from . import _log_index
from ._emit_result import warn
from ._lines import is_blank, line_batches, parse_line
from ._lock import FileLock, LockTimeout
from ._log import lazy_logger
from ._log_index import LogIndex
from ._records import dumps_record
from ._safe_paths import SafeFolder, open_folder
from ._seen_ids import all_ids, ids_before
from .errors import InvalidEventError, StoreError, StoreLockTimeout, UnsafePathError
from .ids import is_ulid, normalize_event_id
from .store import BuildRecord, EventStore, ReadReport, Record, StoreHead, stored_form

if TYPE_CHECKING:
    from .events import Event

__all__ = ["SimpleJsonStore"]

logger = lazy_logger(__name__)

_Item = TypeVar("_Item")


class SimpleJsonStore(EventStore):
    """An :class:`EventStore` over one append-only JSONL file.

    ``fsync=True`` makes every save durable before it returns (slower).
    ``lock_timeout`` bounds how long a save waits for another writer; past it,
    :class:`StoreLockTimeout` is raised.
    """

    def __init__(
        self, path: str | Path, *, fsync: bool = False, lock_timeout: float = 10.0
    ) -> None:
        if not lock_timeout >= 0:  # also refuses NaN, which would never time out
            raise ValueError(f"lock_timeout must be >= 0 seconds, got {lock_timeout!r}")
        self.path = Path(path)
        self.fsync = fsync
        self.lock_timeout = lock_timeout
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")
        self.index_path = self.path.with_name(f".{self.path.name}.index.json")
        #: The report of the last read that ran to the end of the file.
        self.last_read: ReadReport | None = None

    # -- writing -----------------------------------------------------------

    def save_event(self, event: Event) -> bool:
        """Append ``event`` unless an event with its id is already in the log.

        Cost does not grow with the log for a freshly created event: the store
        caches the largest event id in the log (see ``_log_index``), and ULIDs
        grow with time, so an id above that maximum cannot be in the file and
        is appended without reading it. Only an id at or below the maximum (an
        old event saved again, or imported) costs a scan to rule out a duplicate.
        """
        return self.save_events([event]) == 1

    def save_events(self, events: Iterable[Event]) -> int:
        """Append, under one lock, each event not already in the log; return how many were."""
        lines = [(e.event_id, e.lamport_clock, dumps_record(e.to_dict())) for e in events]
        written = 0
        with self._writer() as writer:
            for event_id, lamport_clock, line in lines:
                if writer.append(event_id, lamport_clock, line):
                    written += 1
        return written

    def append_record(self, build: BuildRecord) -> Record:
        """Append the event record ``build`` makes from the log's current head, atomically.

        ``build`` runs under the log's lock and sees the largest Lamport clock
        and event id in the file, so it can stamp an event that sorts after
        everything already there (this is how the emitter applies Lamport's
        receive rule). Its line is judged by the readers' rule before it is
        written. Raises InvalidEventError, writing nothing, if the record is
        not an event or its id is already in the log.
        """
        with self._writer() as writer:
            line, event_id, stored = stored_form(build(writer.index.head))
            if not writer.append(event_id, stored["lamport_clock"], line):
                raise InvalidEventError(f"{self.path}: event {event_id} is already stored")
        return stored

    def head(self) -> StoreHead:
        """Return the largest Lamport clock and event id in the log."""
        with self._writer() as writer:
            return writer.index.head

    def _writer(self) -> _Writer:
        return _Writer(self)

    # -- reading -----------------------------------------------------------

    def iter_records(self) -> Iterator[Record]:
        """Stream the log's valid events as plain dicts, each id once, in file order.

        Memory holds one line and the ids that de-duplication needs (for the
        duplicates a git merge may leave), never the events themselves.
        Lines that are not events by the readers' rule (``_lines``) are
        skipped; when the read reaches the end of the file one warning lists
        them, and :attr:`last_read` holds the full report. (``iter_events``,
        inherited, builds Events from exactly these records.)
        """
        return self._read(parse_line)

    def _read(self, parse: Callable[[bytes], tuple[str, _Item]]) -> Iterator[_Item]:
        """Yield ``parse(line)``'s item for each line, once per event id; report the rest.

        ``parse`` returns an event's canonical id and the item to yield, or
        raises for a line that is not an event.

        The read stops at the size the file had when it was opened, so a line
        a writer is appending meanwhile is never half-read. An unfinished last
        line (no newline) is malformed only if the file has stopped growing;
        if it grew during the read, a writer was at work and the line is just
        not there yet (``ReadReport.incomplete_line``).

        De-duplication costs no memory while ids rise line after line, as they
        do in any log our writers alone appended to: a line whose id is above
        every earlier one cannot repeat one. From the first line that breaks the
        order (a merge, a cherry-pick, another tool), every id is remembered:
        memory then grows with the ids after that point. The ids of the lines
        before it come from the ids file reports keep beside the log
        (``_seen_ids``), parsing only the lines it lacks.
        """
        report = ReadReport(str(self.path))
        seen: set[str] | None = None
        highest = ""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            self.last_read = report
            return
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read: {exc}") from exc
        with handle:
            size = os.fstat(handle.fileno()).st_size
            number = 0
            for lines, complete in line_batches(handle.fileno(), 0, size):
                for line in lines:
                    number += 1
                    try:
                        event_id, item = parse(line)
                    except InvalidEventError:
                        if not complete:
                            report.incomplete_line = number
                        elif not is_blank(line):
                            report.malformed_lines.append(number)
                        continue
                    if event_id > highest:
                        highest = event_id
                    else:
                        if seen is None:
                            seen = ids_before(self.path, handle.fileno(), number)
                        if event_id in seen:
                            report.duplicates += 1
                            continue
                    if seen is not None:
                        seen.add(event_id)
                    report.events += 1
                    yield item
            if report.incomplete_line is not None and os.fstat(handle.fileno()).st_size == size:
                # Nobody is writing: the unfinished line is torn for good.
                report.malformed_lines.append(report.incomplete_line)
                report.incomplete_line = None
        self.last_read = report
        if report.malformed_lines:
            warn(logger, report.describe())

    def contains(self, event_id: str) -> bool:
        """Whether an event with this id (in any accepted form) is in the log."""
        wanted = normalize_event_id(event_id)
        return wanted in self._ids()

    def _ids(self) -> set[str]:
        """Every event id in the log, by the readers' rules, without building events.

        The ids a report kept beside the log are read, not parsed again
        (``_seen_ids``): only the lines after them are.
        """
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return set()
        with handle:
            return all_ids(self.path, handle.fileno())


class _Writer:
    """One locked write session on a log: catch up with the file, then append."""

    def __init__(self, store: SimpleJsonStore) -> None:
        self.store = store
        self._lock = FileLock(store.lock_path, store.lock_timeout)
        self._fd = -1
        self._folder: SafeFolder | None = None
        self._known_ids: set[str] | None = None
        self.index = LogIndex(0, 0, 0, b"", StoreHead())
        self._saved: LogIndex | None = None

    def __enter__(self) -> _Writer:
        store = self.store
        try:  # a folder that is a link out of the project is refused here (see _safe_paths)
            self._folder = open_folder(store.path.parent, create=True)
        except UnsafePathError:
            raise
        except OSError as exc:
            raise StoreError(f"{store.path}: cannot create its folder: {exc}") from exc
        cached = self._saved = self._scan_ahead(_log_index.load(store.index_path))
        try:
            self._lock.acquire(self._folder)
        except LockTimeout:
            raise StoreLockTimeout(
                f"{store.path}: another writer held {store.lock_path.name} "
                f"for more than {store.lock_timeout:g}s"
            ) from None
        except UnsafePathError:
            self._close()
            raise
        except OSError as exc:
            self._close()
            raise StoreError(f"{store.path}: cannot lock for writing: {exc}") from exc
        try:
            self._fd = self._folder.open(store.path.name, os.O_RDWR | os.O_APPEND | os.O_CREAT)
            self.index = _log_index.catch_up(self._fd, cached)
        except UnsafePathError:
            self._close()
            raise
        except OSError as exc:
            self._close()
            raise StoreError(f"{store.path}: cannot open for appending: {exc}") from exc
        except BaseException:
            self._close()
            raise
        return self

    def _scan_ahead(self, cached: LogIndex | None) -> LogIndex | None:
        """Do a long catch-up (fresh clone, big git pull) before taking the lock.

        Scanning a million-line log takes seconds; under the lock, every other
        writer would time out meanwhile. The index it leaves describes a prefix
        of the file, so it is safe to store without the lock: the locked
        catch-up checks it and scans only what was appended since.
        """
        path = self.store.path
        try:
            if not _log_index.far_behind(cached, os.stat(path)):
                return cached
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return cached
        try:
            index = _log_index.catch_up(fd, cached)
        except OSError:
            return cached
        finally:
            os.close(fd)
        self._save_index(index)
        return index

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.index != self._saved:
                self._save_index(self.index)
        finally:
            self._close()

    def _save_index(self, index: LogIndex) -> None:
        """Store the index; a failure only costs a rescan, but a refused link is worth a warning."""
        try:
            _log_index.save(self.store.index_path, index, self._folder)
        except UnsafePathError as exc:
            warn(logger, f"telemetry: index not saved: {exc}")
        except Exception as exc:  # noqa: BLE001 - the event is stored; the index is a cache
            logger.debug("%s: index not saved: %s", self.store.index_path, exc)

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._lock.release()
        if self._folder is not None:
            self._folder.close()
            self._folder = None

    def append(self, event_id: str, lamport_clock: int, line: bytes) -> bool:
        """Append ``line`` (a serialised event) unless an event with its id is in the log."""
        if self._may_be_present(event_id):
            return False
        data = b"\n" + line if self.index.unterminated else line
        self._write(data)
        self.index = self.index.after_append(data, self.index.head.absorb(lamport_clock, event_id))
        if self._known_ids is not None:
            self._known_ids.add(event_id)
        return True

    def _may_be_present(self, event_id: str) -> bool:
        highest = self.index.head.max_event_id
        if is_ulid(event_id) and (highest is None or event_id > highest):
            return False  # ULIDs above the log's largest ULID cannot be in it
        if self._known_ids is None:
            self._known_ids = self.store._ids()
        return event_id in self._known_ids

    def _write(self, data: bytes) -> None:
        before = self.index.offset + self.index.unterminated
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
            if self.store.fsync:
                os.fsync(self._fd)
                if before == 0 and self._folder is not None:  # a new log: make its entry durable
                    self._folder.sync()
        except OSError as exc:
            self._undo_partial(before, written)
            raise StoreError(f"{self.store.path}: cannot append: {exc}") from exc

    def _undo_partial(self, before: int, written: int) -> None:
        """Cut off a half-written line of ours, if nobody has written after it."""
        if not written:
            return
        try:
            if os.fstat(self._fd).st_size == before + written:
                os.ftruncate(self._fd, before)
        except OSError:
            pass  # the torn line stays; readers skip it and the next append starts afresh

"""The storage interface every event backend implements, and its in-memory reference.

Everything that writes or reads events (the emitters, the queries, the cost
and timeline reports) asks this interface, never a particular backend, so a
log file, a dict in memory or a database table can stand behind any of them.
A backend implements five things:

* :meth:`EventStore.append_record`: the atomic append the emitters use. The
  backend runs the caller's ``build`` under its own exclusion (a file lock, a
  mutex, a transaction) with the store's :class:`StoreHead`, so the record it
  builds can be stamped after everything stored (Lamport's receive rule, and
  an id above every id), and no other writer slips in between.
* :meth:`EventStore.head`: the largest Lamport clock and ULID stored.
* :meth:`EventStore.iter_records`: every stored event once, as the plain dict
  a log line holds, unordered and streamed; the read's :class:`ReadReport`
  (what was skipped, what was a duplicate) is then in :attr:`EventStore.last_read`.
* :meth:`EventStore.save_event`: an idempotent save of an event made elsewhere
  (a copy, an import), which keeps the event exactly as given.

Events, their order and the loaders are derived here once, so every backend
builds, filters and sorts them the same way. Every backend decides what an
event is by the line rule (``_lines.check_record``): a record one backend
stores, every other would store too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from . import _lazy_json as orjson
from ._lines import parse_line
from ._plain import field, plain
from .errors import InvalidEventError
from .ids import is_ulid

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "EventStore",
    "InMemoryEventStore",
    "ReadReport",
    "StoreHead",
    "causal_order",
    "record_order",
]

Record = dict[str, Any]
#: Makes the record to append from the store's head; see :meth:`EventStore.append_record`.
BuildRecord = Callable[["StoreHead"], Record]

_LISTED_LINES: Final = 20


def causal_order(event: Event) -> tuple[int, str, str]:
    """Sort key for events: Lamport clock, then node id, then event id to break ties."""
    return (event.lamport_clock, event.node_id, event.event_id)


def record_order(record: Mapping[str, Any]) -> tuple[int, str, str]:
    """Sort key of a raw record: the same causal order as :func:`causal_order`."""
    return (record["lamport_clock"], record["node_id"], record["event_id"])


@plain(frozen=True)
class StoreHead:
    """The largest Lamport clock and ULID event id in a store (None while it has none).

    Only ULIDs count towards ``max_event_id``: a 26-character id of another
    tool above every ULID (see ``ids.normalize_event_id``) would leave no
    fresh ULID above it, and every later save would have to look for
    duplicates. A fresh ULID above the largest ULID cannot equal any stored id.
    """

    max_lamport_clock: int | None = None
    max_event_id: str | None = None

    def absorb(self, lamport_clock: int | None, event_id: str | None) -> StoreHead:
        """Return the head once an event with these values is stored."""
        lamport = self.max_lamport_clock
        if lamport_clock is not None and (lamport is None or lamport_clock > lamport):
            lamport = lamport_clock
        ident = self.max_event_id
        if event_id is not None and (ident is None or event_id > ident) and is_ulid(event_id):
            ident = event_id
        return StoreHead(lamport, ident)


@plain
class ReadReport:
    """What one full read of a store found besides events.

    ``source`` names what was read (a log's path). Backends without lines
    (a dict, a table) never skip anything: their reports only count events.
    """

    source: str
    events: int = 0
    duplicates: int = 0
    malformed_lines: list[int] = field(default_factory=list)
    #: An unfinished last line that a writer was still appending during the read.
    incomplete_line: int | None = None

    def __init__(
        self,
        source: str,
        events: int = 0,
        duplicates: int = 0,
        malformed_lines: list[int] | None = None,
        incomplete_line: int | None = None,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        self.source = source
        self.events = events
        self.duplicates = duplicates
        self.malformed_lines = [] if malformed_lines is None else malformed_lines
        self.incomplete_line = incomplete_line

    @property
    def malformed_count(self) -> int:
        """How many lines were skipped because they are not valid events."""
        return len(self.malformed_lines)

    def describe(self) -> str:
        """One line naming the source and the skipped line numbers."""
        shown = ", ".join(str(n) for n in self.malformed_lines[:_LISTED_LINES])
        more = len(self.malformed_lines) - _LISTED_LINES
        if more > 0:
            shown += f" and {more} more"
        plural = "" if self.malformed_count == 1 else "s"
        return f"{self.source}: skipped {self.malformed_count} malformed line{plural} ({shown})"


class EventStore(ABC):
    """An append-only collection of events, each stored once."""

    #: The report of the last read that ran to the end (None before any).
    last_read: ReadReport | None = None

    # -- writing -----------------------------------------------------------

    @abstractmethod
    def append_record(self, build: BuildRecord) -> Record:
        """Append the record ``build`` makes from the store's head, atomically; return it.

        ``build`` runs under the backend's exclusion and sees the head of
        everything stored, so the record it returns can sort after all of it;
        no other append lands between the call and the store. The record is
        judged by the line rule (``_lines.check_record``) and returned as
        stored (ids canonical). Raises InvalidEventError, storing nothing, if
        it is not an event or its id is already stored; whatever ``build``
        raises propagates and nothing is stored.
        """

    @abstractmethod
    def head(self) -> StoreHead:
        """Return the largest Lamport clock and ULID event id stored."""

    @abstractmethod
    def save_event(self, event: Event) -> bool:
        """Store ``event`` unless an event with its id is already stored.

        Returns True when the event was written, False when it was already there.
        """

    def save_events(self, events: Iterable[Event]) -> int:
        """Store each event not already stored; return how many were written."""
        return sum(self.save_event(event) for event in events)

    # -- reading -----------------------------------------------------------

    @abstractmethod
    def iter_records(self) -> Iterator[Record]:
        """Stream every stored event once, as the dict its log line holds, in no promised order.

        Each record passed the line rule; its payload is not validated. The
        caller owns the dicts (changing one changes nothing stored). When the
        stream is read to the end, :attr:`last_read` holds its report.
        """

    def iter_events(self, aggregate_id: str | None = None) -> Iterator[Event]:
        """Yield stored events (of one aggregate, or all) once each, in no promised order.

        For callers that fold over events and need no order: the events are
        built from :meth:`iter_records` one at a time, never all held.
        """
        from .events import Event  # pydantic stays off the write path

        accepted = Event.from_accepted_record
        for record in self.iter_records():
            if aggregate_id is None or record["aggregate_id"] == aggregate_id:
                yield accepted(record)

    def load_events(self, aggregate_id: str) -> list[Event]:
        """Return one aggregate's events in causal order."""
        return sorted(self.iter_events(aggregate_id), key=causal_order)

    def load_all_events(self) -> list[Event]:
        """Return every stored event in causal order."""
        return sorted(self.iter_events(), key=causal_order)


def stored_form(record: Record) -> tuple[bytes, str, Record]:
    """Return a record's log line, and the id and dict a reader of that line gets.

    What backends store: raises InvalidEventError when the line is not an
    event by the line rule (or the record cannot be serialised), so no
    backend keeps what a reader would skip.
    """
    from ._records import dumps_record  # the writers' module: a read never needs it

    line = dumps_record(record)
    event_id, stored = parse_line(line)
    return line, event_id, stored


class InMemoryEventStore(EventStore):
    """The reference backend: records in a dict, guarded by a lock. For tests and short-lived tools.

    Records are held as the dicts their log lines would hold (serialised and
    read back by the line rule), so what this store accepts, returns and
    counts is what ``SimpleJsonStore`` would.
    """

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._head = StoreHead()
        import threading  # only an in-memory store needs a lock; a report's path has none

        self._lock = threading.Lock()

    def append_record(self, build: BuildRecord) -> Record:
        """Build under the store's lock from its head; keep the record unless its id is kept."""
        with self._lock:
            _, event_id, stored = stored_form(build(self._head))
            if event_id in self._records:
                raise InvalidEventError(f"in memory: event {event_id} is already stored")
            self._keep(event_id, stored)
        return _copy(stored)

    def head(self) -> StoreHead:
        """Return the largest Lamport clock and ULID kept."""
        return self._head

    def save_event(self, event: Event) -> bool:
        """Keep ``event`` unless its id is already kept."""
        _, event_id, stored = stored_form(event.to_dict())
        with self._lock:
            if event_id in self._records:
                return False
            self._keep(event_id, stored)
        return True

    def _keep(self, event_id: str, stored: Record) -> None:
        self._records[event_id] = stored
        self._head = self._head.absorb(stored["lamport_clock"], event_id)

    def iter_records(self) -> Iterator[Record]:
        """Yield copies of the kept records in insertion order."""
        with self._lock:
            kept = list(self._records.values())
        for record in kept:
            yield _copy(record)
        self.last_read = ReadReport("in memory", events=len(kept))


def _copy(record: Record) -> Record:
    """Return a deep copy of a record, as a new reader of its line would get it."""
    copied: Record = orjson.loads(orjson.dumps(record))
    return copied

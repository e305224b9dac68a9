"""An :class:`~.store.EventStore` in PostgreSQL: one project's events in a shared table.

The team server keeps every project's events in one ``events`` table (see
``server/migrations``), each row scoped to its project and keyed by
``(project, event id)``, so a save is idempotent by the database itself
(``INSERT ... ON CONFLICT DO NOTHING``), also across server processes.

What is stored is the event's log line, exactly as ``SimpleJsonStore`` would
write it, and the records read back are that line parsed: a record is the same
in every backend, to the last digit of a float. Columns beside it (timestamp,
feature, agent, work package...) exist for the indexes of the queries.

Appends take a transaction-level advisory lock on the project, so the head an
append's ``build`` sees is the head of everything stored when its row lands
(Lamport's receive rule), also with many server processes; saves take the same
lock, so a save cannot slip between an append's head and its row. Connections
come from a psycopg pool that checks each one before use, so the store carries
on once a restarted PostgreSQL is back.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from ._lines import utc_timestamp
from .errors import InvalidEventError, InvalidOptionError, StoreError
from .events import Event
from .ids import is_ulid
from .store import BuildRecord, EventStore, ReadReport, Record, StoreHead, stored_form

__all__ = ["PostgresEventStore", "StoredRow", "ensure_project", "open_pool", "row_of"]

#: Rows fetched per round trip by a read's server-side cursor.
_FETCH: Final = 2000
#: The advisory-lock namespace of project appends (the first key of the two-key lock).
_LOCK_SPACE: Final = 0x534B54  # "SKT"

_INSERT: Final = """
INSERT INTO events (project_id, event_id, aggregate_id, event_type, lamport_clock, node_id,
                    ts, is_ulid, wp_id, agent, role, model, success, payload, line)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)
ON CONFLICT (project_id, event_id) DO NOTHING
"""

StoredRow = tuple[Any, ...]


def open_pool(database_url: str, *, max_size: int = 10, timeout: float = 30.0) -> ConnectionPool:
    """Open a pool of connections to ``database_url`` that replaces broken ones before use."""
    return ConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        check=ConnectionPool.check_connection,
        open=True,
        kwargs={"autocommit": False},
    )


def row_of(project_id: int, record: Record) -> tuple[str, StoredRow]:
    """Return the event id and the ``events`` row of a record, judged by the line rule.

    Raises InvalidEventError (naming the field) for a record that is not an event.
    """
    line, event_id, stored = stored_form(record)
    payload = stored["payload"]
    text = line.decode().rstrip("\n")
    # JSONB refuses the NUL character; such payloads are kept in the line only.
    payload_json = None if "\\u0000" in text else orjson.dumps(payload).decode()
    success = payload.get("success")
    return event_id, (
        project_id,
        event_id,
        stored["aggregate_id"],
        stored["event_type"],
        stored["lamport_clock"],
        stored["node_id"],
        utc_timestamp(stored["timestamp"]),
        is_ulid(event_id),
        _text(payload.get("wp_id")),
        _text(payload.get("agent")),
        _text(payload.get("role")),
        _text(payload.get("model")),
        success if type(success) is bool else None,
        payload_json,
        text,
    )


def _text(value: object) -> str | None:
    return value if type(value) is str and "\x00" not in value else None


class PostgresEventStore(EventStore):
    """The events of one project in PostgreSQL (the project is created on first use).

    ``pool`` is shared by every store of a process (the server keeps one);
    ``project`` is the project's name, and ``project_id`` its row when the
    caller knows it already (the server, from the request's token).
    """

    def __init__(
        self, pool: ConnectionPool, project: str, *, project_id: int | None = None
    ) -> None:
        self.pool = pool
        self.project = project
        self.project_id = ensure_project(pool, project) if project_id is None else project_id

    @classmethod
    def connect(cls, database_url: str, project: str) -> PostgresEventStore:
        """Open a pool of its own on ``database_url`` and return the store of ``project``."""
        return cls(open_pool(database_url), project)

    # -- writing -------------------------------------------------------------

    def _lock(self, connection: psycopg.Connection[Any]) -> None:
        connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_SPACE, self.project_id))

    def append_record(self, build: BuildRecord) -> Record:
        """Build from the head under the project's advisory lock; insert unless the id is stored."""
        with self.pool.connection() as connection, connection.transaction():
            self._lock(connection)
            record = build(_head(connection, self.project_id))
            event_id, row = row_of(self.project_id, record)
            inserted = connection.execute(_INSERT, row).rowcount
            if inserted != 1:
                raise InvalidEventError(
                    f"project {self.project}: event {event_id} is already stored"
                )
        stored: Record = orjson.loads(row[-1])
        return stored

    def head(self) -> StoreHead:
        """Return the largest Lamport clock and ULID stored in the project."""
        with self.pool.connection() as connection:
            return _head(connection, self.project_id)

    def save_event(self, event: Event) -> bool:
        """Store ``event`` unless its id is stored in the project."""
        return self.save_records([event.to_dict()])[0] == 1

    def save_events(self, events: Iterable[Event]) -> int:
        """Store each new event, in one transaction per thousand; return how many were new."""
        written = 0
        records = (event.to_dict() for event in events)
        while batch := list(itertools.islice(records, 1000)):
            written += self.save_records(batch)[0]
        return written

    def save_records(self, records: Sequence[Record]) -> tuple[int, int]:
        """Store the records as one transaction; return (new, duplicates).

        Every record is judged first: one that is not an event raises
        InvalidEventError and nothing is stored. A record whose id appears
        twice in ``records`` counts as a duplicate the second time.
        """
        rows = [row_of(self.project_id, record)[1] for record in records]
        if not rows:
            return 0, 0
        try:
            with self.pool.connection() as connection, connection.transaction():
                self._lock(connection)
                with connection.cursor() as cursor:
                    cursor.executemany(_INSERT, rows)  # rowcount: the rows inserted, in sum
                    new = cursor.rowcount
        except psycopg.DataError as exc:  # a value PostgreSQL refuses (say, a NUL in a name)
            raise InvalidEventError(f"project {self.project}: {exc}") from None
        return new, len(rows) - new

    @contextmanager
    def locked(self) -> Iterator[psycopg.Connection[Any]]:
        """Hold the project's append lock for a transaction; yield its connection.

        For writers that must decide from what is stored (the server's
        executions: is it started, is it complete) and append in one step:
        every append and save of the project waits while this is held.
        """
        with self.pool.connection() as connection, connection.transaction():
            self._lock(connection)
            yield connection

    def head_in(self, connection: psycopg.Connection[Any]) -> StoreHead:
        """Return the head as seen by ``connection`` (one holding :meth:`locked`)."""
        return _head(connection, self.project_id)

    def insert(
        self, connection: psycopg.Connection[Any], records: Sequence[Record]
    ) -> tuple[int, int]:
        """Store the records not stored yet, in ``connection``'s transaction: (new, duplicates).

        Raises InvalidEventError for a record that is not an event (the
        transaction is then to be rolled back: leave :meth:`locked` by the error).
        """
        rows = [row_of(self.project_id, record)[1] for record in records]
        if not rows:
            return 0, 0
        try:
            with connection.cursor() as cursor:
                cursor.executemany(_INSERT, rows)
                new = cursor.rowcount
        except psycopg.DataError as exc:
            raise InvalidEventError(f"project {self.project}: {exc}") from None
        return new, len(rows) - new

    def append_records(self, build: Callable[[StoreHead], Sequence[Record]]) -> tuple[int, int]:
        """Build records from the head under the project's lock; store those not stored yet.

        ``append_record`` for many records at once, and idempotent where it
        refuses: a record whose id is stored already is skipped, so a client
        that resends (an OTLP exporter's retry) stores nothing twice. Returns
        (new, duplicates). A built record that is not an event raises
        InvalidEventError and nothing is stored.
        """
        with self.locked() as connection:
            return self.insert(connection, build(self.head_in(connection)))

    @staticmethod
    def check(record: object) -> None:
        """Raise InvalidEventError naming the field unless ``record`` is an event (line rule)."""
        stored_form(record)  # type: ignore[arg-type]  # any JSON value may arrive; the rule says

    # -- reading -------------------------------------------------------------

    def page(
        self,
        after: int,
        limit: int,
        predicate: Callable[[Record], bool] | None,
        *,
        scan: int = _FETCH,
    ) -> tuple[list[Record], int | None]:
        """Return up to ``limit`` records stored after position ``after`` that pass ``predicate``.

        Records come in storage order, with the position to pass as ``after``
        for the next page; None when no record after the page matches, so a
        last page that is exactly full is known to be the last (the search
        for one more match costs what the client's next request would have).
        The filter is the caller's (the query module's), applied here to the
        parsed records ``scan`` rows at a time, so this store adds no filter
        rule of its own.
        """
        found: list[Record] = []
        page_end: int | None = None
        loads = orjson.loads
        with self.pool.connection() as connection:
            while True:
                rows = connection.execute(
                    "SELECT seq, line FROM events WHERE project_id = %s AND seq > %s"
                    " ORDER BY seq LIMIT %s",
                    (self.project_id, after, scan),
                ).fetchall()
                for seq, line in rows:
                    after = seq
                    record = loads(line)
                    if predicate is None or predicate(record):
                        if page_end is not None:
                            return found, page_end  # one more match: there is a next page
                        found.append(record)
                        if len(found) == limit:
                            page_end = seq
                if len(rows) < scan:
                    return found, None

    def iter_records(self) -> Iterator[Record]:
        """Stream the project's records through a server-side cursor, in storage order."""
        yield from self._records("", ())

    def iter_events(self, aggregate_id: str | None = None) -> Iterator[Event]:
        """Yield the project's events (of one aggregate, filtered by the database)."""
        accepted = Event.from_accepted_record
        if aggregate_id is None:
            records = self._records("", ())
        else:
            records = self._records(" AND aggregate_id = %s", (aggregate_id,))
        for record in records:
            yield accepted(record)

    def _records(self, where: str, params: tuple[Any, ...]) -> Iterator[Record]:
        count = 0
        loads = orjson.loads
        with (
            self.pool.connection() as connection,
            connection.transaction(),
            connection.cursor(name="skt_read") as cursor,
        ):
            cursor.itersize = _FETCH
            cursor.execute(
                "SELECT line FROM events WHERE project_id = %s" + where + " ORDER BY seq",
                (self.project_id, *params),
            )
            for (line,) in cursor:
                count += 1
                yield loads(line)
        if not where:
            self.last_read = ReadReport(f"postgresql project {self.project}", events=count)


def _head(connection: psycopg.Connection[Any], project_id: int) -> StoreHead:
    row = connection.execute(
        "SELECT (SELECT max(lamport_clock) FROM events WHERE project_id = %s),"
        " (SELECT max(event_id) FROM events WHERE project_id = %s AND is_ulid)",
        (project_id, project_id),
    ).fetchone()
    if row is None:
        return StoreHead()
    return StoreHead(row[0], row[1])


def ensure_project(pool: ConnectionPool, name: str) -> int:
    """Return the id of the project ``name``, creating it when it is new."""
    if not name.strip() or len(name) > 200 or "\x00" in name:
        raise InvalidOptionError(
            "must be a non-blank name of at most 200 characters", parameter="project"
        )
    try:
        with pool.connection() as connection, connection.transaction():
            connection.execute(
                "INSERT INTO projects (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,)
            )
            row = connection.execute("SELECT id FROM projects WHERE name = %s", (name,)).fetchone()
    except psycopg.errors.UndefinedTable:
        raise StoreError(
            "the database has no telemetry schema; run the migrations first "
            "(spec-kitty agent telemetry serve applies them)"
        ) from None
    assert row is not None
    project_id: int = row[0]
    return project_id

"""The behaviour every :class:`~spec_kitty_telemetry.store.EventStore` must have, as a test case.

A backend's tests subclass :class:`EventStoreContract` and say how to make a
fresh, empty store; pytest then runs every test here against it::

    from spec_kitty_telemetry.testing.contract import EventStoreContract

    class TestMyStore(EventStoreContract):
        def make_store(self, tmp_path):
            return MyStore(...)

What only some backends can have (lines that are not events, the second copy
of a line a ``git merge=union`` leaves) is reached through hook methods that
return False by default; the tests that need them are then skipped, saying why.
This module imports pytest; ``spec_kitty_telemetry.testing`` does not.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ..errors import InvalidEventError
from ..events import Event
from ..ids import new_event_id
from ..store import EventStore, StoreHead, causal_order
from . import make_event

__all__ = ["EventStoreContract", "record_after"]


def record_after(head: StoreHead, **fields: Any) -> dict[str, Any]:
    """Return a record stamped after ``head`` (clock + 1, an id above its largest), as emit does.

    ``fields`` override the envelope or set the payload (``payload={...}``).
    """
    stamp: dict[str, Any] = {
        "lamport_clock": (head.max_lamport_clock or 0) + 1,
        "event_id": new_event_id(after=head.max_event_id),
        "node_id": "contract",
    }
    stamp.update(fields)
    return make_event(**stamp).to_dict()


class EventStoreContract(ABC):
    """Behaviour every EventStore must have. Subclasses implement :meth:`make_store`."""

    #: Threads and appends each of the contention test.
    contention_threads = 8
    contention_appends = 25

    @abstractmethod
    def make_store(self, tmp_path: Path) -> EventStore:
        """Return a new, empty store (``tmp_path`` is a fresh folder it may use)."""

    def inject_malformed(self, store: EventStore) -> bool:
        """Put one stored entry that is not an event after what is stored; False if impossible.

        A line-based backend appends a line readers must skip (say, one torn
        by a crash). Backends that only ever hold valid events keep the default.
        """
        return False

    def inject_duplicate(self, store: EventStore, event: Event) -> bool:
        """Store the stored ``event`` a second time, as a union merge would; False if impossible."""
        return False

    @pytest.fixture
    def store(self, tmp_path: Path) -> EventStore:
        """Return a fresh store made by the backend under test."""
        return self.make_store(tmp_path)

    # -- the event interface -------------------------------------------------

    def test_new_store_is_empty(self, store: EventStore) -> None:
        """A fresh store has no events, no records and an empty head."""
        assert store.load_all_events() == []
        assert list(store.iter_events()) == []
        assert store.load_events("001-a") == []
        assert list(store.iter_records()) == []
        assert store.last_read is not None
        assert (store.last_read.events, store.last_read.malformed_count) == (0, 0)
        assert store.head() == StoreHead(None, None)

    def test_saved_event_loads_back_equal(self, store: EventStore) -> None:
        """An event saved is loaded back equal, field for field."""
        event = make_event(payload={"agent": "claude", "tokens": [1, 2]}, causation_id=None)
        assert store.save_event(event) is True
        assert store.load_all_events() == [event]

    def test_save_is_idempotent_by_event_id(self, store: EventStore) -> None:
        """Saving an event whose id is stored is a no-op that reports False: it is read once."""
        event = make_event()
        store.save_event(event)
        assert store.save_event(event) is False
        assert store.load_all_events() == [event]
        assert [r["event_id"] for r in store.iter_records()] == [event.event_id]

    def test_save_events_counts_only_new_events(self, store: EventStore) -> None:
        """save_events writes each new event once and returns how many it wrote."""
        first, second = make_event(), make_event()
        store.save_event(first)
        assert store.save_events([first, second, second]) == 1
        assert {e.event_id for e in store.load_all_events()} == {
            first.event_id,
            second.event_id,
        }

    def test_load_events_filters_by_aggregate(self, store: EventStore) -> None:
        """load_events(aggregate) returns only that aggregate's events."""
        a = make_event(aggregate_id="001-a", lamport_clock=2)
        b = make_event(aggregate_id="002-b", lamport_clock=1)
        store.save_events([a, b])
        assert store.load_events("001-a") == [a]
        assert store.load_events("002-b") == [b]
        assert store.load_events("003-c") == []

    def test_loads_are_in_causal_order_not_insertion_order(self, store: EventStore) -> None:
        """Events come back sorted by (lamport_clock, node_id), ties broken by event id."""
        events = [
            make_event(lamport_clock=3, node_id="a"),
            make_event(lamport_clock=1, node_id="b"),
            make_event(lamport_clock=2, node_id="b"),
            make_event(lamport_clock=2, node_id="a"),
            make_event(lamport_clock=1, node_id="b"),
        ]
        store.save_events(events)
        loaded = store.load_all_events()
        assert loaded == sorted(events, key=causal_order)
        assert [(e.lamport_clock, e.node_id) for e in loaded] == [
            (1, "b"),
            (1, "b"),
            (2, "a"),
            (2, "b"),
            (3, "a"),
        ]

    def test_iter_events_yields_each_event_once(self, store: EventStore) -> None:
        """The unordered stream holds every stored event exactly once."""
        events = [make_event(lamport_clock=n) for n in range(50)]
        store.save_events(events + events[:10])
        streamed = list(store.iter_events())
        assert sorted(e.event_id for e in streamed) == sorted(e.event_id for e in events)

    def test_timestamps_come_back_in_utc(self, store: EventStore) -> None:
        """A stored timestamp is the same instant, in UTC, after loading."""
        moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
        store.save_event(make_event(timestamp=moment))
        assert store.load_all_events()[0].timestamp == moment

    # -- records and the read report ----------------------------------------

    def test_iter_records_are_the_events_as_line_dicts(self, store: EventStore) -> None:
        """iter_records yields each event once as the dict its line holds, and reports the read."""
        events = [make_event(lamport_clock=n, payload={"n": n}) for n in range(1, 6)]
        store.save_events(events)
        records = list(store.iter_records())
        assert sorted(records, key=lambda r: r["event_id"]) == sorted(
            (e.to_dict() for e in events), key=lambda r: r["event_id"]
        )
        assert all(Event.from_dict(record) in events for record in records)
        report = store.last_read
        assert report is not None
        assert (report.events, report.duplicates, report.malformed_count) == (5, 0, 0)

    def test_records_belong_to_the_caller(self, store: EventStore) -> None:
        """Changing a record a read yielded changes nothing stored."""
        event = make_event(payload={"agent": "claude", "models": {"a": 1}})
        store.save_event(event)
        (record,) = store.iter_records()
        record["payload"]["agent"] = "changed"
        record["payload"]["models"]["a"] = 2
        record["lamport_clock"] = 99
        assert store.load_all_events() == [event]

    # -- the atomic append ---------------------------------------------------

    def test_append_record_stores_and_returns_the_record(self, store: EventStore) -> None:
        """append_record stores what build returns and returns it as stored."""
        built: list[dict[str, Any]] = []

        def build(head: StoreHead) -> dict[str, Any]:
            built.append(record_after(head, payload={"agent": "claude"}))
            return built[-1]

        stored = store.append_record(build)
        assert stored == built[0]
        assert list(store.iter_records()) == [stored]
        assert store.load_all_events() == [Event.from_dict(stored)]

    def test_build_sees_the_head_of_what_is_stored(self, store: EventStore) -> None:
        """The build callback gets the largest Lamport clock and ULID stored so far."""
        low = new_event_id()
        high = new_event_id(after=low)
        store.save_events(
            [make_event(event_id=high, lamport_clock=3), make_event(event_id=low, lamport_clock=7)]
        )
        seen: list[StoreHead] = []

        def build(head: StoreHead) -> dict[str, Any]:
            seen.append(head)
            return record_after(head)

        stored = store.append_record(build)
        assert seen == [StoreHead(7, high)]
        assert stored["lamport_clock"] == 8
        assert stored["event_id"] > high

    def test_head_after_appends_and_saves(self, store: EventStore) -> None:
        """head() follows every append and save; an older event saved late does not lower it."""
        first = store.append_record(record_after)
        assert store.head() == StoreHead(1, first["event_id"])
        second = store.append_record(record_after)
        assert store.head() == StoreHead(2, second["event_id"])
        latest = make_event(event_id=new_event_id(after=second["event_id"]), lamport_clock=40)
        store.save_event(latest)
        assert store.head() == StoreHead(40, latest.event_id)
        older = make_event(event_id=new_event_id(at=datetime(2020, 1, 1, tzinfo=UTC)))
        assert store.save_event(older) is True
        assert store.head() == StoreHead(40, latest.event_id)

    def test_ids_of_other_tools_do_not_count_towards_the_head(self, store: EventStore) -> None:
        """A 26-character id above every ULID (another tool's) is stored but is not the head id."""
        ulid = new_event_id()
        store.save_events(
            [make_event(event_id=ulid), make_event(event_id="Z" * 26, lamport_clock=5)]
        )
        assert store.head() == StoreHead(5, ulid)
        assert {r["event_id"] for r in store.iter_records()} == {ulid, "Z" * 26}

    def test_append_under_contention_stamps_every_record_after_the_last(
        self, store: EventStore
    ) -> None:
        """Appends racing from many threads each see the previous one: no clock or id twice."""
        start = threading.Barrier(self.contention_threads)
        errors: list[BaseException] = []

        def writer(node: int) -> None:
            try:
                start.wait()
                for _ in range(self.contention_appends):
                    store.append_record(lambda head: record_after(head, node_id=f"n{node}"))
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        threads = [
            threading.Thread(target=writer, args=(n,)) for n in range(self.contention_threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        total = self.contention_threads * self.contention_appends
        records = list(store.iter_records())
        assert sorted(r["lamport_clock"] for r in records) == list(range(1, total + 1))
        by_clock = sorted(records, key=lambda r: r["lamport_clock"])
        ids = [r["event_id"] for r in by_clock]
        assert ids == sorted(set(ids))  # every id is new and above the one before it
        assert store.head() == StoreHead(total, ids[-1])

    def test_a_build_that_raises_leaves_the_store_unchanged(self, store: EventStore) -> None:
        """An exception in build propagates; nothing is stored and the next append works."""
        kept = store.append_record(record_after)

        def broken(head: StoreHead) -> dict[str, Any]:
            raise RuntimeError("no record today")

        with pytest.raises(RuntimeError, match="no record today"):
            store.append_record(broken)
        assert list(store.iter_records()) == [kept]
        assert store.head() == StoreHead(1, kept["event_id"])
        assert store.append_record(record_after)["lamport_clock"] == 2

    def test_a_record_that_is_not_an_event_is_refused(self, store: EventStore) -> None:
        """A build returning what the line rule rejects raises InvalidEventError; none is stored."""
        for bad in (
            lambda head: {**record_after(head), "lamport_clock": -1},
            lambda head: {**record_after(head), "extra_key": 1},
            lambda head: {**record_after(head), "node_id": "  "},
        ):
            with pytest.raises(InvalidEventError):
                store.append_record(bad)
        assert list(store.iter_records()) == []
        assert store.head() == StoreHead(None, None)

    def test_appending_a_stored_id_is_refused(self, store: EventStore) -> None:
        """An append whose record has a stored event id raises InvalidEventError; one copy stays."""
        event = make_event()
        store.save_event(event)
        with pytest.raises(InvalidEventError, match="already stored"):
            store.append_record(lambda head: event.to_dict())
        assert store.load_all_events() == [event]

    # -- what only some backends can hold ------------------------------------

    def test_malformed_entries_are_skipped_and_reported(self, store: EventStore) -> None:
        """An entry that is not an event is skipped by every reader and named in the report."""
        first = make_event(lamport_clock=1)
        store.save_event(first)
        if not self.inject_malformed(store):
            pytest.skip(f"{type(store).__name__} cannot hold anything but events")
        second = store.append_record(record_after)
        assert sorted(r["event_id"] for r in store.iter_records()) == [
            first.event_id,
            second["event_id"],
        ]
        report = store.last_read
        assert report is not None
        assert (report.events, report.malformed_count) == (2, 1)
        assert "skipped 1 malformed line" in report.describe()
        assert store.load_all_events() == [first, Event.from_dict(second)]
        assert store.head() == StoreHead(2, second["event_id"])

    def test_a_second_copy_of_an_event_is_read_once(self, store: EventStore) -> None:
        """The copy of an event a union merge leaves is read once and counted as a duplicate."""
        a = make_event(lamport_clock=1)
        b = make_event(lamport_clock=2, event_id=new_event_id(after=a.event_id))
        store.save_events([a, b])
        if not self.inject_duplicate(store, a):
            pytest.skip(f"{type(store).__name__} cannot hold an event twice")
        assert sorted(r["event_id"] for r in store.iter_records()) == [a.event_id, b.event_id]
        report = store.last_read
        assert report is not None
        assert (report.events, report.duplicates) == (2, 1)
        assert store.load_all_events() == [a, b]
        assert store.save_event(a) is False

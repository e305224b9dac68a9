"""The EventStore contract, run against every backend.

Each backend subclasses :class:`EventStoreContract` and says how to make a
fresh store; every test here then runs against it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from spec_kitty_telemetry import EventStore, InMemoryEventStore, SimpleJsonStore, causal_order
from spec_kitty_telemetry.testing import make_event


class EventStoreContract:
    """Behaviour every EventStore must have. Subclasses implement ``make_store``."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> EventStore:
        return self.make_store(tmp_path)

    def make_store(self, tmp_path: Path) -> EventStore:
        raise NotImplementedError

    def test_new_store_is_empty(self, store: EventStore):
        """A fresh store has no events."""
        assert store.load_all_events() == []
        assert list(store.iter_events()) == []
        assert store.load_events("001-a") == []

    def test_saved_event_loads_back_equal(self, store: EventStore):
        """An event saved is loaded back equal, field for field."""
        event = make_event(payload={"agent": "claude", "tokens": [1, 2]}, causation_id=None)
        assert store.save_event(event) is True
        assert store.load_all_events() == [event]

    def test_save_is_idempotent_by_event_id(self, store: EventStore):
        """Saving an event whose id is stored is a no-op that reports False."""
        event = make_event()
        store.save_event(event)
        assert store.save_event(event) is False
        assert store.load_all_events() == [event]

    def test_save_events_counts_only_new_events(self, store: EventStore):
        """save_events writes each new event once and returns how many it wrote."""
        first, second = make_event(), make_event()
        store.save_event(first)
        assert store.save_events([first, second, second]) == 1
        assert {e.event_id for e in store.load_all_events()} == {
            first.event_id,
            second.event_id,
        }

    def test_load_events_filters_by_aggregate(self, store: EventStore):
        """load_events(aggregate) returns only that aggregate's events."""
        a = make_event(aggregate_id="001-a", lamport_clock=2)
        b = make_event(aggregate_id="002-b", lamport_clock=1)
        store.save_events([a, b])
        assert store.load_events("001-a") == [a]
        assert store.load_events("002-b") == [b]
        assert store.load_events("003-c") == []

    def test_loads_are_in_causal_order_not_insertion_order(self, store: EventStore):
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

    def test_iter_events_yields_each_event_once(self, store: EventStore):
        """The unordered stream holds every stored event exactly once."""
        events = [make_event(lamport_clock=n) for n in range(50)]
        store.save_events(events + events[:10])
        streamed = list(store.iter_events())
        assert sorted(e.event_id for e in streamed) == sorted(e.event_id for e in events)

    def test_timestamps_come_back_in_utc(self, store: EventStore):
        """A stored timestamp is the same instant, in UTC, after loading."""
        moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
        store.save_event(make_event(timestamp=moment))
        assert store.load_all_events()[0].timestamp == moment


class TestInMemoryEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return InMemoryEventStore()


class TestSimpleJsonStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return SimpleJsonStore(tmp_path / "feature" / "execution.events.jsonl")

    def test_a_second_store_over_the_same_file_sees_the_events(self, store: EventStore):
        """The file is the store: a new SimpleJsonStore on the same path reads what was saved."""
        assert isinstance(store, SimpleJsonStore)
        event = make_event()
        store.save_event(event)
        assert SimpleJsonStore(store.path).load_all_events() == [event]
        assert SimpleJsonStore(store.path).save_event(event) is False

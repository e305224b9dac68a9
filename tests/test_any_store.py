"""Emit, query, cost and timeline over any EventStore, not only a feature folder's log.

Every test runs three times: into an ``InMemoryEventStore``, into a
``SimpleJsonStore`` handed over as a store, and into a feature folder (its
log and clock file), so the behaviour callers see does not depend on the backend.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import pricing_for_tests
from spec_kitty_telemetry import (
    EVENTS_FILENAME,
    Event,
    EventFilter,
    EventStore,
    InMemoryEventStore,
    SimpleJsonStore,
    StoreHead,
    cost_report,
    cost_summary,
    emit_event,
    emit_execution_event,
    emit_execution_record,
    emit_record,
    emit_transition,
    feature_timeline,
    iter_execution_events,
    query_execution_events,
)
from spec_kitty_telemetry.query import iter_feature_records
from spec_kitty_telemetry.testing import make_event, read_feature_log

FEATURE = "001-any-store"

Target = EventStore | Path


@pytest.fixture(params=["memory", "jsonl-store", "folder"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """Where the test writes and reads: a store of each backend, or a feature folder."""
    folder = tmp_path / "kitty-specs" / FEATURE
    if request.param == "memory":
        return InMemoryEventStore()
    if request.param == "jsonl-store":
        return SimpleJsonStore(folder / EVENTS_FILENAME)
    folder.mkdir(parents=True)
    return folder


def store_of(target: Target) -> EventStore:
    """The store behind a target, for checks made directly on it."""
    return target if isinstance(target, EventStore) else SimpleJsonStore(target / EVENTS_FILENAME)


def invoke(target: Target, **fields: object) -> dict[str, object]:
    """Emit one ExecutionEvent of the test model with the given payload fields."""
    values: dict[str, object] = {
        "wp_id": "WP01",
        "agent": "claude",
        "role": "implementer",
        "model": "test-model",
    }
    values.update(fields)
    record = emit_execution_record(target, FEATURE, **values)  # type: ignore[arg-type]
    assert record is not None
    return record


def test_an_emitted_record_is_what_every_reader_reads_back(target: Target) -> None:
    """emit_execution_record's record comes back from iter_records, the queries and the helper."""
    record = invoke(target, input_tokens=1200, output_tokens=300, cost_usd=0.5)
    assert list(store_of(target).iter_records()) == [record]
    assert list(iter_feature_records(target)) == [record]
    event = Event.from_dict(record)
    assert query_execution_events(target) == [event]
    assert list(iter_execution_events(target)) == [event]
    assert read_feature_log(target) == [event]
    assert record["payload"]["input_tokens"] == 1200  # type: ignore[index]
    assert store_of(target).head() == StoreHead(1, record["event_id"])  # type: ignore[arg-type]


def test_emits_are_stamped_after_everything_stored(target: Target) -> None:
    """An emit after a foreign event with a high clock gets the next clock and a higher id."""
    foreign = make_event(aggregate_id=FEATURE, lamport_clock=41, node_id="elsewhere")
    store_of(target).save_event(foreign)
    first = emit_record(target, FEATURE, "Note", {"n": 1})
    second = emit_event(target, FEATURE, "Note", {"n": 2})
    assert first is not None
    assert second is not None
    assert (first["lamport_clock"], second.lamport_clock) == (42, 43)
    assert foreign.event_id < first["event_id"] < second.event_id
    assert query_execution_events(target) == [foreign, Event.from_dict(first), second]


def test_emit_execution_event_returns_the_stored_event(target: Target) -> None:
    """emit_execution_event returns an Event equal to the one the store holds."""
    event = emit_execution_event(target, FEATURE, "WP02", "codex", "reviewer", success=False)
    assert event is not None
    assert store_of(target).load_all_events() == [event]
    assert event.payload["success"] is False


def test_a_bad_emit_warns_and_stores_nothing(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """Invalid fields give one warning and None, and leave the store as it was."""
    with caplog.at_level(logging.WARNING):
        assert emit_execution_record(target, FEATURE, "WP01", "", "implementer") is None
        assert emit_record(target, FEATURE, "Note", {"bad": object()}) is None
    assert "agent: must be a non-empty string" in caplog.text
    assert "not JSON-serialisable" in caplog.text
    assert list(store_of(target).iter_records()) == []


def test_threads_emitting_at_once_each_get_their_own_clock(target: Target) -> None:
    """4 threads x 25 emits into one target: every event once, no Lamport clock twice."""

    def emit_many(node: str) -> list[str]:
        made = []
        for _ in range(25):
            record = emit_record(target, FEATURE, "Note", {}, node_id=node)
            assert record is not None
            made.append(record["event_id"])
        return made

    with ThreadPoolExecutor(max_workers=4) as pool:
        made = [i for ids in pool.map(emit_many, ["t0", "t1", "t2", "t3"]) for i in ids]
    records = list(store_of(target).iter_records())
    assert sorted(r["event_id"] for r in records) == sorted(made)
    assert sorted(r["lamport_clock"] for r in records) == list(range(1, 101))


def test_filters_apply_the_same_over_every_backend(target: Target) -> None:
    """EventFilter selects by payload fields and type whatever holds the events."""
    invoke(target, agent="claude", success=True)
    failed = invoke(target, agent="codex", success=False)
    emit_record(target, FEATURE, "Note", {"agent": "codex"})
    found = query_execution_events(target, EventFilter(event_type="ExecutionEvent", agent="codex"))
    assert found == [Event.from_dict(failed)]
    assert query_execution_events(target, EventFilter(success=False)) == found
    assert len(query_execution_events(target, EventFilter(wp_id="WP01"))) == 2


def test_cost_of_a_store_and_of_its_records_agree(target: Target) -> None:
    """cost_report over a store, its records or its Events gives the same figures."""
    invoke(target, input_tokens=1_000_000, output_tokens=100_000, cost_usd=None)
    invoke(target, agent="codex", input_tokens=10, output_tokens=10, cost_usd=0.25)
    emit_transition(target, FEATURE, None, "implement", node_id="n")
    pricing = pricing_for_tests()
    store = store_of(target)
    over_store = cost_report(store, "agent", pricing=pricing)
    over_records = cost_report(iter_feature_records(target), "agent", pricing=pricing)
    over_events = cost_report(store.load_all_events(), "agent", pricing=pricing)
    assert over_store.to_dict() == over_records.to_dict() == over_events.to_dict()
    # test-model: $2 per 1M input, $10 per 1M output -> 2 + 1 = 3 USD estimated.
    assert over_store.total.total_cost_usd == Decimal("3.25")
    rows = {s.group_key: s for s in cost_summary(store, "agent", pricing=pricing)}
    assert rows["claude"].total_cost_usd == Decimal(3)
    assert rows["codex"].total_cost_usd == Decimal("0.25")
    assert over_store.total.event_count == 2


def test_timeline_over_any_store(target: Target) -> None:
    """Transitions and invocations emitted to a store replay into the same phases."""
    emit_transition(target, FEATURE, None, "specify", node_id="n")
    invoke(target, role="specifier", wp_id=None, input_tokens=1000, output_tokens=100, cost_usd=0.1)
    emit_transition(target, FEATURE, "specify", "implement", node_id="n")
    invoke(target, input_tokens=2000, output_tokens=200, cost_usd=0.2, success=False)
    spans = feature_timeline(target, pricing=pricing_for_tests())
    assert [(s.phase, s.invocations, s.failed_invocations) for s in spans] == [
        ("specify", 1, 0),
        ("implement", 1, 1),
    ]
    assert [s.input_tokens for s in spans] == [1000, 2000]
    assert spans[0].cost_usd == Decimal("0.1")
    assert spans[1].ended_at is None

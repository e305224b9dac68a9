"""Helpers for testing code that emits or reads spec-kitty telemetry.

Public and stable, in the spirit of ``structlog.testing``: build valid events
without spelling out every field, and read back what an emitter wrote.
``spec_kitty_telemetry.testing.contract`` holds the test case every
:class:`~spec_kitty_telemetry.store.EventStore` backend must pass (it needs
pytest; this module does not).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._emit_result import Collection, collecting
from .._records import EXECUTION_EVENT, execution_payload
from ..events import Event
from ..ids import new_event_id
from ..project import store_for
from ..store import EventStore

__all__ = [
    "CapturedEmits",
    "capture_events",
    "make_event",
    "make_execution_event",
    "read_feature_log",
]

#: What :func:`capture_events` yields: ``records`` (dicts, as stored),
#: ``warnings`` (what went wrong without losing an event) and ``problem``
#: (why the last emit that stored nothing did not).
CapturedEmits = Collection


def make_event(
    *,
    event_type: str = "TestEvent",
    aggregate_id: str = "001-test-feature",
    payload: dict[str, Any] | None = None,
    lamport_clock: int = 1,
    node_id: str = "test",
    timestamp: datetime | None = None,
    event_id: str | None = None,
    causation_id: str | None = None,
) -> Event:
    """Return a valid event; every field can be overridden."""
    return Event(
        event_id=event_id or new_event_id(),
        event_type=event_type,
        aggregate_id=aggregate_id,
        payload=payload if payload is not None else {},
        timestamp=timestamp or datetime.now(UTC),
        node_id=node_id,
        lamport_clock=lamport_clock,
        causation_id=causation_id,
    )


def make_execution_event(
    *,
    aggregate_id: str = "001-test-feature",
    lamport_clock: int = 1,
    node_id: str = "test",
    timestamp: datetime | None = None,
    **payload: Any,
) -> Event:
    """Return a valid ``ExecutionEvent``; payload fields default to a small successful run."""
    fields: dict[str, Any] = {"wp_id": "WP01", "agent": "claude", "role": "implementer"}
    fields.update(payload)
    return make_event(
        event_type=EXECUTION_EVENT,
        aggregate_id=aggregate_id,
        payload=execution_payload(**fields),
        lamport_clock=lamport_clock,
        node_id=node_id,
        timestamp=timestamp,
    )


def read_feature_log(feature_dir: str | Path | EventStore) -> list[Event]:
    """Return the events of a feature folder's log (or of a store) in causal order."""
    return store_for(feature_dir).load_all_events()


@contextmanager
def capture_events() -> Iterator[CapturedEmits]:
    """Collect what every emitter called inside the block recorded, for a test to assert on.

    The events are still written to their logs or stores as usual; the block
    also sees them as records, in order, with the emitters' warnings, which
    are not logged meanwhile. Works across every emitter (``emit_*``,
    ``record_invocation``, ``track_invocation``, ``emit_transition``)::

        with capture_events() as captured:
            my_hook_that_records()
        assert captured.records[0]["payload"]["agent"] == "claude"
    """
    with collecting() as collection:
        yield collection

"""Builders for the query, pricing and cost tests: real projects on disk, written by the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry._rates import ModelRates
from spec_kitty_telemetry.events import Event
from spec_kitty_telemetry.pricing import Pricing
from spec_kitty_telemetry.testing import make_event, make_execution_event

#: A made-up model with round rates, so expected costs are easy to compute by hand.
TEST_RATES = ModelRates(
    input=Decimal(2),
    output=Decimal(10),
    cache_read=Decimal("0.2"),
    cache_write=Decimal("2.5"),
    source="test",
)


def pricing_for_tests(**extra: ModelRates) -> Pricing:
    """Pricing knowing only ``test-model`` (and ``extra``): no shipped table, no catalogue."""
    return Pricing(shipped={"test-model": TEST_RATES, **extra}, catalogue=False)


def at(text: str) -> datetime:
    """A UTC datetime from ISO text."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_clock = [0]


def run(
    feature: str = "001-alpha",
    *,
    when: str = "2025-11-03T10:00:00",
    lamport: int | None = None,
    node: str = "test",
    **payload: Any,
) -> Event:
    """An ExecutionEvent of ``feature`` at ``when``; clocks increase unless given."""
    _clock[0] += 1
    return make_execution_event(
        aggregate_id=feature,
        lamport_clock=_clock[0] if lamport is None else lamport,
        node_id=node,
        timestamp=at(when),
        **payload,
    )


def other(
    feature: str = "001-alpha", *, event_type: str = "PhaseTransition", **payload: Any
) -> Event:
    """A non-execution event of ``feature``."""
    _clock[0] += 1
    return make_event(
        event_type=event_type,
        aggregate_id=feature,
        payload=payload,
        lamport_clock=_clock[0],
        timestamp=at("2025-11-03T10:00:00"),
    )


def write_project(root: Path, *events: Event) -> Path:
    """Store each event in ``root/kitty-specs/<aggregate_id>/execution.events.jsonl``."""
    for event in events:
        log = root / "kitty-specs" / event.aggregate_id / EVENTS_FILENAME
        SimpleJsonStore(log).save_event(event)
    return root


def write_foreign(root: Path, feature: str, *payloads: dict[str, Any]) -> Path:
    """Append ExecutionEvents another tool wrote, payloads unchecked, to a feature's real log.

    The envelopes are valid; the payloads are whatever the caller gives (negative
    counts, costs like 1e300), as a log merged from another tool may hold.
    """
    from spec_kitty_telemetry.ids import new_event_id

    log = root / "kitty-specs" / feature / EVENTS_FILENAME
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        for payload in payloads:
            _clock[0] += 1
            record = {
                "aggregate_id": feature,
                "causation_id": None,
                "event_id": new_event_id(),
                "event_type": "ExecutionEvent",
                "lamport_clock": _clock[0],
                "node_id": "other-tool",
                "payload": {"agent": "other", "role": "implementer", **payload},
                "timestamp": "2025-11-03T10:00:00+00:00",
            }
            handle.write(json.dumps(record) + "\n")
    return log

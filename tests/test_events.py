"""The Event model, its line format, and the execution payload schema."""

from __future__ import annotations

import enum
import json
import math
import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import orjson
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from spec_kitty_telemetry import Event, ExecutionPayload, InvalidEventError
from spec_kitty_telemetry._records import dumps_record, event_record, execution_payload

SPEC_KITTY_LINE = (
    '{"aggregate_id": "043-telemetry-foundation", "causation_id": null, '
    '"event_id": "01KHJVJWDM0HGAGYGXJYKD1JQG", "event_type": "ExecutionEvent", '
    '"lamport_clock": 1, "node_id": "cli:WP04", "payload": {"agent": "copilot", '
    '"cost_usd": 15.6, "duration_ms": 17880000, "error": null, "exit_code": 0, '
    '"input_tokens": 30532200, "model": "claude-sonnet-4.5", "output_tokens": 178560, '
    '"role": "implementer", "success": true, "wp_id": "WP04"}, '
    '"timestamp": "2026-02-16T09:12:58.036834+00:00"}'
)


def _event(**overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "event_id": "01KHJVJWDM0HGAGYGXJYKD1JQG",
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-feature",
        "payload": {},
        "timestamp": datetime(2026, 2, 16, 9, 12, 58, tzinfo=UTC),
        "node_id": "cli",
        "lamport_clock": 1,
    }
    fields.update(overrides)
    return Event(**fields)


def test_spec_kitty_line_reads_and_writes_back_byte_for_byte():
    """A line written by spec-kitty's telemetry round-trips through Event unchanged."""
    event = Event.from_dict(json.loads(SPEC_KITTY_LINE))
    assert event.payload["input_tokens"] == 30532200
    assert event.timestamp == datetime(2026, 2, 16, 9, 12, 58, 36834, tzinfo=UTC)
    assert event.to_json() == SPEC_KITTY_LINE


def test_to_dict_has_exactly_the_format_keys():
    """The stored mapping has exactly the eight keys of the line format."""
    assert sorted(_event().to_dict()) == [
        "aggregate_id",
        "causation_id",
        "event_id",
        "event_type",
        "lamport_clock",
        "node_id",
        "payload",
        "timestamp",
    ]


def test_events_are_frozen():
    """Assigning to a field of an event fails: events are immutable facts."""
    event = _event()
    with pytest.raises(ValidationError):
        event.lamport_clock = 5  # type: ignore[misc]


def test_naive_timestamp_is_taken_as_utc():
    """A naive datetime means UTC; it is stored with an explicit +00:00."""
    event = _event(timestamp=datetime(2026, 1, 2, 3, 4, 5))
    assert event.timestamp.tzinfo is UTC
    assert event.to_dict()["timestamp"] == "2026-01-02T03:04:05+00:00"


def test_other_timezones_are_converted_to_utc():
    """An aware timestamp in another zone is stored as the same instant in UTC."""
    paris = timezone(timedelta(hours=1))
    event = _event(timestamp=datetime(2026, 1, 2, 4, 4, 5, tzinfo=paris))
    assert event.to_dict()["timestamp"] == "2026-01-02T03:04:05+00:00"


def test_uuid_ids_are_normalised_to_ulids():
    """event_id and causation_id given as UUIDs are stored as canonical ULIDs."""
    event = _event(
        event_id="0195ff4e-8b6a-7c3e-9a1b-2c3d4e5f6a7b",
        causation_id="0195ff4e8b6a7c3e9a1b2c3d4e5f6a7c",
    )
    assert len(event.event_id) == 26
    assert event.event_id.isupper()
    assert event.causation_id is not None
    assert event.causation_id > event.event_id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "nope"),
        ("event_type", ""),
        ("aggregate_id", "   "),
        ("node_id", ""),
        ("lamport_clock", -1),
        ("lamport_clock", "3"),
        ("lamport_clock", True),
        ("causation_id", "zz"),
    ],
)
def test_invalid_fields_are_rejected_naming_the_field(field: str, value: object):
    """from_dict raises InvalidEventError that names the offending field."""
    data = _event().to_dict()
    data[field] = value
    with pytest.raises(InvalidEventError, match=field):
        Event.from_dict(data)


def test_unknown_top_level_keys_are_rejected():
    """A line with keys outside the format is not an event of this format."""
    data = _event().to_dict() | {"extra": 1}
    with pytest.raises(InvalidEventError, match="extra"):
        Event.from_dict(data)


def test_payload_that_json_cannot_hold_is_an_invalid_event():
    """NaN or arbitrary objects in a payload fail serialisation with InvalidEventError."""
    with pytest.raises(InvalidEventError, match="JSON"):
        _event(payload={"x": math.nan}).to_json()
    with pytest.raises(InvalidEventError, match="JSON"):
        _event(payload={"x": object()}).to_json()


def test_strings_that_are_not_valid_unicode_are_stored_readably():
    """Lone surrogates (surrogateescape-decoded stderr) are spelled out, not made unreadable."""
    error = b"caf\xe9 failed".decode("utf-8", "surrogateescape")
    line = _event(payload={"error": error, error: 1}).to_json()
    assert Event.from_dict(orjson.loads(line)).payload == {
        "error": "caf\\udce9 failed",
        "caf\\udce9 failed": 1,
    }


def test_integers_beyond_64_bits_are_refused_on_write():
    """Readers parse numbers as 64-bit; a larger integer is refused rather than corrupted."""
    assert _event(payload={"x": [2**63 - 1, -(2**63)]}).to_json()
    with pytest.raises(InvalidEventError, match="64 bits"):
        _event(payload={"nested": {"x": [2**63]}}).to_json()


def test_execution_payload_keeps_unknown_keys():
    """Extra payload keys survive validation by both the model and the writer's validator."""
    fields = {"agent": "claude", "role": "implementer", "custom": {"a": 1}}
    assert ExecutionPayload.model_validate(fields).model_dump()["custom"] == {"a": 1}
    assert execution_payload(**fields)["custom"] == {"a": 1}


def test_none_tokens_stay_none():
    """Unreported token counts are stored as null, never as 0."""
    payload = execution_payload(agent="codex", role="reviewer")
    assert payload["input_tokens"] is None
    assert payload["cache_read_tokens"] is None
    assert json.loads(dumps_record(payload))["output_tokens"] is None


def test_cache_counts_above_input_are_rejected_with_the_convention():
    """Cache tokens are part of input_tokens; more cache than input is a unit mistake."""
    with pytest.raises(InvalidEventError, match="total input"):
        execution_payload(
            agent="claude",
            role="implementer",
            input_tokens=10,
            cache_read_tokens=8,
            cache_write_tokens=5,
        )


class _Code(enum.IntEnum):
    THREE = 3


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            b"bytes",
            bytearray(b"x"),
            _Code.THREE,
            "\x1c",
            " \t",
            Decimal("1.5"),
            Fraction(1, 3),
            10**400,
            -0.0,
            1e9,
            1e9 + 1,
        ]
    ),
    st.booleans(),
    st.integers(min_value=-3, max_value=10**12),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=1),
)
_FIELDS = [
    "wp_id",
    "agent",
    "role",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "duration_ms",
    "success",
    "error",
    "exit_code",
]


@settings(max_examples=int(os.environ.get("DIFFERENTIAL_EXAMPLES", "400")))
@given(st.dictionaries(st.sampled_from(_FIELDS), _VALUES))
def test_writer_validation_agrees_with_the_pydantic_schema(fields: dict[str, Any]):
    """The emit path's plain validator accepts and rejects exactly what ExecutionPayload does."""
    try:
        expected: dict[str, Any] | None = ExecutionPayload.model_validate(fields).model_dump(
            mode="json"
        )
    except ValidationError:
        expected = None
    try:
        actual: dict[str, Any] | None = execution_payload(**fields)
    except (InvalidEventError, TypeError):
        actual = None
    assert actual == expected


@settings(max_examples=200)
@given(
    lamport=st.integers(min_value=0, max_value=2**40),
    node=st.text(min_size=1).filter(str.strip),
    aggregate=st.text(min_size=1).filter(str.strip),
    moment=st.datetimes(timezones=st.just(UTC)),
)
def test_writer_records_are_valid_events(lamport: int, node: str, aggregate: str, moment: datetime):
    """Every record the writer builds is accepted by Event and serialises identically."""
    record = event_record(
        event_id="01KHJVJWDM0HGAGYGXJYKD1JQG",
        event_type="ExecutionEvent",
        aggregate_id=aggregate,
        payload={"agent": "claude"},
        timestamp=moment,
        node_id=node,
        lamport_clock=lamport,
    )
    event = Event.from_dict(json.loads(dumps_record(record)))
    assert dumps_record(event.to_dict()) == dumps_record(record)

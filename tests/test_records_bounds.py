"""Writer validation at its bounds: one bad field at a time, every documented limit exactly,
and the defaults of a payload. Each case is checked against the writer's validator and the
pydantic schema, which must agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from spec_kitty_telemetry._records import dumps_record, event_record, execution_payload
from spec_kitty_telemetry.errors import InvalidEventError
from spec_kitty_telemetry.events import ExecutionPayload

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "duration_ms",
)
_BASE = {"agent": "claude", "role": "implementer"}


def accepted(**fields: Any) -> dict[str, Any]:
    """The payload both validators make of ``fields`` (they must agree on it)."""
    payload = execution_payload(**{**_BASE, **fields})
    assert ExecutionPayload.model_validate({**_BASE, **fields}).model_dump(mode="json") == payload
    return payload


def rejected(**fields: Any) -> str:
    """The writer's error for ``fields``; the schema must reject them too."""
    with pytest.raises(ValidationError):
        ExecutionPayload.model_validate({**_BASE, **fields})
    with pytest.raises(InvalidEventError) as caught:
        execution_payload(**{**_BASE, **fields})
    return str(caught.value)


@pytest.mark.parametrize("name", _COUNTS)
@pytest.mark.parametrize("bad", [-1, -5, 2.5, 3.0, True, 2**63, "7"])
def test_one_bad_count_alone_is_rejected_and_named(name: str, bad: object):
    """A count must be a whole number >= 0 below 2**63, even when every other field is fine."""
    assert rejected(**{name: bad}).startswith(f"{name}: must be a whole number >= 0")


@pytest.mark.parametrize("name", _COUNTS)
def test_counts_from_zero_to_the_largest_64_bit_integer_are_accepted(name: str):
    """0 and 2**63-1 are valid counts (cache and reasoning counts need a large enough total)."""
    whole = {"input_tokens": _INT64_MAX, "output_tokens": _INT64_MAX}
    for value in (0, _INT64_MAX):
        fields = {**whole, name: value} if name not in whole else {name: value}
        assert accepted(**fields)[name] == value


def test_reasoning_tokens_may_equal_the_output_but_not_exceed_it():
    """Reasoning is part of output: equal is fine, one more is rejected naming both counts."""
    assert accepted(output_tokens=7, reasoning_tokens=7)["reasoning_tokens"] == 7
    assert accepted(reasoning_tokens=7)["reasoning_tokens"] == 7  # output unknown
    message = rejected(output_tokens=7, reasoning_tokens=8)
    assert message == (
        "reasoning_tokens (8) exceed output_tokens (7); output_tokens must include reasoning"
    )


def test_cache_counts_may_add_up_to_the_input_but_not_exceed_it():
    """Cache reads plus writes equal to input_tokens are fine; one more is rejected."""
    fields = {"input_tokens": 10, "cache_read_tokens": 6}
    assert accepted(**fields, cache_write_tokens=4)["cache_write_tokens"] == 4
    assert accepted(cache_read_tokens=6, cache_write_tokens=4)["input_tokens"] is None
    assert accepted(input_tokens=10, cache_write_tokens=10)["cache_write_tokens"] == 10
    message = rejected(**fields, cache_write_tokens=5)
    assert message.startswith(
        "cache_read_tokens + cache_write_tokens (11) exceed input_tokens (10)"
    )


def test_a_payload_defaults_to_a_successful_run_with_nothing_else_known():
    """Left out, success is true, exit_code 0 and every other field null."""
    payload = accepted()
    assert payload["success"] is True
    assert payload["exit_code"] == 0
    unknown = {name for name, value in payload.items() if value is None}
    assert unknown == {"wp_id", "model", "cost_usd", "error", *_COUNTS}


@pytest.mark.parametrize("cost", [0, 0.0, 999_999_999.99, 10**9 - 1])
def test_costs_from_zero_to_under_one_billion_are_accepted(cost: float):
    """$0 is included and $1e9 is not: the bound is exclusive (usage.MAX_COST_USD)."""
    assert accepted(cost_usd=cost)["cost_usd"] == float(cost)


@pytest.mark.parametrize(
    "cost", [-0.01, 1e9, 10**9, 1e9 + 1, float("nan"), float("inf"), True, 10**400]
)
def test_costs_outside_zero_to_under_one_billion_are_rejected(cost: object):
    """Negative, $1e9 or more, NaN, infinite, a bool, or too big for a float: rejected."""
    assert rejected(cost_usd=cost).startswith("cost_usd: must be a number from 0 to under 1e+09")


@pytest.mark.parametrize("code", [_INT64_MIN, -1, 0, _INT64_MAX, None])
def test_exit_codes_are_any_64_bit_integer_or_unknown(code: int | None):
    """Exit codes may be negative (signals); the 64-bit range is the limit."""
    assert accepted(exit_code=code)["exit_code"] == code


@pytest.mark.parametrize("code", [_INT64_MIN - 1, _INT64_MAX + 1, True, 1.0])
def test_exit_codes_outside_64_bits_or_not_integers_are_rejected(code: object):
    """An exit code beyond 64 bits, a bool or a float is rejected, named."""
    assert rejected(exit_code=code).startswith("exit_code: must be a whole number")


def _record(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": "01KHJVJWDM0HGAGYGXJYKD1JQG",
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-feature",
        "payload": {},
        "timestamp": datetime(2026, 2, 16, 9, 0, tzinfo=UTC),
        "node_id": "n",
        "lamport_clock": 1,
        **overrides,
    }
    return event_record(**fields)


@pytest.mark.parametrize("clock", [0, 2**53 - 1])
def test_lamport_clocks_from_zero_to_2_53_minus_1_are_accepted(clock: int):
    """Clocks fit JSON readers of every language: 2**53-1 is the largest allowed."""
    assert _record(lamport_clock=clock)["lamport_clock"] == clock


@pytest.mark.parametrize("clock", [-1, 2**53, True, 1.0])
def test_lamport_clocks_outside_the_range_are_rejected(clock: object):
    """A negative clock, 2**53, a bool or a float is rejected, naming the field."""
    with pytest.raises(InvalidEventError, match=r"^lamport_clock: must be a whole number"):
        _record(lamport_clock=clock)


def test_timestamps_are_stored_in_utc():
    """A naive timestamp is taken as UTC; an aware one is converted to UTC."""
    assert (
        _record(timestamp=datetime(2026, 2, 16, 9, 0))["timestamp"] == "2026-02-16T09:00:00+00:00"
    )
    paris = datetime(2026, 2, 16, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert _record(timestamp=paris)["timestamp"] == "2026-02-16T09:00:00+00:00"


def test_ids_are_stored_canonically_and_a_missing_cause_stays_none():
    """Lower-case and UUID ids are stored as canonical ULIDs; no causation id is null."""
    record = _record(event_id="01khjvjwdm0hgagygxjykd1jqg")
    assert record["event_id"] == "01KHJVJWDM0HGAGYGXJYKD1JQG"
    assert record["causation_id"] is None
    caused = _record(causation_id="00000000-0000-0000-0000-000000000001")
    assert caused["causation_id"] == "00000000000000000000000001"


def test_every_broken_envelope_field_is_named_in_one_error():
    """Several bad fields give one error naming each of them."""
    with pytest.raises(InvalidEventError) as caught:
        _record(event_type=" ", node_id="", lamport_clock=-1, causation_id="nope", payload=[])
    message = str(caught.value)
    for name in ("event_type", "node_id", "lamport_clock", "causation_id", "payload"):
        assert f"{name}:" in message


@pytest.mark.parametrize("value", [_INT64_MAX, _INT64_MIN])
def test_the_line_format_takes_integers_up_to_64_bits(value: int):
    """Integers at the ends of the 64-bit range are written exactly."""
    assert json.loads(dumps_record({"n": [value]})) == {"n": [value]}


@pytest.mark.parametrize("value", [_INT64_MAX + 1, _INT64_MIN - 1])
def test_the_line_format_refuses_integers_beyond_64_bits(value: int):
    """One past either end of the 64-bit range is refused, not rounded."""
    with pytest.raises(InvalidEventError, match="64 bits"):
        dumps_record({"n": {"m": value}})


def test_the_line_format_is_sorted_keys_and_one_line():
    """Keys sorted, default separators, a single newline at the end, bools kept as bools."""
    assert dumps_record({"b": True, "a": (1, 2)}) == b'{"a": [1, 2], "b": true}\n'


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_the_line_format_refuses_numbers_json_cannot_hold(value: float):
    """NaN and infinities are not JSON: a record holding one is refused, not written as NaN."""
    with pytest.raises(InvalidEventError, match="not JSON-serialisable"):
        dumps_record({"x": value})


def test_text_that_is_not_unicode_is_stored_spelled_out():
    """A lone surrogate (stderr decoded with surrogateescape) is written as its escape text."""
    line = dumps_record({"stderr": "bad \udcff byte", "ok": "caf\u00e9"})
    assert json.loads(line) == {"stderr": "bad \\udcff byte", "ok": "caf\u00e9"}


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"agent": " "}, "agent"),
        ({"role": ""}, "role"),
        ({"wp_id": 3}, "wp_id"),
        ({"model": ["m"]}, "model"),
        ({"error": 1.5}, "error"),
        ({"success": 1}, "success"),
    ],
)
def test_each_bad_text_or_flag_field_is_named_first(fields: dict[str, Any], name: str):
    """The error for one bad field starts with that field's name."""
    assert rejected(**fields).startswith(f"{name}: must be")


@pytest.mark.parametrize("name", ["event_type", "aggregate_id", "node_id"])
def test_each_blank_envelope_name_is_named(name: str):
    """A blank event type, feature or node is rejected with the field's name first."""
    with pytest.raises(InvalidEventError, match=rf"^{name}: must be a non-empty string"):
        _record(**{name: "  "})


def test_execution_events_written_are_the_ones_reports_count():
    """The writer's event type for agent runs is the one the cost report reads."""
    from spec_kitty_telemetry.cost import cost_report
    from spec_kitty_telemetry.testing import make_execution_event

    event = make_execution_event(cost_usd=0.25)
    assert event.event_type == "ExecutionEvent"
    assert cost_report([event]).total.reported_cost_usd == Decimal("0.25")


def test_an_event_needs_an_id():
    """An event id of None is rejected, named, like any other bad id."""
    with pytest.raises(InvalidEventError, match=r"^event_id: event id must be a string"):
        _record(event_id=None)

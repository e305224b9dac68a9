"""Event records as plain dicts: validation and the line format, without pydantic.

The emit path runs in short-lived processes (a CLI call per agent phase) where
importing pydantic and building its models costs more than ten times the
interpreter's start-up. Writers therefore validate with the plain functions
here; :class:`~spec_kitty_telemetry.events.Event` and
:class:`~spec_kitty_telemetry.events.ExecutionPayload` describe the same
schema for readers and Python callers, and the tests hold the two to the same
verdicts (tests/test_records.py).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, Final

from .errors import InvalidEventError
from .ids import normalize_event_id

#: ``event_type`` of the record written after every agent invocation.
EXECUTION_EVENT: Final = "ExecutionEvent"

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

TOKEN_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def dumps_record(record: dict[str, Any]) -> bytes:
    """Serialise a record as one log line, newline included.

    Sorted keys and Python's default separators: the exact format spec-kitty
    writes, so a log written by either tool diffs cleanly against the other.
    Integers must fit in 64 bits, because fast JSON readers (and databases)
    silently turn larger ones into floats.
    """
    try:
        _check_integers(record)
        return (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode()
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(f"payload is not JSON-serialisable: {exc}") from None


def _check_integers(value: object) -> None:
    if type(value) is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer {value} does not fit in 64 bits")
    elif isinstance(value, dict):
        for item in value.values():
            _check_integers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_integers(item)


def event_record(
    *,
    event_id: str,
    event_type: str,
    aggregate_id: str,
    payload: dict[str, Any],
    timestamp: datetime,
    node_id: str,
    lamport_clock: int,
    causation_id: str | None = None,
) -> dict[str, Any]:
    """Validate the envelope of an event and return it as the stored mapping."""
    problems: list[str] = []
    for name, value in (
        ("event_type", event_type),
        ("aggregate_id", aggregate_id),
        ("node_id", node_id),
    ):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: must be a non-empty string, got {value!r}")
    if not isinstance(payload, dict):
        problems.append(f"payload: must be a dict, got {type(payload).__name__}")
    if type(lamport_clock) is not int or lamport_clock < 0:
        problems.append(f"lamport_clock: must be a whole number >= 0, got {lamport_clock!r}")
    ids: dict[str, str | None] = {"causation_id": None}
    for name, given in (("event_id", event_id), ("causation_id", causation_id)):
        if given is not None or name == "event_id":
            try:
                ids[name] = normalize_event_id(given)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    if not isinstance(timestamp, datetime):
        problems.append(f"timestamp: must be a datetime, got {timestamp!r}")
    if problems:
        raise InvalidEventError("; ".join(problems))
    stamp = timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp.astimezone(UTC)
    return {
        "aggregate_id": aggregate_id,
        "causation_id": ids["causation_id"],
        "event_id": ids["event_id"],
        "event_type": event_type,
        "lamport_clock": lamport_clock,
        "node_id": node_id,
        "payload": payload,
        "timestamp": stamp.isoformat(),
    }


def execution_payload(
    *,
    agent: object,
    role: object,
    wp_id: object = None,
    model: object = None,
    input_tokens: object = None,
    output_tokens: object = None,
    cache_read_tokens: object = None,
    cache_write_tokens: object = None,
    reasoning_tokens: object = None,
    cost_usd: object = None,
    duration_ms: object = 0,
    success: object = True,
    error: object = None,
    exit_code: object = 0,
    **extra: Any,
) -> dict[str, Any]:
    """Validate the fields of an ``ExecutionEvent`` payload and return the payload dict.

    The rules are those of :class:`~spec_kitty_telemetry.events.ExecutionPayload`;
    every broken rule is named in one InvalidEventError.
    """
    problems: list[str] = []
    for name, value in (("agent", agent), ("role", role)):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: must be a non-empty string, got {value!r}")
    for name, value in (("wp_id", wp_id), ("model", model), ("error", error)):
        if value is not None and not isinstance(value, str):
            problems.append(f"{name}: must be a string or None, got {value!r}")
    tokens = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read_tokens,
        "cache_write_tokens": cache_write_tokens,
        "reasoning_tokens": reasoning_tokens,
    }
    for name, value in tokens.items():
        if value is not None and not _whole(value):
            problems.append(
                f"{name}: must be a whole number >= 0 (below 2**63) or None, got {value!r}"
            )
    cost: float | None = None
    if cost_usd is not None:
        if (
            isinstance(cost_usd, bool)
            or not isinstance(cost_usd, int | float)
            or not math.isfinite(cost_usd)
            or cost_usd < 0
        ):
            problems.append(f"cost_usd: must be a finite number >= 0 or None, got {cost_usd!r}")
        else:
            cost = float(cost_usd)
    if duration_ms is not None and not _whole(duration_ms):
        problems.append(
            f"duration_ms: must be a whole number >= 0 (below 2**63) or None, got {duration_ms!r}"
        )
    if not isinstance(success, bool):
        problems.append(f"success: must be true or false, got {success!r}")
    if exit_code is not None and (
        type(exit_code) is not int or not _INT64_MIN <= exit_code <= _INT64_MAX
    ):
        problems.append(f"exit_code: must be a whole number or None, got {exit_code!r}")
    if not problems:
        problems.extend(_subset_problems(tokens))
    if problems:
        raise InvalidEventError("; ".join(problems))
    return {
        "wp_id": wp_id,
        "agent": agent,
        "role": role,
        "model": model,
        **tokens,
        "cost_usd": cost,
        "duration_ms": duration_ms,
        "success": success,
        "error": error,
        "exit_code": exit_code,
        **extra,
    }


def _whole(value: object) -> bool:
    """Tell whether ``value`` is a count: a plain int (not bool) within 64 bits, >= 0."""
    return type(value) is int and 0 <= value <= _INT64_MAX


def _subset_problems(tokens: dict[str, Any]) -> list[str]:
    """Check the token convention: cache counts are parts of input, reasoning of output."""
    problems = []
    total_in = tokens["input_tokens"]
    cached = (tokens["cache_read_tokens"] or 0) + (tokens["cache_write_tokens"] or 0)
    if total_in is not None and cached > total_in:
        problems.append(
            f"cache_read_tokens + cache_write_tokens ({cached}) exceed input_tokens "
            f"({total_in}); input_tokens must be the total input, cache included"
        )
    out, reasoning = tokens["output_tokens"], tokens["reasoning_tokens"]
    if out is not None and reasoning is not None and reasoning > out:
        problems.append(
            f"reasoning_tokens ({reasoning}) exceed output_tokens ({out}); "
            "output_tokens must include reasoning"
        )
    return problems

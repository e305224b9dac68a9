"""Event records as plain dicts: validation and the line format, without pydantic.

The emit path runs in short-lived processes (a CLI call per agent phase) where
importing pydantic and building its models costs more than ten times the
interpreter's start-up. Writers therefore validate with the plain functions
here; :class:`~spec_kitty_telemetry.events.Event` and
:class:`~spec_kitty_telemetry.events.ExecutionPayload` describe the same
schema for readers and Python callers, and the tests hold the two to the same
verdicts (tests/test_events.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

from ._lines import MAX_LAMPORT_CLOCK as MAX_LAMPORT_CLOCK  # defined by the line rule
from .errors import InvalidEventError
from .ids import normalize_event_id
from .redact import redact_payload
from .tags import TAGS_KEY, tag_problems
from .usage import CACHE_WRITE_1H_FIELD, USAGE_FIELDS, is_count, strict_payload

#: ``event_type`` of the record written after every agent invocation.
EXECUTION_EVENT: Final = "ExecutionEvent"

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def dumps_record(record: dict[str, Any]) -> bytes:
    r"""Serialise a record as one log line, newline included.

    Sorted keys and Python's default separators: the exact format spec-kitty
    writes, so a log written by either tool diffs cleanly against the other.
    Integers must fit in 64 bits, because fast JSON readers (and databases)
    silently turn larger ones into floats. Strings that are not valid Unicode
    (lone surrogates, as ``errors="surrogateescape"`` decoding leaves in an
    agent's stderr) are stored with the bad code points spelled out as
    ``\udcXX`` text, since readers would reject the whole line otherwise.
    """
    try:
        return (json.dumps(_json_ready(record), sort_keys=True, allow_nan=False) + "\n").encode()
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(f"payload is not JSON-serialisable: {exc}") from None


def _json_ready(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, dict):
        return {_json_ready(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


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
    """Validate the envelope of an event and return it as the stored mapping.

    This is where every record the package writes is built, so it is where
    credentials are scrubbed: each string in the payload (error messages,
    agent results, extra fields) passes through :func:`~spec_kitty_telemetry.redact.redact`.
    The envelope (ids, names, timestamp) is not free text and is kept as given.
    """
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
    if type(lamport_clock) is not int or not 0 <= lamport_clock <= MAX_LAMPORT_CLOCK:
        problems.append(
            f"lamport_clock: must be a whole number from 0 to 2**53-1, got {lamport_clock!r}"
        )
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
        "payload": redact_payload(payload),
        "timestamp": stamp.isoformat(),
    }


def execution_payload(
    *,
    agent: object,
    role: object,
    wp_id: object = None,
    model: object = None,
    duration_ms: object = None,
    success: object = True,
    error: object = None,
    exit_code: object = 0,
    **fields: Any,
) -> dict[str, Any]:
    """Validate the fields of an ``ExecutionEvent`` payload and return the payload dict.

    The usage figures (``TOKEN_FIELDS`` and ``cost_usd``, keyword arguments) are
    judged by :func:`spec_kitty_telemetry.usage.strict_payload`; the other rules are those of
    :class:`~spec_kitty_telemetry.events.ExecutionPayload`. Every broken rule is
    named in one InvalidEventError. ``tags``, when given, must follow the tag rule
    (:func:`spec_kitty_telemetry.tags.tag_problems`); other keyword arguments are
    stored as given.
    """
    problems: list[str] = []
    for name, value in (("agent", agent), ("role", role)):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: must be a non-empty string, got {value!r}")
    for name, value in (("wp_id", wp_id), ("model", model), ("error", error)):
        if value is not None and not isinstance(value, str):
            problems.append(f"{name}: must be a string or None, got {value!r}")
    usage: dict[str, Any] = {}
    try:
        figures = {name: fields.pop(name, None) for name in USAGE_FIELDS}
        # The 1-hour cache writes are judged with the counts and stored as given.
        usage = strict_payload({**figures, CACHE_WRITE_1H_FIELD: fields.get(CACHE_WRITE_1H_FIELD)})
    except InvalidEventError as exc:
        problems.append(str(exc))
    if duration_ms is not None and not is_count(duration_ms):
        problems.append(
            f"duration_ms: must be a whole number >= 0 (below 2**63) or None, got {duration_ms!r}"
        )
    if not isinstance(success, bool):
        problems.append(f"success: must be true or false, got {success!r}")
    if exit_code is not None and (
        not _integer(exit_code) or not _INT64_MIN <= exit_code <= _INT64_MAX  # type: ignore[operator]
    ):
        problems.append(f"exit_code: must be a whole number or None, got {exit_code!r}")
    if TAGS_KEY in fields:
        problems.extend(tag_problems(fields[TAGS_KEY]))
    if problems:
        raise InvalidEventError("; ".join(problems))
    return {
        "wp_id": wp_id,
        "agent": agent,
        "role": role,
        "model": model,
        **usage,
        "duration_ms": _plain_int(duration_ms),
        "success": success,
        "error": error,
        "exit_code": _plain_int(exit_code),
        **fields,
    }


def _plain_int(value: object) -> int | None:
    """Store int subclasses (IntEnum, numpy-like) as plain ints."""
    return None if value is None else int(value)  # type: ignore[call-overload]


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

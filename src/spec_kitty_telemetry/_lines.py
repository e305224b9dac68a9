"""Whether a line of a log is an event: the one rule every reader applies.

A log is merged from many people's branches and written by other tools, so
any line may be garbage. Every reader (the cost fold's fast records, the
``Event`` models of ``events`` and the query API, the writers' scan for the
largest Lamport clock and event id, duplicate detection) asks
:func:`parse_line`, so a line is an event for all of them or for none: the
counts of ``cost`` and ``events`` over the same filters are the same.

The rule checks the envelope only. A payload is any JSON object; what its
fields mean is for each report to judge leniently (a count that is not a
number is unknown, not a reason to drop the event).

Kept free of pydantic: the writers' scan runs on the emit path.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from . import _lazy_json as orjson
from .errors import InvalidEventError
from .ids import CANONICAL_ID, normalize_event_id

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "BOM",
    "MAX_LAMPORT_CLOCK",
    "check_record",
    "is_blank",
    "line_batches",
    "parse_line",
    "utc_timestamp",
]

#: A UTF-8 byte-order mark: editors put one at the start of a file, and
#: concatenating such files (or a union merge of them) leaves one mid-file.
BOM: Final = b"\xef\xbb\xbf"
#: Largest Lamport clock an event may carry: integers beyond 2**53 lose precision in
#: JSON readers of other languages, and no log gets near it honestly. Readers treat a
#: larger value as a malformed line, so one bad line cannot exhaust the clock.
MAX_LAMPORT_CLOCK: Final = 2**53 - 1

_KEYS: Final = frozenset(
    (
        "aggregate_id",
        "causation_id",
        "event_id",
        "event_type",
        "lamport_clock",
        "node_id",
        "payload",
        "timestamp",
    )
)
_CHUNK: Final = 1 << 20
_canonical = CANONICAL_ID.fullmatch
_fromisoformat = datetime.fromisoformat


def parse_line(line: bytes) -> tuple[str, dict[str, Any]]:
    """Return the canonical event id and the record of a line that is an event.

    Raises InvalidEventError for any other line. One byte-order mark in front
    of the line is ignored (tried only when the line does not parse, so it
    costs nothing on clean lines).
    """
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        if not line.startswith(BOM):
            raise InvalidEventError("not JSON") from None
        try:
            record = orjson.loads(line[len(BOM) :])
        except orjson.JSONDecodeError:
            raise InvalidEventError("not JSON") from None
    return check_record(record)


def line_batches(fd: int, start: int, end: int) -> Iterator[tuple[list[bytes], bool]]:
    """Yield the lines in bytes [start, end) of the open file ``fd``, a batch per chunk read.

    ``start`` is a line start. The flag is False only for a last batch
    holding a final piece with no newline. Batches rather than single lines
    keep the per-line cost of the readers' loops low; ``os.pread`` leaves the
    file's position alone. (A byte-order mark, at the start of the file or of
    any line, is :func:`parse_line`'s business.)
    """
    pending = b""
    position = start
    while position < end:
        chunk = os.pread(fd, min(_CHUNK, end - position), position)
        if not chunk:
            break
        position += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield lines, True
    if pending:
        yield [pending], False


def is_blank(line: bytes) -> bool:
    """Whether a line holds nothing but whitespace (and perhaps a byte-order mark)."""
    return not line.removeprefix(BOM).strip()


def check_record(record: object) -> tuple[str, dict[str, Any]]:
    """Check a decoded line (a dict, modified in place) and return its id and the record.

    The envelope has exactly the keys of the line format (``causation_id``
    may be absent); ``payload`` is an object; ``lamport_clock`` a whole number
    from 0 to ``MAX_LAMPORT_CLOCK`` (not a bool); ``event_type``,
    ``aggregate_id`` and ``node_id`` text that is not blank; ``timestamp`` an
    ISO 8601 text that :func:`utc_timestamp` accepts; ``event_id`` (and a
    ``causation_id`` that is not null) an id :func:`normalize_event_id`
    accepts. Ids are stored back in canonical form. Raises InvalidEventError
    naming the first field that is wrong. Written flat because it runs once
    per line of every report.
    """
    if type(record) is not dict:
        raise InvalidEventError(f"a JSON {_json_kind(record)}, not an object")
    size = len(record)
    if size != 7 and (size != 8 or "causation_id" not in record):
        raise InvalidEventError(_key_problem(record))
    try:
        clock = record["lamport_clock"]
        event_type = record["event_type"]
        aggregate_id = record["aggregate_id"]
        node_id = record["node_id"]
        stamp = record["timestamp"]
        event_id = record["event_id"]
        payload = record["payload"]
    except KeyError:
        raise InvalidEventError(_key_problem(record)) from None
    if type(clock) is not int or not 0 <= clock <= MAX_LAMPORT_CLOCK:
        raise InvalidEventError(
            f"lamport_clock: must be a whole number from 0 to 2**53-1, got {_short(clock)}"
        )
    if type(event_type) is not str or not event_type or event_type.isspace():
        raise InvalidEventError(f"event_type: must be non-blank text, got {_short(event_type)}")
    if type(aggregate_id) is not str or not aggregate_id or aggregate_id.isspace():
        raise InvalidEventError(f"aggregate_id: must be non-blank text, got {_short(aggregate_id)}")
    if type(node_id) is not str or not node_id or node_id.isspace():
        raise InvalidEventError(f"node_id: must be non-blank text, got {_short(node_id)}")
    if type(payload) is not dict:
        raise InvalidEventError(f"payload: must be an object, got {_json_kind(payload)}")
    if type(event_id) is not str or not _canonical(event_id):
        try:
            event_id = record["event_id"] = normalize_event_id(event_id)
        except ValueError as exc:
            raise InvalidEventError(f"event_id: {exc}") from None
    causation = record.get("causation_id")
    if causation is not None and (type(causation) is not str or not _canonical(causation)):
        try:
            record["causation_id"] = normalize_event_id(causation)
        except ValueError as exc:
            raise InvalidEventError(f"causation_id: {exc}") from None
    try:
        if type(stamp) is not str:
            raise ValueError
        if stamp.endswith("+00:00"):
            _fromisoformat(stamp)  # UTC already: nothing can overflow
        else:
            utc_timestamp(stamp)
    except ValueError:
        raise InvalidEventError(
            f"timestamp: must be ISO 8601 text within the years 1-9999 in UTC, got {_short(stamp)}"
        ) from None
    return event_id, record


def utc_timestamp(value: str | datetime) -> datetime:
    """Return a timestamp of the line format as an aware datetime in UTC.

    Text is read by ``datetime.fromisoformat``; naive times are UTC. Raises
    ValueError when the text is not ISO 8601, or when the instant is outside
    the years 1 to 9999 once in UTC (``0001-01-01T00:00:00+05:00``), which no
    report could place on a day.
    """
    moment = _fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {value!s} is outside the years 1-9999 in UTC") from None


def _key_problem(record: dict[Any, Any]) -> str:
    """Name the first key too many or missing."""
    unknown = sorted(str(key) for key in record if key not in _KEYS)
    if unknown:
        return f"{unknown[0]}: not a key of the line format"
    missing = sorted(_KEYS - {"causation_id"} - record.keys())
    return f"{missing[0]}: missing" if missing else "not an event record"


def _json_kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _short(value: object) -> str:
    """Show a value in an error message, cut short (a line may hold megabytes)."""
    if isinstance(value, dict | list):
        return f"a JSON {_json_kind(value)}"
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "a very long number"
    return text if len(text) <= 60 else text[:57] + "..."

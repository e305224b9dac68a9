"""Property: whatever a log or a clock file holds, the next emit records, after every valid clock.

Logs are merged from other people's branches and clock files sit on disks
anyone can scribble on, so neither may be able to stop recording or pull the
clock back. A line counts when it is an event by the one line rule every
reader applies (``_lines.parse_line``: its ``lamport_clock`` is then a whole
number in 0..2**53-1); a line that is not an event never moves the clock, so
one malformed line cannot push it to the bound. A clock file counts
when it is a JSON object, each whole-number value in that range being a
clock (ours under ``lamport_clock``, spec-kitty's under its node names). The
new event's clock is one past the larger of the two, held at 2**53-1.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st

from spec_kitty_telemetry import (
    EVENTS_FILENAME,
    InvalidEventError,
    emit_execution_record,
)
from spec_kitty_telemetry._lines import parse_line
from spec_kitty_telemetry.ids import new_event_id
from spec_kitty_telemetry.project import CLOCK_FILENAME

BOUND = 2**53 - 1
BOM = b"\xef\xbb\xbf"

#: Lamport values a foreign line or a clock file may claim.
lamport_values = st.one_of(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([BOUND - 1, BOUND, BOUND + 1, 2**63 - 1, 2**63, 2**64, 10**30, 10**4000, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(min_value=0, max_value=9), max_size=2),
)

#: Any other JSON a line may hold next to its clock (small ints only: see the module docstring).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**62), max_value=2**62)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def object_lines(draw: st.DrawFn) -> bytes:
    """A JSON object claiming some clock, with or without the rest of an event."""
    record: dict[str, Any] = draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3))
    if draw(st.booleans()):
        record |= {
            "aggregate_id": "001-login",
            "event_type": "ExecutionEvent",
            "node_id": draw(st.sampled_from(["laptop-b", "ci", "a", "zz"])),
            "payload": {},
            "timestamp": "2025-01-01T00:00:00+00:00",
            "causation_id": None,
        }
    event_id = draw(
        st.one_of(st.just(new_event_id()), st.text(max_size=26), st.just("f" * 26), st.none())
    )
    if event_id is not None:
        record["event_id"] = event_id
    if draw(st.integers(min_value=0, max_value=9)):  # mostly, the line claims a clock
        record["lamport_clock"] = draw(lamport_values)
    line = json.dumps(record, sort_keys=draw(st.booleans())).encode()
    return (BOM if draw(st.integers(min_value=0, max_value=9)) == 0 else b"") + line


garbage_lines = st.one_of(
    object_lines(),
    st.binary(max_size=40).map(lambda raw: raw.replace(b"\n", b" ")),
    st.sampled_from([b"", b"{", b"[1, 2]", b"null", b'{"lamport_clock": 5', BOM]),
)


@st.composite
def clock_files(draw: st.DrawFn) -> bytes | None:
    """What may sit at the clock's path: nothing, any bytes, ours or spec-kitty's JSON."""
    kind = draw(st.sampled_from(["none", "bytes", "ours", "spec-kitty", "json"]))
    if kind == "none":
        return None
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    document: dict[str, Any] = {}
    if kind == "ours" or draw(st.booleans()):
        document["lamport_clock"] = draw(lamport_values)
    if kind == "spec-kitty":
        nodes = st.sampled_from(["cli:WP01", "cli:WP02", "ci:None"])
        document |= draw(st.dictionaries(nodes, lamport_values, max_size=3))
    return json.dumps(document, sort_keys=True).encode()


def valid_clock(value: object) -> bool:
    return type(value) is int and 0 <= value <= BOUND


def largest_valid_clock_in_log(content: bytes) -> int:
    """The largest clock of a line that is an event, 0 when there is none."""
    largest = 0
    for line in content.split(b"\n"):
        try:
            _event_id, record = parse_line(line)
        except InvalidEventError:
            continue
        assert valid_clock(record["lamport_clock"])
        largest = max(largest, record["lamport_clock"])
    return largest


def largest_valid_clock_in_file(content: bytes | None) -> int:
    """The largest clock a clock file holds by the rules, 0 when there is none."""
    if content is None:
        return 0
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return 0
    if not isinstance(document, dict):
        return 0
    return max((v for v in document.values() if valid_clock(v)), default=0)


@settings(max_examples=300)
@given(
    earlier=st.integers(min_value=0, max_value=2),
    lines=st.lists(garbage_lines, max_size=6),
    unterminated=st.booleans(),
    clock=clock_files(),
)
def test_emit_after_any_garbage_records_after_every_valid_clock(
    earlier: int, lines: list[bytes], unterminated: bool, clock: bytes | None
) -> None:
    """After any lines and any clock file, emit records one past the largest valid clock.

    That is above every valid Lamport value in the log, or the bound itself
    when the log (or the clock file) already holds it.
    """
    with tempfile.TemporaryDirectory() as folder:
        feature = Path(folder)
        for _ in range(earlier):  # a log with an index, caught up incrementally afterwards
            assert _record(feature) is not None
        log = feature / EVENTS_FILENAME
        with log.open("ab") as handle:
            handle.write(b"\n".join(lines) + (b"" if unterminated or not lines else b"\n"))
        if clock is not None:
            (feature / CLOCK_FILENAME).write_bytes(clock)
        in_log = largest_valid_clock_in_log(log.read_bytes())
        in_file = largest_valid_clock_in_file(clock)

        record = _record(feature)

        assert record is not None
        assert record["lamport_clock"] == min(max(in_log, in_file) + 1, BOUND)
        assert record["lamport_clock"] > in_log or in_log == BOUND
        stored = [json.loads(line) for line in log.read_bytes().splitlines()[-1:]]
        assert stored == [record]
        again = _record(feature)  # and the one after it follows on, whatever was there
        assert again is not None
        assert again["lamport_clock"] == min(record["lamport_clock"] + 1, BOUND)


def _record(feature: Path) -> dict[str, Any] | None:
    return emit_execution_record(
        feature, "001-login", "WP01", "claude", "implementer", environment=None
    )

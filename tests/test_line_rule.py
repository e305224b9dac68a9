"""One rule decides whether a log line is an event, for every reader of the log.

The fast records of ``cost`` (``iter_records``), the Events of ``events`` and
the query API (``iter_events``, ``Event.from_dict``), the writers' scan for the
log's largest Lamport clock and id (``head``), and duplicate detection must
give the same answer for any line, however broken, and none of them may raise.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import Phase, given, settings, strategies as st

from helpers import new_project, spec_kitty
from spec_kitty_telemetry import Event, InvalidEventError, SimpleJsonStore
from spec_kitty_telemetry._records import MAX_LAMPORT_CLOCK
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.query import EventFilter, query_project_events
from spec_kitty_telemetry.testing import make_event, make_execution_event

FEATURE = "001-feature"
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "kitty-specs" / FEATURE / "execution.events.jsonl"
    path.parent.mkdir(parents=True)
    return path


def _good(lamport: int = 1, **payload: Any) -> dict[str, Any]:
    return make_execution_event(
        aggregate_id=FEATURE, lamport_clock=lamport, model="gpt-5", **payload
    ).to_dict()


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True) + "\n").encode()


class Verdicts:
    """What each reader of one log made of it."""

    def __init__(self, path: Path) -> None:
        store = SimpleJsonStore(path)
        self.records = [r["event_id"] for r in store.iter_records()]
        assert store.last_read is not None
        self.record_malformed = store.last_read.malformed_lines
        self.events = [e.event_id for e in store.iter_events()]
        self.event_malformed = store.last_read.malformed_lines
        self.head = store.head()
        self.by_line: list[bool] = []
        for line in path.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                Event.from_dict(orjson.loads(line.removeprefix(BOM)))
            except (InvalidEventError, orjson.JSONDecodeError):
                self.by_line.append(False)
            else:
                self.by_line.append(True)

    def agree(self) -> None:
        assert self.records == self.events
        assert self.record_malformed == self.event_malformed


def test_a_line_readers_skip_is_never_a_clock_candidate(log: Path):
    """A huge but in-range clock on a line that is not an event (blank node) is not followed."""
    bad = _good(MAX_LAMPORT_CLOCK) | {"node_id": "  ", "event_id": make_event().event_id}
    log.write_bytes(_line(_good(3)) + _line(bad))
    verdicts = Verdicts(log)
    verdicts.agree()
    assert verdicts.record_malformed == [2]
    assert verdicts.head.max_lamport_clock == 3
    assert verdicts.head.max_event_id == verdicts.records[0]


@pytest.mark.parametrize("clock", [MAX_LAMPORT_CLOCK + 1, 2**63, 10**30, -1, True, 1.0, "7"])
def test_lamport_clocks_out_of_range_are_malformed_for_every_reader(log: Path, clock: object):
    """Clocks above 2**53-1, negative, bool, float or text: skipped, counted, not followed."""
    bad = _good() | {"lamport_clock": clock, "event_id": make_event().event_id}
    log.write_bytes(_line(_good(4)) + _line(bad))
    verdicts = Verdicts(log)
    verdicts.agree()
    assert verdicts.record_malformed == [2]
    assert verdicts.by_line == [True, False]
    assert verdicts.head.max_lamport_clock == 4


def test_the_largest_allowed_clock_is_an_event(log: Path):
    """2**53-1 itself is within the bound: an event for every reader, and the log's head."""
    log.write_bytes(_line(_good(MAX_LAMPORT_CLOCK)))
    verdicts = Verdicts(log)
    assert len(verdicts.events) == 1
    assert verdicts.head.max_lamport_clock == MAX_LAMPORT_CLOCK


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-01:00", "2025-13-01T00:00:00"]
)
def test_timestamps_outside_utc_years_are_malformed_not_errors(tmp_path: Path, stamp: str):
    """A timestamp that overflows in UTC (or is no date) is a skipped line for every reader."""
    root = new_project(tmp_path / "p")
    path = root / "kitty-specs" / FEATURE / "execution.events.jsonl"
    path.parent.mkdir()
    bad = _good(2) | {"timestamp": stamp, "event_id": make_event().event_id}
    path.write_bytes(_line(_good(1, cost_usd=0.5)) + _line(bad))
    verdicts = Verdicts(path)
    verdicts.agree()
    assert verdicts.record_malformed == [2]
    assert verdicts.by_line == [True, False]
    assert len(query_project_events(root)) == 1
    assert len(query_project_events(root, EventFilter(since=datetime(2000, 1, 1)), limit=5)) == 1
    assert project_cost_report(root, group_by="day").total.event_count == 1
    for args in (
        ("cost", "--group-by", "day"),
        ("events",),
        ("events", "--json"),
        ("events", "--jsonl"),
    ):
        result = spec_kitty("agent", "telemetry", *args, "--repo", str(root), cwd=root)
        assert result.returncode == 0, result.stderr.decode()[-500:]
        assert b"Traceback" not in result.stderr


def test_other_zones_are_read_as_the_same_instant(log: Path):
    """A timestamp in another zone that stays within range is an event, read in UTC."""
    record = _good() | {"timestamp": "2025-11-03T01:00:00+05:00"}
    log.write_bytes(_line(record))
    (event,) = SimpleJsonStore(log).iter_events()
    assert event.timestamp == datetime(2025, 11, 2, 20, tzinfo=UTC)


def test_whitespace_only_names_are_malformed_for_every_reader(log: Path):
    """A blank event_type, aggregate_id or node_id is not an event, for the fast reader too."""
    lines = [_line(_good(1))]
    for name in ("event_type", "aggregate_id", "node_id"):
        lines.append(_line(_good(2) | {name: " \t", "event_id": make_event().event_id}))
    log.write_bytes(b"".join(lines))
    verdicts = Verdicts(log)
    verdicts.agree()
    assert verdicts.record_malformed == [2, 3, 4]


def _spec_kitty_fallback_id(first: str) -> str:
    """An id as spec-kitty makes it without python-ulid: uuid4().hex[:26]."""
    return first + uuid.uuid4().hex[1:26]


def test_spec_kitty_fallback_ids_are_events_for_every_reader(log: Path):
    """Ids of 26 lowercase hex digits, above the ULID range or not, are read, uppercased."""
    high = _good(1) | {"event_id": _spec_kitty_fallback_id("f")}
    low = _good(2) | {"event_id": _spec_kitty_fallback_id("3"), "causation_id": high["event_id"]}
    log.write_bytes(_line(high) + _line(low) + _line(high))
    verdicts = Verdicts(log)
    verdicts.agree()
    assert verdicts.records == [high["event_id"].upper(), low["event_id"].upper()]
    assert verdicts.record_malformed == []
    store = SimpleJsonStore(log)
    list(store.iter_records())
    assert store.last_read is not None
    assert store.last_read.duplicates == 1
    # Only ULIDs make the head: no fresh ULID could be above an id starting with F.
    assert store.head().max_event_id == low["event_id"].upper()


def test_after_a_fallback_id_above_every_ulid_emits_stay_fast_and_saves_stay_unique(log: Path):
    """An emit after such an id is recorded above the log's ULIDs; re-saving the id is a no-op."""
    high = _good(1) | {"event_id": _spec_kitty_fallback_id("f")}
    log.write_bytes(_line(high))
    record = emit_execution_record(log.parent, FEATURE, "WP01", "claude", "implementer")
    assert record is not None
    store = SimpleJsonStore(log)
    assert store.head().max_event_id == record["event_id"]
    assert store.save_event(Event.from_dict(high)) is False
    assert [r["event_id"] for r in store.iter_records()] == [
        high["event_id"].upper(),
        record["event_id"],
    ]


def test_a_byte_order_mark_in_front_of_any_line_is_ignored(log: Path):
    """A BOM mid-file (concatenated or union-merged files) costs neither the event nor its clock."""
    first, second = _good(1), _good(9)
    log.write_bytes(BOM + _line(first) + BOM + _line(second) + BOM + b"\n")
    verdicts = Verdicts(log)
    verdicts.agree()
    assert verdicts.records == [first["event_id"], second["event_id"]]
    assert verdicts.record_malformed == []
    assert verdicts.head.max_lamport_clock == 9


# -- generated lines ----------------------------------------------------------

_IDS = st.one_of(
    st.builds(lambda: make_event().event_id),
    st.builds(lambda: make_event().event_id.lower()),
    st.builds(lambda: str(uuid.uuid4())),
    st.builds(lambda: uuid.uuid4().hex),
    st.builds(lambda: uuid.uuid4().hex[:26]),
    st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZilou-", min_size=20, max_size=40),
    st.integers(),
    st.none(),
)
_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_STAMPS = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-01:00",
            "2025-11-03",
            "2025-11-03T10:00:00Z",
            "20251103T100000",
            "2025-02-30T00:00:00",
            "yesterday",
            "",
        ]
    ),
    _ODD,
)
_ENVELOPE_FIELDS = {
    "event_id": _IDS,
    "causation_id": _IDS,
    "event_type": st.one_of(st.sampled_from(["ExecutionEvent", "PhaseTransition", " "]), _ODD),
    "aggregate_id": st.one_of(st.just(FEATURE), _ODD),
    "node_id": st.one_of(st.sampled_from(["cli", "", "\u2003"]), _ODD),
    "lamport_clock": st.one_of(
        st.integers(0, 10),
        st.sampled_from([MAX_LAMPORT_CLOCK, MAX_LAMPORT_CLOCK + 1, 2**63, 2**64 - 1, -1]),
        _ODD,
    ),
    "timestamp": _STAMPS,
    "payload": st.one_of(st.just({}), _ODD),
}
_PAYLOAD_FIELDS = st.dictionaries(
    st.sampled_from(
        ["success", "cost_usd", "input_tokens", "output_tokens", "model", "wp_id", "agent", "x"]
    ),
    _ODD,
    max_size=4,
)


def _deep(depth: int) -> str:
    """JSON text of objects nested ``depth`` deep (past what json.dumps can write)."""
    return '{"a": ' * depth + "1" + "}" * depth


@st.composite
def _log_line(draw: st.DrawFn) -> bytes:
    """One line: a valid event, one with a field broken or a payload oddity, or garbage."""
    kind = draw(st.integers(0, 9))
    record = _good(draw(st.integers(0, 50)))
    record["event_id"] = make_event().event_id
    if kind == 0:
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b"\x00\xff", b"{}", b'"x"']))
    if kind in (1, 2, 3):
        name = draw(st.sampled_from(sorted(_ENVELOPE_FIELDS)))
        record[name] = draw(_ENVELOPE_FIELDS[name])
    elif kind == 4:
        record.pop(draw(st.sampled_from(sorted(record))))
    elif kind == 5:
        record[draw(st.sampled_from(["extra", "Payload"]))] = 1
    elif kind == 6:
        record["payload"] = record["payload"] | draw(_PAYLOAD_FIELDS)
    elif kind == 7:
        record["payload"]["deep"] = "DEEP"
    line = json.dumps(record, sort_keys=True).encode()
    if kind == 7:
        depth = draw(st.sampled_from([10, 500, 1020, 1100]))
        line = line.replace(b'"DEEP"', _deep(depth).encode())
    if draw(st.integers(0, 15)) == 0:
        line = BOM + line
    return line


@settings(max_examples=60)
@given(st.lists(_log_line(), min_size=1, max_size=25))
def test_generated_lines_get_one_verdict_from_every_reader(tmp_path_factory, lines: list[bytes]):
    """No read raises; records, Events, from_dict and the cost and events counts all agree."""
    root = new_project(tmp_path_factory.mktemp("fuzz"))
    path = root / "kitty-specs" / FEATURE / "execution.events.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(lines) + b"\n")
    verdicts = Verdicts(path)
    verdicts.agree()
    accepted_lines = sum(verdicts.by_line)
    store = SimpleJsonStore(path)
    list(store.iter_records())
    assert store.last_read is not None
    assert len(verdicts.records) + store.last_read.duplicates == accepted_lines
    executions = EventFilter(event_type="ExecutionEvent")
    for group_by in ("agent", "day", "model"):
        report = project_cost_report(root, group_by=group_by)
        if group_by != "model":
            assert report.total.event_count == len(query_project_events(root, executions))
    if verdicts.head.max_lamport_clock is not None:
        assert 0 <= verdicts.head.max_lamport_clock <= MAX_LAMPORT_CLOCK


@settings(max_examples=2, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(_log_line(), min_size=100, max_size=200))
def test_cli_cost_and_events_agree_on_generated_garbage(tmp_path_factory, lines: list[bytes]):
    """A CLI round trip over a log of every kind of bad line: both exit 0 and count alike."""
    root = new_project(tmp_path_factory.mktemp("cli"))
    path = root / "kitty-specs" / FEATURE / "execution.events.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(lines) + b"\n")
    cost = spec_kitty("agent", "telemetry", "cost", "--json", "--repo", str(root), cwd=root)
    assert cost.returncode == 0, cost.stderr.decode()[-500:]
    events = spec_kitty(
        "agent", "telemetry", "events", "--jsonl", "--type", "ExecutionEvent",
        "--repo", str(root), cwd=root,
    )  # fmt: skip
    assert events.returncode == 0, events.stderr.decode()[-500:]
    printed = [line for line in events.stdout.splitlines() if line]
    assert json.loads(cost.stdout)["total"]["event_count"] == len(printed)
    table = spec_kitty("agent", "telemetry", "events", "--repo", str(root), cwd=root)
    assert table.returncode == 0, table.stderr.decode()[-500:]


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        ("20251103T100000Z", "2025-11-03"),
        ("2025-11-03T23:30:00-01:00", "2025-11-04"),
        ("2025-11-03T10:00:00Z", "2025-11-03"),
        ("2025-11-03", "2025-11-03"),
    ],
)
def test_cost_by_day_reads_every_timestamp_shape_the_rule_accepts(
    tmp_path: Path, stamp: str, day: str
):
    """Basic-format, zoned and date-only timestamps fall on their UTC day, not on a text slice."""
    root = new_project(tmp_path / "p")
    path = root / "kitty-specs" / FEATURE / "execution.events.jsonl"
    path.parent.mkdir()
    path.write_bytes(_line(_good(1, cost_usd=0.5) | {"timestamp": stamp}))
    report = project_cost_report(root, group_by="day")
    assert [(s.group_key, s.event_count) for s in report.summaries] == [(day, 1)]

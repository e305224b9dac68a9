"""The projection's report equals a full scan's, whatever happened to the log in between.

Random logs go through random sequences of appends, torn tails, rewrites,
union-style inserts and duplicate lines; after each step the report answered
from the projection (folded incrementally, saved, loaded again) must equal the
report of a fresh fold of the store's records, to the micro-dollar and the
token, for random groupings, breakdowns, filters and time zones.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import TEST_RATES
from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry._rates import ModelRates, RateTier
from spec_kitty_telemetry.cost import cost_report, localized, project_cost_report
from spec_kitty_telemetry.ids import _encode
from spec_kitty_telemetry.pricing import Pricing
from spec_kitty_telemetry.query import EventFilter, iter_feature_records

TIERED = ModelRates(
    input=Decimal(1),
    output=Decimal(4),
    cache_read=Decimal("0.1"),
    cache_write=Decimal("1.25"),
    tiers=(RateTier(50, Decimal(2), Decimal(8), Decimal("0.2"), Decimal("2.5"), Decimal(4)),),
    source="test",
    cache_write_1h=Decimal(2),
)
PRICING = Pricing(shipped={"test-model": TEST_RATES, "tiered": TIERED}, catalogue=False)
START = datetime(2025, 11, 2, 20, 0, tzinfo=UTC)

count = st.one_of(st.none(), st.integers(0, 200), st.just(-1))
payloads = st.fixed_dictionaries(
    {
        "agent": st.sampled_from(["claude", "Codex", "", None, 3]),
        "role": st.sampled_from(["implementer", "reviewer", None]),
        "wp_id": st.sampled_from(["WP01", "WP02", None]),
        "model": st.sampled_from(["test-model", "tiered", "mystery", None, "", 5]),
        "success": st.sampled_from([True, False, None]),
        "input_tokens": count,
        "output_tokens": count,
        "cache_read_tokens": st.one_of(st.none(), st.integers(0, 20)),
        "cost_usd": st.one_of(st.none(), st.just(0.25), st.just(1e-7), st.just(-1.0)),
        "num_turns": st.sampled_from([1, 3, None]),
        "duration_ms": st.one_of(st.none(), st.integers(0, 10**6)),
    },
    optional={
        "tags": st.sampled_from(
            [None, {}, {"env": "ci"}, {"op": "ana", "env": "local"}, {"env": 1}, "ci", ["env"]]
        ),
        "changes": st.one_of(
            st.none(),
            st.just("odd"),
            st.fixed_dictionaries(
                {"lines_added": st.integers(0, 50), "lines_deleted": st.integers(0, 50)}
            ),
        ),
        "tests": st.one_of(st.none(), st.fixed_dictionaries({"passed": st.integers(0, 9)})),
        # cache writes and their 1-hour part (at most the writes, else the counts are invalid)
        "cache_write_tokens": st.one_of(st.none(), st.integers(0, 20)),
        "cache_write_1h_tokens": st.one_of(st.none(), st.integers(0, 25), st.just(-1)),
        "error_category": st.sampled_from([None, "timeout", "auth", ""]),
        # what a PhaseTransition of the same shape says
        "from_phase": st.sampled_from(["doing", "for_review", "done"]),
        "to_phase": st.sampled_from(["doing", "for_review", "done", "approved"]),
    },
)
breakdowns = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["test-model", "tiered", "mystery"]),
        st.fixed_dictionaries(
            {
                "input_tokens": count,
                "output_tokens": count,
                "cost_usd": st.sampled_from([None, 0.1]),
            },
            optional={
                "cache_write_tokens": st.integers(0, 20),
                "cache_write_1h_tokens": st.one_of(st.integers(0, 25), st.just(-1)),
            },
        ),
        min_size=1,
        max_size=2,
    ),
)
events = st.tuples(
    st.sampled_from(["001-a", "002-b"]),
    st.integers(0, 4 * 24 * 60),  # minutes after START
    st.sampled_from(["ExecutionEvent", "ExecutionEvent", "ExecutionEvent", "PhaseTransition"]),
    payloads,
    breakdowns,
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(events, min_size=1, max_size=6)),
        st.tuples(st.just("duplicate"), st.integers(0, 100)),
        st.tuples(st.just("torn"), events),
        st.tuples(st.just("finish")),
        st.tuples(st.just("garbage")),
        st.tuples(st.just("insert"), st.integers(0, 100), events),
        st.tuples(st.just("rewrite"), st.integers(0, 100)),
        st.tuples(st.just("truncate"), st.integers(0, 100)),
        st.tuples(st.just("unordered"), events),
    ),
    min_size=1,
    max_size=7,
)
zones = st.sampled_from(["UTC", "Asia/Kathmandu", "America/New_York", "Australia/Lord_Howe"])
bounds = st.one_of(
    st.none(),
    st.dates(date(2025, 11, 2), date(2025, 11, 6)),
    st.integers(0, 4 * 24 * 4).map(lambda q: START + timedelta(minutes=15 * q)),
    st.integers(0, 4 * 24 * 60).map(lambda m: START + timedelta(minutes=m, seconds=7)),
)
filters = st.one_of(
    st.none(),
    st.builds(
        EventFilter,
        agent=st.sampled_from([None, "claude"]),
        model=st.sampled_from([None, "test-model", "tiered"]),
        wp_id=st.sampled_from([None, "WP01"]),
        success=st.sampled_from([None, True, False]),
        since=bounds,
        until=bounds,
        tags=st.sampled_from([None, None, {"env": "ci"}, {"env": "local", "op": "ana"}]),
    ),
)
queries = st.tuples(
    st.sampled_from(
        ["agent", "model", "feature", "wp", "feature-wp", "day", "week", "month", "tag:env"]
    ),
    st.sampled_from([None, None, "model", "agent", "day", "tag:op"]),
    filters,
    zones,
    st.sampled_from([None, None, "time", "cost"]),
)


class Log:
    """A project of one or two feature logs, written line by line as other tools might."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = 1 << 60
        self.lines: dict[str, list[bytes]] = {}

    def path(self, feature: str) -> Path:
        return self.root / "kitty-specs" / feature / EVENTS_FILENAME

    def line(self, event: tuple[Any, ...], *, low_id: bool = False) -> tuple[str, bytes]:
        feature, minutes, event_type, payload, models = event
        self.serial += 1
        number = self.serial - (1 << 59) if low_id else self.serial
        body = dict(payload)
        if models is not None:
            body["models"] = models
        record = {
            "aggregate_id": feature,
            "causation_id": None,
            "event_id": _encode(number),
            "event_type": event_type,
            "lamport_clock": self.serial - (1 << 60),
            "node_id": "n",
            "payload": body,
            "timestamp": (START + timedelta(minutes=minutes, seconds=13)).isoformat(),
        }
        return feature, json.dumps(record, sort_keys=True).encode()

    def append(self, feature: str, data: bytes) -> None:
        path = self.path(feature)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(data)

    def lines_of(self, feature: str) -> list[bytes]:
        try:
            return self.path(feature).read_bytes().split(b"\n")
        except FileNotFoundError:
            return []

    def apply(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind == "append":
            for event in step[1]:
                feature, line = self.line(event)
                self.append(feature, line + b"\n")
        elif kind == "unordered":
            feature, line = self.line(step[1], low_id=True)
            self.append(feature, line + b"\n")
        elif kind == "torn":
            feature, line = self.line(step[1])
            self.append(feature, line[: len(line) // 2 if len(line) % 2 else len(line)])
        elif kind == "finish":
            for feature in ("001-a", "002-b"):
                if self.path(feature).exists():
                    self.append(feature, b"\n")
        elif kind == "garbage":
            self.append("001-a", b"{not json\n")
        else:
            self._rewrite(kind, step[1], step[2] if len(step) > 2 else None)

    def _rewrite(self, kind: str, where: int, event: Any) -> None:
        for feature in ("001-a", "002-b"):
            lines = [line for line in self.lines_of(feature) if line]
            if not lines:
                continue
            at = where % len(lines)
            if kind == "duplicate":
                self.append(feature, lines[at] + b"\n")
                continue
            if kind == "insert":
                lines.insert(at, self.line((feature, *event[1:]))[1])
            elif kind == "truncate":
                lines = lines[:at]
            else:  # rewrite: a checkout of another history, same length or not
                lines = lines[at:] + lines[:at]
            data = b"".join(line + b"\n" for line in lines)
            with self.path(feature).open("r+b") as handle:  # in place: same inode
                handle.write(data)
                handle.truncate()


def full_scan(root: Path, query: tuple[Any, ...]) -> dict[str, Any]:
    group_by, breakdown, event_filter, zone, sort = query
    records: list[dict[str, Any]] = []
    from spec_kitty_telemetry._periods import resolve_timezone

    if event_filter is not None:
        event_filter = localized(event_filter, resolve_timezone(zone))
    for feature in ("001-a", "002-b"):
        log = root / "kitty-specs" / feature / EVENTS_FILENAME
        if log.exists():
            records.extend(iter_feature_records(SimpleJsonStore(log), event_filter))
            # Completed work packages come from every transition, whatever the filter.
            every = EventFilter(event_type="PhaseTransition")
            ids = {record["event_id"] for record in records}
            records.extend(
                record
                for record in iter_feature_records(SimpleJsonStore(log), every)
                if record["event_id"] not in ids
            )
    breakdown = None if breakdown == group_by else breakdown
    report = cost_report(
        records, group_by, pricing=PRICING, timezone=zone, breakdown=breakdown, sort=sort
    )
    return report.to_dict()


def projected(root: Path, query: tuple[Any, ...]) -> dict[str, Any]:
    group_by, breakdown, event_filter, zone, sort = query
    breakdown = None if breakdown == group_by else breakdown
    report = project_cost_report(
        root,
        event_filter,
        group_by,
        pricing=PRICING,
        timezone=zone,
        breakdown=breakdown,
        sort=sort,
    )
    return report.to_dict()


@settings(
    max_examples=int(os.environ.get("PROJECTION_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=st.lists(events, max_size=12), history=steps, asked=st.lists(queries, min_size=1))
def test_projection_reports_equal_full_scans_after_any_history(
    start: list[Any], history: list[Any], asked: list[Any]
) -> None:
    """After appends, torn tails, rewrites, inserts and duplicates, projection == full scan.

    Time rows and date bounds come from local-day cells keyed by what the
    report reads; bounds inside a day, and ``sort="time"`` of rows that are
    not periods, from 15-minute cells. Tags too: filters by tag and tag:KEY
    rows come from the cells (no scan path), and odd hand-written tags (not a
    mapping, not strings) are kept aside.
    And what runs produced: lines, passed tests, failure categories and the
    completed work packages (from the phase transitions) of every row.
    """
    root = Path(tempfile.mkdtemp(prefix="projection-"))
    try:
        log = Log(root)
        if start:
            log.apply(("append", start))
        for step in [*history, ("finish",)]:
            for query in asked:
                assert projected(root, query) == full_scan(root, query), (step, query)
            log.apply(step)
        for query in asked:
            assert projected(root, query) == full_scan(root, query), query
    finally:
        shutil.rmtree(root)

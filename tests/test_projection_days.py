"""Time reports from local-day cells: compact, and exact in every zone's odd days.

A ``-g day|week|month`` report, or one bounded by dates, reads a projection
of local-day cells of its zone (``_timed.day_cells``), keyed only by the
fields it reads. These tests hold it to a fresh fold of the records around
real transitions: clocks going back at midnight, a skipped day, half-hour
and 15-minute offset changes, offsets that are no multiple of 15 minutes,
and a midnight that does not exist.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpers import pricing_for_tests
from spec_kitty_telemetry import EVENTS_FILENAME, SimpleJsonStore
from spec_kitty_telemetry._periods import Periods, resolve_timezone
from spec_kitty_telemetry.cost import cost_report, localized, project_cost_report
from spec_kitty_telemetry.ids import _encode
from spec_kitty_telemetry.query import EventFilter, iter_feature_records

PRICING = pricing_for_tests()

#: (zone, a UTC instant near one of its odd transitions)
ODD_DAYS = [
    ("America/Sao_Paulo", datetime(2018, 2, 18, 2, 0, tzinfo=UTC)),  # back at midnight
    ("Pacific/Apia", datetime(2011, 12, 30, 10, 0, tzinfo=UTC)),  # 2011-12-30 skipped
    ("Australia/Lord_Howe", datetime(2025, 4, 5, 15, 0, tzinfo=UTC)),  # back half an hour
    ("Asia/Kathmandu", datetime(1985, 12, 31, 18, 30, tzinfo=UTC)),  # +05:30 to +05:45
    ("Africa/Monrovia", datetime(1972, 1, 7, 0, 44, 30, tzinfo=UTC)),  # -00:44:30 to 0
    ("America/Santiago", datetime(2022, 9, 11, 4, 0, tzinfo=UTC)),  # no midnight that day
    ("America/New_York", datetime(2025, 11, 2, 6, 0, tzinfo=UTC)),
    ("UTC", datetime(2025, 11, 2, 0, 0, tzinfo=UTC)),
]
AGENTS = ("claude", "codex", "gemini")
MODELS = ("test-model", "other-model", "mystery")


def _write(root: Path, middle: datetime) -> None:
    """An event every 15 minutes (at :07) for two days either side of ``middle``."""
    log = root / "kitty-specs" / "001-a" / EVENTS_FILENAME
    log.parent.mkdir(parents=True)
    lines = []
    for n in range(-192, 192):
        payload: dict[str, Any] = {
            "agent": AGENTS[n % 3],
            "model": MODELS[n % 3],
            "wp_id": f"WP0{n % 4}",
            "success": n % 5 != 0,
            "input_tokens": 1000 + n,
            "output_tokens": 10,
        }
        if n % 7 == 0:
            payload["cost_usd"] = 0.25
        when = middle + timedelta(minutes=15 * n, seconds=7)
        record = {
            "aggregate_id": "001-a",
            "causation_id": None,
            "event_id": _encode((1 << 60) + n + 200),
            "event_type": "ExecutionEvent",
            "lamport_clock": n + 200,
            "node_id": "n",
            "payload": payload,
            "timestamp": when.isoformat(),
        }
        lines.append(json.dumps(record, sort_keys=True))
    log.write_text("\n".join(lines) + "\n")


def _scan(root: Path, group_by: str, event_filter: EventFilter | None, zone: str) -> Any:
    log = SimpleJsonStore(root / "kitty-specs" / "001-a" / EVENTS_FILENAME)
    if event_filter is not None:
        event_filter = localized(event_filter, resolve_timezone(zone))
    records = list(iter_feature_records(log, event_filter))
    return cost_report(records, group_by, pricing=PRICING, timezone=zone).to_dict()


def _projected(root: Path, group_by: str, event_filter: EventFilter | None, zone: str) -> Any:
    return project_cost_report(
        root, event_filter, group_by, pricing=PRICING, timezone=zone
    ).to_dict()


@pytest.mark.parametrize(("zone", "middle"), ODD_DAYS, ids=[zone for zone, _ in ODD_DAYS])
def test_day_cells_equal_a_fresh_fold_across_a_zones_odd_days(
    tmp_path: Path, zone: str, middle: datetime
) -> None:
    """Rows by day, week and month, and every date bound near a transition, equal a scan's."""
    _write(tmp_path, middle)
    first = (middle - timedelta(days=3)).date()
    days = [first + timedelta(days=k) for k in range(7)]
    queries: list[tuple[str, EventFilter | None]] = [(g, None) for g in ("day", "week", "month")]
    for day in days:
        queries.append(("day", EventFilter(since=day)))
        queries.append(("agent", EventFilter(until=day)))
        queries.append(("model", EventFilter(since=day, until=day, agent="claude")))
    queries.append(("day", EventFilter(since=middle, success=False)))
    for group_by, event_filter in queries:
        expected = _scan(tmp_path, group_by, event_filter, zone)
        assert _projected(tmp_path, group_by, event_filter, zone) == expected, (
            group_by,
            event_filter,
        )
        assert _projected(tmp_path, group_by, event_filter, zone) == expected  # warm


def test_a_day_report_keeps_a_cell_per_day_and_model_not_per_event(tmp_path: Path) -> None:
    """``-g day`` writes a local-day projection (no 15-minute one) of days x models cells."""
    from spec_kitty_telemetry._timed import day_cells
    from spec_kitty_telemetry.cost import thresholds_of
    from spec_kitty_telemetry.projection import fold_log

    _write(tmp_path, datetime(2025, 11, 2, tzinfo=UTC))
    _projected(tmp_path, "day", None, "UTC")
    folder = tmp_path / "kitty-specs" / "001-a"
    names = sorted(path.name for path in folder.glob(".*projection*"))
    assert len(names) == 1, names
    assert "-day-" in names[0], names
    shape = day_cells("day", None, None, None, UTC)
    assert shape is not None
    assert shape.keep == frozenset()
    fold = fold_log(folder / EVENTS_FILENAME, thresholds_of(PRICING), days=shape).fold
    # 384 events over 4 UTC days (October 31 to November 3), 3 models
    assert len(fold.cells) == 4 * 3
    assert fold.work_packages is not None
    assert {wp for wps in fold.work_packages.values() for wp in wps} == {
        "WP00",
        "WP01",
        "WP02",
        "WP03",
    }


def test_an_agent_filter_keeps_the_agent_in_day_cells_and_a_time_sort_needs_15_minutes():
    """What a report filters or groups by is kept; rows ordered by first event are not days."""
    from spec_kitty_telemetry._timed import day_cells

    shape = day_cells("day", "tag:op", None, EventFilter(agent="claude", success=True), UTC)
    assert shape is not None
    assert shape.keep == {"agent", "success", "tags"}
    assert day_cells("agent", None, "time", None, UTC) is None
    assert day_cells("day", None, "time", None, UTC) is not None
    inside = EventFilter(since=datetime(2025, 11, 3, 14, 0, tzinfo=UTC))
    assert day_cells("day", None, None, inside, UTC) is None  # 15-minute cells answer


def test_a_day_run_starts_where_the_local_date_changes_in_every_zone_tested():
    """Sao Paulo's 2018-02-17 lasts 25 hours; Apia has no 2011-12-30."""
    sao_paulo = Periods(resolve_timezone("America/Sao_Paulo"))
    start = datetime(2018, 2, 17, 2, 0, tzinfo=UTC)  # local midnight of the 17th (-02:00)
    bucket = int(start.timestamp()) // 900
    assert sao_paulo.day_start(bucket + 99) == bucket  # 25 hours of one date
    assert sao_paulo.day_start(bucket + 100) == bucket + 100
    apia = Periods(resolve_timezone("Pacific/Apia"))
    seen = {
        apia.day(int(datetime(2011, 12, 29, 0, 0, tzinfo=UTC).timestamp()) // 900 + k)
        for k in range(0, 96 * 3)
    }
    assert date(2011, 12, 30) not in seen


def test_a_bound_inside_a_day_reads_the_15_minute_projection_file(tmp_path: Path) -> None:
    """A bound at 14:00 is no day edge: the 15-minute projection (``-time``) answers it.

    Failed before: its file was named as a day projection's.
    """
    _write(tmp_path, datetime(2025, 11, 2, tzinfo=UTC))
    inside = EventFilter(since=datetime(2025, 11, 2, 14, 0, tzinfo=UTC))
    assert _projected(tmp_path, "day", inside, "UTC") == _scan(tmp_path, "day", inside, "UTC")
    folder = tmp_path / "kitty-specs" / "001-a"
    names = [path.name for path in folder.glob(".*projection*")]
    assert names == [f".{EVENTS_FILENAME}.projection-time"]

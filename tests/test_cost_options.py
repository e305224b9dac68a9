"""The cost report's options: filters, week/month/feature-wp rows, time zones, breakdowns, order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import pricing_for_tests, run_event, write_project
from spec_kitty_telemetry.cost import cost_report, project_cost_report
from spec_kitty_telemetry.errors import QueryError
from spec_kitty_telemetry.query import EventFilter

PRICING = pricing_for_tests()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Runs over two features, two agents, three work packages, around a month's end."""
    return write_project(
        tmp_path,
        run_event("001-a", when="2025-10-31T23:40:00", agent="claude", wp_id="WP01", cost_usd=1.0),
        run_event("001-a", when="2025-11-01T08:00:00", agent="codex", wp_id="WP01", cost_usd=0.5),
        run_event("001-a", when="2025-11-03T12:00:00", agent="claude", wp_id="WP02", cost_usd=0.25),
        run_event(
            "002-b",
            when="2025-11-10T12:00:00",
            agent="claude",
            wp_id="WP01",
            success=False,
            model="test-model",
            input_tokens=1_000_000,
            output_tokens=0,
        ),
    )


def _rows(report: object) -> dict[str, Decimal]:
    return {s.group_key: s.total_cost_usd for s in report.summaries}  # type: ignore[attr-defined]


def test_month_and_week_rows_are_calendar_periods_oldest_first(project: Path):
    """Months and ISO weeks are rows in time order; 2025-11-03 starts ISO week 45."""
    months = project_cost_report(project, None, "month", pricing=PRICING)
    assert [s.group_key for s in months.summaries] == ["2025-10", "2025-11"]
    weeks = project_cost_report(project, None, "week", pricing=PRICING)
    assert _rows(weeks) == {
        "2025-W44": Decimal("1.5"),
        "2025-W45": Decimal("0.25"),
        "2025-W46": Decimal(2),
    }
    assert [s.group_key for s in weeks.summaries] == ["2025-W44", "2025-W45", "2025-W46"]


def test_timezone_moves_events_across_day_and_month_boundaries(project: Path):
    """23:40 UTC on Oct 31 is Nov 1 in Paris (+01:00) and still Oct 31 in New York."""
    paris = project_cost_report(project, None, "month", pricing=PRICING, timezone="Europe/Paris")
    assert _rows(paris) == {"2025-11": Decimal("3.75")}
    york = project_cost_report(project, None, "day", pricing=PRICING, timezone="America/New_York")
    assert [s.group_key for s in york.summaries][:2] == ["2025-10-31", "2025-11-01"]


def test_timezone_decides_how_since_dates_are_read(project: Path):
    """--since 2025-11-01 in Paris includes 23:40 UTC the day before; in UTC it does not."""
    since = EventFilter(since=date(2025, 11, 1))
    utc = project_cost_report(project, since, "feature", pricing=PRICING)
    paris = project_cost_report(project, since, "feature", pricing=PRICING, timezone="Europe/Paris")
    assert utc.total.event_count == 3
    assert paris.total.event_count == 4


def test_unknown_timezone_is_a_query_error_naming_the_parameter(project: Path):
    """A zone nobody knows fails before reading, naming the parameter, not a flag."""
    with pytest.raises(QueryError) as caught:
        project_cost_report(project, None, "day", timezone="Mars/Olympus")
    assert caught.value.parameter == "timezone"
    assert "--" not in str(caught.value)


def test_unknown_group_names_the_parameter_not_a_flag():
    """The library names group_by, never --group-by."""
    with pytest.raises(QueryError) as caught:
        cost_report([], "colour")
    assert caught.value.parameter == "group_by"
    assert "--" not in str(caught.value)


def test_feature_wp_gives_one_row_per_work_package_of_a_feature(project: Path):
    """WP01 of 001-a and WP01 of 002-b are separate rows; --group-by wp merges them."""
    rows = _rows(project_cost_report(project, None, "feature-wp", pricing=PRICING))
    assert rows == {"001-a/WP01": Decimal("1.5"), "001-a/WP02": Decimal("0.25"), "002-b/WP01": 2}
    merged = _rows(project_cost_report(project, None, "wp", pricing=PRICING))
    assert merged == {"WP01": Decimal("3.5"), "WP02": Decimal("0.25")}


def test_filters_on_agent_wp_and_failure(project: Path):
    """Agent, work package and success filters select the runs events would list."""
    claude = project_cost_report(project, EventFilter(agent="claude"), "feature", pricing=PRICING)
    assert claude.total.event_count == 3
    failed = project_cost_report(project, EventFilter(success=False), "feature", pricing=PRICING)
    assert _rows(failed) == {"002-b": Decimal(2)}
    wp2 = project_cost_report(project, EventFilter(wp_id="WP02"), "agent", pricing=PRICING)
    assert _rows(wp2) == {"claude": Decimal("0.25")}


def test_unaligned_time_bounds_are_exact(project: Path):
    """A bound inside a 15-minute bucket (23:35, the run at 23:40) still splits events exactly."""
    from datetime import UTC, datetime

    before = EventFilter(since=datetime(2025, 10, 31, 23, 35, tzinfo=UTC))
    assert project_cost_report(project, before, "agent", pricing=PRICING).total.event_count == 4
    after = EventFilter(since=datetime(2025, 10, 31, 23, 41, tzinfo=UTC))
    assert project_cost_report(project, after, "agent", pricing=PRICING).total.event_count == 3


def test_breakdown_parts_add_up_to_their_row(project: Path):
    """Each agent row splits by feature; parts' costs and counts sum to the row."""
    report = project_cost_report(project, None, "agent", pricing=PRICING, breakdown="feature")
    for summary in report.summaries:
        assert summary.breakdown is not None
        assert sum(p.total_cost_usd for p in summary.breakdown) == summary.total_cost_usd
        assert sum(p.event_count for p in summary.breakdown) == summary.event_count
    claude = next(s for s in report.summaries if s.group_key == "claude")
    assert {p.group_key: p.total_cost_usd for p in claude.breakdown or []} == {
        "001-a": Decimal("1.25"),
        "002-b": Decimal(2),
    }
    assert report.to_dict()["summaries"][0]["breakdown"][0]["group_by"] == "feature"


def test_breakdown_must_differ_from_the_grouping():
    """Splitting agents by agent is refused, naming the parameter."""
    with pytest.raises(QueryError) as caught:
        cost_report([], "agent", breakdown="agent")
    assert caught.value.parameter == "breakdown"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("cost", ["002-b/WP01", "001-a/WP01", "001-a/WP02"]),
        ("name", ["001-a/WP01", "001-a/WP02", "002-b/WP01"]),
        ("events", ["001-a/WP01", "001-a/WP02", "002-b/WP01"]),
        ("tokens", ["002-b/WP01", "001-a/WP01", "001-a/WP02"]),
        ("time", ["001-a/WP01", "001-a/WP02", "002-b/WP01"]),
    ],
)
def test_sort_orders_rows(project: Path, sort: str, expected: list[str]):
    """Each sort order, and --reverse flips it."""
    report = project_cost_report(project, None, "feature-wp", pricing=PRICING, sort=sort)
    assert [s.group_key for s in report.summaries] == expected
    flipped = project_cost_report(
        project, None, "feature-wp", pricing=PRICING, sort=sort, reverse=True
    )
    assert [s.group_key for s in flipped.summaries] == expected[::-1]


def test_money_is_quantized_once_to_micro_dollars(tmp_path: Path):
    """Reported 1e-7 and estimated amounts all come back with six decimal places."""
    root = write_project(
        tmp_path,
        run_event("001-a", agent="a", cost_usd=1.2345678),
        run_event("001-a", agent="b", model="test-model", input_tokens=3, output_tokens=7),
    )
    report = project_cost_report(root, None, "agent", pricing=PRICING)
    for summary in [*report.summaries, report.total]:
        for amount in (summary.reported_cost_usd, summary.estimated_cost_usd):
            assert amount.as_tuple().exponent == -6, amount
    assert report.total.total_cost_usd == Decimal("1.234644")  # 1.234568 + 0.000076

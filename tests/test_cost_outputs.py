"""Report denominators: cost per line changed, per passing test, per completed work package.

Runs recorded with changes, tests and failure categories go through the real
log, the projection and the report; the scoreboard reads the same rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from helpers import pricing_for_tests, run_event, spec_kitty, write_foreign, write_project
from spec_kitty_telemetry import outputs
from spec_kitty_telemetry.analytics.scoreboard import project_scoreboard
from spec_kitty_telemetry.completion import completed_lanes
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.query import EventFilter
from spec_kitty_telemetry.testing import make_event

PRICING = pricing_for_tests()


def _changes(added: int, deleted: int) -> dict[str, Any]:
    return {"lines_added": added, "lines_deleted": deleted, "files_created": 1}


_clock = [1000]


def _move(wp: str, source: str, target: str, when: str, feature: str = "001-alpha") -> Any:
    """A PhaseTransition of ``wp`` at ``when``; clocks increase in the order written."""
    _clock[0] += 1
    return make_event(
        event_type="PhaseTransition",
        aggregate_id=feature,
        payload={"wp_id": wp, "from_phase": source, "to_phase": target},
        lamport_clock=_clock[0],
        timestamp=datetime.fromisoformat(when).replace(tzinfo=UTC),
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Claude changed 30 lines over 2 runs (both recorded), codex 1 run with unknown changes;
    WP01 completed, WP02 completed then reopened, WP03 never completed."""
    return write_project(
        tmp_path,
        run_event(cost_usd=1.0, wp_id="WP01", changes=_changes(10, 5), tests={"passed": 4}),
        run_event(cost_usd=2.0, wp_id="WP02", changes=_changes(15, 0), tests={"passed": 6}),
        run_event(
            cost_usd=4.0,
            agent="codex",
            wp_id="WP03",
            success=False,
            error_category="timeout",
            changes=None,
        ),
        run_event(cost_usd=8.0, agent="codex", wp_id="WP01", success=False),
        _move("WP01", "doing", "for_review", "2025-11-03T11:00:00"),
        _move("WP01", "for_review", "done", "2025-11-03T12:00:00"),
        _move("WP02", "doing", "done", "2025-11-03T12:00:00"),
        _move("WP02", "done", "doing", "2025-11-03T13:00:00"),
    )


def _row(report: Any, key: str) -> dict[str, Any]:
    rows = {row["group_key"]: row for row in report.to_dict()["summaries"]}
    row: dict[str, Any] = rows[key]
    return row


def test_lines_tests_and_their_cost_per_unit_per_row(project: Path) -> None:
    """A row whose every run recorded changes and tests gets cost per line and per test."""
    report = project_cost_report(project, group_by="agent", pricing=PRICING)
    claude = _row(report, "claude")
    assert (claude["runs_with_changes"], claude["lines_changed"]) == (2, 30)
    assert (claude["runs_with_tests"], claude["tests_passed"]) == (2, 10)
    assert claude["cost_per_line_changed_usd"] == 0.1  # $3 / 30 lines
    assert claude["cost_per_passing_test_usd"] == 0.3  # $3 / 10 tests


def test_unknown_is_not_zero_a_row_with_unknown_changes_has_no_cost_per_line(
    project: Path,
) -> None:
    """codex recorded no changes and no tests: its figures are null, never $0 or infinite,
    and the TOTAL (where some runs did not record them) has no cost per line either."""
    report = project_cost_report(project, group_by="agent", pricing=PRICING)
    codex = _row(report, "codex")
    assert (codex["runs_with_changes"], codex["lines_changed"]) == (0, None)
    assert codex["cost_per_line_changed_usd"] is None
    assert codex["cost_per_passing_test_usd"] is None
    total = report.to_dict()["total"]
    assert (total["runs_with_changes"], total["lines_changed"]) == (2, 30)
    assert total["cost_per_line_changed_usd"] is None


def test_no_line_changed_gives_no_cost_per_line(tmp_path: Path) -> None:
    """Every run recorded its changes, and none changed a line: no ratio (not infinite)."""
    write_project(tmp_path, run_event(cost_usd=1.0, changes=_changes(0, 0)))
    report = project_cost_report(tmp_path, pricing=PRICING)
    assert report.total.runs_with_changes == 1
    assert report.total.cost_per_line_changed_usd is None


def test_failures_by_category_per_row_and_total(project: Path) -> None:
    """Failed runs count under their error_category, (none) when they recorded none."""
    report = project_cost_report(project, group_by="agent", pricing=PRICING)
    assert _row(report, "codex")["failures_by_category"] == {"(none)": 1, "timeout": 1}
    assert _row(report, "claude")["failures_by_category"] == {}
    assert report.to_dict()["total"]["failures_by_category"] == {"(none)": 1, "timeout": 1}


def test_completed_work_packages_follow_the_phase_rule_and_the_rows_runs(project: Path) -> None:
    """WP01 is done; WP02 was reopened; WP03 never finished. A row counts the completed
    work packages it ran on; the TOTAL counts each once."""
    report = project_cost_report(project, group_by="agent", pricing=PRICING)
    assert _row(report, "claude")["completed_work_packages"] == 1  # WP01 (WP02 reopened)
    assert _row(report, "codex")["completed_work_packages"] == 1  # WP01 too
    assert report.total.completed_work_packages == 1
    assert report.total.cost_per_completed_wp_usd == Decimal(15)
    by_wp = project_cost_report(project, group_by="wp", pricing=PRICING)
    assert _row(by_wp, "WP01")["cost_per_completed_wp_usd"] == 9.0
    assert _row(by_wp, "WP03")["cost_per_completed_wp_usd"] is None


def test_a_breakdown_row_counts_the_work_packages_of_all_its_parts(project: Path) -> None:
    """feature broken down by agent: the feature row has WP01 once, each part has it too."""
    report = project_cost_report(project, group_by="feature", breakdown="agent", pricing=PRICING)
    [row] = report.summaries
    assert row.completed_work_packages == 1
    assert row.breakdown is not None
    assert [part.completed_work_packages for part in row.breakdown] == [1, 1]
    assert row.lines_changed == 30


def test_filters_pick_the_runs_and_transitions_still_decide_completion(project: Path) -> None:
    """--agent claude keeps claude's runs; the transitions (no agent) still say WP01 is done,
    also when a time bound inside a 15-minute bucket makes the report scan the records."""
    claude = project_cost_report(project, EventFilter(agent="claude"), pricing=PRICING)
    assert claude.total.completed_work_packages == 1
    bounded = project_cost_report(
        project,
        EventFilter(agent="claude", until="2025-11-03T10:07:00"),
        pricing=PRICING,
    )
    assert bounded.total.event_count == 2
    assert bounded.total.completed_work_packages == 1


def test_multi_model_events_count_their_output_in_each_model_row_once_in_total(
    tmp_path: Path,
) -> None:
    """An event of two models (kept aside by the fold) counts its lines in both model rows
    and once in the TOTAL, as its event count does."""
    write_foreign(
        tmp_path,
        "001-alpha",
        {
            "agent": "claude",
            "model": "test-model",
            "cost_usd": 1.0,
            "models": {
                "test-model": {"input_tokens": 10, "output_tokens": 10},
                "other": {"input_tokens": 10, "output_tokens": 10},
            },
            "changes": _changes(7, 3),
        },
    )
    report = project_cost_report(tmp_path, group_by="model", pricing=PRICING)
    assert {s.group_key: s.lines_changed for s in report.summaries} == {
        "test-model": 10,
        "other": 10,
    }
    assert (report.total.event_count, report.total.lines_changed) == (1, 10)
    by_agent = project_cost_report(tmp_path, group_by="agent", pricing=PRICING)
    assert by_agent.total.cost_per_line_changed_usd == Decimal("0.1")


@pytest.mark.parametrize(
    "payload",
    [
        {"changes": "everything"},
        {"changes": {"lines_added": -1, "lines_deleted": 2}},
        {"changes": {"lines_added": True, "lines_deleted": 2}},
        {"changes": {"lines_added": 3}},
        {"tests": {"passed": "4"}},
        {"tests": []},
    ],
)
def test_hand_written_odd_outputs_are_unknown(payload: dict[str, Any]) -> None:
    """Values that are not the recorded shape are unknown figures, not zeros or errors."""
    assert outputs.lines_changed(payload) is None
    assert outputs.tests_passed(payload) is None


def test_failure_category_is_only_for_failed_runs() -> None:
    """A success has no category; a failure without one is (none)."""
    assert outputs.failure_category({"success": True, "error_category": "auth"}) is None
    assert outputs.failure_category({"error_category": "auth"}) is None
    assert outputs.failure_category({"success": False, "error_category": "auth"}) == "auth"
    assert outputs.failure_category({"success": False, "error_category": 3}) == "(none)"


def test_completion_reads_transitions_in_causal_order_not_file_order() -> None:
    """A reopen written before the completion in the file but later by the clock wins."""
    done = {
        "event_type": "PhaseTransition",
        "aggregate_id": "001",
        "timestamp": "2025-11-03T12:00:00+00:00",
        "lamport_clock": 1,
        "node_id": "a",
        "event_id": "01B",
        "payload": {"wp_id": "WP01", "from_phase": "for_review", "to_phase": "done"},
    }
    reopened = {
        **done,
        "lamport_clock": 2,
        "event_id": "01A",
        "payload": {"wp_id": "WP01", "from_phase": "done", "to_phase": "doing"},
    }
    assert completed_lanes([reopened, done]) == {}
    assert set(completed_lanes([done])) == {("001", "WP01")}


def test_the_scoreboard_counts_the_same_outputs_and_completed_work_packages(
    project: Path,
) -> None:
    """The scoreboard (window: all) shows the lines, tests and categories cost shows."""
    board = project_scoreboard(
        project, "all", at=datetime(2025, 11, 4, tzinfo=UTC), by=["agent"], pricing=PRICING
    ).to_dict()
    rows = {row["group"]["agent"]: row for row in board["rows"]}
    assert rows["claude"]["lines_changed"] == 30
    assert rows["claude"]["cost_per_line_changed_usd"] == 0.1
    assert rows["claude"]["cost_per_passing_test_usd"] == 0.3
    assert rows["codex"]["lines_changed"] is None
    assert rows["codex"]["cost_per_line_changed_usd"] is None
    assert board["total"]["failures_by_category"] == {"(none)": 1, "timeout": 1}
    assert board["total"]["completed_work_packages"] == 1


def test_cost_per_columns_on_the_command_line(project: Path) -> None:
    """`cost --per line,test,wp` at 80 columns: the three columns, — where unknown, and the
    notes saying what they rest on; a bad unit is one line naming --per, exit 2."""
    done = spec_kitty(
        "agent", "telemetry", "cost", "--per", "line,test,wp", cwd=project, columns=80
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    table = [line for line in text.splitlines() if line.startswith(" ")]
    assert table
    assert all(len(line) <= 80 for line in table)
    header = next(line for line in text.splitlines() if "$/line" in line)
    assert "$/test" in header
    assert "$/WP" in header
    claude = next(line for line in text.splitlines() if line.strip().startswith("claude"))
    assert "$0.10" in claude
    assert "$0.30" in claude
    codex = next(line for line in text.splitlines() if line.strip().startswith("codex"))
    assert codex.count("—") == 2
    assert "Failures by category: (none) 1, timeout 1." in text
    bad = spec_kitty("agent", "telemetry", "cost", "--per", "line,hour", cwd=project)
    assert bad.returncode == 2
    assert bad.stderr.decode() == (
        "Error: --per: unknown unit 'hour' (choose from line, test, wp)\n"
    )
    as_json = spec_kitty("agent", "telemetry", "cost", "--json", cwd=project)
    total = json.loads(as_json.stdout)["total"]
    assert total["completed_work_packages"] == 1

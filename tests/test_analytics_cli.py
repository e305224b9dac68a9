"""The baseline, anomalies, budget and scoreboard commands: exact output, JSON, CSV, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import other, run_event, write_project
from spec_kitty_telemetry.cli import telemetry_app

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(telemetry_app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """W45: 20 claude implementer runs, 60-79 s, $1.00-$1.19; W46: one 20-minute run, one $9 run."""
    events = [
        run_event(
            when=f"2025-11-0{3 + i % 5}T{10 + i // 5}:00:00",
            agent="claude",
            role="implementer",
            model="claude-sonnet-4-5",
            wp_id="WP01",
            duration_ms=60_000 + 1000 * i,
            cost_usd=1.0 + i / 100,
        )
        for i in range(20)
    ]
    events.append(
        run_event(
            when="2025-11-11T09:00:00",
            agent="claude",
            role="implementer",
            wp_id="WP03",
            model="claude-sonnet-4-5",
            duration_ms=1_200_000,
            cost_usd=1.05,
        )
    )
    events.append(
        run_event(
            when="2025-11-11T10:00:00",
            agent="claude",
            role="implementer",
            wp_id="WP03",
            model="claude-sonnet-4-5",
            duration_ms=70_000,
            cost_usd=9.0,
        )
    )
    (tmp_path / ".kittify").mkdir()
    return write_project(tmp_path, *events)


def test_baseline_table(project: Path) -> None:
    """The week's one group: 20 runs, 100% (84%-100%), p50 70 s, p95 78 s, p99 79 s, $1.10."""
    code, out, _ = _invoke("baseline", "--week", "2025-W45", "--repo", str(project))
    assert code == 0
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == (
        "Baseline 2025-W45 by agent,role: 1 groups, 20 runs; groups under 20 runs are too "
        "small to alert on."
    )
    row = lines[4].split()
    assert row == [
        "claude/implementer",
        "20",
        "100%",
        "84%-100%",
        "70",
        "s",
        "78",
        "s",
        "79",
        "s",
        "$1.10",
        "-",
        "-",
    ]


def test_baseline_json_and_csv(project: Path) -> None:
    """--json holds the figures under baseline.groups; --csv one header and one row per group."""
    code, out, _ = _invoke("baseline", "--week", "2025-W45", "--json", "--repo", str(project))
    assert code == 0
    group = json.loads(out)["baseline"]["groups"][0]
    assert group["duration_ms"]["p50"] == 69_500.0
    assert group["duration_ms"]["p95"] == 78_050.0
    assert group["too_small"] is False
    code, out, _ = _invoke("baseline", "--week", "2025-W45", "--csv", "--repo", str(project))
    header, row = out.splitlines()
    assert header.split(",")[:3] == ["group.agent", "group.role", "key"]
    assert "duration_ms.p95" in header.split(",")
    assert row.startswith("claude,implementer,claude/implementer,")


def test_freeze_then_refuse_then_compare(project: Path) -> None:
    """--freeze writes the file; other figures exit 2 naming it; comparing the same week: none."""
    code, out, _ = _invoke("baseline", "--week", "2025-W45", "--freeze", "--repo", str(project))
    assert code == 0
    path = project / ".kittify" / "baselines" / "2025-W45.json"
    assert out.splitlines()[-1] == f"Frozen: {path}"
    code, out, err = _invoke(
        "baseline", "--week", "2025-W45", "--freeze", "--min-sample", "5", "--repo", str(project)
    )
    assert code == 2
    assert err.strip() == (
        f"Error: --force: {path}: already frozen with other figures; not replaced unless forced"
    )
    code, out, _ = _invoke(
        "baseline", "--week", "2025-W45", "--compare", "2025-W45", "--repo", str(project)
    )
    assert code == 0
    assert out.splitlines()[-1] == "Nothing moved more than 5% since 2025-W45."


def test_bad_week_and_bad_group_exit_2(project: Path) -> None:
    """A week that is not one, or an unknown group field, is one error line naming the flag."""
    code, _, err = _invoke("baseline", "--week", "2025-45", "--repo", str(project))
    assert (code, err.strip()) == (
        2,
        "Error: --week: not an ISO week: '2025-45' (expected e.g. 2026-W48)",
    )
    code, _, err = _invoke("baseline", "--group-by", "colour", "--repo", str(project))
    assert code == 2
    assert err.startswith("Error: --group-by: unknown group 'colour'")


def test_anomalies_name_the_run_and_why(project: Path) -> None:
    """The 20-minute run is 15.4x the p95 (critical); the $9 run is 8.4x the median cost."""
    _invoke("baseline", "--week", "2025-W45", "--freeze", "--repo", str(project))
    code, out, _ = _invoke(
        "anomalies", "--since", "2025-11-10", "--until", "2025-11-16", "--repo", str(project)
    )
    assert code == 0
    assert out.splitlines() == [
        "critical duration       001-alpha WP03 implementer (claude, claude-sonnet-4-5): "
        "duration 20 min, 15.4\N{MULTIPLICATION SIGN} the p95 of its baseline (2025-W45, n=20)",
        "critical cost           001-alpha WP03 implementer (claude, claude-sonnet-4-5): "
        "cost $9.00, 8.2\N{MULTIPLICATION SIGN} the median of its baseline (2025-W45, n=20)",
        "2 anomalies in 2 runs from 2025-11-10T00:00:00+00:00 to "
        "2025-11-16T23:59:59.999999+00:00, against baseline 2025-W45.",
    ]
    code, out, _ = _invoke(
        "anomalies",
        "--since",
        "2025-11-10",
        "--until",
        "2025-11-16",
        "--json",
        "--repo",
        str(project),
    )
    first = json.loads(out)["anomalies"][0]
    assert sorted(first) == sorted(
        ["event_id", "kind", "group", "value", "baseline", "score", "severity", "message"]
    )
    assert first["value"] == 1_200_000
    assert first["baseline"]["figure"] == "duration_ms.p95"


def test_anomalies_without_a_frozen_baseline_exit_2(project: Path) -> None:
    """With nothing frozen there is nothing to score against: one error line, exit 2."""
    code, _, err = _invoke("anomalies", "--repo", str(project))
    assert code == 2
    assert "no frozen baseline (freeze a week's baseline first)" in err


def test_budget_month_in_a_timezone(project: Path) -> None:
    """A $25 November budget in Europe/Berlin at 2025-11-11T12:00Z: 21 runs $32.95, exhausted."""
    (project / ".kittify" / "telemetry.yaml").write_text(
        "budgets:\n"
        "  - name: november\n    limit_usd: 25\n    period: month\n    timezone: Europe/Berlin\n"
        "alerts:\n  log: alerts.jsonl\n  sinks: []\n"
    )
    code, out, _ = _invoke(
        "budget", "--at", "2025-11-11T12:00:00Z", "--json", "--repo", str(project)
    )
    assert code == 0
    status = json.loads(out)["budgets"][0]
    assert status["period_start"] == "2025-11-01T00:00:00+01:00"
    assert status["period_end"] == "2025-12-01T00:00:00+01:00"
    assert status["runs"] == 22
    assert status["consumed"] == pytest.approx(21.9 + 1.05 + 9.0)
    assert status["level"] == "RED"
    assert status["exhausted"] is True
    alerts = [json.loads(line) for line in (project / "alerts.jsonl").read_text().splitlines()]
    assert [a["what"] for a in alerts] == ["budget_red", "budget_exhausted"]
    _invoke("budget", "--at", "2025-11-12T12:00:00Z", "--repo", str(project))
    assert len((project / "alerts.jsonl").read_text().splitlines()) == 2  # once per period


def test_budget_config_errors_name_file_and_key(project: Path) -> None:
    """A budget with a bad period is one error naming the file and the key; exit 2."""
    config = project / ".kittify" / "telemetry.yaml"
    config.write_text("budgets:\n  - name: x\n    limit_usd: 5\n    period: fortnight\n")
    code, _, err = _invoke("budget", "--repo", str(project))
    assert code == 2
    assert err.strip() == (
        f"Error: {config}: budgets[0] (x).period: expected day, week or month, got 'fortnight'"
    )


def test_scoreboard_first_pass_and_rework(tmp_path: Path) -> None:
    """WP01 done first time, WP02 back from review once then done: first pass 50%, rework 0.5."""
    root = write_project(
        tmp_path,
        run_event(
            when="2025-11-03T10:00:00",
            agent="claude",
            role="implementer",
            wp_id="WP01",
            duration_ms=1000,
            cost_usd=1.0,
        ),
        run_event(
            when="2025-11-03T11:00:00",
            agent="codex",
            role="implementer",
            wp_id="WP02",
            duration_ms=3000,
            cost_usd=3.0,
            success=False,
            error="tests failed: 2",
        ),
        other(wp_id="WP01", from_phase="doing", to_phase="done"),
        other(wp_id="WP02", from_phase="doing", to_phase="for_review"),
        other(wp_id="WP02", from_phase="for_review", to_phase="doing"),
        other(wp_id="WP02", from_phase="doing", to_phase="done"),
    )
    code, out, _ = _invoke(
        "scoreboard",
        "--window",
        "7d",
        "--at",
        "2025-11-04",
        "--json",
        "--by",
        "agent",
        "--repo",
        str(root),
    )
    assert code == 0
    board = json.loads(out)
    total = board["total"]
    assert total["runs"] == 2
    assert total["success_rate"] == 0.5
    assert total["mean_duration_ms"] == 2000.0
    assert total["p95_duration_ms"] == 2900.0
    assert total["completed_work_packages"] == 2
    assert total["first_pass_rate"] == 0.5
    assert total["mean_rework_cycles"] == 0.5
    assert total["cost_per_completed_wp_usd"] == 2.0
    assert total["failures_by_kind"] == {"tests failed": 1}
    rows = {row["group"]["agent"]: row for row in board["rows"]}
    assert rows["claude"]["first_pass_rate"] == 1.0
    assert rows["codex"]["first_pass_rate"] == 0.0


def test_scoreboard_unknown_window_exits_2(tmp_path: Path) -> None:
    """--window 2w is not offered: one error line naming the choices."""
    (tmp_path / "kitty-specs").mkdir()
    code, _, err = _invoke("scoreboard", "--window", "2w", "--repo", str(tmp_path))
    assert code == 2
    assert (
        err.strip() == "Error: --window: unknown window '2w' (choose from 24h, 7d, 30d, 90d, all)"
    )


def _thirds(tmp_path: Path) -> Path:
    """Three agents, each $0.335 (one run) on 2025-11-03, or $0.3333333 in the second feature."""
    return write_project(
        tmp_path,
        *(
            run_event(when="2025-11-03T10:00:00", agent=agent, role="implementer", cost_usd=0.335)
            for agent in ("a", "b", "c")
        ),
        *(
            run_event("002-beta", when="2025-11-02T10:00:00", agent=agent, cost_usd=0.3333333)
            for agent in ("a", "b", "c")
        ),
    )


def _cells(out: str) -> dict[str, list[str]]:
    """The cells of each table row of agents a, b and c, by agent."""
    rows = (line.split() for line in out.splitlines())
    return {cells[0]: cells for cells in rows if cells and cells[0] in ("a", "b", "c")}


def test_scoreboard_row_costs_add_up_and_match_cost(tmp_path: Path) -> None:
    """Rows of $0.335 are $0.34, $0.34, $0.33 (total $1.01), as `cost` shows them, not 3 x $0.34."""
    root = _thirds(tmp_path)
    args = ["--at", "2025-11-03T23:00:00", "--repo", str(root)]
    code, out, _ = _invoke("scoreboard", "--window", "24h", "--by", "agent", *args)
    assert code == 0
    rows = {agent: cells[-2] for agent, cells in _cells(out).items()}  # cost, then failures
    assert rows == {"a": "$0.34", "b": "$0.34", "c": "$0.33"}
    assert "  cost           $1.01, per completed work package -" in out.splitlines()
    code, out, _ = _invoke(
        "cost", "--group-by", "agent", "--since", "2025-11-03", "--repo", str(root)
    )
    assert code == 0
    assert {agent: cells[-1] for agent, cells in _cells(out).items()} == rows


def test_scoreboard_json_row_costs_add_up_to_the_total(tmp_path: Path) -> None:
    """Three runs of $0.3333333 are 0.333334 + 0.333333 + 0.333333 = 1.0 in --json, not 0.999999."""
    root = _thirds(tmp_path)
    code, out, _ = _invoke(
        "scoreboard",
        "--window",
        "24h",
        "--by",
        "agent",
        "--json",
        "--at",
        "2025-11-02T23:00:00",
        "--repo",
        str(root),
    )
    assert code == 0
    board = json.loads(out)
    assert [row["total_cost_usd"] for row in board["rows"]] == [0.333334, 0.333333, 0.333333]
    assert board["total"]["total_cost_usd"] == 1.0


def test_analytics_csv_cells_never_evaluate_as_formulas() -> None:
    """A group named like a formula is written as text, through the exports' one CSV rule."""
    import csv
    import io

    from spec_kitty_telemetry.analytics._csv import write_csv

    out = io.StringIO(newline="")
    rows = [{"group": {"model": '=HYPERLINK("http://x")'}, "runs": 3, "p95": None}]
    assert write_csv(rows, out) == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert header == ["group.model", "runs", "p95"]
    assert row == ['\'=HYPERLINK("http://x")', "3", ""]
    assert out.getvalue().endswith("\r\n")

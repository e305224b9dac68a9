"""The cost command's filter, period, breakdown, zone and order options, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import run_event, write_project
from spec_kitty_telemetry.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three reported runs: two agents, two work packages, one failure, around midnight UTC."""
    return write_project(
        tmp_path,
        run_event("001-a", when="2025-11-02T23:50:00", agent="claude", wp_id="WP01", cost_usd=1.0),
        run_event("001-a", when="2025-11-03T00:10:00", agent="codex", wp_id="WP02", cost_usd=0.5),
        run_event(
            "001-a",
            when="2025-11-03T09:00:00",
            agent="claude",
            wp_id="WP02",
            cost_usd=0.25,
            success=False,
        ),
    )


def _cost(project: Path, *args: str):
    return runner.invoke(
        app, ["agent", "telemetry", "cost", "--repo", str(project), *args], env={"COLUMNS": "120"}
    )


def test_breakdown_prints_indented_parts_under_each_row(project: Path):
    """--breakdown wp: each agent row is followed by its work packages, indented."""
    result = _cost(project, "--breakdown", "wp")
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    claude = next(i for i, line in enumerate(lines) if line.startswith(" claude"))
    assert lines[claude + 1].startswith("   WP01")
    assert lines[claude + 1].endswith("$1.00")
    assert lines[claude + 2].startswith("   WP02")
    assert lines[claude + 2].endswith("$0.25")


def test_breakdown_in_json_is_a_list_in_each_summary(project: Path):
    """--json holds a breakdown list per summary whose costs add up to the summary's."""
    result = _cost(project, "--breakdown", "wp", "--json")
    doc = json.loads(result.stdout)
    for summary in doc["summaries"]:
        parts = summary["breakdown"]
        assert round(sum(p["total_cost_usd"] for p in parts), 6) == summary["total_cost_usd"]
    assert "breakdown" not in doc["total"]


def test_filters_and_timezone_choose_rows(project: Path):
    """--agent claude --timezone Europe/Paris -g day: 23:50 UTC on Nov 2 is Nov 3 in Paris."""
    result = _cost(
        project, "--agent", "claude", "-g", "day", "--timezone", "Europe/Paris", "--json"
    )
    doc = json.loads(result.stdout)
    assert [s["group_key"] for s in doc["summaries"]] == ["2025-11-03"]
    assert doc["total"]["event_count"] == 2
    failed = json.loads(_cost(project, "--failure", "-g", "feature-wp", "--json").stdout)
    assert [s["group_key"] for s in failed["summaries"]] == ["001-a/WP02"]


def test_sort_and_reverse(project: Path):
    """--sort name --reverse lists agents from z to a."""
    doc = json.loads(_cost(project, "--sort", "name", "--reverse", "--json").stdout)
    assert [s["group_key"] for s in doc["summaries"]] == ["codex", "claude"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--timezone", "Mars/Olympus"),
            "Error: --timezone: unknown time zone 'Mars/Olympus' "
            "(expected an IANA name like Europe/Paris, UTC or local)\n",
        ),
        (
            ("--sort", "colour"),
            "Error: --sort: unknown sort 'colour' (choose from cost, events, tokens, name, time)\n",
        ),
        (
            ("--breakdown", "agent"),
            "Error: --breakdown: breakdown 'agent' is the grouping itself\n",
        ),
    ],
)
def test_bad_option_values_are_one_line_errors(project: Path, args: tuple[str, ...], message: str):
    """A bad zone, sort or breakdown: one line naming the flag, exit 2, nothing on stdout."""
    result = _cost(project, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)

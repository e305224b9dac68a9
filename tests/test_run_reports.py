"""``report list|show|summary`` (issue 12): the runs, one run, a feature's work, a window.

Projects are real folders written by the store; commands run as real
subprocesses and their exact output is compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import other, run_event, spec_kitty, write_project
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.reports.summary import nearest_rank


def _ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = spec_kitty("agent", "telemetry", "report", *args, cwd=cwd, columns=200)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def _json(*args: str, cwd: Path) -> Any:
    return json.loads(_ok(*args, "--json", cwd=cwd))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two features; runs whose clocks disagree with their times across features."""
    return write_project(
        tmp_path,
        other("001-alpha", from_phase=None, to_phase="implement", wp_id="WP01"),
        run_event(
            "001-alpha",
            when="2025-11-03T10:00:00",
            agent="claude",
            role="implementer",
            model="opus",
            wp_id="WP01",
            cost_usd=1.25,
            duration_ms=60_000,
        ),
        run_event(
            "001-alpha",
            when="2025-11-05T09:00:00",
            agent="codex",
            role="reviewer",
            model="gpt-5-codex",
            wp_id="WP01",
            cost_usd=0.5,
            duration_ms=120_000,
            success=False,
            exit_code=1,
            error="tests failed",
        ),
        run_event(
            "002-beta",
            when="2025-11-04T12:00:00",
            lamport=1,
            agent="claude",
            role="implementer",
            model="sonnet",
            wp_id="WP02",
            cost_usd=2.0,
            duration_ms=30_000,
        ),
    )


def test_list_is_newest_first_by_time_across_features(project: Path) -> None:
    """report list orders by recorded time, so a later run of another feature comes first."""
    runs = _json("list", cwd=project)["runs"]
    assert [(r["feature"], r["timestamp"][:10]) for r in runs] == [
        ("001-alpha", "2025-11-05"),
        ("002-beta", "2025-11-04"),
        ("001-alpha", "2025-11-03"),
    ]
    assert runs[0] == {
        "event_id": runs[0]["event_id"],
        "timestamp": "2025-11-05T09:00:00+00:00",
        "feature": "001-alpha",
        "wp_id": "WP01",
        "agent": "codex",
        "model": "gpt-5-codex",
        "role": "reviewer",
        "success": False,
        "duration_ms": 120000,
        "cost_usd": 0.5,
        "cost_estimated": False,
    }


def test_list_limit_and_filters(project: Path) -> None:
    """--limit keeps the newest N; --agent and --failure select runs as the other reports do."""
    assert [r["timestamp"][:10] for r in _json("list", "--limit", "1", cwd=project)["runs"]] == [
        "2025-11-05"
    ]
    assert [r["model"] for r in _json("list", "--agent", "claude", cwd=project)["runs"]] == [
        "sonnet",
        "opus",
    ]
    assert [r["agent"] for r in _json("list", "--failure", cwd=project)["runs"]] == ["codex"]


def test_list_table_exact(project: Path) -> None:
    """The table shows time, work, agent, model, role, status, duration and cost of each run."""
    lines = [line.rstrip() for line in _ok("list", cwd=project).splitlines() if line.strip()]
    assert lines[0].split() == [
        "time",
        "(UTC)",
        "feature",
        "wp",
        "agent",
        "model",
        "role",
        "status",
        "duration",
        "cost",
    ]
    assert [line.split() for line in lines[2:]] == [
        [
            "2025-11-05",
            "09:00",
            "001-alpha",
            "WP01",
            "codex",
            "gpt-5-codex",
            "reviewer",
            "failed",
            "2m",
            "00s",
            "$0.50",
        ],
        [
            "2025-11-04",
            "12:00",
            "002-beta",
            "WP02",
            "claude",
            "sonnet",
            "implementer",
            "ok",
            "30s",
            "$2.00",
        ],
        [
            "2025-11-03",
            "10:00",
            "001-alpha",
            "WP01",
            "claude",
            "opus",
            "implementer",
            "ok",
            "1m",
            "00s",
            "$1.25",
        ],
    ]


def test_show_by_unique_prefix(project: Path) -> None:
    """report show takes a run's id or a unique start of it, and reports its lifecycle phase."""
    newest = _json("list", "--limit", "1", cwd=project)["runs"][0]
    detail = _json("show", newest["event_id"][:-6].lower(), cwd=project)
    assert detail["run"] == newest
    assert detail["event"]["payload"]["error"] == "tests failed"
    assert detail["wp_phase"] == "implement"
    assert [row["group_key"] for row in detail["by_model"]] == ["gpt-5-codex"]
    text = _ok("show", newest["event_id"], cwd=project)
    assert f"Run {newest['event_id']}" in text
    assert "  status     failed   exit code 1   duration 2m 00s" in text
    assert "  error      tests failed" in text
    assert "  lifecycle  feature phase -, WP01 phase implement" in text


def test_show_unknown_or_ambiguous_id_is_one_line_error(project: Path) -> None:
    """A prefix no run has, or several have, exits 2 with one line naming it."""
    done = spec_kitty("agent", "telemetry", "report", "show", "ZZZZZZ", cwd=project)
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "Error: no run has an event id starting with 'ZZZZZZ'"
    ]
    ids = [r["event_id"] for r in _json("list", cwd=project)["runs"]]
    common = ids[0][:4]
    assert all(i.startswith(common) for i in ids)  # ULIDs of one test run share their start
    done = spec_kitty("agent", "telemetry", "report", "show", common, cwd=project)
    assert done.returncode == 2
    assert "is the start of 3 run ids" in done.stderr.decode()


def test_show_feature_and_wp(project: Path) -> None:
    """report show FEATURE/WP lists that work's runs oldest first, and its timeline."""
    work = _json("show", "001-alpha/WP01", cwd=project)
    assert [r["agent"] for r in work["runs"]] == ["claude", "codex"]
    assert [(s["phase"], s["invocations"], s["cost_usd"]) for s in work["timeline"]] == [
        ("implement", 2, 1.75)
    ]
    text = _ok("show", "001-alpha/WP01", cwd=project)
    assert "Timeline of 001-alpha / WP01" in text
    done = spec_kitty("agent", "telemetry", "report", "show", "009-none", cwd=project)
    assert done.returncode == 2
    assert "no run id or feature folder '009-none'" in done.stderr.decode()


def test_summary_figures(project: Path) -> None:
    """summary: total as the cost report's, success rate, mean and nearest-rank p95 duration."""
    summary = _json("summary", cwd=project)
    total = project_cost_report(project).total.total_cost_usd
    assert summary["cost_usd"] == float(total) == 3.75
    assert summary["runs"] == 3
    assert summary["succeeded"] == 2
    assert summary["success_rate"] == 0.6667
    assert summary["mean_duration_ms"] == 70000.0
    assert summary["p95_duration_ms"] == 120000
    assert summary["by_agent"] == {
        "claude": {"runs": 2, "succeeded": 2, "cost_usd": 3.25, "cost_estimated": False},
        "codex": {"runs": 1, "succeeded": 0, "cost_usd": 0.5, "cost_estimated": False},
    }
    assert _json("summary", "--since", "2025-11-04", cwd=project)["runs"] == 2


def test_summary_markdown_exact(project: Path) -> None:
    """--format markdown renders the summary as GitHub-flavoured tables."""
    text = _ok("summary", "--format", "markdown", "--until", "2025-11-04", cwd=project)
    assert text == (
        "### Agent runs: until 2025-11-04\n"
        "\n"
        "| runs | success rate | total cost | mean duration | p95 duration |\n"
        "|---:|---:|---:|---:|---:|\n"
        "| 2 | 100.0% | $3.25 | 45s | 1m 00s |\n"
        "\n"
        "| agent | runs | succeeded | cost |\n"
        "|---|---:|---:|---:|\n"
        "| claude | 2 | 100.0% | $3.25 |\n"
        "\n"
        "| model | runs | succeeded | cost |\n"
        "|---|---:|---:|---:|\n"
        "| claude-sonnet-4-5 | 1 | - | $2.00 |\n"
        "| claude-opus-4-5 | 1 | - | $1.25 |\n"
    )


def test_summary_github_appends_to_step_summary(project: Path, tmp_path: Path) -> None:
    """--format github appends to $GITHUB_STEP_SUMMARY when set, keeping what was there."""
    target = tmp_path / "step-summary.md"
    target.write_text("earlier step\n")
    markdown = _ok("summary", "--format", "markdown", cwd=project)
    import os

    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(target)}
    import subprocess

    from helpers import SPEC_KITTY

    done = subprocess.run(
        [*SPEC_KITTY, "agent", "telemetry", "report", "summary", "--format", "github"],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert target.read_text() == "earlier step\n" + markdown


def test_summary_rejects_unknown_format(project: Path) -> None:
    """An unknown --format exits 2 naming the flag."""
    done = spec_kitty("agent", "telemetry", "report", "summary", "--format", "pdf", cwd=project)
    assert done.returncode == 2
    assert "--format 'pdf'" in done.stderr.decode()


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([5], 5), (list(range(1, 21)), 19), (list(range(1, 101)), 95), ([3, 1, 2], 3)],
)
def test_nearest_rank(values: list[int], expected: int | None) -> None:
    """p95 is the nearest-rank percentile: a value some run really took."""
    assert nearest_rank(values, 95) == expected


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_list_fits_narrow_terminals_without_cutting_numbers(project: Path, columns: int) -> None:
    """At 60-100 columns no line is wider than the terminal and every cost is shown whole."""
    done = spec_kitty("agent", "telemetry", "report", "list", cwd=project, columns=columns)
    text = done.stdout.decode()
    assert all(len(line) <= columns for line in text.splitlines())
    for cost in ("$0.50", "$2.00", "$1.25"):
        assert cost in text
    assert text.count("failed") == 1

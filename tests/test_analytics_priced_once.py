"""Runs priced once and reused give what reading and pricing the records again gives.

The weekly review prices its week once and hands the runs to the baseline
and the scoreboard; these check that the shortcut and the full scan agree
figure for figure, on a mix of priced, estimated, unpriced and failed runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers import pricing_for_tests, run_event, write_project
from spec_kitty_telemetry.analytics.baseline import baseline_of_runs, compute_baseline
from spec_kitty_telemetry.analytics.runs import priced_runs
from spec_kitty_telemetry.analytics.scoreboard import project_scoreboard
from spec_kitty_telemetry.query import EventFilter, iter_project_records


def _mixed_records(root: Path) -> list[dict[str, Any]]:
    """30 runs over two features: reported costs, token estimates, unpriced runs, failures."""
    events = []
    for i in range(30):
        payload: dict[str, Any] = {
            "agent": ("claude", "codex", "copilot")[i % 3],
            "role": ("implementer", "reviewer")[i % 2],
            "wp_id": f"WP0{1 + i % 4}",
            "duration_ms": 30_000 + 7_919 * i,
            "success": i % 7 != 3,
        }
        if i % 3 == 0:
            payload["cost_usd"] = 0.5 + i / 37
        elif i % 3 == 1:
            payload.update(model="test-model", input_tokens=1_000 * i, output_tokens=97 * i)
        else:
            payload["model"] = "nobody-prices-this"
        if not payload["success"]:
            payload["error"] = "agent exited with status 1"
        feature = ("001-alpha", "002-beta")[i % 2]
        events.append(
            run_event(feature, when=f"2025-11-{3 + i % 5:02d}T1{i % 10}:00:00", **payload)
        )
    write_project(root, *events)
    return list(iter_project_records(root, EventFilter(event_type="ExecutionEvent")))


def test_baseline_of_priced_runs_equals_the_baseline_of_the_records(tmp_path: Path) -> None:
    """Every group by every grouping: the frozen text is the same byte for byte."""
    records = _mixed_records(tmp_path)
    pricing = pricing_for_tests()
    runs = sorted(priced_runs(records, pricing), key=lambda run: run.event_id, reverse=True)
    for group_by in (("agent", "role"), ("feature",), ("model", "wp"), ("agent",)):
        scanned = compute_baseline(
            records, group_by, pricing=pricing, min_sample=3, week="2025-W45"
        )
        reused = baseline_of_runs(runs, group_by, min_sample=3, week="2025-W45")
        assert reused.dumps() == scanned.dumps()
    assert len(scanned.groups) == 3


def test_scoreboard_of_given_runs_equals_the_scoreboard_that_reads_them(tmp_path: Path) -> None:
    """The week's runs handed in: the same JSON document as when the scoreboard reads them."""
    records = _mixed_records(tmp_path)
    pricing = pricing_for_tests()
    runs = list(priced_runs(records, pricing))
    start, end = datetime(2025, 11, 3, tzinfo=UTC), datetime(2025, 11, 9, 23, tzinfo=UTC)
    for by in ((), ("agent",), ("role", "model")):
        read = project_scoreboard(tmp_path, "7d", end, by, pricing=pricing, start=start)
        given = project_scoreboard(tmp_path, "7d", end, by, pricing=pricing, start=start, runs=runs)
        assert given.to_dict() == read.to_dict()
        assert read.total.runs == 30

"""The real-time check finds, run by run, what ``anomalies`` finds over the same records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import run_event, write_project
from spec_kitty_telemetry import EVENTS_FILENAME
from spec_kitty_telemetry.analytics import alerts, freeze_baseline, project_baseline, realtime
from spec_kitty_telemetry.analytics.anomalies import detect_anomalies, runs_to_score
from spec_kitty_telemetry.analytics.baseline import load_baseline
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.pricing import load_pricing

FEATURE = "001-alpha"
WEEK = "2025-W45"


def _baseline_project(root: Path) -> int:
    """30 successful sonnet runs of claude/implementer in 2025-W45; return how many lines."""
    events = [
        run_event(
            when=f"2025-11-0{3 + i % 5}T1{i % 10}:00:00",
            agent="claude",
            role="implementer",
            model="claude-sonnet-4-5",
            duration_ms=60_000 + 1000 * i,
            input_tokens=20_000 + 500 * i,
            output_tokens=2_000 + 50 * i,
            cost_usd=1.0 + i / 100,
        )
        for i in range(30)
    ]
    write_project(root, *events)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "telemetry.yaml").write_text(
        "alerts:\n  realtime: true\n  log: alerts.jsonl\n  sinks: []\n"
    )
    freeze_baseline(root, project_baseline(root, week=WEEK))
    return len(events)


def _normal(i: int) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "duration_ms": 70_000 + 100 * i,
        "input_tokens": 25_000,
        "output_tokens": 2_500,
        "cost_usd": 1.1,
    }


#: The stream emitted: normal runs around each kind of anomaly the detector scores per run.
STREAM: list[tuple[str, dict[str, Any]]] = [
    ("claude", _normal(0)),
    ("claude", _normal(1) | {"duration_ms": 20 * 60_000}),  # slow
    ("claude", _normal(2) | {"cost_usd": 40.0}),  # expensive
    ("claude", _normal(3) | {"input_tokens": 4_000_000, "cost_usd": 1.2}),  # token spike
    ("claude", {"duration_ms": 70_000}),  # unpriced: no cost, no tokens
    (
        "claude",
        {"model": "mystery-9", "duration_ms": 70_000, "input_tokens": 9, "output_tokens": 9},
    ),  # unknown model
    ("codex", _normal(4) | {"duration_ms": 50 * 60_000}),  # a group the baseline never saw
    *[("claude", _normal(5 + i) | {"success": False, "error": "boom: x"}) for i in range(5)],
    ("claude", _normal(11)),
]


def test_the_realtime_check_finds_what_anomalies_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each emitted run raises exactly the anomalies ``detect_anomalies`` gives it afterwards.

    The alerts are caught before the cooldown (which keys them by kind and
    group): the check's anomalies, with their messages, equal the report's
    over the same records, but for the window's failure count, which only a
    report that has seen the whole window can judge.
    """
    before = _baseline_project(tmp_path)
    realtime.reset()
    raised: list[tuple[str, str, str]] = []

    def catch(root: object, found: Any, settings: object, **_: object) -> list[object]:
        raised.extend((a.event_id, a.what, a.why) for a in found)
        return []

    monkeypatch.setattr(alerts, "raise_alerts", catch)
    feature = tmp_path / "kitty-specs" / FEATURE
    for agent, fields in STREAM:
        fields = {"success": True, **fields}
        assert emit_execution_record(feature, FEATURE, "WP01", agent, "implementer", **fields)
    lines = (feature / EVENTS_FILENAME).read_text().splitlines()[before:]
    records = [json.loads(line) for line in lines]
    assert len(records) == len(STREAM)
    baseline = load_baseline(tmp_path, WEEK)
    report = detect_anomalies(runs_to_score(records, baseline, load_pricing(tmp_path)), baseline)
    per_run = [a for a in report.anomalies if a.kind != "failure_rate"]
    expected = [(a.event_id, a.kind, a.message) for a in per_run]
    kinds = sorted(kind for _, kind, _ in expected)
    assert kinds == ["cost", "duration", "failure_streak", "tokens", "unknown_model", "unpriced"]
    assert sorted(raised) == sorted(expected)

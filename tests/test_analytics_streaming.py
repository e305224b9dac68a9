"""Reports that add runs up as they read them give what holding every run gave.

``anomalies`` scores each run's figures as it is read and keeps only the
order of the runs for the failure streaks; the scoreboard adds runs into
per-row tallies and reads the logs once for its runs and its phase
transitions. These check both against the plain way (every run held, sorted,
checked one by one; two reads), on streams built to hit every case: ties in
time, runs read out of order, failure streaks across features, groups the
baseline never saw, transitions before and inside the window.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import pricing_for_tests, run_event, write_project
from spec_kitty_telemetry.analytics.anomalies import AnomalyDetector, detect_anomalies
from spec_kitty_telemetry.analytics.baseline import baseline_of_runs
from spec_kitty_telemetry.analytics.budget import budget_status, project_budgets
from spec_kitty_telemetry.analytics.runs import Run, priced_runs
from spec_kitty_telemetry.analytics.scoreboard import project_scoreboard
from spec_kitty_telemetry.analytics.settings import budget_settings
from spec_kitty_telemetry.query import EventFilter, iter_project_records
from spec_kitty_telemetry.testing import make_event

START = datetime(2025, 11, 10, tzinfo=UTC)


def _payload(rng: random.Random, agent: str, *, spike: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "agent": agent,
        "role": "implementer",
        "wp_id": f"WP0{rng.randint(1, 3)}",
        "duration_ms": int(60_000 * rng.lognormvariate(0, 0.2) * (30 if spike else 1)),
        "success": True,
    }
    if rng.random() < 0.5:
        payload["cost_usd"] = round(rng.lognormvariate(0, 0.2) * (40 if spike else 1), 6)
    else:
        payload.update(model="test-model", input_tokens=rng.randint(9_000, 11_000))
        payload["output_tokens"] = rng.randint(900, 1_100)
    return payload


def _baseline_runs(rng: random.Random) -> list[Run]:
    records = [
        run_event(
            when=(START - timedelta(days=7) + timedelta(minutes=37 * i)).isoformat(),
            **_payload(rng, ("claude", "codex")[i % 2]),
        ).to_dict()
        for i in range(80)
    ]
    return list(priced_runs(records, pricing_for_tests()))


def _window_records(rng: random.Random) -> list[dict[str, Any]]:
    """300 runs: spikes, unpriced runs, failure bursts, shared instants, an unknown group."""
    records = []
    for i in range(300):
        agent = rng.choice(["claude", "claude", "codex", "gemini"])
        payload = _payload(rng, agent, spike=rng.random() < 0.05)
        if rng.random() < 0.03:
            payload = {k: v for k, v in payload.items() if k not in ("cost_usd", "input_tokens")}
        if 100 <= i < 112 or rng.random() < 0.05:
            payload.update(success=False, error=rng.choice(["boom: x", "timeout: y"]))
        when = START + timedelta(minutes=5 * (i // 3))  # three runs share each instant
        feature = rng.choice(["001-alpha", "002-beta"])
        records.append(run_event(feature, when=when.isoformat(), **payload).to_dict())
    rng.shuffle(records)  # read out of time order, as union-merged logs are
    return records


def test_streamed_anomalies_equal_checking_every_run_in_time_order() -> None:
    """Every anomaly, message and score, and the groups left unscored, for five streams."""
    for seed in range(5):
        rng = random.Random(seed)
        pricing = pricing_for_tests()
        baseline = baseline_of_runs(_baseline_runs(rng), ("agent",), min_sample=20, week="2025-W45")
        runs = list(priced_runs(_window_records(rng), pricing))

        plain = AnomalyDetector(baseline)
        expected = []
        for run in sorted(runs, key=lambda r: (r.timestamp, r.event_id)):
            expected.extend(plain.check(run))
        expected.extend(plain.finish())
        expected.sort(key=lambda a: (a.timestamp, a.event_id, a.kind))

        report = detect_anomalies(iter(runs), baseline)
        assert report.anomalies == expected
        assert {a.kind for a in expected} >= {"duration", "cost", "failure_streak"}
        assert report.checked == 300
        assert report.unbaselined_groups == sorted(plain.unbaselined) == ["gemini"]
        assert report.too_small_groups == sorted(plain.too_small) == []


def test_the_scoreboard_read_once_equals_reading_runs_and_transitions_apart(
    tmp_path: Path,
) -> None:
    """One read of the logs gives the JSON document of the two filtered reads, row for row.

    Runs before, inside and after the window; transitions before the window
    (a work package completed earlier) and inside it (one completed with a
    rework cycle, one reopened after the end).
    """
    rng = random.Random(3)
    events = []
    for i in range(60):
        when = START + timedelta(hours=5 * i - 100)  # from 4 days before to 8 days after START
        payload = _payload(rng, ("claude", "codex")[i % 2])
        if i % 9 == 4:
            payload.update(success=False, error="boom: x")
        events.append(run_event(("001-alpha", "002-beta")[i % 2], when=when.isoformat(), **payload))
    lanes = [
        ("WP01", "planned", "doing", -50),
        ("WP01", "doing", "done", -40),  # done before the window
        ("WP02", "doing", "for_review", 10),
        ("WP02", "for_review", "doing", 12),  # rework
        ("WP02", "doing", "done", 20),
        ("WP03", "doing", "done", 30),
        ("WP03", "done", "doing", 500),  # reopened after the end
    ]
    for clock, (wp, before, after, hours) in enumerate(lanes, start=1000):
        events.append(
            make_event(
                event_type="PhaseTransition",
                aggregate_id="001-alpha",
                payload={"wp_id": wp, "from_phase": before, "to_phase": after},
                lamport_clock=clock,
                timestamp=START + timedelta(hours=hours),
            )
        )
    write_project(tmp_path, *events)
    pricing = pricing_for_tests()
    end = START + timedelta(days=4)
    for by in ((), ("agent",), ("agent", "wp")):
        once = project_scoreboard(tmp_path, "7d", end, by, pricing=pricing)
        runs = list(
            priced_runs(
                iter_project_records(
                    tmp_path,
                    EventFilter(
                        event_type="ExecutionEvent", since=end - timedelta(days=7), until=end
                    ),
                ),
                pricing,
            )
        )
        apart = project_scoreboard(tmp_path, "7d", end, by, pricing=pricing, runs=runs)
        assert once.to_dict() == apart.to_dict()
        assert 0 < once.total.runs < 60
        assert once.total.completed_work_packages >= 1


def test_budgets_read_once_equal_each_budget_summed_over_the_held_runs(tmp_path: Path) -> None:
    """Every budget's status from one pass equals ``budget_status`` over the runs held in a list.

    USD and token limits, project, agent and model scopes, periods of a day,
    a week in another time zone and a month, with unpriced runs among them.
    """
    rng = random.Random(5)
    records = _window_records(rng)
    write_project(
        tmp_path,
        *(run_event(r["aggregate_id"], when=r["timestamp"], **r["payload"]) for r in records[:150]),
    )
    budgets = budget_settings(
        [
            {"name": "month", "limit_usd": 50, "period": "month"},
            {
                "name": "claude",
                "scope": {"agent": "claude"},
                "limit_usd": 5,
                "period": "week",
                "timezone": "Europe/Paris",
            },
            {
                "name": "tokens",
                "scope": {"model": "test-model"},
                "limit_tokens": 90_000,
                "period": "day",
            },
        ]
    )
    pricing = pricing_for_tests()
    at = START + timedelta(hours=3)
    runs = list(
        priced_runs(
            iter_project_records(tmp_path, EventFilter(event_type="ExecutionEvent")), pricing
        )
    )
    expected = [budget_status(runs, budget, at) for budget in budgets]
    assert project_budgets(tmp_path, budgets, at, pricing=pricing) == expected
    assert [status.runs for status in expected] == [
        sum(1 for r in runs if r.timestamp <= at),
        sum(1 for r in runs if r.timestamp <= at and r.agent == "claude"),
        sum(1 for r in runs if START <= r.timestamp <= at and r.model == "test-model"),
    ]
    assert expected[0].unpriced_runs > 0

"""Baselines per group, freezing them per ISO week, and comparing two of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import pricing_for_tests, run_event, write_project
from spec_kitty_telemetry.analytics import (
    BaselineExistsError,
    compare_baselines,
    freeze_baseline,
    load_baseline,
    project_baseline,
)
from spec_kitty_telemetry.analytics._weeks import last_full_week, week_bounds
from spec_kitty_telemetry.analytics.runs import parse_group_by
from spec_kitty_telemetry.errors import ConfigError, QueryError

PRICING = pricing_for_tests()


def _week_45(root: Path, scale: float = 1.0) -> Path:
    """Four claude implementer runs in 2025-W45 (1-4 s, $1-$4, one failed); codex; one in W46."""
    events = [
        run_event(
            when=f"2025-11-0{3 + i}T10:00:00",
            agent="claude",
            role="implementer",
            model="test-model",
            duration_ms=int(1000 * (i + 1) * scale),
            cost_usd=float(i + 1),
            input_tokens=1000 * (i + 1),
            output_tokens=100,
            success=i != 1,
            error="tests failed: 3" if i == 1 else None,
        )
        for i in range(4)
    ]
    events.append(
        run_event(when="2025-11-05T10:00:00", agent="codex", role="reviewer", duration_ms=5)
    )
    events.append(
        run_event(when="2025-11-10T00:00:00", agent="claude", role="implementer", duration_ms=9)
    )
    return write_project(root, *events)


def test_baseline_figures_by_hand(tmp_path: Path) -> None:
    """claude/implementer in W45: n=4, 75% success, p50 2500, p95 3850, p99 3970 ms, mean $2.50."""
    baseline = project_baseline(_week_45(tmp_path), week="2025-W45", pricing=PRICING, min_sample=4)
    group = baseline.group(("claude", "implementer"))
    assert group is not None
    assert group.sample_size == 4
    assert group.figure("success_rate") == 0.75
    assert group.figure("duration_ms.p50") == 2500.0
    assert group.figure("duration_ms.p95") == 3850.0
    assert group.figure("duration_ms.p99") == 3970.0
    assert group.figure("duration_ms.mean") == 2500.0
    assert group.figure("duration_ms.std") == pytest.approx(1290.994, abs=1e-3)
    assert group.figure("cost_usd.mean") == 2.5
    assert group.figure("tokens.input_mean") == 2500.0
    assert group.figure("success_interval.low") == pytest.approx(
        0.300643, abs=2e-6
    )  # (0.75+z²/8 - ...)/(1+z²/4)
    assert group.figure("period.first") == "2025-11-03T10:00:00+00:00"
    assert group.figure("period.last") == "2025-11-06T10:00:00+00:00"
    assert not group.too_small
    assert [g.key for g in baseline.groups] == ["claude/implementer", "codex/reviewer"]


def test_small_groups_are_marked(tmp_path: Path) -> None:
    """Below the minimum sample (default 20) a group is reported, marked too small."""
    baseline = project_baseline(_week_45(tmp_path), week="2025-W45", pricing=PRICING)
    assert all(group.too_small for group in baseline.groups)
    assert len(baseline.groups) == 2


def test_unpriced_runs_are_excluded_from_cost_and_counted(tmp_path: Path) -> None:
    """A run of an unknown model adds no cost: mean is of the priced runs; it is counted."""
    root = write_project(
        tmp_path,
        run_event(
            when="2025-11-03T10:00:00", agent="a", role="r", model="test-model", cost_usd=2.0
        ),
        run_event(
            when="2025-11-03T11:00:00",
            agent="a",
            role="r",
            model="nobody-knows-7b",
            input_tokens=10,
            output_tokens=10,
        ),
    )
    group = project_baseline(root, week="2025-W45", pricing=PRICING).groups[0]
    assert group.figure("cost_usd.mean") == 2.0
    assert group.figure("cost_usd.priced") == 1
    assert group.figure("cost_usd.unpriced") == 1
    assert group.figure("cost_usd.unknown_models") == {"nobody-knows-7b": 1}


def test_freeze_is_byte_stable_and_never_overwrites_silently(tmp_path: Path) -> None:
    """Freezing the same week twice gives the same bytes; other figures are refused, then forced."""
    root = _week_45(tmp_path)
    baseline = project_baseline(root, week="2025-W45", pricing=PRICING)
    path, changed = freeze_baseline(root, baseline)
    assert changed
    assert path == root / ".kittify" / "baselines" / "2025-W45.json"
    first = path.read_bytes()
    again = project_baseline(root, week="2025-W45", pricing=PRICING)
    assert freeze_baseline(root, again) == (path, False)
    assert path.read_bytes() == first
    other = project_baseline(root, week="2025-W45", pricing=PRICING, min_sample=2)
    with pytest.raises(BaselineExistsError, match="already frozen"):
        freeze_baseline(root, other)
    assert path.read_bytes() == first
    assert freeze_baseline(root, other, force=True) == (path, True)
    assert load_baseline(root, "2025-W45").min_sample == 2


def test_loaded_baseline_compares_equal_to_recomputed(tmp_path: Path) -> None:
    """Stability: same data, same baseline; compared with its frozen copy, nothing moves."""
    root = _week_45(tmp_path)
    freeze_baseline(root, project_baseline(root, week="2025-W45", pricing=PRICING))
    frozen = load_baseline(root, "2025-W45")
    assert frozen.dumps() == project_baseline(root, week="2025-W45", pricing=PRICING).dumps()
    assert compare_baselines(frozen, frozen) == []


def test_compare_reports_moves_above_five_percent(tmp_path: Path) -> None:
    """Durations 10% longer move p50, p95 and mean; a 4% move and unchanged figures do not."""
    before = project_baseline(_week_45(tmp_path / "a"), week="2025-W45", pricing=PRICING)
    slower = project_baseline(_week_45(tmp_path / "b", 1.1), week="2025-W45", pricing=PRICING)
    slightly = project_baseline(_week_45(tmp_path / "c", 1.04), week="2025-W45", pricing=PRICING)
    moved = [
        (d.group, d.figure, round(d.change or 0, 3)) for d in compare_baselines(before, slower)
    ]
    assert moved == [
        ("claude/implementer", "duration_ms.p50", 0.1),
        ("claude/implementer", "duration_ms.p95", 0.1),
        ("claude/implementer", "duration_ms.mean", 0.1),
    ]
    assert compare_baselines(before, slightly) == []


def test_groups_that_come_or_go_are_reported(tmp_path: Path) -> None:
    """A group only in one baseline shows as sample_size from or to None."""
    root = _week_45(tmp_path)
    w45 = project_baseline(root, week="2025-W45", pricing=PRICING)
    w46 = project_baseline(root, week="2025-W46", pricing=PRICING)
    drifts = [d.to_dict() for d in compare_baselines(w45, w46) if d.figure == "sample_size"]
    assert drifts == [
        {
            "group": "codex/reviewer",
            "figure": "sample_size",
            "before": 1,
            "after": None,
            "change": None,
        }
    ]


def test_bad_week_and_bad_file_name_the_problem(tmp_path: Path) -> None:
    """A non-week is a QueryError naming the week; a missing or broken file, a ConfigError."""
    with pytest.raises(QueryError, match="not an ISO week: '2025-45'") as info:
        week_bounds("2025-45")
    assert info.value.parameter == "week"
    with pytest.raises(ConfigError, match=r"2025-W01\.json: no baseline frozen"):
        load_baseline(tmp_path, "2025-W01")
    path = tmp_path / ".kittify" / "baselines" / "2025-W02.json"
    path.parent.mkdir(parents=True)
    path.write_text("{\n  oops")
    with pytest.raises(ConfigError, match=r"2025-W02\.json: line 2: not JSON"):
        load_baseline(tmp_path, "2025-W02")


def test_weeks_and_group_by_parsing() -> None:
    """2026-W48 starts Monday 2026-11-23; the last full week on 2026-12-02 is 2026-W48."""
    from datetime import UTC, datetime

    start, end = week_bounds("2026-W48")
    assert start == datetime(2026, 11, 23, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, tzinfo=UTC)
    assert last_full_week(datetime(2026, 12, 2, 12, tzinfo=UTC)) == "2026-W48"
    assert parse_group_by("agent, model") == ("agent", "model")
    with pytest.raises(QueryError, match="unknown group 'colour'"):
        parse_group_by("agent,colour")

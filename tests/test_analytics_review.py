"""The weekly review (`review --week`): exact Markdown over a small hand-built project."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import _clock, at, run_event, write_project
from spec_kitty_telemetry._money import in_cents
from spec_kitty_telemetry.cli import telemetry_app
from spec_kitty_telemetry.events import Event
from spec_kitty_telemetry.testing import make_event

runner = CliRunner()


def _transition(feature: str, when: str, wp: str, source: str, target: str) -> Event:
    """A PhaseTransition of one work package at ``when``, after every event built before it."""
    _clock[0] += 1
    return make_event(
        lamport_clock=_clock[0],
        event_type="PhaseTransition",
        aggregate_id=feature,
        payload={"wp_id": wp, "from_phase": source, "to_phase": target},
        timestamp=at(when),
    )


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Event]:
    """2026-W47: 20 normal claude implementer runs ($21.90); 2026-W48: six runs, one unpriced.

    W47: 60-79 s, $1.00-$1.19 (001-alpha WP01), frozen as the baseline.
    W48: 001-alpha WP02 three claude runs of $1.00 (60-62 s, one failed);
    001-beta WP01 one 20-minute claude run of $1.05 and two codex runs of
    $0.3333; 001-beta WP02 one copilot reviewer run of a model nobody prices.
    WP02 of 001-alpha goes back from review once, then both WPs are done.
    A $10 weekly budget.
    """
    w47 = [
        run_event(
            when=f"2026-11-{16 + i % 5}T{10 + i // 5}:00:00",
            agent="claude",
            role="implementer",
            model="claude-sonnet-4-5",
            wp_id="WP01",
            duration_ms=60_000 + 1000 * i,
            cost_usd=1.0 + i / 100,
        )
        for i in range(20)
    ]
    alpha = [
        run_event(
            when=f"2026-11-23T1{i}:00:00",
            agent="claude",
            role="implementer",
            model="claude-sonnet-4-5",
            wp_id="WP02",
            duration_ms=60_000 + 1000 * i,
            cost_usd=1.0,
            success=i != 1,
            error=None if i != 1 else "tests failed: 3",
        )
        for i in range(3)
    ]
    beta = [
        run_event(
            "001-beta",
            when="2026-11-24T09:00:00",
            agent="claude",
            role="implementer",
            model="claude-sonnet-4-5",
            wp_id="WP01",
            duration_ms=1_200_000,
            cost_usd=1.05,
        ),
        *(
            run_event(
                "001-beta",
                when=f"2026-11-25T0{i}:00:00",
                agent="codex",
                role="implementer",
                model="gpt-5-codex",
                wp_id="WP01",
                duration_ms=30_000,
                cost_usd=0.3333,
            )
            for i in range(2)
        ),
    ]
    unpriced = run_event(
        "001-beta",
        when="2026-11-26T09:00:00",
        agent="copilot",
        role="reviewer",
        model="internal-llm-x",
        wp_id="WP02",
        duration_ms=10_000,
        input_tokens=1000,
        output_tokens=100,
    )
    transitions = [
        _transition("001-alpha", "2026-11-23T13:00:00", "WP02", "doing", "for_review"),
        _transition("001-alpha", "2026-11-23T14:00:00", "WP02", "for_review", "doing"),
        _transition("001-alpha", "2026-11-23T15:00:00", "WP02", "doing", "done"),
        _transition("001-beta", "2026-11-25T12:00:00", "WP01", "doing", "done"),
    ]
    root = write_project(tmp_path, *w47, *alpha, *beta, unpriced, *transitions)
    (root / ".kittify").mkdir()
    (root / ".kittify" / "telemetry.yaml").write_text(
        "budgets:\n  - name: team-week\n    limit_usd: 10\n    period: week\n"
        "alerts:\n  log: alerts.jsonl\n  sinks: []\n"
    )
    result = runner.invoke(
        telemetry_app, ["baseline", "--week", "2026-W47", "--freeze", "--repo", str(root)]
    )
    assert result.exit_code == 0, result.output
    return root, unpriced


def _expected(unpriced_id: str) -> str:
    x = "\N{MULTIPLICATION SIGN}"
    return f"""\
# Weekly review 2026-W48

2026-11-23 to 2026-11-29 (UTC). ~ estimated from token counts, * some runs could not be priced.

## Spend

$4.72* in 7 runs this week, $21.90 in 20 runs in 2026-W47 (-78%).

### By agent

| agent | runs | 2026-W48 | 2026-W47 | change |
| --- | ---: | ---: | ---: | ---: |
| claude | 4 | $4.05 | $21.90 | -82% |
| codex | 2 | $0.67 | - | new |
| copilot | 1 | unknown* | - | - |
| **total** | 7 | $4.72* | $21.90 | -78% |

### By model

| model | runs | 2026-W48 | 2026-W47 | change |
| --- | ---: | ---: | ---: | ---: |
| claude-sonnet-4-5 | 4 | $4.05 | $21.90 | -82% |
| gpt-5-codex | 2 | $0.67 | - | new |
| internal-llm-x | 1 | unknown* | - | - |
| **total** | 7 | $4.72* | $21.90 | -78% |

## Top cost drivers

| feature | runs | cost | share |
| --- | ---: | ---: | ---: |
| 001-alpha | 3 | $3.00 | 64% |
| 001-beta | 4 | $1.72* | 36% |

| work package | runs | cost | share |
| --- | ---: | ---: | ---: |
| 001-alpha WP02 | 3 | $3.00 | 64% |
| 001-beta WP01 | 3 | $1.72 | 36% |
| 001-beta WP02 | 1 | unknown* | - |

## Anomalies

1 in 7 runs, against the baseline of 2026-W47.

- **critical** duration: 001-beta WP01 implementer (claude, claude-sonnet-4-5): duration 20 min, \
15.4{x} the p95 of its baseline (2026-W47, n=20)

Not scored, not in the baseline: codex/implementer, copilot/reviewer.

## Budgets

At the end of the week.

| budget | period from | used | limit | used % | level |
| --- | --- | ---: | ---: | ---: | ---: |
| team-week | 2026-11-23 | $4.72* | $10.00 | 47.2% | GREEN |

## Scoreboard

- runs: 7, success rate 86%
- duration: mean 3 min, p95 14 min
- work packages completed: 2, first pass 50%, rework cycles 0.50 on average
- cost: $4.72*, per completed work package $2.36
- failures: tests failed: 1

## Baseline drift

Moved more than 5% since 2026-W47:

| group | figure | 2026-W47 | 2026-W48 | change |
| --- | --- | ---: | ---: | ---: |
| claude/implementer | success_rate | 1 | 0.75 | -25.0% |
| claude/implementer | duration_ms.p50 | 69,500 | 61,500 | -11.5% |
| claude/implementer | duration_ms.p95 | 78,050 | 1.0293e+06 | +1218.8% |
| claude/implementer | duration_ms.mean | 69,500 | 345,750 | +397.5% |
| claude/implementer | cost_usd.mean | 1.095 | 1.0125 | -7.5% |
| codex/implementer | sample_size | none | 2 | - |
| copilot/reviewer | sample_size | none | 1 | - |

## Runs that could not be priced

1 of 7 runs; they are left out of every cost above.

| event | feature | agent | model | why |
| --- | --- | --- | --- | --- |
| `{unpriced_id}` | 001-beta | copilot | internal-llm-x | used a model no price table lists |
"""


def test_review_markdown_exact(project: tuple[Path, Event]) -> None:
    """The whole page for 2026-W48, every figure computed by hand from the fixture."""
    root, unpriced = project
    result = runner.invoke(
        telemetry_app, ["review", "--week", "2026-W48", "--at", "2026-12-02", "--repo", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == _expected(unpriced.event_id)


def test_review_reads_nothing_into_the_alert_log(project: tuple[Path, Event]) -> None:
    """A review is a report: it raises no alert, even with an anomaly and a budget in it."""
    root, _ = project
    runner.invoke(
        telemetry_app, ["review", "--week", "2026-W48", "--at", "2026-12-02", "--repo", str(root)]
    )
    assert not (root / "alerts.jsonl").exists()


def test_review_of_a_week_in_progress_says_so(project: tuple[Path, Event]) -> None:
    """Reviewed on Wednesday 2026-11-25 12:00, W48 holds the 5 runs recorded by then."""
    root, _ = project
    result = runner.invoke(
        telemetry_app,
        ["review", "--week", "2026-W48", "--at", "2026-11-25T12:00:00", "--repo", str(root)],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2] == (
        "2026-11-23 to 2026-11-29 (UTC), in progress: as of 2026-11-25T12:00:00+00:00. "
        "~ estimated from token counts, * some runs could not be priced."
    )
    assert lines[6] == "$4.72 in 6 runs this week, $21.90 in 20 runs in 2026-W47 (-78%)."


def test_review_without_baseline_or_budget(tmp_path: Path) -> None:
    """With nothing frozen and no budgets, those sections say so instead of failing."""
    root = write_project(tmp_path, run_event(when="2026-11-24T10:00:00", cost_usd=2.0))
    result = runner.invoke(
        telemetry_app, ["review", "--week", "2026-W48", "--at", "2026-12-02", "--repo", str(root)]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert (
        "## Anomalies\n\nNo frozen baseline to score against (freeze one with "
        "`spec-kitty agent telemetry baseline --freeze --week WEEK`).\n" in text
    )
    assert "## Budgets\n\nNo budgets configured.\n" in text
    assert "## Baseline drift\n\nNo baseline was frozen before this week.\n" in text
    assert "## Runs that could not be priced\n\nNone: every run this week was priced.\n" in text


def test_review_bad_week_exits_2(tmp_path: Path) -> None:
    """A week that is not an ISO week is one error line naming --week; exit 2."""
    (tmp_path / "kitty-specs").mkdir()
    result = runner.invoke(telemetry_app, ["review", "--week", "2026-48", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: --week: not an ISO week: '2026-48' (expected e.g. 2026-W48)"
    )


def test_in_cents_add_up_to_the_rounded_total() -> None:
    """Three thirds of a dollar: 0.33 + 0.33 + 0.34 = $1.00, not 0.99 (largest remainder)."""
    third = Decimal(1) / 3
    cents, total = in_cents([third, third, third], Decimal(1))
    assert total == Decimal("1.00")
    assert sum(cents) == total
    assert sorted(cents) == [Decimal("0.33"), Decimal("0.33"), Decimal("0.34")]

"""RunMaker: a record's group key agrees with its run's, and skipping the price is safe."""

from __future__ import annotations

from itertools import combinations
from typing import Any

from helpers import pricing_for_tests, run_event
from spec_kitty_telemetry.analytics.anomalies import (
    AnomalyDetector,
    detect_anomalies,
    needs_price,
    runs_to_score,
)
from spec_kitty_telemetry.analytics.baseline import compute_baseline
from spec_kitty_telemetry.analytics.runs import GROUP_FIELDS, RunMaker, group_key, priced_runs


def _record(**payload: Any) -> dict[str, Any]:
    return run_event(**payload).to_dict()


def test_group_key_of_a_record_is_the_key_of_its_run() -> None:
    """For every field combination, padded, blank or missing values read as the run reads them."""
    maker = RunMaker(pricing_for_tests())
    records = [
        _record(agent="claude", role="implementer", wp_id="WP01", model="test-model"),
        _record(agent="codex", role="reviewer"),
        _record(agent="claude", role="reviewer", wp_id=None, model="other-model"),
    ]
    # What another tool may have written: padding, blanks, a missing field.
    records[1]["payload"].update(agent=" codex ", role="  ", model=" ", wp_id=3)
    del records[2]["payload"]["agent"]
    for size in range(1, len(GROUP_FIELDS) + 1):
        for fields in combinations(GROUP_FIELDS, size):
            for record in records:
                assert maker.group_key_of(record, fields) == group_key(maker.run(record), fields)


def test_a_run_left_unpriced_is_scored_as_the_priced_one_where_the_price_is_not_needed() -> None:
    """Groups without a cost baseline and with unpriced runs: needs_price is False, same anomalies.

    In the other groups needs_price is True; the slow, failing and unpriced
    runs checked here raise the same anomalies either way where it is False.
    """
    maker = RunMaker(pricing_for_tests())
    unpriced = [
        _record(agent="ghost", role="implementer", duration_ms=60_000 + 100 * i) for i in range(20)
    ]
    priced = [
        _record(
            agent="claude", role="implementer", duration_ms=60_000 + 100 * i, cost_usd=1 + i / 50
        )
        for i in range(20)
    ]
    baseline = compute_baseline([*unpriced, *priced], pricing=maker.pricing, week="2025-W45")
    ghost = baseline.group(("ghost", "implementer"))
    claude = baseline.group(("claude", "implementer"))
    assert ghost is not None
    assert claude is not None
    assert needs_price(ghost) is False
    assert needs_price(claude) is True
    checks = [
        _record(agent="ghost", role="implementer", duration_ms=1_200_000),
        _record(agent="ghost", role="implementer", duration_ms=61_000, cost_usd=50.0),
        _record(agent="ghost", role="implementer", success=False, error="boom: x"),
    ]
    skipped = AnomalyDetector(baseline)
    full = AnomalyDetector(baseline)
    for record in checks:
        lean = [(a.kind, a.message) for a in skipped.check(maker.run(record, priced=False))]
        assert lean == [(a.kind, a.message) for a in full.check(maker.run(record))]
    assert [a.kind for a in full.check(maker.run(checks[0]))] == ["duration"]


def test_runs_to_score_give_the_anomalies_of_priced_runs_and_skip_unneeded_prices() -> None:
    """Scored, unpriced-only, too-small and unknown groups: the same report as pricing every run.

    And the runs of groups nobody scores carry no price (they were not priced).
    """
    pricing = pricing_for_tests()
    history = [
        *(
            _record(
                agent="claude",
                role="implementer",
                duration_ms=60_000 + 100 * i,
                cost_usd=1 + i / 50,
            )
            for i in range(20)
        ),
        *(
            _record(agent="ghost", role="implementer", duration_ms=60_000 + 100 * i)
            for i in range(20)
        ),
        *(
            _record(agent="tiny", role="reviewer", duration_ms=60_000, cost_usd=1.0)
            for _ in range(3)
        ),
    ]
    baseline = compute_baseline(history, pricing=pricing, week="2025-W45")
    window = [
        _record(agent="claude", role="implementer", duration_ms=1_200_000, cost_usd=9.0),
        _record(agent="claude", role="implementer", duration_ms=61_000),
        _record(agent="ghost", role="implementer", duration_ms=1_200_000, cost_usd=9.0),
        _record(agent="tiny", role="reviewer", duration_ms=1_200_000, cost_usd=9.0),
        _record(agent="new", role="planner", duration_ms=1_200_000, cost_usd=9.0),
        *(
            _record(agent="claude", role="implementer", success=False, error="boom")
            for _ in range(3)
        ),
    ]
    lean = detect_anomalies(runs_to_score(window, baseline, pricing), baseline)
    full = detect_anomalies(priced_runs(window, pricing), baseline)
    assert lean.to_dict() == full.to_dict()
    assert {a.kind for a in full.anomalies} >= {"duration", "cost", "unpriced"}
    assert full.too_small_groups == ["tiny/reviewer"]
    assert full.unbaselined_groups == ["new/planner"]
    costs = {run.agent: run.cost_usd for run in runs_to_score(window[2:5], baseline, pricing)}
    assert costs == {"ghost": None, "tiny": None, "new": None}

"""What the cell fold keeps besides cost: runs, failures, durations, other event types.

These sums are folded into every cell and saved in each log's projection, for
the reports that read runs and durations from cells instead of from the log.
The tests fold real log files through ``fold_log`` (the projection's entry
point), read them back from the saved projection, and check ``CellFold.merge``
against folding the same events at once, so a wrong count shows whichever
reader comes to use it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from helpers import other, pricing_for_tests, run_event, write_foreign, write_project
from spec_kitty_telemetry import EVENTS_FILENAME, _cells as c
from spec_kitty_telemetry._timed import untimed_cells
from spec_kitty_telemetry.cost import cost_report, project_cost_report
from spec_kitty_telemetry.projection import fold_log, projection_path

PRICING = pricing_for_tests()
INT64_MAX = 2**63 - 1


def no_tiers(model: str) -> tuple[int, ...]:
    """Thresholds of a price table without long-context tiers."""
    return ()


def log_of(root: Path, feature: str = "001-a") -> Path:
    return root / "kitty-specs" / feature / EVENTS_FILENAME


def only_cell(fold: c.CellFold) -> c.Cell:
    """The fold's one cell (the tests fold events that agree on every key field)."""
    assert len(fold.cells) == 1, list(fold.cells)
    return next(iter(fold.cells.values()))


def plain(fold: c.CellFold) -> dict[str, Any]:
    """Everything a fold holds, as comparable data."""
    return {
        "cells": {
            key: (list(cell.sums), dict(cell.tiers), dict(cell.durations))
            for key, cell in fold.cells.items()
        },
        "aside": sorted(fold.aside, key=repr),
        "types": dict(fold.other_types),
        "thresholds": dict(fold.thresholds_used),
    }


def test_runs_count_every_execution_event_and_failures_only_success_false(tmp_path: Path):
    """Five runs of one agent: two failed, one succeeded, two say nothing of success.

    Runs are 5 (the multi-model one kept aside included), failures 2: a missing
    or null ``success`` is not a failure. The cells are split by ``success``,
    so the counts are summed over the agent's cells.
    """
    write_project(
        tmp_path,
        run_event("001-a", agent="claude", success=False),
        run_event("001-a", agent="claude", success=False, models={"m1": {}, "m2": {}}),
        run_event("001-a", agent="claude", success=True),
    )
    write_foreign(tmp_path, "001-a", {"agent": "claude"}, {"agent": "claude", "success": None})
    fold = fold_log(log_of(tmp_path), no_tiers).fold
    runs = sum(cell.sums[c.RUNS] for cell in fold.cells.values())
    failures = sum(cell.sums[c.FAILURES] for cell in fold.cells.values())
    assert (runs, failures) == (5, 2)
    assert len(fold.aside) == 1
    by_success = {key[5]: cell.sums[c.FAILURES] for key, cell in fold.cells.items()}
    assert by_success == {False: 2, True: 0, None: 0}


@pytest.mark.parametrize(
    ("durations", "counted"),
    [
        ([0, 1, 31, 32], [0, 1, 31, 32]),
        ([INT64_MAX], [INT64_MAX]),
        ([-1, 2**63, 1.5, True, "10", None], []),
    ],
    ids=["small", "largest", "not-durations"],
)
def test_durations_counted_are_whole_numbers_from_0_to_2_63_minus_1(
    tmp_path: Path, durations: list[Any], counted: list[int]
):
    """Valid durations (0..2**63-1 ms, ints, not bools) are summed, squared and bucketed.

    Each event is a run; only the valid durations reach the summary: their
    number, sum, sum of squares and one histogram entry per bucket.
    """
    write_foreign(tmp_path, "001-a", *({"duration_ms": ms} for ms in durations))
    cell = only_cell(fold_log(log_of(tmp_path), no_tiers, save=False).fold)
    assert cell.sums[c.RUNS] == len(durations)
    assert cell.sums[c.DURATIONS] == len(counted)
    assert cell.sums[c.DURATION_SUM] == sum(counted)
    assert cell.sums[c.DURATION_SQUARES] == sum(ms * ms for ms in counted)
    expected: dict[int, int] = {}
    for ms in counted:
        expected[c.duration_bucket(ms)] = expected.get(c.duration_bucket(ms), 0) + 1
    assert cell.durations == expected


#: The shape of the projection a ``cost -g agent`` report reads.
AGENT_CELLS = untimed_cells("agent", None, None)


def test_a_run_of_the_longest_duration_is_reported_and_its_projection_reads_back(tmp_path: Path):
    """A valid record of 2**63-1 ms (its square needs 126 bits) is saved and read back exactly.

    orjson writes no integer past 64 bits, so such a sum is saved as its
    decimal text: the projection is still written (the next report stays
    warm), and reads back the same square. It used to raise
    ``TypeError: Integer exceeds 64-bit range``.
    """
    write_project(tmp_path, run_event("001-a", agent="claude", cost_usd=0.5, duration_ms=INT64_MAX))
    for _ in range(2):  # the second report reads the saved projection
        report = project_cost_report(tmp_path, None, "agent", pricing=PRICING)
        assert report.total.event_count == 1
        assert report.total.reported_cost_usd == Decimal("0.5")
        assert projection_path(log_of(tmp_path), shape=AGENT_CELLS.shape).is_file()
    saved = projection_path(log_of(tmp_path), shape=AGENT_CELLS.shape).read_bytes()
    assert f'"{INT64_MAX * INT64_MAX}"'.encode() in saved
    read_back = fold_log(log_of(tmp_path), no_tiers, days=AGENT_CELLS)
    cell = only_cell(read_back.fold)
    assert cell.sums[c.DURATION_SQUARES] == INT64_MAX * INT64_MAX
    assert cell.sums[c.DURATION_SUM] == INT64_MAX


def test_the_saved_projection_holds_what_a_fresh_fold_holds(tmp_path: Path):
    """Runs, failures, durations and other event types read back from the projection unchanged."""
    write_project(
        tmp_path,
        run_event("001-a", agent="claude", success=False, duration_ms=1_500, cost_usd=0.25),
        run_event("001-a", agent="claude", success=True, duration_ms=90_000, input_tokens=10),
        run_event("001-a", agent="codex", models={"m1": {"input_tokens": 1}}, duration_ms=7),
        other("001-a"),
        other("001-a", event_type="ReviewRequested"),
        other("001-a"),
    )
    fresh = fold_log(log_of(tmp_path), no_tiers)
    assert projection_path(log_of(tmp_path)).is_file()
    again = fold_log(log_of(tmp_path), no_tiers)
    assert again.offset == fresh.offset
    assert plain(again.fold) == plain(fresh.fold)
    assert again.fold.other_types == {
        ("001-a", "PhaseTransition"): 2,
        ("001-a", "ReviewRequested"): 1,
    }
    durations = sorted(
        (cell.sums[c.DURATIONS], cell.sums[c.DURATION_SUM]) for cell in again.fold.cells.values()
    )
    assert durations == [(1, 7), (1, 1_500), (1, 90_000)]


def _events(feature: str, agents: list[str]) -> list[Any]:
    return [
        run_event(
            feature,
            agent=agent,
            success=n % 3 != 0,
            duration_ms=37 * n * n,
            input_tokens=10 * n,
            output_tokens=n,
            cost_usd=None if n % 2 else 0.001 * n,
            model="claude-sonnet-4-5",
            num_turns=1 + n % 2,
            **({"models": {"a": {}, "b": {}}} if n % 5 == 4 else {}),
        )
        for n, agent in enumerate(agents)
    ]


def test_merging_two_folds_equals_folding_their_events_at_once(tmp_path: Path):
    """``CellFold.merge`` of the folds of two logs is the fold of both logs' events together.

    The logs share some cells (same agent) and not others, hold events kept
    aside and other event types, so every sum, tier, bucket, aside record and
    type count is compared.
    """
    first = _events("001-a", ["claude", "codex", "claude", "gemini", "claude", "claude"])
    second = _events("001-a", ["claude", "opencode", "codex", "claude", "claude"])
    write_project(tmp_path / "one", *first, other("001-a"))
    write_project(tmp_path / "two", *second, other("001-a"), other("001-a", event_type="Other"))
    write_project(tmp_path / "both", *first, other("001-a"), *second, other("001-a"))
    write_project(tmp_path / "both", other("001-a", event_type="Other"))

    def tiers(model: str) -> tuple[int, ...]:
        return (25,)

    merged = fold_log(log_of(tmp_path / "one"), tiers, save=False).fold
    merged.merge(fold_log(log_of(tmp_path / "two"), tiers, save=False).fold)
    whole = fold_log(log_of(tmp_path / "both"), tiers, save=False).fold
    assert plain(merged) == plain(whole)
    assert any(cell.tiers for cell in whole.cells.values())
    assert whole.aside
    assert whole.other_types


def test_a_cell_merged_into_another_adds_every_sum_and_ors_the_known_counts():
    """Merging cells adds slot by slot, except which counts were known (bits are OR-ed)."""
    fold = c.CellFold(no_tiers)
    fold.add(_record(input_tokens=5, output_tokens=1, duration_ms=40))
    fold.add(_record(agent="b", cache_read_tokens=2, input_tokens=3, output_tokens=1))
    cells = list(fold.cells.values())
    target = c.Cell()
    for cell in cells:
        target.merge(cell)
    assert target.sums[c.KNOWN] == 0b0111
    assert target.sums[c.INPUT] == 8
    assert target.sums[c.RUNS] == 2
    assert target.sums[c.DURATIONS] == 1
    assert target.tiers == {0: [8, 2, 2, 0, 0]}  # the last: 1-hour cache writes
    assert target.durations == {c.duration_bucket(40): 1}


def _record(agent: str = "a", **payload: Any) -> dict[str, Any]:
    return {
        "event_type": "ExecutionEvent",
        "aggregate_id": "001-a",
        "timestamp": "2025-11-03T10:00:00+00:00",
        "payload": {"agent": agent, "model": "m", **payload},
    }


def test_an_aside_record_keeps_what_reports_read_and_drops_the_rest():
    """A multi-model event is kept aside with the fields filters, groups and prices read.

    Prompts, summaries and other payload fields are dropped (the projection
    holds every aside record); agent, role, wp_id, model, models, success,
    num_turns, duration_ms, cost, token counts, tags and the error category
    are kept as written.
    """
    payload = {
        "agent": "claude",
        "role": "reviewer",
        "wp_id": "WP01",
        "model": "m1",
        "models": {"m1": {"input_tokens": 1}, "m2": {"input_tokens": 2}},
        "success": False,
        "num_turns": 3,
        "duration_ms": 1234,
        "cost_usd": 0.5,
        "input_tokens": 3,
        "output_tokens": 4,
        "cache_read_tokens": 1,
        "cache_write_tokens": 1,
        "reasoning_tokens": 2,
        "tags": {"k": "v"},
        "error_category": "timeout",
    }
    fold = c.CellFold(no_tiers)
    fold.add(
        {
            "event_type": "ExecutionEvent",
            "aggregate_id": "001-a",
            "timestamp": "2025-11-03T10:00:00+00:00",
            "payload": {**payload, "prompt": "a long prompt", "summary": "done"},
        }
    )
    assert fold.aside == [
        {
            "aggregate_id": "001-a",
            "event_type": "ExecutionEvent",
            "timestamp": "2025-11-03T10:00:00+00:00",
            "payload": payload,
        }
    ]


@pytest.mark.parametrize("models", [{}, [], ["m1"], "m1", 0])
def test_a_breakdown_that_is_not_a_non_empty_object_leaves_the_event_in_its_cell(models: Any):
    """``models`` that is empty or not an object holds no shares: the event is a one-model one.

    It is folded in its cell (priced by the cell's model), not kept aside.
    """
    fold = c.CellFold(no_tiers)
    fold.add(_record(models=models, input_tokens=10, output_tokens=1))
    assert fold.aside == []
    assert only_cell(fold).sums[c.EVENTS] == 1


@pytest.mark.parametrize("agent", [["x"], {"name": "x"}])
def test_an_event_whose_key_field_is_a_list_or_object_is_kept_aside_not_a_run_of_a_cell(
    agent: Any,
):
    """No cell key can hold a list or an object: the event goes aside, and no cell is made."""
    fold = c.CellFold(no_tiers)
    fold.add(_record(agent=agent, input_tokens=1, output_tokens=1))
    assert fold.cells == {}
    assert [kept["payload"]["agent"] for kept in fold.aside] == [agent]


def test_reported_costs_at_and_above_100_000_usd_are_taken_exactly():
    """A cost of $100,000 or more is converted through its decimal text, never a float product.

    $100,000.53847879574 times 1e10 in floats is off by one unit; its decimal
    text gives 1,000,005,384,787,957 units (shown as $100,000.538479).
    """
    cost = 100_000.53847879574
    assert c.reported_units(cost) == 1_000_005_384_787_957
    assert c.reported_units(100_000.0) == 1_000_000_000_000_000
    assert c.reported_units(100_000) == 1_000_000_000_000_000
    report = cost_report([_record(cost_usd=cost)], "agent", pricing=PRICING)
    assert report.total.reported_cost_usd == Decimal("100000.538479")


def _span(bucket: int) -> tuple[int, int]:
    """The first and last durations whose bucket is ``bucket`` (found by search)."""
    low, high = 0, INT64_MAX
    while low < high:  # first duration with a bucket >= bucket
        middle = (low + high) // 2
        if c.duration_bucket(middle) < bucket:
            low = middle + 1
        else:
            high = middle
    first = low
    low, high = first, INT64_MAX
    while low < high:  # last duration with a bucket <= bucket
        middle = (low + high + 1) // 2
        if c.duration_bucket(middle) > bucket:
            high = middle - 1
        else:
            low = middle
    return first, low


def test_each_duration_bucket_spans_a_run_of_durations_and_stands_for_its_middle():
    """Buckets 0..31 are single durations; each later one is a range whose middle is its value.

    Sixteen buckets per doubling: bucket 32 holds 32..33, 48 holds 64..67, and
    the bucket of 2**63-1 is the last (2**63 - 2**58 to 2**63-1).
    """
    for bucket in range(32):
        assert _span(bucket) == (bucket, bucket)
        assert c.duration_value(bucket) == bucket
    assert _span(32) == (32, 33)
    assert _span(48) == (64, 67)
    last = c.duration_bucket(INT64_MAX)
    assert last == (58 << 4) + 31
    for bucket in [*range(32, 200), 900, last]:
        first, final = _span(bucket)
        assert c.duration_bucket(first) == bucket == c.duration_bucket(final)
        assert c.duration_value(bucket) == (first + final) / 2
        assert (final - first + 1) & (final - first) == 0  # a power of two of durations

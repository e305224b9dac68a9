"""The completed-work-package rule folded in any order (``completion.Completions``).

The rule is stated as a replay in causal order: a reopen (review or done back
to work) un-completes a work package, a move to done completes it. The
projection keeps the order-free fold instead of every transition, so these
tests hold the fold, over any order and any split into parts, to that replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given, settings, strategies as st

from spec_kitty_telemetry._lines import utc_timestamp
from spec_kitty_telemetry.completion import (
    DONE_PHASES,
    PHASE_TRANSITION,
    REVIEW_PHASES,
    WORK_PHASES,
    Completions,
    completed_lanes,
    lanes_of,
)

PHASES = [*sorted(DONE_PHASES | REVIEW_PHASES | WORK_PHASES), "blocked", None]


def replay(records: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """The rule as written in the module's docstring: replay in causal order."""
    ordered = sorted(
        (r for r in records if r["event_type"] == PHASE_TRANSITION),
        key=lambda r: (r["lamport_clock"], r["node_id"], r["event_id"]),
    )
    lanes: dict[tuple[str, str], list[Any]] = {}
    for record in ordered:
        wp = record["payload"].get("wp_id")
        if not isinstance(wp, str) or not wp.strip():
            continue
        lane = lanes.setdefault((record["aggregate_id"], wp.strip()), [0, None])
        source, target = record["payload"].get("from_phase"), record["payload"].get("to_phase")
        if (source in REVIEW_PHASES or source in DONE_PHASES) and target in WORK_PHASES:
            lane[0] += 1
            lane[1] = None
        if target in DONE_PHASES:
            lane[1] = utc_timestamp(record["timestamp"])
    return {key: (rework, completed) for key, (rework, completed) in lanes.items()}


@st.composite
def transition_logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Transitions of a few work packages with distinct ids, clocks that may tie."""
    count = draw(st.integers(0, 25))
    records = []
    for number in range(count):
        payload: dict[str, Any] = {
            "wp_id": draw(st.sampled_from(["WP01", "WP02", " WP01 ", "", None])),
            "from_phase": draw(st.sampled_from(PHASES)),
            "to_phase": draw(st.sampled_from(PHASES)),
        }
        records.append(
            {
                "event_type": draw(st.sampled_from([PHASE_TRANSITION] * 4 + ["ExecutionEvent"])),
                "aggregate_id": draw(st.sampled_from(["001-a", "002-b"])),
                "lamport_clock": draw(st.integers(1, 6)),
                "node_id": draw(st.sampled_from(["ana", "bo"])),
                "event_id": f"01J{number:023d}",
                "timestamp": f"2025-11-{1 + number:02d}T10:00:00+00:00",
                "payload": payload,
            }
        )
    return records


def lanes(fold: Completions) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    return {key: (lane.rework, lane.completed) for key, lane in fold.lanes().items()}


@settings(max_examples=300)
@given(transition_logs(), st.randoms(use_true_random=False), st.integers(0, 25))
def test_folding_in_any_order_and_any_split_gives_the_causal_replay(
    records: list[dict[str, Any]], rng: Any, cut: int
) -> None:
    """Any file order, and two parts folded apart then merged either way, equal the replay."""
    expected = replay(records)
    shuffled = list(records)
    rng.shuffle(shuffled)
    whole = Completions()
    for record in shuffled:
        whole.add(record)
    assert lanes(whole) == expected
    for first, second in ((shuffled[:cut], shuffled[cut:]), (shuffled[cut:], shuffled[:cut])):
        left, right = Completions(), Completions()
        for record in first:
            left.add(record)
        for record in second:
            right.add(record)
        left.merge(right)
        assert lanes(left) == expected
    assert whole.completed() == {key for key, (_, done) in expected.items() if done is not None}
    assert {key: (lane.rework, lane.completed) for key, lane in lanes_of(records).items()} == (
        expected
    )


@given(transition_logs())
def test_the_fold_survives_its_json_form(records: list[dict[str, Any]]) -> None:
    """A projection saves the fold as JSON rows; read back, it is the same fold."""
    import orjson

    fold = Completions()
    for record in records:
        fold.add(record)
    again = Completions.from_json(orjson.loads(orjson.dumps(fold.to_json())))
    assert lanes(again) == lanes(fold)
    assert again.marks == fold.marks


def test_a_reopen_that_sorts_after_the_done_wins_whatever_the_file_order() -> None:
    """A union merge may put the reopen first in the file: causal order still decides."""
    done = {
        "event_type": PHASE_TRANSITION,
        "aggregate_id": "001",
        "timestamp": "2025-11-03T10:00:00+00:00",
        "lamport_clock": 1,
        "node_id": "a",
        "event_id": "01B",
        "payload": {"wp_id": "WP01", "from_phase": "for_review", "to_phase": "done"},
    }
    reopened = {
        **done,
        "lamport_clock": 2,
        "event_id": "01A",
        "payload": {"wp_id": "WP01", "from_phase": "done", "to_phase": "doing"},
    }
    fold = Completions()
    fold.add(reopened)
    fold.add(done)
    assert fold.completed() == set()
    assert fold.lanes()[("001", "WP01")].rework == 1
    later_done = {**done, "lamport_clock": 3, "event_id": "01C"}
    fold.add(later_done)
    assert fold.completed() == {("001", "WP01")}
    assert set(completed_lanes([reopened, done, later_done])) == {("001", "WP01")}


def test_rows_of_another_shape_are_refused() -> None:
    """A damaged projection part raises (and the projection is rebuilt), never mis-folds."""
    import pytest

    for rows in (
        [["001", "WP01", "1", None, None]],
        [["001", "WP01", 0, [1, "a"], None]],
        [["001", "WP01", 0, ["1", "a", "b"], None]],  # would not compare with a record's order
        [["001", "WP01", 0, None, 5]],
        [[1, "WP01", 0, None, None]],
        [[1]],
    ):
        with pytest.raises((ValueError, TypeError)):
            Completions.from_json(rows)  # type: ignore[arg-type]

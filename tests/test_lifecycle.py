"""PhaseTransition events, the phase timeline, and the transition/timeline commands."""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import log_records, new_project, spec_kitty
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.errors import InvalidEventError
from spec_kitty_telemetry.lifecycle import (
    PHASE_TRANSITION,
    emit_transition,
    feature_timeline,
    phase_timeline,
    transition_payload,
)

FEATURE = "004-lifecycle"


@pytest.fixture
def feature_dir(project: Path) -> Path:
    return project / "kitty-specs" / FEATURE


def run_(feature_dir: Path, role: str, wp: str | None, tokens: tuple[int, int], cost: float | None,
         *, success: bool = True, model: str = "claude-sonnet-4-5") -> None:  # fmt: skip
    record = emit_execution_record(
        feature_dir, FEATURE, wp, "claude", role, model=model, input_tokens=tokens[0],
        output_tokens=tokens[1], cost_usd=cost, success=success,
    )  # fmt: skip
    assert record is not None


def at(record: dict) -> datetime:
    return datetime.fromisoformat(record["timestamp"])


def test_transition_payload_validates_each_field() -> None:
    """to_phase is required; from_phase, wp_id and actor are optional non-blank strings."""
    assert transition_payload(None, "specify") == {
        "from_phase": None,
        "to_phase": "specify",
        "wp_id": None,
        "actor": None,
    }
    with pytest.raises(InvalidEventError, match=r"to_phase: must be a non-empty string"):
        transition_payload("plan", "  ")
    with pytest.raises(InvalidEventError, match=r"wp_id: .*; actor: "):
        transition_payload("plan", "implement", wp_id="", actor=3)  # type: ignore[arg-type]


def test_emit_transition_appends_one_phase_transition(feature_dir: Path) -> None:
    """The event is a PhaseTransition of the feature with exactly the given fields."""
    record = emit_transition(feature_dir, FEATURE, "doing", "for_review", wp_id="WP01", actor="bob")
    assert record is not None
    assert log_records(feature_dir) == [record]
    assert record["event_type"] == PHASE_TRANSITION
    assert record["aggregate_id"] == FEATURE
    assert record["payload"] == {
        "from_phase": "doing",
        "to_phase": "for_review",
        "wp_id": "WP01",
        "actor": "bob",
    }


def test_emit_transition_is_fire_and_forget(
    feature_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad input or an unwritable log: a warning and None, never an exception."""
    with caplog.at_level(logging.WARNING):
        assert emit_transition(feature_dir, FEATURE, None, "") is None
    assert "to_phase: must be a non-empty string" in caplog.text
    blocked = feature_dir.parent / "blocked"
    blocked.write_text("a file")
    assert emit_transition(blocked, FEATURE, None, "plan") is None
    assert log_records(feature_dir) == []


def test_timeline_phases_with_invocations_tokens_and_cost(feature_dir: Path) -> None:
    """Each phase spans transition to transition; invocations count in feature and WP phases."""
    t1 = emit_transition(feature_dir, FEATURE, None, "specify", actor="alice")
    run_(feature_dir, "specifier", None, (1000, 100), 0.01)
    t2 = emit_transition(feature_dir, FEATURE, "specify", "implement")
    w1 = emit_transition(feature_dir, FEATURE, None, "doing", wp_id="WP01")
    run_(feature_dir, "implementer", "WP01", (20000, 1000), 0.30)
    run_(feature_dir, "implementer", "WP01", (5000, 500), 0.05, success=False)
    w2 = emit_transition(feature_dir, FEATURE, "doing", "for_review", wp_id="WP01")
    run_(feature_dir, "reviewer", "WP01", (3000, 300), 0.02)
    assert t1 is not None
    assert t2 is not None
    assert w1 is not None
    assert w2 is not None

    spans = feature_timeline(feature_dir)
    assert [(s.phase, s.wp_id) for s in spans] == [
        ("specify", None),
        ("implement", None),
        ("doing", "WP01"),
        ("for_review", "WP01"),
    ]
    specify, implement, doing, review = spans
    assert (specify.started_at, specify.ended_at) == (at(t1), at(t2))
    assert specify.actor == "alice"
    assert specify.duration_seconds == (at(t2) - at(t1)).total_seconds()
    assert (specify.invocations, specify.input_tokens, specify.output_tokens) == (1, 1000, 100)
    assert specify.cost_usd == Decimal("0.01")
    assert (implement.started_at, implement.ended_at) == (at(t2), None)
    assert implement.duration_seconds is None
    assert (implement.invocations, implement.failed_invocations) == (3, 1)
    assert (implement.input_tokens, implement.output_tokens) == (28000, 1800)
    assert implement.cost_usd == Decimal("0.37")
    assert (doing.started_at, doing.ended_at) == (at(w1), at(w2))
    assert (doing.invocations, doing.failed_invocations, doing.input_tokens) == (2, 1, 25000)
    assert doing.cost_usd == Decimal("0.35")
    assert (review.invocations, review.output_tokens, review.ended_at) == (1, 300, None)
    assert review.to_dict() == {
        "phase": "for_review",
        "wp_id": "WP01",
        "actor": None,
        "started_at": at(w2).isoformat(),
        "ended_at": None,
        "duration_seconds": None,
        "clock_skew": False,
        "invocations": 1,
        "failed_invocations": 0,
        "input_tokens": 3000,
        "output_tokens": 300,
        "cost_usd": 0.02,
        "unpriced_invocations": 0,
        "estimated_invocations": 0,
    }


def test_timeline_uses_causal_order_not_file_order(feature_dir: Path) -> None:
    """Records handed over shuffled (as a git merge may leave them) replay the same."""
    emit_transition(feature_dir, FEATURE, None, "plan")
    run_(feature_dir, "planner", None, (10, 1), 0.5)
    emit_transition(feature_dir, FEATURE, "plan", "implement")
    run_(feature_dir, "implementer", None, (20, 2), 0.25)
    records = log_records(feature_dir)
    expected = [s.to_dict() for s in phase_timeline(records)]
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert [s.to_dict() for s in phase_timeline(shuffled)] == expected
    assert [(p["phase"], p["cost_usd"]) for p in expected] == [("plan", 0.5), ("implement", 0.25)]


def test_invocations_before_any_transition_form_an_unphased_span(feature_dir: Path) -> None:
    """Work recorded before the first transition is shown, under phase None, not dropped."""
    run_(feature_dir, "specifier", None, (7, 3), None, model="some-private-model")
    emit_transition(feature_dir, FEATURE, None, "plan")
    first, second = feature_timeline(feature_dir)
    assert (first.phase, first.invocations, first.input_tokens) == (None, 1, 7)
    assert first.unpriced_invocations == 1  # no cost reported, no price for the model
    assert first.cost_usd is None  # unknown, never $0
    assert first.to_dict()["cost_usd"] is None
    assert first.ended_at == second.started_at


def test_malformed_transitions_are_skipped(feature_dir: Path) -> None:
    """A PhaseTransition without a usable to_phase (another tool's) does not break the replay."""
    good = emit_transition(feature_dir, FEATURE, None, "plan")
    assert good is not None
    bad = {**good, "event_id": "01" + "Z" * 24, "lamport_clock": 99, "payload": {"to": 1}}
    assert [s.phase for s in phase_timeline([good, bad])] == ["plan"]


def test_cost_report_ignores_phase_transitions(project: Path, feature_dir: Path) -> None:
    """The cost report counts ExecutionEvents only; transitions add no events and no cost."""
    emit_transition(feature_dir, FEATURE, None, "plan")
    run_(feature_dir, "planner", None, (100, 10), 0.2)
    emit_transition(feature_dir, FEATURE, "plan", "implement")
    report = project_cost_report(project)
    assert report.total.event_count == 1
    assert report.total.total_cost_usd == Decimal("0.2")


def test_transition_and_timeline_commands(project: Path, feature_dir: Path) -> None:
    """``transition`` records events; ``timeline --json`` replays them with the invocations."""
    done = spec_kitty(
        "agent", "telemetry", "transition", "--feature", FEATURE, "--to", "implement",
        "--actor", "orchestrator", "--json", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["result"] == "ok"
    assert reply["event"] == log_records(feature_dir)[0]
    run_(feature_dir, "implementer", "WP02", (400, 40), 0.04)
    done = spec_kitty(
        "agent", "telemetry", "transition", "--feature", FEATURE, "--from", "implement",
        "--to", "review", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    transition_id = log_records(feature_dir)[-1]["event_id"]
    assert (
        done.stdout.decode() == f"Recorded PhaseTransition {transition_id} (implement -> review)\n"
    )

    done = spec_kitty("agent", "telemetry", "timeline", "--feature", FEATURE, "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    timeline = json.loads(done.stdout)
    assert timeline["feature"] == FEATURE
    assert [
        (p["phase"], p["actor"], p["invocations"], p["input_tokens"], p["cost_usd"])
        for p in timeline["phases"]
    ] == [("implement", "orchestrator", 1, 400, 0.04), ("review", None, 0, 0, 0.0)]

    table = spec_kitty("agent", "telemetry", "timeline", "--feature", FEATURE, cwd=project)
    assert table.returncode == 0
    lines = table.stdout.decode().splitlines()
    assert any(line.split()[:1] == ["implement"] and " $0.04" in line for line in lines)
    assert any(line.split()[:1] == ["review"] and "open" in line for line in lines)


def test_transition_command_rejects_bad_input_and_writes_nothing(
    project: Path, feature_dir: Path
) -> None:
    """A blank phase: one Error line, exit 2, no event."""
    done = spec_kitty(
        "agent", "telemetry", "transition", "--feature", FEATURE, "--to", " ", cwd=project
    )
    assert done.returncode == 2
    assert done.stderr.decode() == "Error: to_phase: must be a non-empty string, got ' '\n"
    assert log_records(feature_dir) == []


def test_timeline_of_an_unknown_feature_is_an_error(project: Path) -> None:
    """Asking for a feature that has no folder: exit 2 and a message naming the path."""
    done = spec_kitty("agent", "telemetry", "timeline", "--feature", "999-nope", cwd=project)
    assert done.returncode == 2
    assert done.stderr.decode().startswith("Error: no feature '999-nope': ")


def skew_second_transition(feature_dir: Path, seconds_earlier: int) -> None:
    """Rewrite the log so the second transition's clock reads earlier than the first's."""
    from datetime import timedelta

    path = feature_dir / "execution.events.jsonl"
    records = log_records(feature_dir)
    first = at(records[0])
    records[1]["timestamp"] = (first - timedelta(seconds=seconds_earlier)).isoformat()
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def test_a_phase_ending_before_it_starts_has_no_duration_and_a_skew_flag(
    project: Path, feature_dir: Path
) -> None:
    """Clock skew between writers: duration null and ``clock_skew`` true, never negative."""
    assert emit_transition(feature_dir, FEATURE, None, "plan") is not None
    assert emit_transition(feature_dir, FEATURE, "plan", "implement") is not None
    skew_second_transition(feature_dir, 90)
    plan, implement = feature_timeline(feature_dir)
    assert plan.phase == "plan"
    assert (plan.duration_seconds, plan.clock_skew) == (None, True)
    assert (plan.to_dict()["duration_seconds"], plan.to_dict()["clock_skew"]) == (None, True)
    assert (implement.duration_seconds, implement.clock_skew) == (None, False)
    done = spec_kitty("agent", "telemetry", "timeline", "--feature", FEATURE, cwd=project)
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert any(
        line.split()[:1] == ["plan"] and "skew" in line.split() for line in text.splitlines()
    )
    assert "-1m" not in text
    assert "the writers' clocks" in text  # the caption (wrapped to the table's width)


def transition_cmd(project: Path, *args: str, feature: str = FEATURE):
    return spec_kitty("agent", "telemetry", "transition", "--feature", feature, *args, cwd=project)


def test_transition_from_a_phase_that_is_not_open_warns_and_records(
    project: Path, feature_dir: Path
) -> None:
    """``--from review`` while ``implement`` is open: one Warning line, still recorded, exit 0."""
    assert transition_cmd(project, "--to", "implement").returncode == 0
    assert transition_cmd(project, "--wp", "WP01", "--to", "doing").returncode == 0
    done = transition_cmd(project, "--from", "review", "--to", "done")
    assert done.returncode == 0
    assert done.stderr.decode() == (
        f"Warning: --from 'review', but the open phase of feature {FEATURE} is 'implement' "
        "(recorded as given)\n"
    )
    done = transition_cmd(project, "--wp", "WP01", "--from", "doing", "--to", "for_review")
    assert done.stderr == b""  # the work package's own lane: doing is open there
    done = transition_cmd(project, "--wp", "WP01", "--from", "doing", "--to", "done")
    assert "open phase of work package WP01 is 'for_review'" in done.stderr.decode()
    assert len(log_records(feature_dir)) == 5


def test_transition_with_empty_optional_values_and_spaced_feature(
    project: Path, feature_dir: Path
) -> None:
    """Empty --from/--wp/--actor from templates are null; " 004-x " is stored as the folder."""
    feature_dir.mkdir()
    done = transition_cmd(
        project, "--from", "", "--wp", "", "--actor", "", "--to", "plan", feature=f" {FEATURE} "
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    [record] = log_records(feature_dir)
    assert record["aggregate_id"] == FEATURE
    assert record["payload"] == {
        "from_phase": None,
        "to_phase": "plan",
        "wp_id": None,
        "actor": None,
    }


def test_transition_into_a_new_feature_folder_warns(project: Path) -> None:
    """A feature folder that does not exist yet: created, recorded, one Warning line."""
    done = transition_cmd(project, "--to", "plan", feature="005-new")
    assert done.returncode == 0
    assert done.stderr.decode() == "Warning: created new feature folder kitty-specs/005-new\n"
    assert len(log_records(project / "kitty-specs" / "005-new")) == 1


def test_failed_transition_json_gives_the_reason(project: Path, feature_dir: Path) -> None:
    """The log cannot be written: exit 0, a Warning line, and --json says why."""
    feature_dir.write_text("a file where the folder should be")
    done = transition_cmd(project, "--to", "plan", "--json")
    assert done.returncode == 0
    reply = json.loads(done.stdout)
    assert reply["result"] == "error"
    assert reply["error"].startswith(
        f"telemetry: PhaseTransition event for '{FEATURE}' not recorded"
    )
    assert done.stderr.decode() == f"Warning: {reply['error']}\n"


def _timeline_peak(root: Path, events: int) -> int:
    """Peak bytes traced while replaying a feature of ``events`` invocations (a few phases)."""
    import tracemalloc

    from spec_kitty_telemetry.pricing import load_pricing

    feature_dir = root / "kitty-specs" / FEATURE
    emit_transition(feature_dir, FEATURE, None, "plan")
    run_(feature_dir, "planner", "WP01", (10, 1), 0.5)
    emit_transition(feature_dir, FEATURE, "plan", "implement")
    log = feature_dir / "execution.events.jsonl"
    lines = log.read_text().splitlines()
    invocation = json.loads(lines[1])
    with log.open("a") as handle:
        for n in range(events):
            record = invocation | {"lamport_clock": 10 + n, "event_id": f"01M{n:023d}"}
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    pricing = load_pricing(root)
    tracemalloc.start()
    try:
        plan, implement = feature_timeline(feature_dir, pricing=pricing)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (plan.invocations, implement.invocations) == (1, events)
    assert implement.cost_usd == Decimal("0.5") * events
    return peak


def test_timeline_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    """Twice the invocations, about the same peak: the replay streams instead of sorting all."""
    small = _timeline_peak(new_project(tmp_path / "small"), 10_000)
    large = _timeline_peak(new_project(tmp_path / "large"), 20_000)
    assert large < small * 1.3, (small, large)

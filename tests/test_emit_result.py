"""What an emit did, as a value: the stored record, why nothing was stored, the warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from spec_kitty_telemetry import (
    EmitResult,
    InMemoryEventStore,
    emit_execution_record,
    emit_with_result,
    record_invocation,
    track_invocation,
)
from spec_kitty_telemetry.lifecycle import emit_transition
from spec_kitty_telemetry.testing import capture_events


def test_a_stored_event_comes_back_as_the_record_with_no_problem(tmp_path: Path) -> None:
    """emit_with_result returns the record as written and no problem or warnings."""
    result = emit_with_result(
        emit_execution_record, tmp_path, "001-a", "WP01", "claude", "implementer", input_tokens=5
    )
    assert isinstance(result, EmitResult)
    assert result.recorded
    assert result.record is not None
    assert result.record["payload"]["input_tokens"] == 5
    assert result.problem is None
    assert result.warnings == ()


def test_a_lost_event_says_why_as_a_value_and_logs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder that is a file: record None, problem naming the event, no log record."""
    blocker = tmp_path / "001-a"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="spec_kitty_telemetry"):
        result = emit_with_result(
            emit_execution_record, blocker, "001-a", "WP01", "claude", "implementer"
        )
    assert not result.recorded
    assert result.problem is not None
    assert "ExecutionEvent for '001-a' (wp WP01) not recorded" in result.problem
    assert caplog.records == []


def test_without_a_collector_the_same_problem_is_logged_as_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The plain emitter still logs one warning and returns None (documented behaviour)."""
    blocker = tmp_path / "001-a"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="spec_kitty_telemetry"):
        assert emit_execution_record(blocker, "001-a", "WP01", "claude", "implementer") is None
    assert len(caplog.records) == 1
    assert "not recorded" in caplog.records[0].getMessage()


def test_a_wrong_call_is_a_problem_too(tmp_path: Path) -> None:
    """A missing argument is caught before the emitter's body runs, and still reported."""
    result = emit_with_result(emit_execution_record, tmp_path, "001-a")  # type: ignore[call-arg]
    assert not result.recorded
    assert result.problem is not None
    assert "emit_execution_record call not recorded" in result.problem


def test_a_broken_config_is_a_warning_of_a_stored_event(tmp_path: Path) -> None:
    """record_invocation with a broken telemetry.yaml: stored, and the warning comes back."""
    (tmp_path / "kitty-specs" / "001-a").mkdir(parents=True)
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "telemetry.yaml").write_text("node_id: [unclosed\n")
    from spec_kitty_telemetry import InvocationResult

    result = emit_with_result(
        record_invocation,
        tmp_path / "kitty-specs" / "001-a",
        "001-a",
        InvocationResult(agent="claude", role="implementer"),
    )
    assert result.recorded
    assert result.record is not None
    assert result.record["node_id"] == "cli"
    assert len(result.warnings) == 1
    assert "using node_id 'cli'" in result.warnings[0]
    assert "telemetry.yaml" in result.warnings[0]


def test_capture_events_sees_every_emitter_in_order(tmp_path: Path) -> None:
    """Records from emit_*, track_invocation and emit_transition, in the order stored."""
    store = InMemoryEventStore()
    with capture_events() as captured:
        emit_execution_record(store, "001-a", "WP01", "claude", "implementer", input_tokens=1)
        with track_invocation(store, "001-a", agent="codex", role="reviewer", wp_id="WP01"):
            pass
        emit_transition(store, "001-a", None, "implement", node_id="n")
    assert [r["event_type"] for r in captured.records] == [
        "ExecutionEvent",
        "ExecutionEvent",
        "PhaseTransition",
    ]
    assert [r["payload"].get("agent") for r in captured.records[:2]] == ["claude", "codex"]
    assert [r["event_id"] for r in captured.records] == [
        e.event_id for e in store.load_all_events()
    ]


def test_an_inner_result_does_not_hide_events_from_an_outer_capture(tmp_path: Path) -> None:
    """emit_with_result inside capture_events: both see the record; the inner keeps its warnings."""
    with capture_events() as captured:
        inner = emit_with_result(
            emit_execution_record, tmp_path, "001-a", "WP01", "claude", "implementer"
        )
    assert inner.record is not None
    assert captured.records == [inner.record]
    assert captured.warnings == []


def test_the_event_returning_twins_take_exactly_the_record_emitters_arguments() -> None:
    """emit_event/emit_execution_event: own name and docstring, the record emitter's parameters."""
    import inspect

    from spec_kitty_telemetry import emit_event, emit_execution_event, emit_record

    for twin, record_fn in (
        (emit_event, emit_record),
        (emit_execution_event, emit_execution_record),
    ):
        assert twin.__name__ in twin.__qualname__
        assert twin.__name__.startswith("emit_")
        assert "record" not in twin.__name__
        assert twin.__doc__
        assert "Event" in twin.__doc__
        shown, wrapped = inspect.signature(twin), inspect.signature(record_fn)
        assert shown.parameters == wrapped.parameters
        assert shown.return_annotation == "Event | None"


def test_the_event_twin_of_a_wrong_call_still_never_raises(tmp_path: Path) -> None:
    """A missing argument to emit_execution_event is a warning and None, as for the record one."""
    from spec_kitty_telemetry import emit_execution_event

    assert emit_execution_event(tmp_path, "001-a") is None  # type: ignore[call-arg]

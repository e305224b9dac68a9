"""Python hooks for orchestrators: InvocationResult, record_invocation, track_invocation."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from helpers import log_records, new_project
from spec_kitty_telemetry.agent_usage import parse_agent_output
from spec_kitty_telemetry.integration import (
    InvocationResult,
    current_invocation,
    record_invocation,
    track_invocation,
)
from spec_kitty_telemetry.project import node_id_for

FEATURE = "003-hooks"


@pytest.fixture
def feature_dir(tmp_path: Path) -> Path:
    return new_project(tmp_path / "project") / "kitty-specs" / FEATURE


def payloads(feature_dir: Path) -> list[dict]:
    return [
        {k: v for k, v in r["payload"].items() if k != "environment"}
        for r in log_records(feature_dir)
    ]


def test_record_invocation_maps_every_field_and_rounds_seconds_to_ms(feature_dir: Path) -> None:
    """Each InvocationResult field lands in the payload; 12.3456 s becomes 12346 ms."""
    result = InvocationResult(
        agent="claude",
        role="implementer",
        wp_id="WP01",
        model="claude-opus-4-1",
        input_tokens=1000,
        output_tokens=200,
        cache_read_tokens=600,
        cache_write_tokens=100,
        cost_usd=0.42,
        duration_seconds=12.3456,
        success=False,
        exit_code=1,
        error="tests failed",
        extra={"attempt": 2},
    )
    record = record_invocation(feature_dir, FEATURE, result)
    assert record is not None
    assert record == log_records(feature_dir)[0]
    assert record["aggregate_id"] == FEATURE
    assert payloads(feature_dir) == [
        {
            "wp_id": "WP01",
            "agent": "claude",
            "role": "implementer",
            "model": "claude-opus-4-1",
            "input_tokens": 1000,
            "output_tokens": 200,
            "cache_read_tokens": 600,
            "cache_write_tokens": 100,
            "reasoning_tokens": None,
            "cost_usd": 0.42,
            "duration_ms": 12346,
            "success": False,
            "error": "tests failed",
            "error_category": "test_failure",
            "exit_code": 1,
            "attempt": 2,
        }
    ]


def test_record_invocation_leaves_unknowns_null(feature_dir: Path) -> None:
    """A result with only agent and role stores null usage, duration and exit code."""
    record_invocation(feature_dir, FEATURE, InvocationResult(agent="gemini", role="planner"))
    [payload] = payloads(feature_dir)
    assert payload["input_tokens"] is None
    assert payload["cost_usd"] is None
    assert payload["exit_code"] is None
    assert payload["duration_ms"] is None
    assert payload["success"] is True
    assert "usage_error" not in payload


def test_record_invocation_never_raises_on_bad_data(
    feature_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What is not an InvocationResult is logged as one warning; nothing written, no raise."""
    with caplog.at_level(logging.WARNING):
        assert record_invocation(feature_dir, FEATURE, "not a result") is None  # type: ignore[arg-type]
        no_agent = InvocationResult(agent="", role="implementer")
        assert record_invocation(feature_dir, FEATURE, no_agent) is None
    assert log_records(feature_dir) == []
    assert len(caplog.records) == 2
    assert "agent: must be a non-empty string" in caplog.records[1].getMessage()


def test_unusable_figures_are_dropped_and_the_invocation_still_recorded(
    feature_dir: Path,
) -> None:
    """Cache above input, reasoning above output, a count outside 64 bits: figures go, run stays."""
    result = InvocationResult(
        agent="codex",
        role="reviewer",
        input_tokens=10,
        cache_read_tokens=30,
        output_tokens=5,
        reasoning_tokens=9,
        cost_usd=0.25,
        duration_seconds=1.5,
        exit_code=1,
        success=False,
        error="exit code 1",
    )
    assert record_invocation(feature_dir, FEATURE, result) is not None
    assert result.input_tokens == 10  # the caller's result is left as it was
    huge = InvocationResult(agent="codex", role="reviewer", input_tokens=2**63, output_tokens=-1)
    assert record_invocation(feature_dir, FEATURE, huge) is not None
    first, second = payloads(feature_dir)
    assert {k: first[k] for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens")} == {
        "input_tokens": None,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
    }
    assert (first["output_tokens"], first["reasoning_tokens"]) == (None, None)
    assert (first["cost_usd"], first["duration_ms"], first["exit_code"]) == (0.25, 1500, 1)
    assert (first["success"], first["error"]) == (False, "exit code 1")
    assert first["usage_error"] == (
        "cache_read_tokens + cache_write_tokens (30) exceed input_tokens (10), which must "
        "include them: input and cache counts dropped; reasoning_tokens (9) exceed "
        "output_tokens (5), which must include them: output and reasoning counts dropped"
    )
    assert (second["input_tokens"], second["output_tokens"]) == (None, None)
    assert second["usage_error"] == (
        f"input_tokens {2**63} is not a whole number in 0..2**63-1: dropped; "
        "output_tokens -1 is not a whole number in 0..2**63-1: dropped"
    )


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -2.0, 1e300])
def test_unusable_duration_is_stored_as_null_with_a_note(feature_dir: Path, seconds: float) -> None:
    """A NaN, infinite, negative or absurd duration becomes null; tokens and outcome are kept."""
    result = InvocationResult(
        agent="claude", role="implementer", input_tokens=7, duration_seconds=seconds
    )
    assert record_invocation(feature_dir, FEATURE, result) is not None
    [payload] = payloads(feature_dir)
    assert (payload["duration_ms"], payload["input_tokens"]) == (None, 7)
    assert payload["usage_error"] == (
        f"duration_seconds {seconds!r} is not a finite time >= 0: dropped"
    )


def test_a_broken_model_breakdown_entry_is_dropped_and_the_rest_kept(feature_dir: Path) -> None:
    """One model's figures breaking the convention go; the other model and the totals stay."""
    good = {"input_tokens": 5, "output_tokens": 1, "cache_read_tokens": 2}
    result = InvocationResult(
        agent="claude",
        role="implementer",
        input_tokens=5,
        models={"a": good, "b": {"input_tokens": 1, "cache_read_tokens": 4}},
    )
    assert record_invocation(feature_dir, FEATURE, result) is not None
    [payload] = payloads(feature_dir)
    assert payload["models"] == {"a": good}
    assert payload["input_tokens"] == 5
    assert payload["usage_error"] == (
        "models['b']: cache_read_tokens + cache_write_tokens (4) exceed input_tokens (1): dropped"
    )
    assert result.models is not None
    assert set(result.models) == {"a", "b"}


def test_apply_usage_drops_reasoning_above_output_and_says_why() -> None:
    """An agent reporting reasoning outside its output count: both dropped, note in extra."""
    usage = parse_agent_output(
        '{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":10,'
        '"output_tokens":20,"reasoning_output_tokens":50}}'
    )
    assert usage is not None
    result = InvocationResult(agent="codex", role="reviewer")
    result.apply_usage(usage)
    assert (result.input_tokens, result.cache_read_tokens) == (100, 10)
    assert (result.output_tokens, result.reasoning_tokens) == (None, None)
    assert result.extra["usage_error"].startswith("reasoning_tokens (50) exceed output_tokens (20)")


def test_record_invocation_never_raises_when_the_log_cannot_be_written(tmp_path: Path) -> None:
    """A feature 'folder' that is a file: None returned, no exception into the orchestrator."""
    blocked = tmp_path / "kitty-specs" / FEATURE
    blocked.parent.mkdir(parents=True)
    blocked.write_text("x")
    assert record_invocation(blocked, FEATURE, InvocationResult("claude", "reviewer")) is None


def test_track_invocation_times_the_block_and_records_usage_set_on_the_handle(
    feature_dir: Path,
) -> None:
    """The context manager yields a result to fill; on exit it is recorded with the block's time."""
    with track_invocation(feature_dir, FEATURE, agent="codex", role="reviewer", wp_id="WP03") as r:
        r.input_tokens = 50
        r.output_tokens = 5
        r.exit_code = 0
        assert current_invocation() is r
    assert current_invocation() is None
    [payload] = payloads(feature_dir)
    assert (payload["agent"], payload["role"], payload["wp_id"]) == ("codex", "reviewer", "WP03")
    assert (payload["input_tokens"], payload["output_tokens"]) == (50, 5)
    assert payload["success"] is True
    assert r.duration_seconds is not None
    assert payload["duration_ms"] == round(r.duration_seconds * 1000)


def test_track_invocation_records_an_exception_and_reraises_it_unchanged(
    feature_dir: Path,
) -> None:
    """An exception leaving the block is recorded (success false, error) and re-raised as is."""
    error = RuntimeError("agent crashed")

    def block() -> None:
        with track_invocation(feature_dir, FEATURE, agent="claude", role="implementer") as r:
            r.output_tokens = 3
            raise error

    with pytest.raises(RuntimeError) as caught:
        block()
    assert caught.value is error
    [payload] = payloads(feature_dir)
    assert (payload["success"], payload["error"]) == (False, "RuntimeError: agent crashed")
    assert payload["output_tokens"] == 3


def test_track_invocation_records_keyboard_interrupt_too(feature_dir: Path) -> None:
    """Even a BaseException such as KeyboardInterrupt is recorded before it propagates."""
    with (
        pytest.raises(KeyboardInterrupt),
        track_invocation(feature_dir, FEATURE, agent="claude", role="implementer"),
    ):
        raise KeyboardInterrupt
    assert payloads(feature_dir)[0]["error"] == "KeyboardInterrupt"


def test_track_invocation_swallows_nothing_when_recording_fails(tmp_path: Path) -> None:
    """A broken log location neither raises nor hides the block's own return value."""
    blocked = tmp_path / "file"
    blocked.write_text("x")

    @track_invocation(blocked / "sub", FEATURE, agent="claude", role="implementer")
    def work() -> str:
        return "done"

    assert work() == "done"


def test_decorator_tracks_each_call_separately(feature_dir: Path) -> None:
    """Each call of a decorated function is its own event; usage is set via current_invocation."""

    @track_invocation(feature_dir, FEATURE, agent="claude", role="implementer", wp_id="WP01")
    def implement(tokens: int) -> int:
        handle = current_invocation()
        assert handle is not None
        handle.output_tokens = tokens
        return tokens * 2

    assert implement(10) == 20
    assert implement(20) == 40
    assert [p["output_tokens"] for p in payloads(feature_dir)] == [10, 20]
    assert implement.__name__ == "implement"


def test_decorator_on_async_function(feature_dir: Path) -> None:
    """An ``async def`` is tracked across its await; its failure is recorded and re-raised."""

    @track_invocation(feature_dir, FEATURE, agent="gemini", role="planner")
    async def plan(fail: bool) -> str:
        await asyncio.sleep(0.01)
        if fail:
            raise ValueError("no plan")
        return "plan"

    assert asyncio.run(plan(False)) == "plan"
    with pytest.raises(ValueError, match="no plan"):
        asyncio.run(plan(True))
    first, second = payloads(feature_dir)
    assert first["success"] is True
    assert first["duration_ms"] >= 10
    assert (second["success"], second["error"]) == (False, "ValueError: no plan")


def test_one_tracker_shared_by_concurrent_tasks_records_each_tasks_own_result(
    feature_dir: Path,
) -> None:
    """Tasks entering one shared instance in turn and leaving out of order keep their results."""
    tracker = track_invocation(feature_dir, FEATURE, agent="claude", role="implementer")

    async def job(n: int) -> None:
        with tracker as result:
            result.wp_id = f"WP0{n}"
            await asyncio.sleep(0.02 * n)  # the first to enter is the first to leave
            assert current_invocation() is result
            result.output_tokens = n

    async def main() -> None:
        await asyncio.gather(*(job(n) for n in (1, 2, 3)))

    asyncio.run(main())
    recorded = [(p["wp_id"], p["output_tokens"]) for p in payloads(feature_dir)]
    assert recorded == [("WP01", 1), ("WP02", 2), ("WP03", 3)]
    durations = [p["duration_ms"] for p in payloads(feature_dir)]
    assert durations[0] >= 20
    assert durations[2] >= 60


def test_nested_tracking_restores_the_outer_handle(feature_dir: Path) -> None:
    """current_invocation is the innermost block; the outer one comes back after it."""
    outer_tracker = track_invocation(feature_dir, FEATURE, agent="a", role="planner")
    with outer_tracker as outer:
        with track_invocation(feature_dir, FEATURE, agent="b", role="reviewer") as inner:
            assert current_invocation() is inner
        assert current_invocation() is outer
    assert [p["agent"] for p in payloads(feature_dir)] == ["b", "a"]


def test_apply_usage_takes_what_the_agent_reported(feature_dir: Path) -> None:
    """apply_usage copies reported totals, model, per-model figures and the agent's verdict."""
    output = (
        '{"type":"result","subtype":"error_max_turns","is_error":false,"num_turns":9,'
        '"total_cost_usd":0.3,"usage":{"input_tokens":1,"output_tokens":2,'
        '"cache_read_input_tokens":3,"cache_creation_input_tokens":4},'
        '"modelUsage":{"claude-opus-4-1":{"inputTokens":1,"outputTokens":2,'
        '"cacheReadInputTokens":3,"cacheCreationInputTokens":4,"costUSD":0.3}}}'
    )
    usage = parse_agent_output(output)
    assert usage is not None
    result = InvocationResult(agent="claude", role="implementer", model="opus", exit_code=0)
    result.apply_usage(usage)
    record_invocation(feature_dir, FEATURE, result)
    [payload] = payloads(feature_dir)
    assert payload["model"] == "claude-opus-4-1"
    assert (payload["input_tokens"], payload["cache_read_tokens"]) == (8, 3)
    assert (payload["success"], payload["error"]) == (False, "error_max_turns")
    assert payload["num_turns"] == 9
    assert payload["models"]["claude-opus-4-1"]["cost_usd"] == 0.3


def test_node_id_for_reads_the_project_config_and_survives_a_broken_one(tmp_path: Path) -> None:
    """node_id comes from .kittify/telemetry.yaml; a broken file gives the default, no raise."""
    root = new_project(tmp_path / "p")
    feature = root / "kitty-specs" / FEATURE
    assert node_id_for(feature) == "cli"
    (root / ".kittify").mkdir()
    (root / ".kittify" / "telemetry.yaml").write_text("node_id: ci-runner-3\n")
    assert node_id_for(feature) == "ci-runner-3"
    record_invocation(feature, FEATURE, InvocationResult("claude", "merger"))
    assert log_records(feature)[0]["node_id"] == "ci-runner-3"
    (root / ".kittify" / "telemetry.yaml").write_text("node_id: [unclosed\n")
    assert node_id_for(feature) == "cli"


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orchestrator_loop.py"


def strip_volatile(record: dict) -> tuple[str, dict]:
    payload = {
        k: v for k, v in record["payload"].items() if k not in ("environment", "duration_ms")
    }
    return record["event_type"], payload


def transition(from_phase: str, to_phase: str) -> tuple[str, dict]:
    return "PhaseTransition", {
        "from_phase": from_phase,
        "to_phase": to_phase,
        "wp_id": "WP01",
        "actor": "orchestrator_loop",
    }


def test_example_orchestrator_loop_records_every_invocation_and_move(tmp_path: Path) -> None:
    """The example (Claude implementer, Codex reviewer failing once) writes exactly these events."""
    import shlex
    import subprocess
    import sys

    from helpers import agent

    project = new_project(tmp_path / "project")
    implementer = agent("claude", "-p", "Implement WP01", "--output-format", "json",
                        "--fake-multi-model")  # fmt: skip
    reviewer = agent("codex", "exec", "--json", "-m", "gpt-5-codex",
                     "--fake-fail-once", str(tmp_path / "reviewed"))  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--feature", FEATURE, "--wp", "WP01",
         "--implementer", shlex.join(implementer), "--reviewer", shlex.join(reviewer)],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "WP01: planned -> doing",
        "WP01: doing -> for_review",
        "WP01: for_review -> doing",
        "WP01: doing -> for_review",
        "WP01: for_review -> done",
    ]
    claude = {
        "wp_id": "WP01",
        "agent": "claude",
        "role": "implementer",
        "model": "claude-sonnet-4-5-20250929",
        "input_tokens": 25920,
        "output_tokens": 950,
        "cache_read_tokens": 20000,
        "cache_write_tokens": 5000,
        "reasoning_tokens": None,
        "cost_usd": 0.1145,
        "success": True,
        "error": None,
        "exit_code": 0,
        "num_turns": 4,
        "session_id": "5f0c9e43-0000-4000-8000-000000000000",
        "models": {
            "claude-sonnet-4-5-20250929": {
                "input_tokens": 25120,
                "output_tokens": 900,
                "cache_read_tokens": 20000,
                "cache_write_tokens": 5000,
                "reasoning_tokens": None,
                "cost_usd": 0.1134,
            },
            "claude-haiku-4-5-20251001": {
                "input_tokens": 800,
                "output_tokens": 50,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "reasoning_tokens": None,
                "cost_usd": 0.0011,
            },
        },
    }
    codex_passed = {
        "wp_id": "WP01",
        "agent": "codex",
        "role": "reviewer",
        "model": "gpt-5-codex",
        "input_tokens": 30000,
        "output_tokens": 1500,
        "cache_read_tokens": 12000,
        "cache_write_tokens": None,
        "reasoning_tokens": 600,
        "cost_usd": None,
        "success": True,
        "error": None,
        "exit_code": 0,
        "session_id": "0199a213-81c0-7800-8aa1-bbab2a035a53",  # Codex's thread.started id
    }
    codex_failed = {
        **codex_passed,
        "success": False,
        "error": "turn.failed: stream disconnected",
        "error_category": "network",
        "exit_code": 1,
    }
    records = log_records(project / "kitty-specs" / FEATURE)
    assert [strip_volatile(r) for r in records] == [
        transition("planned", "doing"),
        ("ExecutionEvent", claude),
        transition("doing", "for_review"),
        ("ExecutionEvent", codex_failed),
        transition("for_review", "doing"),
        ("ExecutionEvent", claude),
        transition("doing", "for_review"),
        ("ExecutionEvent", codex_passed),
        transition("for_review", "done"),
    ]
    assert [r["lamport_clock"] for r in records] == list(range(1, 10))
    assert {r["aggregate_id"] for r in records} == {FEATURE}

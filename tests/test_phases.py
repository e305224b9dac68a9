"""Phase profiling (issue 12): where one invocation's time goes, recorded into its event.

``track_phase`` runs inside a real ``track_invocation`` writing a real log;
``run --phase`` wraps a real agent process that marks phases through the
file the wrapper names in its environment.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from helpers import SPEC_KITTY, log_records, new_project, spec_kitty
from spec_kitty_telemetry import track_invocation, track_phase
from spec_kitty_telemetry.errors import InvalidOptionError
from spec_kitty_telemetry.phases import PHASE_FILE_ENV, mark_phase, phases_from_markers

FEATURE = "012-phases"


@pytest.fixture
def feature_dir(tmp_path: Path) -> Path:
    """A feature folder of a fresh project."""
    return new_project(tmp_path / "project") / "kitty-specs" / FEATURE


def _profile(entries: list[dict[str, object]]) -> dict[str, float]:
    """The stored list of {"name", "ms"} as an ordered mapping (names are unique in it)."""
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names))
    return {str(entry["name"]): float(entry["ms"]) for entry in entries}  # type: ignore[arg-type]


def _phases(feature_dir: Path) -> list[dict[str, float]]:
    return [_profile(r["payload"]["phases"]) for r in log_records(feature_dir)]


def test_phases_recorded_in_order_and_summed(feature_dir: Path) -> None:
    """Phases are name -> ms in first-run order; a phase run twice adds up."""
    with track_invocation(feature_dir, FEATURE, agent="claude", role="implementer"):
        with track_phase("context_loading"):
            time.sleep(0.02)
        with track_phase("ai_execution"):
            time.sleep(0.05)
        with track_phase("context_loading"):
            time.sleep(0.02)
    ((phases),) = _phases(feature_dir)
    assert phases is not None
    assert list(phases) == ["context_loading", "ai_execution"]
    assert phases["context_loading"] >= 40
    assert phases["ai_execution"] >= 50
    (record,) = log_records(feature_dir)
    assert sum(phases.values()) <= record["payload"]["duration_ms"] + 1


def test_decorator_sync_and_async_and_concurrent_tasks(feature_dir: Path) -> None:
    """As a decorator (async too), each of two overlapping tracked tasks gets only its phases."""

    @track_phase("validation")
    def validate() -> int:
        return 7

    def committer(role: str) -> Callable[[float], Awaitable[float]]:
        @track_phase(f"git_{role}")
        async def commit(delay: float) -> float:
            await asyncio.sleep(delay)
            return delay

        return commit

    async def one(role: str, delay: float) -> None:
        with track_invocation(feature_dir, FEATURE, agent="claude", role=role):
            assert validate() == 7
            assert await committer(role)(delay) == delay

    async def both() -> None:
        await asyncio.gather(one("implementer", 0.05), one("reviewer", 0.01))

    asyncio.run(both())
    by_role = {
        r["payload"]["role"]: _profile(r["payload"]["phases"]) for r in log_records(feature_dir)
    }
    assert list(by_role["implementer"]) == ["validation", "git_implementer"]
    assert list(by_role["reviewer"]) == ["validation", "git_reviewer"]
    assert by_role["implementer"]["git_implementer"] >= 50
    assert by_role["reviewer"]["git_reviewer"] >= 10


def test_outside_an_invocation_and_on_exceptions(feature_dir: Path) -> None:
    """No tracked invocation: nothing happens; an exception is re-raised and its phase kept."""
    with track_phase("alone"):
        pass
    assert log_records(feature_dir) == []
    with (
        pytest.raises(RuntimeError, match="boom"),
        track_invocation(feature_dir, FEATURE, agent="claude", role="implementer"),
        track_phase("scope_checking"),
    ):
        raise RuntimeError("boom")
    (record,) = log_records(feature_dir)
    assert record["payload"]["success"] is False
    assert list(_profile(record["payload"]["phases"])) == ["scope_checking"]


@pytest.mark.parametrize("name", ["", "  ", "two\nlines", 3])
def test_bad_phase_names(name: object) -> None:
    """A phase needs a non-empty one-line name: InvalidOptionError naming --phase."""
    with pytest.raises(InvalidOptionError, match="phase name"):
        track_phase(name)  # type: ignore[arg-type]


def test_markers_to_phases() -> None:
    """Marks start phases lasting to the next mark or the end; junk skipped, times clamped."""
    text = "junk\n105.0 validation\n102.0 ai_execution\n\n99.0 early\n108.0 ai_execution\nnan x\n"
    phases = phases_from_markers(text, started=100.0, ended=110.0, first="context_loading")
    assert phases == [
        {"name": "context_loading", "ms": 0.0},
        {"name": "early", "ms": 2000.0},
        {"name": "ai_execution", "ms": 5000.0},
        {"name": "validation", "ms": 3000.0},
    ]
    assert phases_from_markers("", started=1.0, ended=2.0) == []


_AGENT = """
import subprocess, sys, time
time.sleep(0.3)
subprocess.run([sys.executable, "-m", "spec_kitty_telemetry", "agent", "telemetry", "phase",
                "validation"], check=True)
time.sleep(0.2)
print("done")
"""


def test_run_phase_and_markers_from_the_agent(tmp_path: Path) -> None:
    """run --phase names the first phase; the agent's `phase` command starts the next."""
    root = new_project(tmp_path / "project")
    script = tmp_path / "agent.py"
    script.write_text(_AGENT)
    done = spec_kitty(
        "agent",
        "telemetry",
        "run",
        "--feature",
        FEATURE,
        "--role",
        "implementer",
        "--agent",
        "fake",
        "--phase",
        "ai_execution",
        "--",
        sys.executable,
        str(script),
        cwd=root,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "done"
    (record,) = log_records(root / "kitty-specs" / FEATURE)
    phases = _profile(record["payload"]["phases"])
    assert list(phases) == ["ai_execution", "validation"]
    assert phases["ai_execution"] >= 300
    assert phases["validation"] >= 200
    assert abs(sum(phases.values()) - record["payload"]["duration_ms"]) < 100
    shown = spec_kitty("agent", "telemetry", "report", "show", record["event_id"], cwd=root)
    text = shown.stdout.decode()
    assert "Phases:" in text
    assert any(
        line.strip().startswith("ai_execution") and "█" in line for line in text.splitlines()
    )
    summary = json.loads(
        spec_kitty("agent", "telemetry", "report", "summary", "--json", cwd=root).stdout
    )
    assert list(summary["profile_ms"]) == ["ai_execution", "validation"]


def test_phase_command_outside_a_run_is_an_error(tmp_path: Path) -> None:
    """`phase` with no wrapping run exits 2 with one line saying why."""
    env_free = subprocess.run(
        [*SPEC_KITTY, "agent", "telemetry", "phase", "validation"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        env={k: v for k, v in __import__("os").environ.items() if k != PHASE_FILE_ENV},
    )
    assert env_free.returncode == 2
    assert env_free.stderr.decode().strip() == (
        f"Error: {PHASE_FILE_ENV} is not set: phases are marked inside "
        "`spec-kitty agent telemetry run -- <agent>`"
    )


def test_mark_phase_appends_a_timed_line(tmp_path: Path) -> None:
    """mark_phase writes '<unix time> <name>' to the file the environment names."""
    marks = tmp_path / "marks.txt"
    before = time.time()
    assert mark_phase("validation", environ={PHASE_FILE_ENV: str(marks)}) == marks
    stamp, name = marks.read_text().split()
    assert name == "validation"
    assert before <= float(stamp) <= time.time()

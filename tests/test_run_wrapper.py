"""``spec-kitty agent telemetry run -- <agent command>``: real subprocesses, real pipes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SPEC_KITTY, agent, log_records, spec_kitty
from spec_kitty_telemetry.runner import model_from_command, run_agent

FEATURE = "001-login"
pytestmark = pytest.mark.usefixtures("feature_folder")
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"


def run(project: Path, *command: str, options: tuple[str, ...] = (), stdin: bytes | None = None):
    return spec_kitty(
        "agent",
        "telemetry",
        "run",
        "--feature",
        FEATURE,
        "--wp",
        "WP01",
        "--role",
        "implementer",
        *options,
        "--",
        *command,
        cwd=project,
        stdin=stdin,
    )


def only_event(project: Path) -> dict:
    records = log_records(project / "kitty-specs" / FEATURE)
    assert len(records) == 1, records
    record = records[0]
    assert record["event_type"] == "ExecutionEvent"
    assert record["aggregate_id"] == FEATURE
    return record["payload"]


def without_volatile(payload: dict) -> dict:
    """The payload minus what varies run to run (duration), the environment block and
    the work-tree changes (checked in tests/test_changes_run.py)."""
    assert isinstance(payload["duration_ms"], int)
    assert payload["duration_ms"] >= 0
    volatile = ("duration_ms", "environment", "changes", "changes_error")
    return {k: v for k, v in payload.items() if k not in volatile}


def test_claude_json_run_passes_output_through_and_records_usage(project: Path) -> None:
    """The agent's stdout reaches the caller byte for byte; the event holds converted usage."""
    command = agent("claude", "-p", "implement WP01", "--output-format", "json")
    direct = subprocess.run(command, capture_output=True, check=True).stdout
    done = run(project, *command)
    assert done.returncode == 0, done.stderr
    assert done.stdout == direct
    assert without_volatile(only_event(project)) == {
        "wp_id": "WP01",
        "agent": "claude",
        "role": "implementer",
        "model": SONNET,
        "input_tokens": 25120,
        "output_tokens": 900,
        "cache_read_tokens": 20000,
        "cache_write_tokens": 5000,
        "reasoning_tokens": None,
        "cost_usd": 0.1134,
        "success": True,
        "error": None,
        "exit_code": 0,
        "num_turns": 4,
        "session_id": "5f0c9e43-0000-4000-8000-000000000000",
        "models": {
            SONNET: {
                "input_tokens": 25120,
                "output_tokens": 900,
                "cache_read_tokens": 20000,
                "cache_write_tokens": 5000,
                "reasoning_tokens": None,
                "cost_usd": 0.1134,
            }
        },
    }


def test_claude_stream_json_multi_model_run_records_per_model_breakdown(project: Path) -> None:
    """A stream-json run with a background model stores totals and a per-model breakdown."""
    done = run(project, *agent("claude", "--output-format", "stream-json", "--fake-multi-model"))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    payload = only_event(project)
    assert payload["model"] == SONNET
    assert (payload["input_tokens"], payload["output_tokens"]) == (25920, 950)
    assert payload["cost_usd"] == 0.1145
    assert payload["models"][HAIKU] == {
        "input_tokens": 800,
        "output_tokens": 50,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": None,
        "cost_usd": 0.0011,
    }
    assert set(payload["models"]) == {SONNET, HAIKU}


def test_claude_error_max_turns_exit_zero_is_recorded_as_failure(project: Path) -> None:
    """``error_max_turns`` comes with is_error false and exit 0: the event says success=false."""
    done = run(
        project, *agent("claude", "--output-format", "json", "--fake-subtype", "error_max_turns")
    )
    assert done.returncode == 0
    payload = only_event(project)
    assert (payload["success"], payload["error"], payload["exit_code"]) == (
        False,
        "error_max_turns",
        0,
    )


def test_codex_run_takes_the_model_from_the_command(project: Path) -> None:
    """Codex prints no model: the command's -m names it; usage is summed over turns, cost null."""
    done = run(project, *agent("codex", "exec", "--json", "-m", "gpt-5-codex", "fix it"))
    assert done.returncode == 0, done.stderr
    assert without_volatile(only_event(project)) == {
        "wp_id": "WP01",
        "agent": "codex",
        "role": "implementer",
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


def test_codex_run_model_option_used_when_command_has_none(project: Path) -> None:
    """``--model`` on the wrapper names the model when neither output nor command does."""
    done = run(project, *agent("codex", "exec", "--json"), options=("--model", "gpt-5"))
    assert done.returncode == 0, done.stderr
    assert only_event(project)["model"] == "gpt-5"


def test_codex_failed_run_exits_with_its_code_and_records_the_failure(project: Path) -> None:
    """A failing agent's exit code is the wrapper's; the event has its error and usage so far."""
    done = run(project, *agent("codex", "exec", "--json", "--fake-fail"))
    assert done.returncode == 1
    payload = only_event(project)
    assert (payload["success"], payload["exit_code"]) == (False, 1)
    assert payload["error"] == "turn.failed: stream disconnected"
    assert payload["input_tokens"] == 30000


def test_inconsistent_agent_usage_is_dropped_and_the_run_still_recorded(project: Path) -> None:
    """Reasoning above output from the agent: those counts null, a note, the rest recorded."""
    done = run(project, *agent("codex", "exec", "--json", "-m", "o3", "--fake-reasoning-outside"))
    assert done.returncode == 0, done.stderr
    payload = without_volatile(only_event(project))
    assert payload == {
        "wp_id": "WP01",
        "agent": "codex",
        "role": "implementer",
        "model": "o3",
        "input_tokens": 30000,
        "output_tokens": None,
        "cache_read_tokens": 12000,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "cost_usd": None,
        "success": True,
        "error": None,
        "exit_code": 0,
        "usage_error": "reasoning_tokens (2700) exceed output_tokens (1500), which must "
        "include them: output and reasoning counts dropped",
        "session_id": "0199a213-81c0-7800-8aa1-bbab2a035a53",  # Codex's thread.started id
    }


def test_gemini_run_records_every_model(project: Path) -> None:
    """Gemini's pretty-printed json result gives totals and both models' figures."""
    done = run(project, *agent("gemini", "-p", "review", "--output-format", "json"))
    assert done.returncode == 0, done.stderr
    payload = only_event(project)
    assert payload["agent"] == "gemini"
    assert payload["model"] == "gemini-2.5-pro"
    assert (payload["input_tokens"], payload["output_tokens"]) == (32000, 2040)
    assert (payload["cache_read_tokens"], payload["reasoning_tokens"]) == (12000, 800)
    assert payload["cost_usd"] is None
    assert set(payload["models"]) == {"gemini-2.5-pro", "gemini-2.5-flash-lite"}


def test_garbage_output_and_nonzero_exit_still_records_duration_and_code(project: Path) -> None:
    """Unrecognised output: tokens null, exit code passed on and recorded, output unchanged."""
    command = agent("garbage", "--fake-exit", "3")
    direct = subprocess.run(command, capture_output=True, check=False).stdout
    done = run(project, *command, options=("--agent", "copilot"))
    assert done.returncode == 3
    assert done.stdout == direct
    assert without_volatile(only_event(project)) == {
        "wp_id": "WP01",
        "agent": "copilot",
        "role": "implementer",
        "model": None,
        "input_tokens": None,
        "output_tokens": None,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "cost_usd": None,
        "success": False,
        "error": "exit code 3",
        "exit_code": 3,
        "error_category": "unknown",
    }


def test_stdin_and_stderr_pass_through_unchanged(project: Path) -> None:
    """The agent reads the caller's stdin and writes to the caller's stderr directly."""
    data = bytes(range(256)) * 1000
    done = run(project, *agent("passthrough"), stdin=data)
    assert done.returncode == 0
    assert done.stdout == data
    assert done.stderr == b"passthrough: to stderr\n"
    assert only_event(project)["agent"] == Path(sys.executable).name  # the program run


def test_huge_output_streams_through_and_the_final_result_is_still_read(project: Path) -> None:
    """24 MiB including a 12 MiB line pass through intact; the result after them is parsed."""
    command = agent("huge", "24")
    expected = hashlib.sha256(subprocess.run(command, capture_output=True, check=True).stdout)
    done = run(project, *command)
    assert done.returncode == 0
    assert len(done.stdout) > 24 * 1024 * 1024
    assert hashlib.sha256(done.stdout).hexdigest() == expected.hexdigest()
    payload = only_event(project)
    assert (payload["input_tokens"], payload["output_tokens"]) == (100, 7)
    assert payload["cache_read_tokens"] == 90
    assert payload["cost_usd"] == 0.5


@pytest.mark.parametrize("kind", ["directory", "not executable"])
def test_command_that_cannot_be_executed_exits_126(project: Path, kind: str) -> None:
    """A directory or a file without execute permission: exit 126 as a shell would, recorded."""
    target = project / "tool"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_text("#!/bin/sh\necho never\n")
        target.chmod(0o644)
    done = run(project, str(target))
    if kind == "not executable" and os.access(target, os.X_OK):
        pytest.skip("this user may execute any file")
    assert done.returncode == 126
    assert done.stdout == b""
    assert done.stderr.decode() == f"Error: cannot start {str(target)!r}: Permission denied\n"
    payload = only_event(project)
    assert (payload["success"], payload["exit_code"]) == (False, 126)
    assert payload["error"] == f"cannot start {str(target)!r}: Permission denied"


def test_missing_command_exits_127_with_a_message_and_records_the_failure(project: Path) -> None:
    """A command that cannot start: exit 127, one clear line on stderr, a failed event."""
    done = run(project, "no-such-agent-xyz", "-p", "hello", options=("--model", "m9"))
    assert done.returncode == 127
    assert done.stdout == b""
    assert done.stderr.decode() == (
        "Error: cannot start 'no-such-agent-xyz': No such file or directory\n"
    )
    assert without_volatile(only_event(project)) == {
        "wp_id": "WP01",
        "agent": "no-such-agent-xyz",
        "role": "implementer",
        "model": "m9",
        "input_tokens": None,
        "output_tokens": None,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "cost_usd": None,
        "success": False,
        "error": "cannot start 'no-such-agent-xyz': No such file or directory",
        "exit_code": 127,
        "error_category": "tool_error",
    }


def test_agent_killed_by_a_signal_exits_128_plus_signal(project: Path) -> None:
    """An agent killed by SIGKILL makes the wrapper exit 137, as a shell would report it."""
    done = run(project, *agent("passthrough", "--kill-self"), stdin=b"")
    assert done.returncode == 137
    payload = only_event(project)
    assert (payload["success"], payload["exit_code"], payload["error"]) == (
        False,
        137,
        "killed by SIGKILL",
    )


def test_unknown_role_is_rejected_before_running_anything(project: Path) -> None:
    """``--role`` outside the workflow's roles: exit 2, the agent never runs, nothing written."""
    marker = project / "ran"
    done = spec_kitty(
        "agent", "telemetry", "run", "--feature", FEATURE, "--role", "boss", "--",
        sys.executable, "-c", f"open({str(marker)!r}, 'w')",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 2
    assert b"Error: --role: expected one of specifier, planner" in done.stderr
    assert not marker.exists()
    assert log_records(project / "kitty-specs" / FEATURE) == []


def test_run_outside_a_project_still_runs_the_agent_and_warns(tmp_path: Path) -> None:
    """No kitty-specs/ or .kittify/ above: the agent runs, its code is ours, one Warning line."""
    outside = tmp_path / "elsewhere"  # beside the module's project, not inside one
    outside.mkdir()
    command = agent("garbage", "--fake-exit", "4")
    direct = subprocess.run(command, capture_output=True, check=False).stdout
    done = spec_kitty(
        "agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer", "--",
        *command,
        cwd=outside,
    )  # fmt: skip
    assert done.returncode == 4
    assert done.stdout == direct
    assert done.stderr.decode() == (
        "Warning: this run is not recorded: no spec-kitty project (a folder with kitty-specs/ "
        f"or .kittify/) at or above {outside.resolve()}\n"
    )
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("feature", ["../escape", "", "a/b"])
def test_unusable_feature_still_runs_the_agent_and_warns(project: Path, feature: str) -> None:
    """A --feature that names no folder: the agent runs and exits as it did; nothing written."""
    done = spec_kitty(
        "agent", "telemetry", "run", "--feature", feature, "--role", "reviewer", "--",
        *agent("passthrough", "5"),
        cwd=project, stdin=b"data",
    )  # fmt: skip
    assert done.returncode == 5
    assert done.stdout == b"data"
    assert done.stderr.decode() == (
        "Warning: this run is not recorded: --feature: expected a feature folder name like "
        f"001-login, got {feature!r}\n"
        "passthrough: to stderr\n"
    )
    assert sorted(p.name for p in (project / "kitty-specs").iterdir()) == [FEATURE]
    assert log_records(project / "kitty-specs" / FEATURE) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "implementer"), "Error: missing argument 'command'.\n"),
        (("--role", "implementer", "--"), "Error: missing argument 'command'.\n"),
        (
            ("--role", "implementer", "--bogus", "--", "true"),
            "Error: no such option --bogus (the agent command goes after --, e.g. -- claude ...)\n",
        ),
        (("--role", "implementer", "--wp"), "Error: option '--wp' requires an argument.\n"),
    ],
)
def test_usage_errors_exit_2_before_running_anything(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    """No command, an unknown option, a flag without its value: one line, exit 2, nothing run."""
    done = spec_kitty("agent", "telemetry", "run", "--feature", FEATURE, *args, cwd=project)
    assert done.returncode == 2
    assert done.stderr.decode() == message
    assert log_records(project / "kitty-specs" / FEATURE) == []


def test_feature_with_spaces_is_stored_under_the_folder_name(project: Path) -> None:
    """``--feature " 001-login "`` writes to kitty-specs/001-login with that aggregate id."""
    done = spec_kitty(
        "agent", "telemetry", "run", "--feature", f" {FEATURE} ", "--role", "planner", "--",
        *agent("garbage"),
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"Warning" not in done.stderr
    only_event(project)  # checks aggregate_id == FEATURE


def test_empty_wp_model_and_agent_from_templates_are_null_or_detected(project: Path) -> None:
    """``--wp "" --model "" --agent ""``: wp and model null, agent from the output format."""
    done = run(
        project,
        *agent("codex", "exec", "--json"),
        options=("--wp", "", "--model", "", "--agent", ""),
    )
    assert done.returncode == 0, done.stderr
    payload = only_event(project)
    assert (payload["wp_id"], payload["model"], payload["agent"]) == (None, None, "codex")


def test_run_into_a_new_feature_folder_records_and_warns(project: Path) -> None:
    """A feature folder that does not exist yet is created, and one Warning line says so."""
    done = spec_kitty(
        "agent", "telemetry", "run", "--feature", "009-typo", "--role", "planner", "--",
        *agent("garbage"),
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stderr.decode() == "Warning: created new feature folder kitty-specs/009-typo\n"
    assert len(log_records(project / "kitty-specs" / "009-typo")) == 1


def test_run_agent_library_call_writes_to_the_given_stream(project: Path) -> None:
    """``run_agent`` is the library behind the command: output to a stream, outcome returned."""
    sink = io.BytesIO()
    outcome = run_agent(
        agent("claude", "--output-format", "json"),
        feature_dir=project / "kitty-specs" / FEATURE,
        feature_slug=FEATURE,
        role="reviewer",
        output=sink,
    )
    assert outcome.exit_code == 0
    assert outcome.started
    assert b'"total_cost_usd": 0.1134' in sink.getvalue()
    assert outcome.record is not None
    assert outcome.record["payload"]["role"] == "reviewer"
    assert outcome.record == log_records(project / "kitty-specs" / FEATURE)[0]


@pytest.mark.parametrize(
    ("argv", "model"),
    [
        (["codex", "exec", "-m", "o3", "hi"], "o3"),
        (["claude", "--model", "opus", "-p", "x"], "opus"),
        (["gemini", "--model=gemini-2.5-pro"], "gemini-2.5-pro"),
        (["/usr/local/bin/claude", "--model=claude-opus-4-1"], "claude-opus-4-1"),
        (["npx", "-y", "@openai/codex@latest", "exec", "-m", "o3"], "o3"),
        (["python3", "tests/fake_agents/codex.py", "exec", "-m", "o4-mini"], "o4-mini"),
        (["Cursor-Agent.exe", "-m", "gpt-5"], "gpt-5"),
        (["codex", "--", "-m", "not-this"], None),
        (["codex", "-m"], None),
        (["-m", "program-name-only"], None),
        (["python3", "-m", "json.tool"], None),
        (["git", "commit", "-m", "fix the build"], None),
        (["make", "-m", "x"], None),
        (["node", "server.js", "--model", "x"], None),
    ],
)
def test_model_from_command(argv: list[str], model: str | None) -> None:
    """-m/--model names the model only for known agent CLIs; not after ``--`` or dangling."""
    assert model_from_command(argv) == model


def test_cost_by_model_splits_a_multi_model_claude_run(project: Path) -> None:
    """``cost --group-by model`` attributes a multi-model Claude run's tokens and cost per model."""
    done = run(project, *agent("claude", "--output-format", "json", "--fake-multi-model"))
    assert done.returncode == 0, done.stderr
    report = spec_kitty(
        "agent", "telemetry", "cost", "--group-by", "model", "--json", cwd=project
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    summaries = {s["group_key"]: s for s in json.loads(report.stdout)["summaries"]}
    assert set(summaries) == {"claude-sonnet-4-5", "claude-haiku-4-5"}
    sonnet, haiku = summaries["claude-sonnet-4-5"], summaries["claude-haiku-4-5"]
    assert (sonnet["input_tokens"], sonnet["output_tokens"]) == (25120, 900)
    assert (sonnet["cache_read_tokens"], sonnet["cache_write_tokens"]) == (20000, 5000)
    assert sonnet["total_cost_usd"] == 0.1134
    assert (haiku["input_tokens"], haiku["output_tokens"]) == (800, 50)
    assert haiku["total_cost_usd"] == 0.0011
    assert json.loads(report.stdout)["total"]["total_cost_usd"] == 0.1145


def start_wrapper(project: Path) -> subprocess.Popen[bytes]:
    """Start ``run`` around the sleeper in its own process group; return once it is running."""
    process = subprocess.Popen(
        [*SPEC_KITTY, "agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer",
         "--", *agent("sleeper")],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    return process


def test_sigterm_to_the_wrapper_is_forwarded_and_the_run_recorded(project: Path) -> None:
    """SIGTERM sent to the wrapper alone ends the agent; the wrapper exits 143 and records it."""
    process = start_wrapper(project)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    payload = only_event(project)
    assert (payload["success"], payload["exit_code"], payload["error"]) == (
        False,
        143,
        "killed by SIGTERM",
    )


def test_ctrl_c_reaches_the_agent_and_the_wrapper_reports_it(project: Path) -> None:
    """Ctrl-C (SIGINT to the process group) stops the agent; the wrapper survives to record it."""
    process = start_wrapper(project)
    os.killpg(process.pid, signal.SIGINT)
    code = process.wait(timeout=30)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    assert "Traceback" in stderr  # the agent's own KeyboardInterrupt report, passed through
    payload = only_event(project)
    assert payload["success"] is False
    assert code == payload["exit_code"]
    assert code == 128 + signal.SIGINT  # Python re-raises SIGINT on an uncaught Ctrl-C


def test_output_reader_going_away_does_not_hang_or_lose_the_event(project: Path) -> None:
    """``run ... | head -c 10``: the agent meets a broken pipe as unwrapped; the run is recorded."""
    command = [*SPEC_KITTY, "agent", "telemetry", "run", "--feature", FEATURE, "--role",
               "implementer", "--", *agent("huge", "8")]  # fmt: skip
    writer = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None
    assert len(writer.stdout.read(10)) == 10
    writer.stdout.close()
    code = writer.wait(timeout=60)
    assert writer.stderr is not None
    stderr = writer.stderr.read()
    assert b"BrokenPipeError" in stderr  # the agent's own error, passed through
    assert b"spec_kitty_telemetry" not in stderr  # and nothing from the wrapper
    payload = only_event(project)
    assert payload["exit_code"] == code
    assert code != 0
    assert payload["success"] is False


@pytest.fixture
def read_only_feature(project: Path):
    """Make the feature folder and its files unwritable (chattr +i as root); restore after."""
    folder = project / "kitty-specs" / FEATURE
    (folder / "execution.events.jsonl").write_text("")
    paths = [folder, *folder.iterdir()]
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root without chattr: cannot make a folder read-only")
        subprocess.run(["chattr", "+i", *map(str, paths)], check=True)
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        modes = {path: path.stat().st_mode for path in paths}
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for path, mode in modes.items():
                path.chmod(mode)


def test_run_into_an_unwritable_log_keeps_the_agents_output_and_exit_code(
    project: Path, read_only_feature: Path
) -> None:
    """The log cannot be written: output and exit code are the agent's; one Warning line."""
    command = agent("claude", "--output-format", "json", "--fake-exit", "3")
    direct = subprocess.run(command, capture_output=True, check=False).stdout
    done = run(project, *command)
    assert done.returncode == 3
    assert done.stdout == direct
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"Warning: telemetry: ExecutionEvent for '{FEATURE}' (wp WP01) not recorded: "
    )
    assert "Traceback" not in done.stderr.decode()
    assert (read_only_feature / "execution.events.jsonl").read_text() == ""


def test_gemini_run_records_exactly_this_event(project: Path) -> None:
    """The Gemini run's whole payload: totals, main model, per-model breakdown, no cost."""
    command = agent("gemini", "-p", "review", "--output-format", "json")
    direct = subprocess.run(command, capture_output=True, check=True).stdout
    done = run(project, *command, options=("--role", "reviewer"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == direct
    assert done.stderr == b""
    assert without_volatile(only_event(project)) == {
        "wp_id": "WP01",
        "agent": "gemini",
        "role": "reviewer",
        "model": "gemini-2.5-pro",
        "input_tokens": 32000,
        "output_tokens": 2040,
        "cache_read_tokens": 12000,
        "cache_write_tokens": None,
        "reasoning_tokens": 800,
        "cost_usd": None,
        "success": True,
        "error": None,
        "exit_code": 0,
        "models": {
            "gemini-2.5-pro": {
                "input_tokens": 30000,
                "output_tokens": 2000,
                "cache_read_tokens": 12000,
                "cache_write_tokens": None,
                "reasoning_tokens": 800,
                "cost_usd": None,
            },
            "gemini-2.5-flash-lite": {
                "input_tokens": 2000,
                "output_tokens": 40,
                "cache_read_tokens": 0,
                "cache_write_tokens": None,
                "reasoning_tokens": 0,
                "cost_usd": None,
            },
        },
    }


def test_claude_stream_json_run_records_exactly_this_event(project: Path) -> None:
    """stream-json without modelUsage: totals from the result's usage, model from the init line."""
    command = agent(
        "claude", "-p", "x", "--output-format", "stream-json", "--fake-no-model-usage",
        "--model", "claude-opus-4-1", "--fake-exit", "1",
    )  # fmt: skip
    direct = subprocess.run(command, capture_output=True, check=False).stdout
    done = run(project, *command)
    assert done.returncode == 1
    assert done.stdout == direct
    assert without_volatile(only_event(project)) == {
        "wp_id": "WP01",
        "agent": "claude",
        "role": "implementer",
        "model": "claude-opus-4-1",
        "input_tokens": 25120,
        "output_tokens": 900,
        "cache_read_tokens": 20000,
        "cache_write_tokens": 5000,
        "reasoning_tokens": None,
        "cost_usd": 0.1134,
        "success": False,
        "error": "exit code 1",
        "exit_code": 1,
        "error_category": "unknown",
        "num_turns": 4,
        "session_id": "5f0c9e43-0000-4000-8000-000000000000",
    }


def test_claude_verbose_json_array_run_records_the_result(project: Path) -> None:
    """``--output-format json --verbose`` (an array of messages) through run: usage recorded."""
    done = run(project, *agent("claude", "-p", "x", "--output-format", "json", "--verbose"))
    assert done.returncode == 0, done.stderr
    payload = only_event(project)
    assert (payload["model"], payload["input_tokens"], payload["cost_usd"]) == (
        SONNET,
        25120,
        0.1134,
    )


def test_claude_run_without_cache_fields_records_input_and_prices_it(project: Path) -> None:
    """A stream-json result with usage but no cache fields keeps its input; cost is estimated."""
    command = agent(
        "claude", "-p", "x", "--output-format", "stream-json", "--model", "claude-haiku-4-5",
        "--fake-no-cache-fields", "--fake-no-model-usage", "--fake-no-cost",
    )  # fmt: skip
    done = run(project, *command)
    assert done.returncode == 0, done.stderr
    payload = only_event(project)
    assert (payload["input_tokens"], payload["output_tokens"]) == (1000, 200)
    assert (payload["cache_read_tokens"], payload["cache_write_tokens"]) == (0, 0)
    assert payload["cost_usd"] is None
    assert "usage_error" not in payload
    report = spec_kitty("agent", "telemetry", "cost", "--json", cwd=project)
    assert report.returncode == 0, report.stderr
    total = json.loads(report.stdout)["total"]
    assert total["unpriced_event_count"] == 0
    # claude-haiku-4-5 at $1 per million input and $5 per million output tokens
    assert total["estimated_cost_usd"] == pytest.approx(1000 * 1e-6 + 200 * 5e-6)


def test_claude_json_run_with_reported_cost_and_no_cache_fields_keeps_input(
    project: Path,
) -> None:
    """The issue's case: ``usage`` of 10 in / 5 out, no cache fields, a cost: input stays 10."""
    result = {"type": "result", "total_cost_usd": 0.01, "usage": {"input_tokens": 10,
              "output_tokens": 5}}  # fmt: skip
    done = run(project, sys.executable, "-c", f"print({json.dumps(json.dumps(result))})")
    assert done.returncode == 0, done.stderr
    payload = only_event(project)
    assert (payload["input_tokens"], payload["output_tokens"], payload["cost_usd"]) == (
        10,
        5,
        0.01,
    )
    assert "usage_error" not in payload


def test_codex_and_gemini_runs_without_part_counts_keep_their_totals(project: Path) -> None:
    """Codex turns and Gemini models lacking cached/reasoning counts still record input/output."""
    assert run(project, *agent("codex", "exec", "--json", "--fake-no-cache-fields")).returncode == 0
    gemini = agent("gemini", "--output-format", "json", "--fake-minimal-tokens")
    assert run(project, *gemini).returncode == 0
    records = log_records(project / "kitty-specs" / FEATURE)
    figures = [
        tuple(r["payload"][k] for k in ("agent", "input_tokens", "output_tokens",
                                        "cache_read_tokens", "reasoning_tokens"))
        for r in records
    ]  # fmt: skip
    assert figures == [("codex", 30000, 1500, 0, 0), ("gemini", 32000, 1240, 0, 0)]

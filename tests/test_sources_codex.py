"""Importing Codex CLI rollouts: usage from the change of the running totals.

The fixtures (``tests/fixtures/sources/codex``) hold a ``token_count`` with
null ``info``, the same totals repeated on consecutive lines, a model switch
(``turn_context``), a torn line, totals that go down (a restart within the
file), and an archived session of another repository. Totals are hand-computed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpers import spec_kitty
from sources_helpers import new_project, records, stage
from spec_kitty_telemetry.sources import import_sessions
from spec_kitty_telemetry.sources.codex import find_session_files, read_sessions

LATER = datetime(2026, 12, 2, tzinfo=UTC)
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with feature 001-login; Codex's home staged beside it."""
    root = new_project(tmp_path / "project", "001-login")
    stage("codex", tmp_path / "codex-home", root)
    return root


def _figures(record: dict[str, object]) -> tuple[object, ...]:
    payload = record["payload"]
    assert isinstance(payload, dict)
    return tuple(payload[name] for name in TOKENS)


def test_repeated_totals_and_null_info_add_nothing(project: Path) -> None:
    """A repeat of the running totals is no usage; a null ``info`` is not an error."""
    home = project.parent / "codex-home"
    read = read_sessions(find_session_files([home / "sessions"]))
    session = [p for p in read.pieces if p.session_id.endswith("bbab2a035a53")]
    assert [(p.usage.input_tokens, p.usage.output_tokens) for p in session] == [
        (1000, 300),
        (1500, 150),
        (1500, 50),
    ]
    assert read.duplicates == 1
    assert [(p.path.name, p.line) for p in read.malformed] == [
        ("rollout-2026-11-30T14-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl", 8)
    ]


def test_totals_that_go_down_take_the_last_turn(project: Path) -> None:
    """When the running totals drop, the line's own ``last_token_usage`` is the step."""
    home = project.parent / "codex-home"
    read = read_sessions(find_session_files([home / "sessions"]))
    restarted = [p for p in read.pieces if p.session_id.endswith("00000000000e")]
    assert [(p.usage.input_tokens, p.usage.output_tokens) for p in restarted] == [
        (100, 10),
        (50, 5),
    ]


def test_import_from_codex_home_with_hand_computed_totals(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``$CODEX_HOME`` is found; hours and models become events with the summed changes."""
    monkeypatch.setenv("CODEX_HOME", str(project.parent / "codex-home"))
    summary = import_sessions("codex", project, now=LATER).to_dict()
    login = {(r["payload"]["model"], r["timestamp"]): r for r in records(project, "001-login")}
    assert set(login) == {
        ("gpt-5-codex", "2026-11-30T14:00:00+00:00"),
        ("gpt-5", "2026-11-30T15:00:00+00:00"),
    }
    # 14:00 hour: 1000/200/300/100, a repeat (nothing), then +1500/+1000/+150/+50
    assert _figures(login[("gpt-5-codex", "2026-11-30T14:00:00+00:00")]) == (2500, 450, 1200, 150)
    # 15:00 hour, after the switch to gpt-5: 4000-2500, 500-450, 2000-1200, 150-150
    assert _figures(login[("gpt-5", "2026-11-30T15:00:00+00:00")]) == (1500, 50, 800, 0)
    for record in login.values():
        assert record["payload"]["wp_id"] == "WP02"
        assert record["payload"]["agent"] == "codex"
        assert record["payload"]["source"] == "import:codex"
        assert record["payload"]["cache_write_tokens"] is None
    [root_session] = records(project, "000-unassigned")
    assert _figures(root_session) == (150, 15, 0, 0)
    assert summary["files"] == 3
    assert summary["sessions_other_projects"] == 1
    assert summary["totals"]["input_tokens"] == 2500 + 1500 + 150


def test_importing_codex_twice_adds_nothing(project: Path) -> None:
    """A second import finds each event already in the logs."""
    home = project.parent / "codex-home"
    first = import_sessions("codex", project, paths=[home], now=LATER)
    second = import_sessions("codex", project, paths=[home], now=LATER)
    assert (first.events_new, second.events_new, second.events_present) == (3, 0, 3)


def test_a_codex_run_is_not_imported_again(project: Path) -> None:
    """A ``run`` of ``codex exec --json`` records its thread id; the import skips that session."""
    fake_codex = project.parent / "codex"
    fake_codex.write_text(
        "import json\n"
        'print(json.dumps({"type": "thread.started",'
        ' "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"}))\n'
        'print(json.dumps({"type": "turn.completed", "usage": {"input_tokens": 4000,'
        ' "cached_input_tokens": 2000, "output_tokens": 500}}))\n'
    )
    done = spec_kitty(
        "agent",
        "telemetry",
        "run",
        "--feature",
        "001-login",
        "--role",
        "implementer",
        "--agent",
        "codex",
        "--",
        sys.executable,
        str(fake_codex),
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    [ran] = records(project, "001-login")
    assert ran["payload"]["session_id"] == "0199a213-81c0-7800-8aa1-bbab2a035a53"
    summary = import_sessions("codex", project, paths=[project.parent / "codex-home"], now=LATER)
    assert summary.sessions_recorded_by_run == 1
    assert records(project, "001-login") == [ran]


def test_command_reads_codex_home_and_prints_json(project: Path) -> None:
    """``import codex --json`` in a real process, reading ``$CODEX_HOME``."""
    env = {**os.environ, "CODEX_HOME": str(project.parent / "codex-home")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "spec_kitty_telemetry",
            "agent",
            "telemetry",
            "import",
            "codex",
            "--json",
            "--dry-run",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b'"events_new": 3' in done.stdout
    assert b'"dry_run": true' in done.stdout
    assert not (project / "kitty-specs/001-login/execution.events.jsonl").exists()

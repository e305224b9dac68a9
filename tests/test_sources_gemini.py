"""Importing Gemini CLI chats: placed by project hash, thoughts billed as output.

The fixtures (``tests/fixtures/sources/gemini``) hold one chat as a JSON
document under the project's hash and one as JSON Lines under the hash of a
git worktree of the project, with a repeated message and a torn last line.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sources_helpers import new_project, records, stage
from spec_kitty_telemetry.sources import import_sessions
from spec_kitty_telemetry.sources.gemini import find_session_files, read_sessions

LATER = datetime(2026, 12, 2, tzinfo=UTC)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git project with feature 001-login and a worktree for its WP03; chats staged beside."""
    root = new_project(tmp_path / "project", "001-login")
    (root / "kitty-specs/001-login/spec.md").write_text("# Login\n")
    _git("init", "-q", "-b", "main", cwd=root)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".", cwd=root)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x", cwd=root)
    worktree = root / ".worktrees" / "001-login-WP03"
    _git("worktree", "add", "-q", "-b", "001-login-WP03", str(worktree), cwd=root)
    stage("gemini", tmp_path / "gemini-tmp", root, worktree.resolve())
    return root


def test_thoughts_bill_as_output_and_cached_stays_inside_input(project: Path) -> None:
    """A reply's output is output + thoughts; cached is part of input; tool tokens kept apart."""
    read = read_sessions(find_session_files([project.parent / "gemini-tmp"]))
    first = next(p for p in read.pieces if p.session_id == "gem-1")
    assert first.usage.input_tokens == 1000
    assert first.usage.output_tokens == 100 + 50
    assert first.usage.reasoning_tokens == 50
    assert first.usage.cache_read_tokens == 400
    assert first.extra == {"tool_tokens": 20}
    assert read.duplicates == 1
    assert [(p.path.suffix, p.line) for p in read.malformed] == [(".jsonl", 5)]


def test_chats_are_placed_by_the_hash_of_a_project_folder(project: Path) -> None:
    """The root's chat goes to the catch-all feature, the worktree's to its feature and WP."""
    summary = import_sessions(
        "gemini", project, paths=[project.parent / "gemini-tmp"], now=LATER
    ).to_dict()
    [root_chat] = records(project, "000-unassigned")
    payload = root_chat["payload"]
    assert (payload["input_tokens"], payload["output_tokens"]) == (1000 + 2000, 150 + 200)
    assert (payload["cache_read_tokens"], payload["reasoning_tokens"]) == (400 + 1500, 50)
    assert payload["tool_tokens"] == 20
    assert payload["responses"] == 2
    [worktree_chat] = records(project, "001-login")
    payload = worktree_chat["payload"]
    assert (payload["wp_id"], payload["model"], payload["agent"]) == (
        "WP03",
        "gemini-2.5-flash",
        "gemini",
    )
    assert (payload["input_tokens"], payload["output_tokens"]) == (10, 5)
    assert summary["events_new"] == 2
    again = import_sessions("gemini", project, paths=[project.parent / "gemini-tmp"], now=LATER)
    assert (again.events_new, again.events_present) == (0, 2)

"""Importing Gemini CLI chats: placed by project hash, thoughts billed as output.

The fixtures (``tests/fixtures/sources/gemini``) hold one chat as a JSON
document under the project's hash and one as JSON Lines under the hash of a
git worktree of the project, with a repeated message and a torn last line.
"""

from __future__ import annotations

import json
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


def test_thoughts_bill_as_output_tool_results_as_input_and_cached_stays_inside_input(
    project: Path,
) -> None:
    """Output is output + thoughts, input is input + tool (the API's total is their sum).

    Gemini's ``tokens.total`` is ``totalTokenCount``: prompt + candidates +
    tool-use prompt + thoughts, the tool-use prompt being tool results sent
    back to the model as input, outside ``promptTokenCount``. The fixture's
    reply: 1,000 + 100 + 50 + 20 = 1,170. The tool share is also kept as
    ``tool_tokens``.
    """
    read = read_sessions(find_session_files([project.parent / "gemini-tmp"]))
    first = next(p for p in read.pieces if p.session_id == "gem-1")
    assert first.usage.input_tokens == 1000 + 20
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
    assert (payload["input_tokens"], payload["output_tokens"]) == (1020 + 2000, 150 + 200)
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


def test_gemini_cli_home_stands_for_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``$GEMINI_CLI_HOME`` replaces the home folder: chats are in its ``.gemini/tmp``."""
    home = tmp_path / "gemini-home"
    chat = home / ".gemini" / "tmp" / "abc" / "chats" / "session-2026-11-30T10-00-aaaa.jsonl"
    chat.parent.mkdir(parents=True)
    chat.write_text('{"sessionId":"s","projectHash":"abc"}\n')
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    from spec_kitty_telemetry.sources.gemini import default_roots

    assert default_roots() == [home / ".gemini" / "tmp"]
    assert find_session_files(default_roots()) == [chat]


def _jsonl(path: Path, *records: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _reply(ident: str, minute: int, tokens: dict[str, int] | None) -> dict[str, object]:
    return {
        "id": ident,
        "timestamp": f"2026-11-30T10:{minute:02d}:00.000Z",
        "type": "gemini",
        "model": "gemini-2.5-pro",
        "content": "",
        "tokens": tokens,
    }


def test_upsert_log_subagents_and_metadata_records(tmp_path: Path) -> None:
    """A JSONL chat counts each reply once, with its tokens; a subagent's chat is its own role.

    Gemini CLI appends a message again whenever it changes (first without
    tokens, then with them, then with tool results), updates metadata with
    ``$set``, rewinds with ``$rewindTo`` (the rewound reply was still
    billed) and keeps a subagent's chat in ``chats/<parent id>/<id>.jsonl``.
    """
    chats = tmp_path / "tmp" / "abc" / "chats"
    tokens = {"input": 100, "output": 10, "cached": 40, "thoughts": 5, "tool": 0, "total": 115}
    _jsonl(
        chats / "session-2026-11-30T10-00-main0001.jsonl",
        {"sessionId": "main-0001", "projectHash": "abc", "kind": "main"},
        {"id": "u1", "timestamp": "2026-11-30T10:00:00.000Z", "type": "user", "content": "go"},
        _reply("r1", 1, None),
        _reply("r1", 1, tokens),
        {**_reply("r1", 1, tokens), "toolCalls": [{"id": "t1", "name": "ls"}]},
        {"$set": {"lastUpdated": "2026-11-30T10:02:00.000Z"}},
        _reply("r2", 3, {**tokens, "input": 300}),
        {"$rewindTo": "r2"},
        {"$snapshot": True, "messages": [_reply("r1", 1, tokens)]},
    )
    _jsonl(
        chats / "main-0001" / "sub-0002.jsonl",
        {"sessionId": "sub-0002", "projectHash": "abc", "kind": "subagent"},
        _reply("s1", 4, {**tokens, "input": 50}),
    )
    files = find_session_files([tmp_path / "tmp"])
    assert [p.name for p in files] == ["sub-0002.jsonl", "session-2026-11-30T10-00-main0001.jsonl"]
    read = read_sessions(files)
    got = sorted(
        (p.session_id, p.role, p.usage.input_tokens, p.usage.output_tokens) for p in read.pieces
    )
    assert got == [
        ("main-0001", "session", 100, 15),
        ("main-0001", "session", 300, 15),
        ("sub-0002", "subagent", 50, 15),
    ]
    assert all(p.project_hash == "abc" for p in read.pieces)
    assert read.duplicates == 2  # r1 with tool calls, and again in the snapshot
    assert read_sessions(files, skim=False).pieces == read.pieces

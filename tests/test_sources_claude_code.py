"""Importing Claude Code's session logs: counting, mapping, idempotency, the command.

The fixtures (``tests/fixtures/sources/claude``) are written from the format's
facts: a response streamed on three lines with growing usage, a sidechain
response in the main file and a subagent file, a ``<synthetic>`` line, a torn
line, a session in the project's root (catch-all feature), one in another
repository. Totals below are worked out by hand from those lines.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from helpers import agent, spec_kitty
from sources_helpers import new_project, records, stage
from spec_kitty_telemetry.errors import ConfigError
from spec_kitty_telemetry.sources import import_sessions
from spec_kitty_telemetry.sources._common import segment_id
from spec_kitty_telemetry.sources.claude_code import find_session_files, read_sessions

LATER = datetime(2026, 12, 2, tzinfo=UTC)
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with feature 001-login; its Claude sessions staged beside it."""
    root = new_project(tmp_path / "project", "001-login")
    stage("claude", tmp_path / "claude", root)
    return root


def _import(root: Path, **options: object) -> dict[str, object]:
    options.setdefault("now", LATER)
    summary = import_sessions("claude-code", root, paths=[root.parent / "claude"], **options)  # type: ignore[arg-type]
    return summary.to_dict()


def _figures(record: dict[str, object]) -> tuple[object, ...]:
    payload = record["payload"]
    assert isinstance(payload, dict)
    return tuple(payload[name] for name in TOKENS)


def test_streamed_copies_count_once_with_their_final_usage(project: Path) -> None:
    """A response on three lines (growing usage) is one response with the last line's figures."""
    read = read_sessions(find_session_files([project.parent / "claude"]))
    streamed = [p for p in read.pieces if p.usage.output_tokens == 57]
    assert len(streamed) == 1
    assert streamed[0].usage.input_tokens == 3 + 100 + 1000  # uncached + cache write + read
    assert read.duplicates == 2
    assert not [p for p in read.pieces if p.usage.output_tokens in (1, 20)]


def test_synthetic_and_malformed_lines_are_counted_and_skipped(project: Path) -> None:
    """``<synthetic>`` lines are not API calls; a torn line is named by file and line."""
    read = read_sessions(find_session_files([project.parent / "claude"]))
    assert read.synthetic == 1
    assert [(p.path.name, p.line) for p in read.malformed] == [("sess-A.jsonl", 8)]
    assert read.files == 4
    assert read.lines == 14
    assert len(read.pieces) == 7  # msg_01 to msg_05, msg_10 and msg_20


def test_import_writes_hour_segments_with_hand_computed_totals(project: Path) -> None:
    """Each session, role, model and hour becomes one event with the summed usage."""
    summary = _import(project)
    login = {
        (r["payload"]["role"], r["payload"]["model"], r["timestamp"]): r
        for r in records(project, "001-login")
    }
    assert set(login) == {
        ("session", "claude-opus-4-5", "2026-11-30T10:00:00+00:00"),
        ("subagent", "claude-haiku-4-5", "2026-11-30T10:00:00+00:00"),
        ("session", "claude-opus-4-5", "2026-11-30T11:00:00+00:00"),
    }
    ten = login[("session", "claude-opus-4-5", "2026-11-30T10:00:00+00:00")]
    assert _figures(ten) == (1103 + 1105, 57 + 200, 1000 + 1100, 100 + 0)
    assert ten["payload"]["responses"] == 2
    sub = login[("subagent", "claude-haiku-4-5", "2026-11-30T10:00:00+00:00")]
    assert _figures(sub) == (50 + 20, 10 + 5, 0, 0)
    eleven = login[("session", "claude-opus-4-5", "2026-11-30T11:00:00+00:00")]
    assert _figures(eleven) == (10 + 300 + 1200, 40, 1200, 300)
    assert eleven["payload"]["cache_write_1h_tokens"] == 200
    for record in login.values():
        payload = record["payload"]
        assert payload["wp_id"] == "WP01"
        assert payload["agent"] == "claude"
        assert payload["source"] == "import:claude-code"
        assert payload["session_id"] == "sess-A"
        assert record["event_type"] == "ExecutionEvent"
    assert summary["totals"] == {
        "input_tokens": 2208 + 70 + 1510 + 8,
        "output_tokens": 257 + 15 + 40 + 2,
        "cache_read_tokens": 2100 + 1200 + 4,
        "cache_write_tokens": 100 + 300 + 3,
        "reasoning_tokens": 0,
    }
    assert summary["events_new"] == 4
    assert summary["sessions_other_projects"] == 1


def test_session_of_the_project_root_goes_to_the_catch_all_feature(project: Path) -> None:
    """A session on ``main`` in the project's root names no feature: 000-unassigned gets it."""
    _import(project)
    [event] = records(project, "000-unassigned")
    assert _figures(event) == (1 + 3 + 4, 2, 4, 3)
    assert event["payload"]["wp_id"] is None


def test_other_repositories_are_imported_only_when_asked(project: Path) -> None:
    """A session whose cwd is outside the project is skipped, unless all_projects is set."""
    _import(project)

    def other_repo() -> list[dict[str, object]]:
        return [
            r for r in records(project, "000-unassigned") if r["payload"]["session_id"] == "sess-C"
        ]

    assert not other_repo()
    summary = _import(project, all_projects=True)
    assert summary["events_new"] == 1
    [other] = other_repo()
    assert _figures(other) == (100, 100, 0, 0)


def test_importing_twice_adds_nothing(project: Path) -> None:
    """The second import of the same files finds every event already in the logs."""
    _import(project)
    before = (project / "kitty-specs/001-login/execution.events.jsonl").read_bytes()
    again = _import(project)
    assert again["events_new"] == 0
    assert again["events_present"] == 4
    assert (project / "kitty-specs/001-login/execution.events.jsonl").read_bytes() == before


def test_a_grown_session_adds_exactly_the_new_usage(project: Path) -> None:
    """Lines appended to a session after an import become new events; nothing else changes."""
    _import(project)
    session = next((project.parent / "claude").rglob("sess-A.jsonl"))
    line = {
        "type": "assistant",
        "timestamp": "2026-11-30T12:10:00.000Z",
        "sessionId": "sess-A",
        "cwd": f"{project}/.worktrees/001-login-WP01",
        "gitBranch": "001-login-WP01",
        "requestId": "req_06",
        "message": {
            "id": "msg_06",
            "model": "claude-opus-4-5",
            "usage": {
                "input_tokens": 7,
                "output_tokens": 9,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1300,
            },
        },
    }
    with session.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    grown = _import(project)
    assert grown["events_new"] == 1
    assert grown["totals"]["input_tokens"] == 7 + 1300
    assert grown["totals"]["output_tokens"] == 9
    assert len(records(project, "001-login")) == 4


def test_an_hour_not_over_is_left_for_a_later_import(project: Path) -> None:
    """Responses of the current hour are not imported yet, so no event stands for part of one."""
    summary = _import(project, now=datetime(2026, 11, 30, 11, 30, tzinfo=UTC))
    assert summary["segments_open"] == 1  # 11:00-12:00, still going
    assert {r["timestamp"] for r in records(project, "001-login")} == {"2026-11-30T10:00:00+00:00"}
    later = _import(project)
    assert later["events_new"] == 1
    assert later["events_present"] == 3


def test_since_leaves_out_earlier_responses(project: Path) -> None:
    """Only responses at or after ``since`` are imported."""
    summary = _import(project, since=datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    assert summary["events_new"] == 1
    assert summary["totals"]["output_tokens"] == 40
    assert _import(project, since=date(2026, 12, 1))["events_new"] == 0


def test_dry_run_reports_the_totals_and_writes_nothing(project: Path) -> None:
    """A dry run says what would be imported, with totals, and leaves the logs as they were."""
    dry = _import(project, dry_run=True)
    assert dry["events_new"] == 4
    assert dry["totals"]["input_tokens"] == 3796
    assert not (project / "kitty-specs/001-login/execution.events.jsonl").exists()
    assert not (project / "kitty-specs/000-unassigned").exists()


def test_event_ids_come_from_the_source_ids_and_read_as_events(project: Path) -> None:
    """An event's id is a ULID of its hour and a digest of the session's ids: the same each time."""
    _import(project)
    [event] = records(project, "000-unassigned")
    key = (
        "5f0c9e43-0000-4000-8000-000000000000",
        "session",
        "claude-sonnet-4-5",
        str(project),
        "main",
        "2026-11-30T09",
    )
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert event["event_id"] == segment_id("claude-code", key, start)
    assert event["event_id"] != segment_id("codex", key, start)
    assert event["event_id"] < "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"  # a ULID, time-ordered


def test_a_session_recorded_by_run_is_not_counted_twice(project: Path) -> None:
    """A session whose id a ``run`` event carries is skipped by the import."""
    ran = spec_kitty(
        "agent",
        "telemetry",
        "run",
        "--feature",
        "000-unassigned",
        "--role",
        "implementer",
        "--",
        *agent("claude", "-p", "go", "--output-format", "json"),
        cwd=project,
    )
    assert ran.returncode == 0, ran.stderr
    [recorded] = records(project, "000-unassigned")
    assert recorded["payload"]["session_id"] == "5f0c9e43-0000-4000-8000-000000000000"
    summary = _import(project)
    assert summary["sessions_recorded_by_run"] == 1
    assert records(project, "000-unassigned") == [recorded]
    assert summary["totals"]["output_tokens"] == 257 + 15 + 40


def test_branch_patterns_come_from_the_config(project: Path, tmp_path: Path) -> None:
    """A project naming branches otherwise maps them with its own ``import.patterns``."""
    (project / ".kittify").mkdir()
    (project / ".kittify/telemetry.yaml").write_text(
        "import:\n  catch_all: 999-misc\n  patterns:\n"
        "    - '^feature/(?P<feature>\\d{3}-[a-z-]+)/(?P<wp>WP\\d+)$'\n"
    )
    for session in (project.parent / "claude").rglob("*.jsonl"):
        text = session.read_text().replace('"001-login-WP01"', '"feature/001-login/WP07"')
        session.write_text(text.replace(".worktrees/001-login-WP01", ".worktrees/login"))
    _import(project)
    wps = {r["payload"]["wp_id"] for r in records(project, "001-login")}
    assert wps == {"WP07"}
    assert len(records(project, "999-misc")) == 1


def test_a_bad_import_section_names_the_file_and_key(project: Path) -> None:
    """A pattern without a feature group is refused before anything is read."""
    (project / ".kittify").mkdir()
    (project / ".kittify/telemetry.yaml").write_text("import:\n  patterns: ['^(?P<wp>WP\\d+)$']\n")
    with pytest.raises(ConfigError, match=r"telemetry\.yaml: import\.patterns\[0\]: needs"):
        _import(project)


def test_command_prints_json_summary_and_warns_of_malformed_lines(project: Path) -> None:
    """``import claude-code --json`` prints the summary; the torn line is named on stderr."""
    done = spec_kitty(
        "agent",
        "telemetry",
        "import",
        "claude-code",
        "--path",
        str(project.parent / "claude"),
        "--json",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["events_new"] == 4
    assert document["malformed_lines"] == 1
    assert b"sess-A.jsonl:8: not JSON" in done.stderr
    assert b"\x1b[" not in done.stderr  # no progress bar on a pipe


def test_command_dry_run_text_names_features_and_totals(project: Path) -> None:
    """The text summary of a dry run names each feature with its counts."""
    done = spec_kitty(
        "agent",
        "telemetry",
        "import",
        "claude-code",
        "--path",
        str(project.parent / "claude"),
        "--dry-run",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.startswith("Would import 4 event(s) from 6 response(s) in 4 file(s)")
    assert "001-login: 3 event(s), input 3,788, output 312" in out
    assert not (project / "kitty-specs/001-login/execution.events.jsonl").exists()


def test_command_refuses_a_bad_since(project: Path) -> None:
    """A --since that is not a date exits 2 naming the flag."""
    done = spec_kitty(
        "agent", "telemetry", "import", "claude-code", "--since", "yesterday", cwd=project
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("Error: --since: not an ISO 8601 date")


def _response(session: str, at: str, message: str, output: int, cwd: str) -> str:
    line = {
        "type": "assistant",
        "timestamp": at,
        "sessionId": session,
        "cwd": cwd,
        "gitBranch": "001-login-WP01",
        "requestId": f"req_{message}",
        "message": {
            "id": message,
            "model": "claude-opus-4-5",
            "usage": {"input_tokens": 5, "output_tokens": output},
        },
    }
    return json.dumps(line) + "\n"


def test_a_resumed_session_repeating_responses_does_not_count_them_again(tmp_path: Path) -> None:
    """A response a resumed session's file repeats stays credited to the session that made it.

    Claude Code starts a new file when a session is resumed and repeats the
    responses it continues, with the same ids. Here the new file's name
    sorts first and its copy is stamped at the resume: the response still
    counts once, for the first session, so importing before and after the
    resume adds only the new response.
    """
    root = new_project(tmp_path / "project", "001-login")
    folder = tmp_path / "claude" / "-project"
    folder.mkdir(parents=True)
    cwd = f"{root}/.worktrees/001-login-WP01"
    (folder / "zz-first.jsonl").write_text(
        _response("zz-first", "2026-11-30T09:10:00.000Z", "msg_old", 40, cwd)
    )
    first = import_sessions("claude-code", root, paths=[tmp_path / "claude"], now=LATER)
    assert (first.events_new, first.totals["output_tokens"]) == (1, 40)
    (folder / "aa-resumed.jsonl").write_text(
        _response("aa-resumed", "2026-11-30T13:00:00.000Z", "msg_old", 40, cwd)
        + _response("aa-resumed", "2026-11-30T13:05:00.000Z", "msg_new", 7, cwd)
    )
    read = read_sessions(find_session_files([tmp_path / "claude"]))
    assert sorted((p.session_id, p.usage.output_tokens) for p in read.pieces) == [
        ("aa-resumed", 7),
        ("zz-first", 40),
    ]
    second = import_sessions("claude-code", root, paths=[tmp_path / "claude"], now=LATER)
    assert (second.events_new, second.events_present, second.totals["output_tokens"]) == (1, 1, 7)

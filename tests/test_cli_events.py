"""`events`: its order, --limit and --reverse, filters of any case, notes on empty results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import at, run_event, spec_kitty, write_project
from spec_kitty_telemetry.cli import app
from spec_kitty_telemetry.testing import make_event

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two features with unrelated clocks, interleaved in time (001's small, 002's large)."""
    return write_project(
        tmp_path,
        run_event(
            "001-alpha", lamport=1, agent="claude", role="implementer", when="2025-11-03T09:00"
        ),
        run_event("001-alpha", lamport=2, agent="codex", role="reviewer", when="2025-11-10T09:00"),
        run_event(
            "002-beta", lamport=50, agent="gemini", role="implementer", when="2025-11-05T09:00"
        ),
        run_event(
            "002-beta",
            lamport=51,
            agent="claude",
            role="implementer",
            when="2025-11-12T09:00",
            success=False,
        ),
        make_event(  # a phase change of 002-beta, before its runs in both clock and time
            event_type="PhaseTransition",
            aggregate_id="002-beta",
            payload={"phase": "review"},
            lamport_clock=49,
            timestamp=at("2025-11-03T10:00:00"),
        ),
    )


def _events(project: Path, *args: str) -> list[str]:
    """The agents (or event types) that `events --json` lists, in its order."""
    result = runner.invoke(app, ["agent", "telemetry", "events", "--repo", str(project), *args])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["events"]
    return [e["payload"].get("agent") or e["event_type"] for e in found]


def test_events_are_listed_newest_first_across_features_by_time(project: Path):
    """A plain listing never jumps between dates: newest first, features interleaved by time."""
    assert _events(project, "--json") == [
        "claude",  # 11-12, 002-beta
        "codex",  # 11-10, 001-alpha
        "gemini",  # 11-05, 002-beta
        "PhaseTransition",  # 11-03 10:00, 002-beta
        "claude",  # 11-03 09:00, 001-alpha
    ]


def test_reverse_lists_oldest_first_and_limit_takes_the_newest(project: Path):
    """--reverse is the same order backwards; --limit 2 is the newest two, either way round."""
    newest = _events(project, "--json")
    assert _events(project, "--json", "--reverse") == newest[::-1]
    assert _events(project, "--json", "--limit", "2") == ["claude", "codex"]
    assert _events(project, "--json", "--limit", "2", "--reverse") == ["codex", "claude"]


def test_jsonl_and_the_table_follow_the_same_order(project: Path):
    """--jsonl lines and table rows come in the order --json gives (real process)."""
    lines = spec_kitty("agent", "telemetry", "events", "--jsonl", "--limit", "3", cwd=project)
    assert lines.returncode == 0, lines.stderr
    ids = [json.loads(line)["event_id"] for line in lines.stdout.decode().splitlines()]
    table = spec_kitty("agent", "telemetry", "events", "--limit", "3", cwd=project, columns=200)
    rows = [line for line in table.stdout.decode().splitlines() if " 2025-11-" in line]
    assert [row.split()[0:2] for row in rows] == [
        ["2025-11-12", "09:00:00"],
        ["2025-11-10", "09:00:00"],
        ["2025-11-05", "09:00:00"],
    ]
    document = json.loads(
        spec_kitty("agent", "telemetry", "events", "--json", "--limit", "3", cwd=project).stdout
    )
    assert [e["event_id"] for e in document["events"]] == ids


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--agent", "Claude"), ["claude", "claude"]),
        (("--agent", "CLAUDE", "--role", "Implementer"), ["claude", "claude"]),
        (("--type", "phasetransition"), ["PhaseTransition"]),
    ],
)
def test_agent_role_and_type_filters_ignore_case(
    project: Path, args: tuple[str, ...], expected: list[str]
):
    """--agent Claude finds claude's runs, as --model SONNET finds sonnet's."""
    assert _events(project, "--json", *args) == expected


def _empty(project: Path, *args: str) -> tuple[str, list[str]]:
    """Run `events` expecting nothing found: (stdout, the Note lines on stderr)."""
    done = spec_kitty("agent", "telemetry", "events", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode(), done.stderr.decode().splitlines()


@pytest.mark.parametrize(
    ("args", "note"),
    [
        (
            ("--role", "implementor"),
            "Note: --role 'implementor' matches no event; known roles: implementer, reviewer",
        ),
        (
            ("--type", "Bogus"),
            "Note: --type 'Bogus' matches no event; known event types: ExecutionEvent, "
            "PhaseTransition",
        ),
        (
            ("--agent", "cursor"),
            "Note: --agent 'cursor' matches no event; known agents: claude, codex, gemini",
        ),
        (
            ("--wp", "WP09"),
            "Note: --wp 'WP09' matches no event; known work packages: WP01",
        ),
        (
            ("--since", "2026-01-01"),
            "Note: --since 2026-01-01 matches no event; the events run from "
            "2025-11-03 09:00 to 2025-11-12 09:00 (UTC)",
        ),
        (
            ("--agent", "codex", "--failure"),
            "Note: each filter matches some event, but no event matches all of them together",
        ),
    ],
)
def test_a_filter_that_matches_nothing_is_named_with_the_known_values(
    project: Path, args: tuple[str, ...], note: str
):
    """`No events found.` on stdout, and one note on stderr saying which filter is to blame."""
    stdout, notes = _empty(project, *args)
    assert stdout == "No events found.\n"
    assert notes == [note]


def test_no_filter_note_when_the_feature_pattern_already_explains(project: Path):
    """--feature matching no folder gets its own note, not a list of every field's values."""
    stdout, notes = _empty(project, "--feature", "009-*", "--role", "implementor")
    assert stdout == "No events found.\n"
    assert len(notes) == 1
    assert notes[0].startswith("Note: --feature '009-*' matches no feature folder with events")


def test_json_output_stays_one_document_with_the_note_on_stderr(project: Path):
    """--json with nothing found: {"events": []} on stdout, the note on stderr only."""
    done = spec_kitty("agent", "telemetry", "events", "--json", "--role", "x", cwd=project)
    assert json.loads(done.stdout) == {"events": []}
    assert done.stderr.decode().startswith("Note: --role 'x' matches no event; known roles:")


REPO = Path(__file__).resolve().parent.parent


def _readme_examples() -> list[tuple[str, str]]:
    """Each `$ spec-kitty agent telemetry events ...` of the README with the output shown for it.

    Only from a console block that reads the example logs as they are: one whose
    commands before the example are `events` commands too (a block that records
    first shows a project of its own).
    """
    examples = []
    blocks = (REPO / "README.md").read_text().split("```console\n")[1:]
    for block in blocks:
        lines = block.split("```")[0].splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for start, end in zip(starts, [*starts[1:], len(lines)], strict=False):
            command = lines[start][2:]
            if not command.startswith("spec-kitty agent telemetry events"):
                break  # the block records or changes something first: not the example logs
            examples.append((command, "\n".join(lines[start + 1 : end])))
    return examples


@pytest.mark.parametrize(("command", "shown"), _readme_examples())
def test_readme_events_examples_are_real_output(tmp_path: Path, command: str, shown: str):
    """Every `events` example in the README is what the command prints over the example logs."""
    import shlex
    import shutil

    shutil.copytree(REPO / "kitty-specs", tmp_path / "kitty-specs")
    done = spec_kitty(*shlex.split(command)[1:], cwd=tmp_path)
    printed = done.stderr.decode() + done.stdout.decode()
    assert done.returncode == 0, printed
    lines = [line.rstrip() for line in printed.splitlines()]
    assert "\n".join(lines).strip("\n") == shown.strip("\n")

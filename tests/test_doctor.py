"""``doctor``: what is wrong with the logs and the repository, found without changing a byte."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helpers import new_project, spec_kitty
from spec_kitty_telemetry.doctor import diagnose
from spec_kitty_telemetry.repo_setup import init_repository

LOG = "execution.events.jsonl"


def git(root: Path, *args: str) -> None:
    """Run git in ``root``."""
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def emit(root: Path, feature: str = "001-x") -> None:
    """Record one event through the real CLI."""
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", feature, "--role", "implementer",
        "--agent", "claude", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def set_up(tmp_path: Path, *, events: int = 2) -> Path:
    """A git repository set up by init, with ``events`` events in 001-x."""
    project = new_project(tmp_path / "project")
    git(project, "init", "-q")
    init_repository(project)
    for _ in range(events):
        emit(project)
    return project


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time, outside .git."""
    return {
        str(p): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and ".git" not in p.parts
    }


def doctor(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run the real `doctor` command."""
    return spec_kitty("agent", "telemetry", "doctor", *args, cwd=root)


def test_a_set_up_project_is_healthy(tmp_path):
    """After init and emits in git: exit 0, the events counted, the clock matching the log."""
    project = set_up(tmp_path, events=3)
    done = doctor(project, "--json")
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["healthy"] is True
    [log] = report["logs"]
    assert log["path"] == f"kitty-specs/001-x/{LOG}"
    assert (log["events"], log["duplicates"], log["malformed"]) == (3, 0, {})
    assert log["max_lamport_clock"] == 3
    assert log["clock_file"] == {"state": "ok", "value": 3}
    assert report["problems"] == []


def test_malformed_lines_are_counted_by_the_reason_the_line_rule_gives(tmp_path):
    """Garbage, arrays, clocks out of range and overflowing timestamps: each by reason, exit 1."""
    project = set_up(tmp_path, events=1)
    log = project / "kitty-specs" / "001-x" / LOG
    good = json.loads(log.read_text().splitlines()[0])
    out_of_range = good | {"event_id": "01KAAAAAAAAAAAAAAAAAAAAAAA", "lamport_clock": 2**53}
    overflow = good | {"event_id": "01KAAAAAAAAAAAAAAAAAAAAAAB",
                       "timestamp": "0001-01-01T00:00:00+05:00"}  # fmt: skip
    with log.open("a") as handle:
        handle.write("not json\n[1, 2]\n")
        handle.write(json.dumps(out_of_range) + "\n" + json.dumps(overflow) + "\n")
    report = diagnose(project)
    [health] = report.logs
    assert health.events == 1
    assert health.malformed == {"not JSON": 1, "a JSON array, not an object": 1,
                                "lamport_clock": 1, "timestamp": 1}  # fmt: skip
    assert health.malformed_lines == [2, 3, 4, 5]
    assert not report.healthy
    assert doctor(project).returncode == 1


def test_duplicate_lines_are_counted_but_not_a_problem(tmp_path):
    """A line a union merge left twice is reported as a duplicate; the log is still healthy."""
    project = set_up(tmp_path, events=2)
    log = project / "kitty-specs" / "001-x" / LOG
    first = log.read_text().splitlines()[0]
    with log.open("a") as handle:
        handle.write(first + "\n")
    report = diagnose(project)
    assert (report.logs[0].events, report.logs[0].duplicates) == (2, 1)
    assert report.healthy


def test_clock_file_states(tmp_path):
    """The clock file is reported missing, corrupt (bytes or a FIFO: no hang) or with its value."""
    project = set_up(tmp_path, events=2)
    clock = project / "kitty-specs" / "001-x" / ".telemetry-clock.json"
    assert (diagnose(project).logs[0].clock_state, diagnose(project).logs[0].clock_value) == (
        "ok", 2)  # fmt: skip
    clock.write_bytes(b"\x00garbage")
    assert diagnose(project).logs[0].clock_state == "corrupt"
    clock.unlink()
    assert diagnose(project).logs[0].clock_state == "missing"
    os.mkfifo(clock)
    assert diagnose(project).logs[0].clock_state == "corrupt"


def test_a_log_merged_without_union_is_a_problem(tmp_path):
    """Without merge=union for the logs, doctor says so and points at init."""
    project = set_up(tmp_path, events=1)
    (project / ".gitattributes").write_text("")
    report = diagnose(project)
    assert any("merge=union" in problem for problem in report.logs[0].problems)
    assert not report.healthy


def test_unignored_sidecars_are_a_problem(tmp_path):
    """Without the ignore rules, doctor names the sidecars git would commit."""
    project = set_up(tmp_path, events=1)
    (project / ".gitignore").write_text("")
    report = diagnose(project)
    [problem] = report.problems
    assert ".telemetry-clock.json" in problem
    assert ".execution.events.jsonl.lock" in problem
    assert ".execution.events.jsonl.ids" in problem
    assert ".execution.events.jsonl.projection-keep-" in problem


def test_outside_git_the_git_checks_are_a_note(tmp_path):
    """Not a git repository: the git checks are skipped with a note, not failed."""
    project = new_project(tmp_path / "project")
    emit(project)
    report = diagnose(project)
    assert report.healthy
    assert any("not a git repository" in note for note in report.notes)


def test_a_log_linked_outside_the_project_is_reported(tmp_path):
    """A log committed as a link to a file elsewhere is unsafe to write, and doctor says so."""
    project = set_up(tmp_path, events=0)
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    (project / "kitty-specs" / "002-y").mkdir()
    (project / "kitty-specs" / "002-y" / LOG).symlink_to(outside)
    report = diagnose(project)
    [health] = report.logs
    assert any("unsafe to write" in p and "link" in p for p in health.problems)


def test_a_secret_in_the_config_is_reported_without_printing_it(tmp_path):
    """A token committed in .kittify/telemetry.yaml is a problem naming the line, not the value."""
    project = set_up(tmp_path, events=1)
    token = "ghp_" + "aB3dE6" * 6
    config = project / ".kittify" / "telemetry.yaml"
    config.write_text("node_id: laptop\nwebhook:\n  auth: " + token + "\n")
    done = doctor(project)
    assert done.returncode == 1
    output = done.stdout.decode()
    assert ".kittify/telemetry.yaml:3" in output
    assert token not in output


def test_doctor_changes_nothing(tmp_path):
    """Every file's bytes and modification time are the same after doctor, even for a bad log."""
    project = set_up(tmp_path, events=2)
    with (project / "kitty-specs" / "001-x" / LOG).open("a") as handle:
        handle.write("garbage\n")
    (project / "kitty-specs" / "001-x" / ".telemetry-clock.json").write_text("{}")
    before = snapshot(project)
    doctor(project)
    doctor(project, "--json")
    assert snapshot(project) == before


def test_doctor_prints_one_summary_and_each_problem(tmp_path):
    """The text report names the project, the log's counts and each problem on its own line."""
    project = set_up(tmp_path, events=1)
    with (project / "kitty-specs" / "001-x" / LOG).open("a") as handle:
        handle.write("garbage\n")
    done = doctor(project)
    lines = done.stdout.decode().splitlines()
    assert lines[0].endswith(": 1 log, 1 problem")
    assert "1 event, 0 duplicate lines, 1 malformed (not JSON 1; line 2)" in lines[1]
    assert lines[-1] == "    problem: 1 malformed line"
    assert done.stderr == b""

"""``init``: git attributes, ignore rules and a config, written once and never clobbering."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import new_project, spec_kitty
from spec_kitty_telemetry.errors import ConfigError
from spec_kitty_telemetry.repo_setup import ATTRIBUTE_RULES, IGNORE_RULES, init_repository


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its output."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def emit(root: Path, feature: str, agent: str) -> None:
    """Record one event in ``feature`` through the real CLI."""
    result = spec_kitty(
        "agent", "telemetry", "emit", "--feature", feature, "--role", "implementer",
        "--agent", agent, cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_init_writes_the_rules_and_a_commented_config(tmp_path):
    """A bare folder gets .gitattributes, .gitignore and .kittify/telemetry.yaml."""
    report = init_repository(tmp_path)
    assert [c.path for c in report.changes] == [".gitattributes", ".gitignore",
                                                ".kittify/telemetry.yaml"]  # fmt: skip
    assert all(c.action == "created" for c in report.changes)
    attributes = (tmp_path / ".gitattributes").read_text().splitlines()
    assert set(ATTRIBUTE_RULES) <= set(attributes)
    assert set(IGNORE_RULES) <= set((tmp_path / ".gitignore").read_text().splitlines())
    config = (tmp_path / ".kittify" / "telemetry.yaml").read_text()
    assert all(line.startswith("#") for line in config.splitlines() if line.strip())


def test_init_twice_changes_nothing(tmp_path):
    """The second run reports no change and leaves every byte as the first run wrote it."""
    init_repository(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert init_repository(tmp_path).changes == []
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_init_keeps_user_content_byte_for_byte(tmp_path):
    """Existing files keep their content as a prefix, even without a final newline."""
    (tmp_path / ".gitignore").write_bytes(b"*.log\r\nbuild/")
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "telemetry.yaml").write_text("node_id: mine\n")
    report = init_repository(tmp_path)
    ignore = (tmp_path / ".gitignore").read_bytes()
    assert ignore.startswith(b"*.log\r\nbuild/\n")
    assert [c.path for c in report.changes] == [".gitattributes", ".gitignore"]
    assert (tmp_path / ".kittify" / "telemetry.yaml").read_text() == "node_id: mine\n"


def test_init_adds_only_missing_lines(tmp_path):
    """A rule already present (spaced differently) is not added again."""
    (tmp_path / ".gitignore").write_text("  " + "  ".join(IGNORE_RULES[0].split()) + "\n")
    report = init_repository(tmp_path)
    change = next(c for c in report.changes if c.path == ".gitignore")
    assert change.lines == IGNORE_RULES[1:]


def test_init_does_not_write_through_a_symlink(tmp_path):
    """A .gitignore that is a link to a file elsewhere is refused; the target is unchanged."""
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / ".gitignore").symlink_to(outside)
    with pytest.raises(ConfigError, match=r"\.gitignore"):
        init_repository(project)
    assert outside.read_text() == "keep\n"


def test_after_init_sidecars_stay_out_of_git_status(tmp_path):
    """After real emits, git sees the log and nothing else the package wrote."""
    project = new_project(tmp_path)
    git(project, "init", "-q")
    init_repository(project)
    emit(project, "001-x", "claude")
    emit(project, "001-x", "codex")
    feature = project / "kitty-specs" / "001-x"
    assert len(list(feature.iterdir())) > 1  # the log and its sidecars
    untracked = git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(untracked) == sorted([
        "?? .gitattributes", "?? .gitignore", "?? .kittify/telemetry.yaml",
        "?? kitty-specs/001-x/execution.events.jsonl",
    ])  # fmt: skip


def test_after_init_a_git_merge_of_two_branches_keeps_both_events(tmp_path):
    """Two branches appending to one log merge without conflict markers, both events kept."""
    project = new_project(tmp_path)
    git(project, "init", "-q", "-b", "main")
    init_repository(project)
    emit(project, "001-x", "claude")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "base")
    git(project, "checkout", "-qb", "other")
    emit(project, "001-x", "codex")
    git(project, "commit", "-qam", "other")
    git(project, "checkout", "-q", "main")
    emit(project, "001-x", "gemini")
    git(project, "commit", "-qam", "main")
    git(project, "merge", "-q", "--no-edit", "other")
    log = (project / "kitty-specs" / "001-x" / "execution.events.jsonl").read_text()
    assert "<<<<<<<" not in log
    agents = sorted(json.loads(line)["payload"]["agent"] for line in log.splitlines())
    assert agents == ["claude", "codex", "gemini"]


def test_init_command_prints_what_it_changed(tmp_path):
    """`init` lists each file and added line; `--json` gives the same as data; rerun says so."""
    project = new_project(tmp_path)
    first = spec_kitty("agent", "telemetry", "init", "--json", cwd=project)
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["root"] == str(project.resolve())
    assert [c["path"] for c in document["changes"]][:2] == [".gitattributes", ".gitignore"]
    again = spec_kitty("agent", "telemetry", "init", cwd=project)
    assert again.returncode == 0
    assert "nothing changed" in again.stdout.decode()

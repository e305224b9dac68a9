"""``run`` and ``track_invocation`` record what a run changed in its git work tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import log_records, spec_kitty
from spec_kitty_telemetry import track_invocation

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

FEATURE = "001-login"

#: A stand-in agent that edits the tree: creates one file, appends to another, commits nothing.
EDIT = (
    "from pathlib import Path; Path('made.py').write_text('a\\nb\\n');"
    "p = Path('README.md'); p.write_text(p.read_text() + 'more\\n')"
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec-kitty project that is a git repository with one commit and a dirty file."""
    root = tmp_path / "project"
    (root / "kitty-specs" / FEATURE).mkdir(parents=True)
    (root / "kitty-specs" / FEATURE / "spec.md").write_text("# spec\n")
    (root / "README.md").write_text("hello\n")
    git(root, "init", "-q")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    (root / "wip.txt").write_text("dirty before the run\n")
    return root


def run(project: Path, *options: str) -> dict:  # type: ignore[type-arg]
    done = spec_kitty(
        *("agent", "telemetry", "run", "--feature", FEATURE, "--role", "implementer"),
        *options,
        *("--", sys.executable, "-c", EDIT),
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    records = log_records(project / "kitty-specs" / FEATURE)
    assert len(records) == 1
    return records[0]["payload"]


def test_run_records_the_files_and_lines_the_agent_changed(project: Path) -> None:
    """By default ``run`` stores its own changes; a file dirty before it and its log are not."""
    changes = run(project)["changes"]
    head = git(project, "rev-parse", "HEAD").strip()
    assert changes == {
        "files_created": 1,
        "files_modified": 1,
        "files_deleted": 0,
        "files_renamed": 0,
        "binary_files": 0,
        "lines_added": 3,
        "lines_deleted": 0,
        "created": ["made.py"],
        "modified": ["README.md"],
        "deleted": [],
        "renamed": [],
        "paths_truncated": False,
        "head_before": head,
        "head_after": head,
        "commits": 0,
    }


def test_no_changes_leaves_the_changes_out(project: Path) -> None:
    """``--no-changes`` records the run without any changes field (not captured, not unknown)."""
    payload = run(project, "--no-changes")
    assert "changes" not in payload
    assert "changes_error" not in payload


def test_run_outside_git_records_changes_as_unknown(tmp_path: Path) -> None:
    """In a project that is not a git work tree the run is recorded with changes unknown."""
    root = tmp_path / "plain"
    (root / "kitty-specs" / FEATURE).mkdir(parents=True)
    (root / "README.md").write_text("hello\n")
    payload = run(root)
    assert payload["changes"] is None
    assert payload["changes_error"] == "changes unknown: not inside a git work tree"
    assert payload["success"] is True


def test_track_invocation_captures_changes_of_a_given_tree(project: Path, tmp_path: Path) -> None:
    """``capture_changes=<path>`` watches that work tree, wherever the orchestrator runs."""
    feature_dir = project / "kitty-specs" / FEATURE
    with track_invocation(
        feature_dir, FEATURE, agent="claude", role="implementer", capture_changes=project
    ):
        (project / "wip.txt").unlink()
    payload = log_records(feature_dir)[0]["payload"]
    assert payload["changes"]["deleted"] == ["wip.txt"]
    assert payload["changes"]["lines_deleted"] == 1


def test_track_invocation_without_capture_records_no_changes(project: Path) -> None:
    """By default the hooks do not look at the work tree."""
    feature_dir = project / "kitty-specs" / FEATURE
    with track_invocation(feature_dir, FEATURE, agent="claude", role="implementer"):
        (project / "x.txt").write_text("x\n")
    assert "changes" not in log_records(feature_dir)[0]["payload"]

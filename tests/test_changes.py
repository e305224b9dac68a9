"""What a run changed in its git work tree, measured in real repositories made by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from spec_kitty_telemetry.changes import ChangeCapture, RunChanges

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit: two text files and an event log under kitty-specs/."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    (root / "app.py").write_text("one\ntwo\nthree\n")
    (root / "notes.txt").write_text("keep\n")
    feature = root / "kitty-specs" / "001-login"
    feature.mkdir(parents=True)
    (feature / "execution.events.jsonl").write_text('{"old": 1}\n')
    (feature / "spec.md").write_text("# spec\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def captured(repo: Path, during, **options) -> RunChanges:  # type: ignore[no-untyped-def]
    capture = ChangeCapture(repo, **options)
    capture.start()
    during()
    return capture.finish()


def test_created_modified_and_deleted_files_are_counted_with_their_lines(repo: Path) -> None:
    """Files created, modified and deleted during the run are listed and their lines summed."""

    def run() -> None:
        (repo / "new.py").write_text("a\nb\n")
        (repo / "app.py").write_text("one\nTWO\nthree\nfour\n")
        (repo / "notes.txt").unlink()

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert (changes.files_created, changes.files_modified, changes.files_deleted) == (1, 1, 1)
    assert changes.created == ["new.py"]
    assert changes.modified == ["app.py"]
    assert changes.deleted == ["notes.txt"]
    assert (changes.lines_added, changes.lines_deleted) == (2 + 2, 1 + 1)
    assert changes.commits == 0
    assert changes.head_before == changes.head_after == git(repo, "rev-parse", "HEAD").strip()


def test_a_tree_dirty_before_the_run_counts_only_what_the_run_changed(repo: Path) -> None:
    """Edits and untracked files already there at the start are not the run's; its own edit is."""
    (repo / "app.py").write_text("one\nchanged before\nthree\n")
    (repo / "scratch.txt").write_text("untracked before the run\n")
    git(repo, "add", "app.py")  # even staged: the run's baseline is the tree, not HEAD

    def run() -> None:
        (repo / "app.py").write_text("one\nchanged before\nthree\nadded by the run\n")

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert changes.modified == ["app.py"]
    assert changes.created == []
    assert changes.deleted == []
    assert (changes.lines_added, changes.lines_deleted) == (1, 0)


def test_the_users_index_and_staged_changes_are_left_alone(repo: Path) -> None:
    """Snapshots go through a private index: what the user staged stays staged, nothing more."""
    (repo / "app.py").write_text("staged\n")
    git(repo, "add", "app.py")
    (repo / "unstaged.txt").write_text("not staged\n")
    staged_before = git(repo, "diff", "--cached", "--name-status")
    status_before = git(repo, "status", "--porcelain")

    changes = captured(repo, lambda: (repo / "more.txt").write_text("x\n"))
    assert changes.known, changes.error
    assert git(repo, "diff", "--cached", "--name-status") == staged_before
    after = git(repo, "status", "--porcelain").splitlines()
    assert sorted(after) == sorted([*status_before.splitlines(), "?? more.txt"])


def test_a_commit_made_during_the_run_is_counted_and_its_files_still_are(repo: Path) -> None:
    """HEAD before and after and the commits made are recorded; committed edits still count."""
    before = git(repo, "rev-parse", "HEAD").strip()

    def run() -> None:
        (repo / "feature.py").write_text("x = 1\n")
        git(repo, "add", "feature.py")
        git(repo, "commit", "-q", "-m", "one")
        (repo / "feature.py").write_text("x = 2\n")
        git(repo, "commit", "-q", "-am", "two")

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert changes.head_before == before
    assert changes.head_after == git(repo, "rev-parse", "HEAD").strip() != before
    assert changes.commits == 2
    assert changes.created == ["feature.py"]
    assert (changes.lines_added, changes.lines_deleted) == (1, 0)


def test_a_rename_is_one_renamed_file_with_its_old_and_new_name(repo: Path) -> None:
    """A moved file is reported as renamed (old, new), not as a deletion plus a creation."""

    def run() -> None:
        (repo / "app.py").rename(repo / "main.py")

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert changes.files_renamed == 1
    assert changes.renamed == [["app.py", "main.py"]]
    assert (changes.files_created, changes.files_deleted) == (0, 0)
    assert (changes.lines_added, changes.lines_deleted) == (0, 0)


def test_a_binary_file_is_counted_without_lines(repo: Path) -> None:
    """Binary files count as files (and in binary_files) but add no line figures."""

    def run() -> None:
        (repo / "image.bin").write_bytes(bytes(range(256)) * 4)
        (repo / "notes.txt").write_text("keep\nplus\n")

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert changes.created == ["image.bin"]
    assert changes.binary_files == 1
    assert (changes.lines_added, changes.lines_deleted) == (1, 0)


def test_sidecars_and_ignored_files_are_not_changes(repo: Path) -> None:
    """Event logs, clock, lock, index and temp files under kitty-specs/, ignored files: left out."""
    (repo / ".gitignore").write_text("build/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore build")
    feature = repo / "kitty-specs" / "001-login"

    def run() -> None:
        with (feature / "execution.events.jsonl").open("a") as log:
            log.write('{"new": 2}\n')
        (feature / ".telemetry-clock.json").write_text("{}")
        (feature / ".telemetry-clock.json.123.tmp").write_text("{}")
        (feature / ".execution.events.jsonl.lock").write_text("")
        (feature / ".execution.events.jsonl.index").write_text("{}")
        (repo / "kitty-specs" / "002-new").mkdir()
        (repo / "kitty-specs" / "002-new" / "execution.events.jsonl").write_text("{}\n")
        (repo / "build").mkdir()
        (repo / "build" / "out.o").write_text("object\n")
        (feature / "spec.md").write_text("# spec\nmore\n")  # a real change in kitty-specs/

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert changes.created == []
    assert changes.modified == ["kitty-specs/001-login/spec.md"]


def test_sidecars_of_a_nested_kitty_specs_folder_and_projections_are_not_changes(
    repo: Path,
) -> None:
    """A project below the top (sub/kitty-specs/...) and its projection files are left out too.

    A user file that merely sits in kitty-specs/ under another name still counts.
    """
    nested = repo / "service" / "kitty-specs" / "003-api"
    nested.mkdir(parents=True)
    feature = repo / "kitty-specs" / "001-login"

    def run() -> None:
        (nested / "execution.events.jsonl").write_text("{}\n")
        (nested / ".execution.events.jsonl.projection").write_text("{}")
        (nested / ".telemetry-clock.json").write_text("{}")
        (feature / ".execution.events.jsonl.projection-time").write_text("{}")
        (feature / ".execution.events.jsonl.index.json").write_text("{}")
        (nested / "plan.md").write_text("# plan\n")

    changes = captured(repo, run)
    assert changes.known, changes.error
    assert changes.created == ["service/kitty-specs/003-api/plan.md"]
    assert changes.modified == []


def test_paths_are_capped_but_counts_stay_exact(repo: Path) -> None:
    """Beyond max_paths the lists stop growing, paths_truncated is set, the counts are exact."""

    def run() -> None:
        for number in range(7):
            (repo / f"file{number}.txt").write_text(f"{number}\n")

    changes = captured(repo, run, max_paths=3)
    assert changes.files_created == 7
    assert changes.created == ["file0.txt", "file1.txt", "file2.txt"]
    assert changes.paths_truncated is True
    assert changes.lines_added == 7


def test_a_run_started_in_a_subfolder_sees_the_whole_work_tree(repo: Path) -> None:
    """The whole work tree is compared, paths from its top, wherever the run started."""
    sub = repo / "kitty-specs" / "001-login"

    def run() -> None:
        (repo / "top.txt").write_text("top\n")

    changes = captured(sub, run)
    assert changes.created == ["top.txt"]


def test_outside_a_git_repository_the_changes_are_unknown(tmp_path: Path) -> None:
    """Not in a work tree: no figures, and the reason says so."""
    folder = tmp_path / "plain"
    folder.mkdir()
    changes = captured(folder, lambda: (folder / "x").write_text("x"))
    assert not changes.known
    assert changes.error == "changes unknown: not inside a git work tree"
    assert changes.payload_fields() == {"changes": None, "changes_error": changes.error}


def test_without_git_the_changes_are_unknown(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git missing from PATH: the run is not disturbed and the changes are unknown, with why."""
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    changes = captured(repo, lambda: (repo / "x").write_text("x"))
    assert changes.error == "changes unknown: git is not installed (not on PATH)"


def test_slow_git_gives_unknown_changes_within_the_time_limit(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git slower than the limit is abandoned: changes unknown, the caller held up no longer."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow = bin_dir / "git"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    capture = ChangeCapture(repo, timeout=0.5)
    capture.start()
    changes = capture.finish()
    assert changes.error == "changes unknown: git took longer than 0.5s"


def _slow_write_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a git on PATH whose write-tree writes its pid, then hangs; other commands are git's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "write-tree.pid"
    (bin_dir / "git").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = write-tree ]; then echo $$ > {pid_file}; exec sleep 30; fi\n'
        f'exec {GIT} "$@"\n'
    )
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return pid_file


def test_the_start_snapshot_does_not_wait_for_its_tree_and_a_stuck_one_is_abandoned(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """start() returns once the index holds the start state; a write-tree that never ends
    makes finish() report unknown changes within the limit instead of blocking."""
    _slow_write_tree(tmp_path, monkeypatch)
    capture = ChangeCapture(repo, timeout=3)
    started = time.monotonic()
    capture.start()
    assert time.monotonic() - started < 2.5
    changes = capture.finish()
    assert changes.error == "changes unknown: git took longer than 3s"
    assert time.monotonic() - started < 6


def test_close_without_finish_stops_the_start_snapshots_git(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capture closed before finish() (the agent could not start) leaves no git running."""
    pid_file = _slow_write_tree(tmp_path, monkeypatch)
    capture = ChangeCapture(repo)
    capture.start()
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    capture.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_edits_made_the_moment_start_returns_are_the_runs(repo: Path) -> None:
    """The start tree is written while the agent begins; what it writes at once still counts."""
    for number in range(5):
        capture = ChangeCapture(repo)
        capture.start()
        (repo / "app.py").write_text(f"run {number}\n")
        (repo / f"made{number}.txt").write_text("new\n")
        changes = capture.finish()
        assert changes.known, changes.error
        assert changes.modified == ["app.py"]
        assert changes.created == [f"made{number}.txt"]


def test_finish_without_start_is_unknown_not_an_error(repo: Path) -> None:
    """Calling finish() alone returns unknown changes instead of raising."""
    changes = ChangeCapture(repo).finish()
    assert not changes.known
    assert "start() was not called" in (changes.error or "")


def test_known_changes_payload_holds_every_figure(repo: Path) -> None:
    """payload_fields() stores the figures under ``changes`` and no error key."""
    changes = captured(repo, lambda: (repo / "n.txt").write_text("n\n"))
    fields = changes.payload_fields()
    assert set(fields) == {"changes"}
    assert fields["changes"]["created"] == ["n.txt"]
    assert fields["changes"]["files_created"] == 1
    assert fields["changes"]["lines_added"] == 1


def test_an_unborn_branch_records_the_commits_of_the_run(tmp_path: Path) -> None:
    """In a repository with no commit yet, HEAD before is None and the first commits are counted."""
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")

    def run() -> None:
        (root / "a.txt").write_text("a\n")
        git(root, "add", "a.txt")
        git(root, "commit", "-q", "-m", "first")

    changes = captured(root, run)
    assert changes.known, changes.error
    assert changes.head_before is None
    assert changes.head_after is not None
    assert changes.commits == 1
    assert changes.created == ["a.txt"]

"""Temp files of atomic writes: covered by the documented ignore rules, and cleaned up.

A process killed between writing a clock file's temp copy and renaming it
leaves the copy behind. Its name must match the ``.gitignore`` lines the
README documents, so ``git status`` stays clean, and the next write removes
copies whose process is gone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from spec_kitty_telemetry.clock import FileClockStorage
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.project import CLOCK_FILENAME

REPO = Path(__file__).resolve().parents[1]

# Writes the clock's temp copy, then stalls where the rename would happen, so
# the parent can kill it at exactly the moment a crash leaves the copy behind.
_STALLED_WRITER = """
import os, sys, time
from spec_kitty_telemetry.clock import FileClockStorage

def stall(*args, **kwargs):
    print("temp written", flush=True)
    time.sleep(60)

os.replace = stall
FileClockStorage(sys.argv[1]).save(7)
"""


def documented_ignore_lines() -> list[str]:
    """The telemetry lines of this repository's .gitignore (the README shows the same)."""
    lines = (REPO / ".gitignore").read_text().splitlines()
    return [line for line in lines if line.startswith("kitty-specs/")]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def make_repo(tmp_path: Path) -> Path:
    """A git repository with one committed feature and the documented ignore lines."""
    repo = tmp_path / "repo"
    feature = repo / "kitty-specs" / "001-x"
    feature.mkdir(parents=True)
    (feature / "spec.md").write_text("# 001\n")
    (repo / ".gitignore").write_text("\n".join(documented_ignore_lines()) + "\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "-m",
        "init",
    )
    return repo


def kill_mid_write(clock_path: Path) -> int:
    """Run a real process that is SIGKILLed with its temp copy written; return its pid."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _STALLED_WRITER, str(clock_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "temp written"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    return writer.pid


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_temp_copy_left_by_a_killed_clock_write_is_ignored_by_git(tmp_path: Path):
    """SIGKILL between temp write and rename leaves a file `git status` does not show."""
    repo = make_repo(tmp_path)
    feature = repo / "kitty-specs" / "001-x"
    assert emit_execution_record(feature, "001-x", "WP01", "claude", "implementer") is not None
    git(repo, "add", "kitty-specs/001-x/execution.events.jsonl")
    kill_mid_write(feature / CLOCK_FILENAME)
    assert leftovers(feature), "the kill should have left the temp copy behind"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == (
        "A  kitty-specs/001-x/execution.events.jsonl\n"
    )


def test_next_write_removes_temp_copies_of_dead_processes(tmp_path: Path):
    """A clock write removes temp copies whose writer has died, and keeps live ones."""
    feature = tmp_path / "kitty-specs" / "001-x"
    feature.mkdir(parents=True)
    clock_path = feature / CLOCK_FILENAME
    dead = kill_mid_write(clock_path)
    assert any(str(dead) in name for name in leftovers(feature))
    # A copy named after a live process is one being written: it stays.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = feature / f"{CLOCK_FILENAME}.{sleeper.pid}.tmp"
        live.write_text("{}")
        FileClockStorage(clock_path).save(9)
        assert leftovers(feature) == [live.name]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert FileClockStorage(clock_path).load() == 9

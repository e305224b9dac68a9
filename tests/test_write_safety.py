"""Writes stay inside the project: a repository cannot make the package write elsewhere.

A cloned repository is other people's input. It can commit a log, a sidecar or
a whole feature folder as a symlink; none of that may lead to a byte written
outside the project's ``kitty-specs/``. Every refusal is one warning naming the
path, and the emitters still never raise.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from helpers import log_records, spec_kitty
from spec_kitty_telemetry import _safe_paths
from spec_kitty_telemetry._safe_paths import open_folder, write_problem
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.errors import UnsafePathError
from spec_kitty_telemetry.jsonl_store import SimpleJsonStore
from spec_kitty_telemetry.project import CLOCK_FILENAME, EVENTS_FILENAME
from spec_kitty_telemetry.testing import make_execution_event

FEATURE = "002-x"
INDEX = f".{EVENTS_FILENAME}.index.json"
LOCK = f".{EVENTS_FILENAME}.lock"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the project holding a file that must never change."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "bashrc").write_text("export PATH=/usr/bin\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (links not followed)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(folder.rglob("*"))
    }


def emit(feature_dir: Path) -> dict[str, object] | None:
    return emit_execution_record(feature_dir, FEATURE, "WP01", "claude", "implementer")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_cli_emit_into_a_log_linked_outside_warns_and_leaves_the_target_alone(
    project: Path, outside: Path
):
    """`emit` with a committed log symlinked to an outside file: exit 0, one warning, no write."""
    feature = project / "kitty-specs" / FEATURE
    feature.mkdir()
    (feature / EVENTS_FILENAME).symlink_to(outside / "bashrc")
    before = snapshot(outside)
    done = spec_kitty(
        "agent", "telemetry", "emit", "--feature", FEATURE, "--role", "implementer",
        "--agent", "claude", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Warning: ")
    assert f"{FEATURE}/{EVENTS_FILENAME}" in lines[0]
    assert "symbolic link" in lines[0]
    assert snapshot(outside) == before


def test_emit_into_a_log_linked_outside_returns_none_with_one_warning(
    project: Path, outside: Path, caplog: pytest.LogCaptureFixture
):
    """The library emitter refuses the linked log: None, one warning naming it, target intact."""
    feature = project / "kitty-specs" / FEATURE
    feature.mkdir()
    log = feature / EVENTS_FILENAME
    log.symlink_to(outside / "bashrc")
    before = snapshot(outside)
    with caplog.at_level(logging.WARNING):
        assert emit(feature) is None
    [message] = warnings_of(caplog)
    assert str(log) in message
    assert snapshot(outside) == before


def test_feature_folder_linked_outside_gets_nothing_created_in_it(
    project: Path, outside: Path, caplog: pytest.LogCaptureFixture
):
    """A feature folder symlinked to an outside folder: refused before any file is made there."""
    feature = project / "kitty-specs" / FEATURE
    feature.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    with caplog.at_level(logging.WARNING):
        assert emit(feature) is None
    [message] = warnings_of(caplog)
    assert str(feature) in message
    assert "outside the project" in message
    assert snapshot(outside) == before


def test_kitty_specs_linked_outside_gets_no_feature_folder_created(
    tmp_path: Path, outside: Path, caplog: pytest.LogCaptureFixture
):
    """`kitty-specs` itself a link out of the project: no feature folder is created there."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "kitty-specs").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    with caplog.at_level(logging.WARNING):
        assert emit(root / "kitty-specs" / "003-new") is None
    assert len(warnings_of(caplog)) == 1
    assert snapshot(outside) == before


def test_link_between_feature_folders_inside_the_project_is_allowed(project: Path):
    """A feature folder linked to another one under kitty-specs stays inside: it is written."""
    real = project / "kitty-specs" / "001-real"
    real.mkdir()
    alias = project / "kitty-specs" / FEATURE
    alias.symlink_to("001-real", target_is_directory=True)
    record = emit(alias)
    assert record is not None
    assert [r["event_id"] for r in log_records(real)] == [record["event_id"]]
    assert (real / CLOCK_FILENAME).is_file()


def test_link_inside_the_project_but_out_of_kitty_specs_is_refused(project: Path):
    """Inside means inside kitty-specs/ (or .kittify/): a link to the project's src/ is refused."""
    docs = project / "src"
    docs.mkdir()
    (project / "kitty-specs" / FEATURE).symlink_to(docs, target_is_directory=True)
    assert emit(project / "kitty-specs" / FEATURE) is None
    assert list(docs.iterdir()) == []


def test_dangling_links_create_nothing_at_their_targets(project: Path, outside: Path):
    """Dangling links (folder or log) are refused; their missing targets are not created."""
    feature = project / "kitty-specs" / FEATURE
    feature.symlink_to(outside / "missing-folder", target_is_directory=True)
    assert emit(feature) is None
    other = project / "kitty-specs" / "003-y"
    other.mkdir()
    (other / EVENTS_FILENAME).symlink_to(outside / "missing.jsonl")
    assert emit(other) is None
    assert sorted(p.name for p in outside.iterdir()) == ["bashrc"]


@pytest.mark.parametrize("sidecar", [LOCK, INDEX, CLOCK_FILENAME])
def test_linked_sidecars_are_never_written_through(
    project: Path, outside: Path, sidecar: str, caplog: pytest.LogCaptureFixture
):
    """Lock, index or clock file linked outside: never written through, one warning.

    The lock guards the log, so without it nothing is recorded; the index and
    the clock are caches of the log, so the event is still recorded without them.
    """
    feature = project / "kitty-specs" / FEATURE
    feature.mkdir()
    (feature / sidecar).symlink_to(outside / "bashrc")
    before = snapshot(outside)
    with caplog.at_level(logging.WARNING):
        record = emit(feature)
    [message] = warnings_of(caplog)
    assert str(feature / sidecar) in message
    assert (record is None) == (sidecar == LOCK)
    assert (feature / sidecar).is_symlink()
    assert snapshot(outside) == before


def test_fifo_in_place_of_the_index_does_not_block_the_emit(
    project: Path, caplog: pytest.LogCaptureFixture
):
    """A FIFO where the index belongs is refused at once (no reader to wait for)."""
    feature = project / "kitty-specs" / FEATURE
    feature.mkdir()
    os.mkfifo(feature / INDEX)
    with caplog.at_level(logging.WARNING):
        assert emit(feature) is not None
    [message] = warnings_of(caplog)
    assert "FIFO" in message


def test_link_swapped_in_after_the_check_cannot_redirect_the_write(
    project: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
):
    """The folder is checked and held open: replacing it by a link afterwards changes nothing.

    The swap happens right after the check, as a racing process would do it;
    the file still lands in the folder that was checked, never outside.
    """
    feature = project / "kitty-specs" / FEATURE
    check = _safe_paths._check_inside
    swaps: list[Path] = []

    def check_then_swap(path: Path, real: str, zone: str) -> None:
        check(path, real, zone)
        if path == feature and feature.is_dir() and not feature.is_symlink():
            moved = project / "kitty-specs" / f"moved-{len(swaps)}"
            feature.rename(moved)
            feature.symlink_to(outside, target_is_directory=True)
            swaps.append(moved)

    monkeypatch.setattr(_safe_paths, "_check_inside", check_then_swap)
    feature.mkdir()
    with open_folder(feature) as folder:
        os.close(folder.open("written.txt", os.O_WRONLY | os.O_CREAT))
    [moved] = swaps
    assert (moved / "written.txt").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["bashrc"]
    # A whole emit raced the same way writes nothing outside either.
    feature.unlink()
    feature.mkdir()
    emit(feature)
    assert len(swaps) == 2
    assert sorted(p.name for p in outside.iterdir()) == ["bashrc"]


def test_store_outside_any_project_still_works_but_never_follows_a_link(tmp_path: Path):
    """SimpleJsonStore on a plain path (no kitty-specs/) writes; a link there is refused."""
    store = SimpleJsonStore(tmp_path / "plain" / "x.jsonl")
    assert store.save_event(make_execution_event())
    target = tmp_path / "target.jsonl"
    target.write_text("")
    (tmp_path / "link.jsonl").symlink_to(target)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        SimpleJsonStore(tmp_path / "link.jsonl").save_event(make_execution_event())
    assert target.read_text() == ""


def test_write_problem_names_links_and_outside_folders(project: Path, outside: Path):
    """write_problem (for doctor) says why a target would be refused, and None for a good one."""
    good = project / "kitty-specs" / "001-ok"
    good.mkdir()
    assert write_problem(good / EVENTS_FILENAME) is None
    assert write_problem(project / "kitty-specs" / "004-not-yet" / EVENTS_FILENAME) is None
    (good / CLOCK_FILENAME).symlink_to(outside / "bashrc")
    assert "symbolic link" in str(write_problem(good / CLOCK_FILENAME))
    linked = project / "kitty-specs" / FEATURE
    linked.symlink_to(outside, target_is_directory=True)
    assert "outside the project" in str(write_problem(linked / EVENTS_FILENAME))
    dangling = project / "kitty-specs" / "005-gone"
    dangling.symlink_to(outside / "nowhere", target_is_directory=True)
    assert "missing folder" in str(write_problem(dangling / EVENTS_FILENAME))
    assert sorted(p.name for p in outside.iterdir()) == ["bashrc"]

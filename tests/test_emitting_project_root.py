"""emitting_project_root: the project root the post-append hooks use, looked up once per folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spec_kitty_telemetry.config import emitting_project_root, find_project_root


def test_a_found_root_is_remembered_and_a_miss_is_looked_up_again(tmp_path: Path) -> None:
    """No project yet: None, and again None; once kitty-specs exists it is found, then kept."""
    feature = tmp_path / "work" / "kitty-specs" / "001-alpha"
    assert emitting_project_root(feature) is None
    feature.mkdir(parents=True)
    assert emitting_project_root(feature) == find_project_root(feature) == tmp_path / "work"
    shutil.rmtree(tmp_path / "work" / "kitty-specs")
    assert find_project_root(feature) is None
    assert emitting_project_root(feature) == tmp_path / "work"  # remembered for the process


def test_a_relative_folder_is_keyed_with_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same relative folder under two projects gives each its own root."""
    for name in ("one", "two"):
        (tmp_path / name / "kitty-specs" / "001-alpha").mkdir(parents=True)
    relative = Path("kitty-specs") / "001-alpha"
    monkeypatch.chdir(tmp_path / "one")
    assert emitting_project_root(relative) == (tmp_path / "one").resolve()
    monkeypatch.chdir(tmp_path / "two")
    assert emitting_project_root(relative) == (tmp_path / "two").resolve()
    assert emitting_project_root(None) == (tmp_path / "two").resolve()

"""``project.project_logs``: the feature logs a report reads, listed without opening a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_event, write_project
from spec_kitty_telemetry.errors import ProjectNotFoundError
from spec_kitty_telemetry.project import EVENTS_FILENAME, project_logs, project_stores


def test_logs_are_the_stores_paths_by_folder_name(tmp_path: Path):
    """Features with a log, sorted by folder name; folders without one are left out."""
    root = write_project(tmp_path, run_event("002-b"), run_event("001-a"), run_event("003-c"))
    (root / "kitty-specs" / "004-empty").mkdir()
    logs = project_logs(root)
    assert logs == [
        (name, root / "kitty-specs" / name / EVENTS_FILENAME)
        for name in ("001-a", "002-b", "003-c")
    ]
    assert [(name, store.path) for name, store in project_stores(root)] == logs


def test_select_picks_features_by_folder_name(tmp_path: Path):
    """``select`` is asked each folder name; only the chosen ones are listed."""
    root = write_project(tmp_path, run_event("001-a"), run_event("002-b"))
    assert [name for name, _ in project_logs(root, lambda name: name.endswith("-b"))] == ["002-b"]


def test_a_root_that_is_not_a_folder_is_refused(tmp_path: Path):
    """A mistyped root raises ProjectNotFoundError naming repo_root, never "no logs"."""
    with pytest.raises(ProjectNotFoundError) as caught:
        project_logs(tmp_path / "missing")
    assert caught.value.parameter == "repo_root"
    assert project_logs(tmp_path) == []  # a folder without kitty-specs/: none

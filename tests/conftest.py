"""Test-wide settings.

These machines are shared and noisy (2 cores), so Hypothesis gets no
per-example deadline and no "too slow" health check: tests here assert
behaviour, and timing lives in bench/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "spec-kitty-telemetry",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("spec-kitty-telemetry")


@pytest.fixture(autouse=True)
def _no_writes_to_the_real_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the price catalogue's cache (and anything else under XDG) out of the user's home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec-kitty project (a folder holding kitty-specs/) at tmp_path/project."""
    root = tmp_path / "project"
    (root / "kitty-specs").mkdir(parents=True)
    return root


@pytest.fixture
def feature_folder(project: Path, request: pytest.FixtureRequest) -> Path:
    """The test module's ``FEATURE`` folder in ``project``, made as a specified feature has it.

    Modules whose tests expect it use ``pytestmark = pytest.mark.usefixtures("feature_folder")``.
    """
    folder = project / "kitty-specs" / request.module.FEATURE
    folder.mkdir()
    return folder

"""The project configuration file: sections reach the features that own them."""

from __future__ import annotations

from pathlib import Path

from spec_kitty_telemetry.config import load_config


def test_each_top_level_section_is_kept_as_written_for_its_feature(tmp_path: Path) -> None:
    """A feature's own section (budgets:, alerts:) comes back unvalidated; absent ones are None."""
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "telemetry.yaml").write_text(
        "node_id: ci\nbudgets:\n  - scope: project\n    limit_usd: 50\n", encoding="utf-8"
    )
    config = load_config(tmp_path)
    assert config.node_id == "ci"
    assert config.section("budgets") == [{"scope": "project", "limit_usd": 50}]
    assert config.section("alerts") is None


def test_a_project_without_a_config_file_has_no_sections(tmp_path: Path) -> None:
    """No .kittify/telemetry.yaml: the defaults, and every section absent."""
    config = load_config(tmp_path)
    assert config.path is None
    assert config.section("budgets") is None

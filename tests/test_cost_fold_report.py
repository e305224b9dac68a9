"""What a cost report says about itself: why events are unpriced, and its ``--json`` grouping.

The footnote of ``spec-kitty agent telemetry cost`` explains each reason an
event could not be priced in words (``UNPRICED_REASONS``); ``--json`` names the
grouping the rows are of. Run through the real command on a real project.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import write_foreign
from spec_kitty_telemetry.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """One feature with one unpriced event per reason, and one priced event."""
    write_foreign(
        tmp_path,
        "001-a",
        {"model": "claude-sonnet-4-5", "output_tokens": 10},  # no_usage
        {"model": "claude-sonnet-4-5", "input_tokens": -1, "output_tokens": 1},  # invalid_tokens
        {"input_tokens": 10, "output_tokens": 1},  # no_model
        {"model": "mystery-9", "input_tokens": 10, "output_tokens": 1},  # unknown_model
        {"model": "claude-sonnet-4-5", "cost_usd": 0.5},
    )
    return tmp_path


def test_the_footnote_explains_every_reason_an_event_was_unpriced(project: Path):
    """Each reason gets its own line in words; an unknown model is named instead."""
    result = runner.invoke(app, ["agent", "telemetry", "cost", "--repo", str(project)])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    start = lines.index("* 4 events could not be priced and are not in the costs:")
    assert sorted(lines[start + 1 : start + 5]) == sorted(
        [
            "    mystery-9: 1 event (no price known)",
            "    1 event reported no cost, and not both input and output tokens",
            "    1 event reported invalid token counts (not whole numbers >= 0, cache counts "
            "above input or reasoning above output)",
            "    1 event reported tokens but no model",
        ]
    )


@pytest.mark.parametrize("group_by", ["agent", "model", "wp", "day"])
def test_cost_json_names_the_grouping_of_its_rows(project: Path, group_by: str):
    """``--json`` says which field the rows are grouped by, and counts each reason by its key."""
    result = runner.invoke(
        app, ["agent", "telemetry", "cost", "--repo", str(project), "--json", "-g", group_by]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["group_by"] == group_by
    assert report["total"]["unpriced_reasons"] == {
        "invalid_tokens": 1,
        "no_model": 1,
        "no_usage": 1,
        "unknown_model": 1,
    }

"""``timeline`` shows a feature's lane history from spec-kitty's status.events.jsonl.

The fixture (``tests/fixtures/sources/status/status.events.jsonl``) is the
one the lane report's own tests use: three work packages, a review sending
WP01 back, WP02 blocked and force-moved, WP03 still claimed, annotations,
envelopes and a torn line mixed in. The commands run in real processes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import new_project, spec_kitty
from spec_kitty_telemetry.emit import emit_execution_record
from spec_kitty_telemetry.lifecycle import emit_transition

STATUS = Path(__file__).resolve().parent / "fixtures" / "sources" / "status" / "status.events.jsonl"
FEATURE = "001-login"

EXPECTED_LANES = (
    "Lane history of 001-login (status.events.jsonl)\n"
    "WP01  now done, started by claude:opus:python-pedro:implementer: "
    "2 review rounds, 1 rejection, cycle 5h30m\n"
    "  2026-11-30 09:00  planned        1h00m\n"
    "  2026-11-30 10:00  claimed        5m00s\n"
    "  2026-11-30 10:05  in_progress    1h55m\n"
    "  2026-11-30 12:00  for_review    30m00s\n"
    "  2026-11-30 12:30  in_review     30m00s\n"
    "  2026-11-30 13:00  in_progress    1h00m\n"
    "  2026-11-30 14:00  for_review     1h00m\n"
    "  2026-11-30 15:00  approved      30m00s\n"
    "  2026-11-30 15:30  done            open\n"
    "WP02  now done, started by Claude (sonnet): "
    "1 review round, 0 rejections, cycle 3h30m, blocked 1h30m\n"
    "  2026-11-30 09:00  planned       30m00s\n"
    "  2026-11-30 09:30  in_progress   30m00s\n"
    "  2026-11-30 10:00  blocked        1h30m\n"
    "  2026-11-30 11:30  in_progress   30m00s  (forced)\n"
    "  2026-11-30 12:00  for_review     1h00m\n"
    "  2026-11-30 13:00  done            open  (forced)\n"
    "WP03  now claimed, started by unknown: 0 review rounds, 0 rejections\n"
    "  2026-11-30 09:00  planned        7h00m\n"
    "  2026-11-30 16:00  claimed         open\n"
    "done 2 of 3; first pass 1 (50%); rework cycles 1; cycle p50 4h30m, p95 5h24m.\n"
    "3 records that are not lane moves skipped.\n"
)


def _project(tmp_path: Path) -> tuple[Path, Path]:
    root = new_project(tmp_path / "project")
    feature = root / "kitty-specs" / FEATURE
    feature.mkdir()
    shutil.copy(STATUS, feature / "status.events.jsonl")
    return root, feature


def _run(root: Path, *args: str) -> str:
    done = spec_kitty("agent", "telemetry", "timeline", "--feature", FEATURE, *args, cwd=root)
    assert done.returncode == 0, done.stderr.decode()
    log = root / "kitty-specs" / FEATURE / "status.events.jsonl"
    expected = f"Warning: {log}:22: not JSON\n" if log.exists() else ""
    assert done.stderr.decode() == expected  # the torn line, named once
    return done.stdout.decode()


def test_timeline_prints_the_lane_history_of_a_feature_with_only_a_status_log(
    tmp_path: Path,
) -> None:
    """No PhaseTransition or run recorded: the lane history is printed, line for line."""
    root, feature = _project(tmp_path)
    log = feature / "status.events.jsonl"
    before = log.read_bytes()
    assert _run(root) == EXPECTED_LANES
    assert log.read_bytes() == before  # spec-kitty's file is only read


def test_timeline_json_carries_the_lanes_of_each_work_package(tmp_path: Path) -> None:
    """``--json`` adds "lanes": stays with their seconds, reviews, rejections, cycle, blocked."""
    root, _feature = _project(tmp_path)
    document = json.loads(_run(root, "--json"))
    assert (document["feature"], document["phases"]) == (FEATURE, [])
    lanes = document["lanes"]
    assert "feature" not in lanes
    by_wp = {wp["id"]: wp for wp in lanes["work_packages"]}
    assert list(by_wp) == ["WP01", "WP02", "WP03"]
    wp01 = by_wp["WP01"]
    assert [s["lane"] for s in wp01["lanes"]] == [
        "planned", "claimed", "in_progress", "for_review", "in_review",
        "in_progress", "for_review", "approved", "done",
    ]  # fmt: skip
    closed = [s["seconds"] for s in wp01["lanes"] if s["end"] is not None]
    assert closed == [3600, 300, 6900, 1800, 1800, 3600, 3600, 1800]
    assert wp01["lanes"][-1]["end"] is None
    assert wp01["lanes"][-1]["seconds"] > 0
    assert (wp01["review_rounds"], wp01["rejections"], wp01["cycle_seconds"]) == (2, 1, 19800)
    assert (wp01["first_pass"], by_wp["WP02"]["first_pass"], by_wp["WP03"]["first_pass"]) == (
        False,
        True,
        None,
    )
    assert by_wp["WP02"]["blocked_seconds"] == 5400
    summary = lanes["summary"]
    assert (summary["work_packages"], summary["done"], summary["first_pass_rate"]) == (3, 2, 0.5)
    assert summary["rework_cycles"] == 1
    assert lanes["skipped_records"] == {"annotation": 1, "envelope": 1, "retrospective": 1}
    assert [line.rsplit(":", 2)[1] for line in lanes["malformed"]] == ["22"]


def test_timeline_shows_phases_then_lanes_and_none_without_a_status_log(tmp_path: Path) -> None:
    """Phases come first, then the lanes; a feature without a status log has "lanes": null."""
    root, feature = _project(tmp_path)
    assert emit_transition(feature, FEATURE, None, "implement", node_id="n1") is not None
    assert emit_execution_record(feature, FEATURE, "WP01", "claude", "implementer") is not None
    text = _run(root)
    phases, lanes = text.split("\n\nLane history of ")
    assert phases.startswith(f"Timeline of {FEATURE}\n")
    assert "implement" in phases
    assert f"Lane history of {lanes}" == EXPECTED_LANES
    (feature / "status.events.jsonl").unlink()
    document = json.loads(_run(root, "--json"))
    assert document["lanes"] is None
    assert [phase["phase"] for phase in document["phases"]] == ["implement"]
    assert "Lane history" not in _run(root)

"""Reading spec-kitty's status.events.jsonl in place: lanes, reviews, rework, cycle time.

The fixture (``tests/fixtures/sources/status``) has three work packages: WP01
sent back once by its reviewer, WP02 blocked for 90 minutes then forced to
done, WP03 (a minimal legacy line, a null actor) still claimed; mixed in are
an annotation, an envelope, a retrospective record, a blank and a torn line.
Every figure below is worked out by hand from those lines.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpers import spec_kitty
from sources_helpers import FIXTURES, new_project
from spec_kitty_telemetry.sources.status_log import (
    Actor,
    lane_report,
    project_lane_report,
    read_status_log,
)

NOW = datetime(2026, 11, 30, 18, tzinfo=UTC)
HOUR = 3600.0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose feature 001-login has the fixture's status log."""
    root = new_project(tmp_path / "project", "001-login")
    shutil.copy(FIXTURES / "status/status.events.jsonl", root / "kitty-specs/001-login")
    return root


def test_other_records_are_counted_by_kind_and_torn_lines_named(project: Path) -> None:
    """Annotations, envelopes and retrospectives are skipped by kind; the torn line is named."""
    log = read_status_log(project / "kitty-specs/001-login/status.events.jsonl")
    assert len(log.transitions) == 17
    assert dict(log.skipped) == {"annotation": 1, "envelope": 1, "retrospective": 1}
    assert [(p.line, p.what) for p in log.malformed] == [(22, "not JSON")]


def test_the_log_is_never_written(project: Path) -> None:
    """Reading the lifecycle leaves spec-kitty's file byte for byte as it was."""
    path = project / "kitty-specs/001-login/status.events.jsonl"
    before = path.read_bytes()
    lane_report(project / "kitty-specs/001-login", now=NOW)
    assert path.read_bytes() == before


def test_reviews_rejections_and_cycle_time_per_work_package(project: Path) -> None:
    """WP01: two review rounds, one rejection, claimed 10:00 to done 15:30."""
    report = lane_report(project / "kitty-specs/001-login", now=NOW)
    wp01 = report.work_packages["WP01"]
    assert (wp01.review_rounds, wp01.rejections) == (2, 1)
    assert wp01.cycle_seconds == 5.5 * HOUR
    assert wp01.first_pass is False
    assert wp01.time_in_lanes() == {
        "planned": 1 * HOUR,
        "claimed": 5 * 60.0,
        "in_progress": 115 * 60.0 + 1 * HOUR,  # 10:05-12:00 and 13:00-14:00
        "for_review": 0.5 * HOUR + 1 * HOUR,  # 12:00-12:30 and 14:00-15:00
        "in_review": 0.5 * HOUR,
        "approved": 0.5 * HOUR,
        "done": 2.5 * HOUR,  # to now
    }


def test_blocked_time_and_a_forced_move(project: Path) -> None:
    """WP02: 90 minutes blocked, one review round, done with no rejection (first pass)."""
    wp02 = lane_report(project / "kitty-specs/001-login", now=NOW).work_packages["WP02"]
    assert wp02.blocked_seconds == 1.5 * HOUR
    assert (wp02.review_rounds, wp02.rejections, wp02.first_pass) == (1, 0, True)
    assert wp02.cycle_seconds == 3.5 * HOUR  # in_progress 09:30 to done 13:00
    assert wp02.started_by.model == "sonnet"
    assert [t.force for t in wp02.transitions] == [False, False, False, True, False, True]


def test_open_work_package_has_no_cycle_time(project: Path) -> None:
    """WP03, still claimed, has no cycle time; its lane is measured up to now."""
    wp03 = lane_report(project / "kitty-specs/001-login", now=NOW).work_packages["WP03"]
    assert (wp03.lane, wp03.cycle_seconds, wp03.first_pass) == ("claimed", None, None)
    assert wp03.time_in_lanes() == {"planned": 7 * HOUR, "claimed": 2 * HOUR}
    assert wp03.started_by.agent == "unknown"


def test_feature_first_pass_rate_rework_and_percentiles(project: Path) -> None:
    """Two done, one first pass: rate 0.5; one rework cycle; p50/p95 between 3.5 h and 5.5 h."""
    stats = lane_report(project / "kitty-specs/001-login", now=NOW).stats
    assert (stats.work_packages, stats.done, stats.first_pass) == (3, 2, 1)
    assert stats.first_pass_rate == 0.5
    assert stats.rework_cycles == 1
    assert stats.review_rounds == 3
    assert stats.cycle_p50_seconds == pytest.approx(4.5 * HOUR)
    assert stats.cycle_p95_seconds == pytest.approx(3.5 * HOUR + 0.95 * 2 * HOUR)


def test_figures_per_agent_model_and_role_of_the_starter(project: Path) -> None:
    """Each WP counts for the actor who started it: claude/opus (WP01), claude/sonnet (WP02)."""
    report = lane_report(project / "kitty-specs/001-login", now=NOW)
    agents = report.by("agent")
    assert set(agents) == {"claude", "unknown"}
    assert (agents["claude"].done, agents["claude"].first_pass_rate) == (2, 0.5)
    models = report.by("model")
    assert models["opus"].first_pass_rate == 0.0
    assert models["sonnet"].first_pass_rate == 1.0
    assert report.by("role")["implementer"].rework_cycles == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("user", Actor("user", "user")),
        (
            "claude:opus:python-pedro:implementer",
            Actor(
                "claude:opus:python-pedro:implementer",
                "claude",
                "opus",
                "python-pedro",
                "implementer",
            ),
        ),
        ("migration:v1", Actor("migration:v1", "migration", kind="migration")),
        (None, Actor("unknown", "unknown")),
        (
            {"display": "Rita", "id": "codex:gpt-5:rita:reviewer", "kind": "agent"},
            Actor("Rita", "codex", "gpt-5", "rita", "reviewer", "agent"),
        ),
    ],
)
def test_actor_forms(raw: object, expected: Actor) -> None:
    """Actors are strings agent:model:profile:role, objects, migrations or null."""
    assert Actor.parse(raw) == expected


def test_project_report_keys_work_packages_by_feature(project: Path) -> None:
    """Across features, the same WP id stays two work packages."""
    other = project / "kitty-specs/002-cost"
    other.mkdir()
    (other / "status.events.jsonl").write_text(
        '{"at":"2026-11-30T09:00:00Z","wp_id":"WP01","from_lane":"planned",'
        '"to_lane":"in_progress","actor":"gemini:pro::implementer"}\n'
        '{"at":"2026-11-30T10:00:00Z","wp_id":"WP01","from_lane":"in_progress",'
        '"to_lane":"done","actor":"user"}\n'
    )
    report = project_lane_report(project, now=NOW)
    assert sorted(report.work_packages) == [
        "001-login/WP01",
        "001-login/WP02",
        "001-login/WP03",
        "002-cost/WP01",
    ]
    assert report.stats.first_pass_rate == pytest.approx(2 / 3)
    assert report.by("agent")["gemini"].cycle_p50_seconds == HOUR


def test_lanes_command_json(project: Path) -> None:
    """``lanes --feature 001-login --json`` prints the report; the torn line is a warning."""
    done = spec_kitty(
        "agent", "telemetry", "lanes", "--feature", "001-login", "--json", cwd=project
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["summary"]["first_pass_rate"] == 0.5
    assert document["summary"]["rework_cycles"] == 1
    assert document["skipped_records"] == {"annotation": 1, "envelope": 1, "retrospective": 1}
    assert b"status.events.jsonl:22: not JSON" in done.stderr


def test_lanes_command_table(project: Path) -> None:
    """The text report lists each WP with its lane, reviews, rejections and cycle time."""
    done = spec_kitty("agent", "telemetry", "lanes", "--feature", "001-login", cwd=project)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "WP01" in out
    assert "5h 30m" in out
    assert "First-pass rate 50% (1 of 2 done)" in out


def test_lanes_command_unknown_feature_is_an_error(project: Path) -> None:
    """A feature with no status log exits 2 naming it."""
    done = spec_kitty("agent", "telemetry", "lanes", "--feature", "009-nope", cwd=project)
    assert done.returncode == 2
    assert "009-nope" in done.stderr.decode()

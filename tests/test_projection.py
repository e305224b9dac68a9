"""The projection beside each log: saved, reused, and rebuilt whenever it cannot be trusted."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from helpers import pricing_for_tests, run_event, write_project
from spec_kitty_telemetry import EVENTS_FILENAME
from spec_kitty_telemetry._projection_file import FORMAT as PROJECTION_FORMAT
from spec_kitty_telemetry._timed import untimed_cells
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.projection import fold_log, projection_path
from spec_kitty_telemetry.repo_setup import IGNORE_RULES

PRICING = pricing_for_tests()


def _total(root: Path) -> tuple[int, str]:
    report = project_cost_report(root, None, "agent", pricing=PRICING)
    return report.total.event_count, str(report.total.total_cost_usd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """One feature of three reported runs."""
    return write_project(
        tmp_path, *(run_event("001-a", agent="claude", cost_usd=0.5 + n) for n in range(3))
    )


def _log(root: Path) -> Path:
    return root / "kitty-specs" / "001-a" / EVENTS_FILENAME


#: The shape of the projection ``_total``'s report reads: cells keeping the agent only.
AGENT_CELLS = untimed_cells("agent", None, None)


def _saved(root: Path) -> Path:
    """The projection file a ``cost -g agent`` report of ``root``'s log reads and saves."""
    return projection_path(_log(root), shape=AGENT_CELLS.shape)


def _without_rollups(root: Path) -> None:
    """Delete the project's rollups, so the next report reads the projections themselves."""
    for path in (root / "kitty-specs").glob("*/.execution.events.jsonl.rollup-*"):
        path.unlink()


def test_a_report_saves_the_projection_and_the_next_folds_only_appended_bytes(project: Path):
    """After a report the projection covers the whole log; appending one run folds one line."""
    assert _total(project) == (3, "4.500000")
    saved = _saved(project)
    assert saved.is_file()
    write_project(project, run_event("001-a", agent="codex", cost_usd=1.0))
    state = fold_log(_log(project), lambda model: (), days=AGENT_CELLS)
    assert state.offset == _log(project).stat().st_size
    assert state.report.events == 4
    assert _total(project) == (4, "5.500000")


def test_the_projection_is_really_read_not_rebuilt(project: Path):
    """A report answers from the saved cells: doctored cells show (so nothing re-read them)."""
    _total(project)
    path = _saved(project)
    head, _, body = path.read_bytes().partition(b"\n")
    cells, _, durations = body.partition(b"\n")  # the cells, then their duration histograms
    doc = json.loads(cells)
    doc["cells"][0][1][0] += 10  # ten more events, as if folded earlier
    new_body = json.dumps(doc).encode() + b"\n" + durations
    import zlib

    header = json.loads(head)
    header["crc"] = zlib.crc32(new_body)
    path.write_bytes(json.dumps(header).encode() + b"\n" + new_body)
    _without_rollups(project)  # else the project's rollup answers (tests/test_rollup.py)
    assert _total(project)[0] == 13


#: The header field of the projections this version writes.
FORMAT = f'"format":{PROJECTION_FORMAT}'.encode()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"\x00garbage" + data[5:],
        lambda data: data[: len(data) // 2],
        lambda data: data.replace(FORMAT, b'"format":0', 1),
        lambda data: data.replace(b'"package":"', b'"package":"0.0.0-', 1),
        lambda data: b"",
    ],
    ids=["garbage", "truncated", "older-format", "other-version", "empty"],
)
def test_a_damaged_or_foreign_projection_is_rebuilt(project: Path, damage):
    """Garbage, a torn file, another format or package version: rebuilt, the report right."""
    expected = _total(project)
    path = _saved(project)
    path.write_bytes(damage(path.read_bytes()))
    _without_rollups(project)
    assert _total(project) == expected
    assert path.read_bytes().startswith(b"{" + FORMAT)


def test_a_log_rewritten_in_place_is_folded_again(project: Path):
    """Same inode, same length, different bytes in the middle: detected, not trusted."""
    _total(project)
    log = _log(project)
    data = log.read_bytes()
    changed = data.replace(b'"cost_usd": 1.5', b'"cost_usd": 9.5', 1)
    assert changed != data
    assert len(changed) == len(data)
    with log.open("r+b") as handle:
        handle.write(changed)
    assert _total(project) == (3, "12.500000")


def test_a_truncated_log_is_folded_again(project: Path):
    """A log that shrank (a checkout of an older commit) is folded from the start."""
    _total(project)
    log = _log(project)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:2]))
    assert _total(project) == (2, "2.000000")


def test_other_long_context_thresholds_rebuild_the_projection(tmp_path: Path):
    """Tiers are summed under the thresholds of the fold; a table with others refolds."""
    from decimal import Decimal

    from spec_kitty_telemetry._rates import ModelRates, RateTier
    from spec_kitty_telemetry.pricing import Pricing

    def pricing(above: int) -> Pricing:
        tier = RateTier(above, Decimal(2), Decimal(2), Decimal(0), Decimal(0))
        rates = ModelRates(Decimal(1), Decimal(1), Decimal(0), Decimal(0), (tier,), "test")
        return Pricing(shipped={"m": rates}, catalogue=False)

    root = write_project(
        tmp_path, run_event("001-a", model="m", num_turns=1, input_tokens=500_000, output_tokens=0)
    )
    low = project_cost_report(root, None, "agent", pricing=pricing(100_000))
    high = project_cost_report(root, None, "agent", pricing=pricing(900_000))
    assert low.total.total_cost_usd == Decimal(1)  # long-context rate: $2/M
    assert high.total.total_cost_usd == Decimal("0.5")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_log_folder_still_reports(project: Path):
    """No projection can be written: the fold stays in memory and the report is right."""
    folder = _log(project).parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert _total(project) == (3, "4.500000")
        assert not _saved(project).exists()
        assert not projection_path(_log(project)).exists()
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_read_only_projection_file_location_still_reports(project: Path):
    """A projection path taken by a folder (cannot be written) does not stop the report."""
    _saved(project).mkdir()
    assert _total(project) == (3, "4.500000")
    assert _total(project) == (3, "4.500000")


def test_init_ignore_rules_cover_the_projection(project: Path):
    """The projection's name matches the ignore rule init writes for a log's sidecars."""
    import fnmatch

    for path in (projection_path(_log(project)), projection_path(_log(project), timed=True)):
        relative = path.relative_to(project).as_posix()
        assert any(fnmatch.fnmatch(relative, rule.replace("**/", "*/")) for rule in IGNORE_RULES)
    _total(project)
    saved = [path for path in _log(project).parent.iterdir() if path.name != EVENTS_FILENAME]
    assert saved  # what reports saved: the narrowed shape
    for path in saved:
        relative = path.relative_to(project).as_posix()
        assert any(fnmatch.fnmatch(relative, rule.replace("**/", "*/")) for rule in IGNORE_RULES)


@pytest.mark.parametrize("duration", [0, 1, 31, 32, 33, 1000, 65_535, 10**9, 2**63 - 1])
def test_duration_histogram_values_are_within_their_stated_error(duration: int):
    """Each duration's bucket stands for a value within 1/32 of it (exact below 32 ms)."""
    from spec_kitty_telemetry._cells import duration_bucket, duration_value

    shown = duration_value(duration_bucket(duration))
    if duration < 32:
        assert shown == duration
    else:
        assert abs(shown - duration) <= duration / 32


def test_duration_buckets_never_decrease_as_durations_grow():
    """Buckets are ordered as durations are, so percentiles can be read off in order."""
    from spec_kitty_telemetry._cells import duration_bucket

    buckets = [duration_bucket(ms) for ms in range(0, 5000)]
    assert buckets == sorted(buckets)


def _histograms(state) -> dict[object, dict[int, int]]:
    return {key: dict(cell.durations) for key, cell in state.fold.cells.items()}


def test_duration_histograms_survive_reports_that_do_not_read_them(tmp_path: Path):
    """Cost reports leave the histograms unread; after appends and more reports, the saved
    projection's histograms equal those of a fold from scratch."""
    project = write_project(
        tmp_path, *(run_event("001-a", duration_ms=1_000 * (n + 1)) for n in range(3))
    )
    log = _log(project)
    _total(project)  # builds the projection
    _total(project)  # warm: reads it without the histograms, saves nothing
    write_project(project, run_event("001-a", duration_ms=60_000))
    _total(project)  # folds the appended run, so saves again: histograms included
    _total(project)
    saved = fold_log(log, lambda model: (), save=False, days=AGENT_CELLS)
    _saved(project).unlink()
    fresh = fold_log(log, lambda model: (), save=False, days=AGENT_CELLS)
    assert _histograms(saved) == _histograms(fresh)
    assert sum(sum(h.values()) for h in _histograms(fresh).values()) == 4


def test_damaged_duration_histograms_mean_a_rebuild(tmp_path: Path):
    """A histogram document that does not match the cells (under a valid checksum): rebuilt."""
    import zlib

    project = write_project(
        tmp_path, *(run_event("001-a", duration_ms=1_000 * (n + 1)) for n in range(3))
    )
    _total(project)
    path = _saved(project)
    head, _, body = path.read_bytes().partition(b"\n")
    cells, _, _durations = body.partition(b"\n")
    new_body = cells + b"\n[]"
    header = json.loads(head)
    header["crc"] = zlib.crc32(new_body)
    path.write_bytes(json.dumps(header).encode() + b"\n" + new_body)
    state = fold_log(_log(project), lambda model: (), save=False, days=AGENT_CELLS)
    assert state.offset == _log(project).stat().st_size
    assert sum(sum(c.durations.values()) for c in state.fold.cells.values()) == 3


def _line(serial: int) -> bytes:
    """A run reported at $1, its id from ``serial``: lines that differ in their id only."""
    from spec_kitty_telemetry.ids import _encode

    record = {
        "aggregate_id": "001-a",
        "causation_id": None,
        "event_id": _encode((1 << 60) + serial),
        "event_type": "ExecutionEvent",
        "lamport_clock": 1,
        "node_id": "n",
        # a role of 64 letters puts every fixed window on bytes these lines share
        "payload": {"agent": "claude", "cost_usd": 1.0, "model": "test-model", "role": "r" * 64},
        "timestamp": "2025-11-03T10:00:13+00:00",
    }
    return json.dumps(record, sort_keys=True).encode() + b"\n"


def test_a_line_inserted_in_place_before_the_folded_end_is_seen(tmp_path: Path):
    """A union-style insert written in place (same inode, longer file) under the folded end.

    The old log ends with a duplicate of its first line; the new one has a line
    inserted before that duplicate, differing from it only in its id. Every
    fixed 32-byte window can fall on bytes the lines share; the last folded
    line, compared whole, cannot (ids are unique). Failed before: 2 events.
    """
    log = tmp_path / "kitty-specs" / "001-a" / EVENTS_FILENAME
    log.parent.mkdir(parents=True)
    first, second, inserted = _line(1), _line(2), _line(3)
    log.write_bytes(first + second + first)
    assert _total(tmp_path) == (2, "2.000000")
    with log.open("r+b") as handle:  # in place: same inode
        handle.write(first + second + inserted + first)
    assert _total(tmp_path) == (3, "3.000000")


def test_a_report_without_time_reads_cells_keyed_only_by_what_it_groups_by(tmp_path: Path):
    """``-g agent`` over runs of many roles and work packages: one saved cell per agent and model.

    The full-key projection would hold a cell per (agent, role, work package,
    model, success); a warm report would decode and price each. A report
    filtered by role keeps the role too, in a projection of its own, and both
    give what a fresh fold gives.
    """
    from spec_kitty_telemetry.query import EventFilter

    runs = [
        run_event(
            "001-a",
            agent=("claude", "codex")[n % 2],
            role=f"role-{n % 3}",
            wp_id=f"WP{n:02d}",
            success=n % 4 != 0,
            cost_usd=1.0,
        )
        for n in range(24)
    ]
    project = write_project(tmp_path, *runs)
    by_agent = project_cost_report(project, None, "agent", pricing=PRICING)
    assert _saved(project).is_file()
    assert not projection_path(_log(project)).exists()  # no full-key projection written
    saved = fold_log(_log(project), lambda model: (), save=False, days=AGENT_CELLS)
    assert len(saved.fold.cells) == 2  # claude and codex, one model each
    full = fold_log(_log(project), lambda model: (), save=False)
    assert len(full.fold.cells) == 24
    assert [(s.group_key, s.event_count) for s in by_agent.summaries] == [
        ("claude", 12),
        ("codex", 12),
    ]
    by_role = project_cost_report(project, EventFilter(role="role-1"), "agent", pricing=PRICING)
    assert by_role.total.event_count == 8
    assert by_role.total.total_cost_usd == 8
    role_cells = untimed_cells("agent", None, EventFilter(role="role-1"))
    assert role_cells.keep == frozenset({"agent", "role"})
    assert projection_path(_log(project), shape=role_cells.shape).is_file()

"""The project's rollup of an unfiltered report: read when every log is unchanged, else not.

A warm unfiltered report prices the cells its rows gathered across all logs,
kept beside the first log (``_rollup``). These tests show it is what a warm
report reads, and that anything that could make it stale (a log appended,
rewritten in place, replaced, a feature added, a damaged or foreign file) makes
the report gather from the logs' projections again, with the right totals.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import pytest

from helpers import pricing_for_tests, run_event, write_project
from spec_kitty_telemetry import EVENTS_FILENAME, EventFilter
from spec_kitty_telemetry.cost import project_cost_report

PRICING = pricing_for_tests()


def _report(root: Path, group_by: str = "day") -> tuple[int, str, list[str]]:
    report = project_cost_report(root, None, group_by, pricing=PRICING)
    rows = [f"{row.group_key}:{row.event_count}" for row in report.summaries]
    return report.total.event_count, str(report.total.total_cost_usd), rows


def _rollups(root: Path) -> list[Path]:
    return sorted((root / "kitty-specs").glob("*/.execution.events.jsonl.rollup-*"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two features, runs on two days."""
    return write_project(
        tmp_path,
        run_event("001-a", agent="claude", cost_usd=0.5, when="2025-11-03T10:00:00"),
        run_event("001-a", agent="claude", cost_usd=1.5, when="2025-11-04T10:00:00"),
        run_event("002-b", agent="codex", cost_usd=2.0, when="2025-11-04T11:00:00"),
    )


def _doctor(path: Path) -> None:
    """Add ten events to the rollup's first entry, with a valid checksum."""
    head, _, body = path.read_bytes().partition(b"\n")
    doc = json.loads(body)
    doc["entries"][0][2][0] += 10  # the RUNS slot
    doc["entries"][0][2][1] += 10  # the EVENTS slot
    new_body = json.dumps(doc).encode()
    header = json.loads(head)
    header["crc"] = zlib.crc32(new_body)
    path.write_bytes(json.dumps(header).encode() + b"\n" + new_body)


def test_a_warm_unfiltered_report_reads_the_rollup(project: Path) -> None:
    """A report writes a rollup beside the first log; the next reads it (doctored: shows)."""
    expected = _report(project)
    assert expected[:2] == (3, "4.000000")
    [rollup] = _rollups(project)
    assert rollup.parent.name == "001-a"
    _doctor(rollup)
    assert _report(project)[0] == 13


def test_a_filtered_report_neither_reads_nor_writes_a_rollup(project: Path) -> None:
    """Filters are asked of each cell: a filtered report gathers from the projections."""
    _report(project)
    [rollup] = _rollups(project)
    _doctor(rollup)
    filtered = project_cost_report(project, EventFilter(agent="claude"), "day", pricing=PRICING)
    assert filtered.total.event_count == 2
    assert _rollups(project) == [rollup]


def test_runs_appended_to_a_log_are_folded_on_top_of_the_rollup(project: Path) -> None:
    """An append is folded onto the rollup (doctored: it shows), and the rollup kept again."""
    _report(project)
    [rollup] = _rollups(project)
    _doctor(rollup)
    write_project(project, run_event("001-a", agent="claude", cost_usd=1.0))
    assert _report(project)[0] == 13 + 1
    assert _report(project)[0] == 14  # kept with the appended run: warm again
    write_project(project, run_event("002-b", agent="codex", cost_usd=1.0))
    assert _report(project)[0] == 15


def test_a_folded_on_rollup_equals_a_fresh_fold(project: Path) -> None:
    """Appends on several logs, reported in between: the totals and rows of a fresh fold."""
    _report(project)
    for n in range(3):
        write_project(
            project,
            run_event("001-a", agent="claude", cost_usd=0.1 * n, when="2025-11-05T09:00:00"),
            run_event("002-b", agent="codex", input_tokens=1000 * n, output_tokens=10),
        )
        warm = _report(project)
        for path in _rollups(project):
            path.unlink()
        for path in (project / "kitty-specs").glob("*/.execution.events.jsonl.projection*"):
            path.unlink()
        assert _report(project) == warm


def test_a_malformed_line_is_named_by_every_report(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The rollup keeps each log's skipped lines: a warm report names them as a cold one does."""
    log = project / "kitty-specs" / "002-b" / EVENTS_FILENAME
    with log.open("ab") as handle:
        handle.write(b"not an event\n")
    for _ in range(3):
        caplog.clear()
        _report(project)
        assert f"{log}: skipped 1 malformed line (2)" in caplog.text
    write_project(project, run_event("002-b", agent="codex", cost_usd=1.0))
    caplog.clear()
    assert _report(project)[0] == 4
    assert f"{log}: skipped 1 malformed line (2)" in caplog.text


@pytest.mark.parametrize("change", ["rewrite-in-place", "replace", "new-feature", "touch"])
def test_any_other_change_to_the_logs_makes_the_report_gather_again(
    project: Path, change: str
) -> None:
    """Rewritten, replaced, a feature more, or only touched: the rollup is not used."""
    _report(project)
    [rollup] = _rollups(project)
    _doctor(rollup)  # if it were still read, the report would show ten more events
    log = project / "kitty-specs" / "001-a" / EVENTS_FILENAME
    expected_events = 3
    if change == "rewrite-in-place":
        data = log.read_bytes()
        changed = data.replace(b'"cost_usd": 1.5', b'"cost_usd": 9.5', 1)
        assert len(changed) == len(data)
        assert changed != data
        stat = log.stat()
        with log.open("r+b") as handle:
            handle.write(changed)
        os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old time
    elif change == "replace":
        data = log.read_bytes()
        log.unlink()
        log.write_bytes(data)  # the same bytes, another file (a checkout)
    elif change == "new-feature":
        write_project(project, run_event("000-first", agent="gemini", cost_usd=0.25))
        expected_events = 4
    else:
        os.utime(log)
    events, _cost, _rows = _report(project)
    assert events == expected_events


def test_a_damaged_or_foreign_rollup_is_ignored_and_written_again(project: Path) -> None:
    """Garbage, a torn file, another format or version: the report is right, the file rewritten."""
    expected = _report(project)
    [rollup] = _rollups(project)
    good = rollup.read_bytes()
    for damaged in (
        b"\x00garbage" + good[5:],
        good[: len(good) // 2],
        good.replace(b'"format":1', b'"format":0', 1),
        good.replace(b'"package":"', b'"package":"0.0.0-', 1),
        b"",
    ):
        rollup.write_bytes(damaged)
        assert _report(project) == expected
        assert rollup.read_bytes() == good


def test_a_rollup_with_cells_of_another_shape_is_refused(project: Path) -> None:
    """A crafted rollup with a valid checksum but short sums is not used (the report is right)."""
    expected = _report(project)
    [rollup] = _rollups(project)
    head, _, body = rollup.read_bytes().partition(b"\n")
    doc = json.loads(body)
    doc["entries"][0][2] = doc["entries"][0][2][:3]
    new_body = json.dumps(doc).encode()
    header = json.loads(head)
    header["crc"] = zlib.crc32(new_body)
    rollup.write_bytes(json.dumps(header).encode() + b"\n" + new_body)
    assert _report(project) == expected


def test_a_log_with_an_unfinished_last_line_gets_no_rollup(project: Path) -> None:
    """While a line is being written the report folds it in memory and keeps no rollup."""
    log = project / "kitty-specs" / "002-b" / EVENTS_FILENAME
    with log.open("ab") as handle:
        handle.write(b'{"event_id": "01')
    _report(project)
    assert _rollups(project) == []


def test_each_grouping_keeps_its_own_rollup_and_they_agree(project: Path) -> None:
    """Rows by day, agent and model each come from their own rollup, warm as cold."""
    cold = {group: _report(project, group) for group in ("day", "agent", "model", "week")}
    assert len(_rollups(project)) == 4
    warm = {group: _report(project, group) for group in cold}
    assert warm == cold
    assert cold["agent"][2] == ["claude:2", "codex:1"]  # $2.00 each: by name

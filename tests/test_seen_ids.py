"""The ids kept beside a log for the duplicate rule: written as lines fold, trusted only whole."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import pytest

from helpers import pricing_for_tests
from spec_kitty_telemetry import EVENTS_FILENAME
from spec_kitty_telemetry._seen_ids import NO_ID, LineIds, ids_path
from spec_kitty_telemetry.cost import project_cost_report
from spec_kitty_telemetry.ids import _encode

PRICING = pricing_for_tests()


def _id(n: int) -> str:
    """The n-th id: ids rise with n, as ULIDs of later events do."""
    return _encode(n << 80)


def _line(feature: str, n: int, cost: float = 1.0) -> bytes:
    record = {
        "aggregate_id": feature,
        "causation_id": None,
        "event_id": _id(n),
        "event_type": "ExecutionEvent",
        "lamport_clock": n,
        "node_id": "test",
        "payload": {"agent": "claude", "cost_usd": cost},
        "timestamp": "2025-11-03T10:00:00+00:00",
    }
    return json.dumps(record).encode() + b"\n"


def _log(root: Path, feature: str = "001-a") -> Path:
    return root / "kitty-specs" / feature / EVENTS_FILENAME


def _append(root: Path, *lines: bytes, feature: str = "001-a") -> None:
    log = _log(root, feature)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        handle.write(b"".join(lines))


def _report(root: Path) -> tuple[int, str]:
    report = project_cost_report(root, None, "agent", pricing=PRICING)
    return report.total.event_count, str(report.total.total_cost_usd)


def _kept(log: Path) -> tuple[list[int], list[str]]:
    """The ids file's recorded state and its slots."""
    _header, _, body = ids_path(log).read_bytes().partition(b"\n")
    state, _, slots = body.partition(b"\n")
    text = slots.decode("ascii")
    return json.loads(state), [text[at : at + 26] for at in range(0, len(text), 26)]


def _doctor(log: Path, place: int, event_id: str) -> None:
    """Put ``event_id`` in slot ``place`` of the ids file, with a checksum that holds."""
    header, _, body = ids_path(log).read_bytes().partition(b"\n")
    state, _, slots = body.partition(b"\n")
    slots = slots[: place * 26] + event_id.encode() + slots[(place + 1) * 26 :]
    new_body = state + b"\n" + slots
    fields = json.loads(header)
    fields["crc"] = zlib.crc32(new_body)
    ids_path(log).write_bytes(json.dumps(fields).encode() + b"\n" + new_body)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """One feature: events 10, 20, 30, a malformed line, a blank line, event 40."""
    _append(tmp_path, _line("001-a", 10), _line("001-a", 20), _line("001-a", 30))
    _append(tmp_path, b"{not json\n", b"\n", _line("001-a", 40))
    return tmp_path


def test_the_first_fold_keeps_one_slot_per_line_blank_for_lines_without_an_event(
    project: Path,
) -> None:
    """Slot n holds line n's id; malformed and blank lines hold spaces, so slots stay lines."""
    _report(project)
    state, slots = _kept(_log(project))
    assert slots == [_id(10), _id(20), _id(30), NO_ID, NO_ID, _id(40)]
    assert state[2:4] == [_log(project).stat().st_size, 6]  # offset and lines covered


def test_appends_extend_the_kept_ids(project: Path) -> None:
    """Folding appended lines adds their slots: the next merge need not parse them."""
    _report(project)
    _append(project, _line("001-a", 50), _line("001-a", 60))
    assert _report(project) == (6, "6.000000")
    state, slots = _kept(_log(project))
    assert slots[-3:] == [_id(40), _id(50), _id(60)]
    assert state[3] == 8


def test_a_merge_counts_new_ids_among_the_logs_and_each_duplicate_once(project: Path) -> None:
    """Ids below the highest: new ones count, repeats of earlier lines (kept ids) do not."""
    _report(project)
    _append(project, _line("001-a", 25, cost=2.0), _line("001-a", 20), _line("001-a", 25))
    assert _report(project) == (5, "6.000000")
    for path in _log(project).parent.glob(".*"):
        path.unlink()  # no projection, rollup or ids: a fold from scratch
    assert _report(project) == (5, "6.000000")


def test_a_merge_reads_the_kept_ids_not_the_log(project: Path) -> None:
    """An id doctored into the ids file makes a new line with that id a duplicate: it was read."""
    _report(project)
    _doctor(_log(project), 3, _id(15))  # the malformed line's slot now names event 15
    _append(project, _line("001-a", 15))
    assert _report(project) == (4, "4.000000")  # event 15 taken for a repeat


def test_the_duplicate_look_back_is_exact_without_an_ids_file(project: Path) -> None:
    """The same merge with no ids file kept parses the earlier lines and counts event 15."""
    _report(project)
    ids_path(_log(project)).unlink()
    _append(project, _line("001-a", 15), _line("001-a", 30))
    assert _report(project) == (5, "5.000000")
    assert _kept(_log(project))[1][-2:] == [_id(15), _id(30)]  # written again, whole


@pytest.mark.parametrize(
    "damage",
    ["garbage", "checksum", "short", "other log"],
)
def test_an_ids_file_that_cannot_be_trusted_is_not_read(project: Path, damage: str) -> None:
    """Damaged, cut short, or another log's: the earlier lines are parsed instead."""
    _append(project, _line("002-b", 15), feature="002-b")
    _report(project)
    _doctor(_log(project), 3, _id(15))
    path = ids_path(_log(project))
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00garbage")
    elif damage == "checksum":
        path.write_bytes(data[:-1] + (b"A" if data[-1:] != b"A" else b"B"))
    elif damage == "short":
        header, _, body = data.partition(b"\n")
        body = body[:-26]
        fields = json.loads(header)
        fields["crc"] = zlib.crc32(body)
        path.write_bytes(json.dumps(fields).encode() + b"\n" + body)
    else:
        _doctor(_log(project, "002-b"), 0, _id(15))
        path.write_bytes(ids_path(_log(project, "002-b")).read_bytes())
    _append(project, _line("001-a", 15))
    assert _report(project) == (6, "6.000000")  # event 15 counted, in both features


def test_a_log_changed_in_place_does_not_trust_its_kept_ids(project: Path) -> None:
    """Same size, written since: the ids file's check fails and the lines are parsed again."""
    _report(project)
    log = _log(project)
    data = log.read_bytes()
    log.write_bytes(data.replace(_id(20).encode(), _id(21).encode()))
    line_ids = LineIds(log, 6)
    with log.open("rb") as handle:
        assert line_ids.before(handle.fileno(), 7) == {_id(10), _id(21), _id(30), _id(40)}


def test_ids_that_cannot_be_written_cost_only_a_parse(project: Path) -> None:
    """A folder in the ids file's place: nothing is kept, every report is still right."""
    ids_path(_log(project)).mkdir()
    assert _report(project) == (4, "4.000000")
    _append(project, _line("001-a", 20), _line("001-a", 35))
    assert _report(project) == (5, "5.000000")
    assert ids_path(_log(project)).is_dir()


def test_an_unfinished_last_line_repeating_an_earlier_event_is_not_counted(project: Path) -> None:
    """The look back covers every finished line before a torn tail, read from the kept ids."""
    _report(project)
    _append(project, _line("001-a", 20).rstrip(b"\n"))
    assert _report(project) == (4, "4.000000")


def test_a_report_that_does_not_save_keeps_no_ids(project: Path) -> None:
    """save=False (a read-only report) writes no ids file."""
    project_cost_report(project, None, "agent", pricing=PRICING, save=False)
    assert not ids_path(_log(project)).exists()
    assert os.listdir(_log(project).parent) == [EVENTS_FILENAME]


def test_a_second_projection_reads_ids_kept_beyond_where_it_starts(project: Path) -> None:
    """Another grouping's projection catches up from an older line: later slots are not earlier ids.

    The first report after a merge keeps the slots of the appended lines; a
    report of another grouping then folds those same lines, and must not take
    a line's own id, kept by the first, for an earlier one.
    """
    for group in ("agent", "day", "model"):
        project_cost_report(project, None, group, pricing=PRICING)
    _append(project, _line("001-a", 25, cost=2.0), _line("001-a", 20))
    totals = {}
    for group in ("agent", "day", "model"):
        report = project_cost_report(project, None, group, pricing=PRICING)
        totals[group] = (report.total.event_count, str(report.total.total_cost_usd))
    assert totals == dict.fromkeys(("agent", "day", "model"), (5, "6.000000"))
    assert _kept(_log(project))[0][3] == 8


def test_the_stores_own_read_looks_back_through_the_kept_ids(project: Path) -> None:
    """``SimpleJsonStore``'s read asks the same ids: a doctored slot shows there too."""
    from spec_kitty_telemetry import SimpleJsonStore

    _report(project)
    _append(project, _line("001-a", 15), _line("001-a", 30))
    store = SimpleJsonStore(_log(project))
    assert [event.event_id for event in store.iter_events()][-1] == _id(15)
    assert (store.last_read.events, store.last_read.duplicates) == (5, 1)
    _doctor(_log(project), 3, _id(15))
    assert [event.event_id for event in store.iter_events()][-1] == _id(40)
    assert (store.last_read.events, store.last_read.duplicates) == (4, 2)


def test_past_max_lines_nothing_is_kept_and_the_look_back_parses(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catch-up longer than MAX_LINES keeps no slots (memory stays bounded): still exact."""
    from spec_kitty_telemetry import _seen_ids

    monkeypatch.setattr(_seen_ids, "MAX_LINES", 2)
    _append(project, *(_line("001-a", n) for n in range(41, 46)))
    _report(project)
    assert not ids_path(_log(project)).exists()
    _append(project, *(_line("001-a", n) for n in range(50, 55)), _line("001-a", 25))
    _append(project, _line("001-a", 43), _line("001-a", 52))
    assert _report(project) == (15, "15.000000")


def test_a_writers_check_that_an_id_is_new_reads_the_kept_ids(project: Path) -> None:
    """``contains`` (the writers' check below the log's highest id) asks the kept ids, then the
    lines after them, a torn last line included: a doctored slot shows there too."""
    from spec_kitty_telemetry import SimpleJsonStore

    _report(project)
    _append(project, _line("001-a", 45), _line("001-a", 46).rstrip(b"\n"))
    store = SimpleJsonStore(_log(project))
    assert [store.contains(_id(n)) for n in (10, 15, 40, 45, 46)] == [
        True,
        False,
        True,
        True,
        True,
    ]
    _doctor(_log(project), 3, _id(15))
    assert store.contains(_id(15))
    ids_path(_log(project)).unlink()
    assert not store.contains(_id(15))
    assert store.contains(_id(46))

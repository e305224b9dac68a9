"""SimpleJsonStore on real files: append-only bytes, torn and malformed lines, merges."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from helpers import lock_held_by_another_process
from spec_kitty_telemetry import SimpleJsonStore, StoreLockTimeout
from spec_kitty_telemetry.testing import make_event, make_execution_event


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "001-feature" / "execution.events.jsonl"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_each_event_is_one_sorted_key_line(log: Path):
    """The file holds one line per event, in the exact line format, in save order."""
    store = SimpleJsonStore(log)
    events = [make_execution_event(lamport_clock=n, input_tokens=n) for n in range(1, 4)]
    store.save_events(events)
    assert log.read_text() == "".join(e.to_json() + "\n" for e in events)


def test_saving_never_rewrites_existing_bytes(log: Path):
    """Whatever was in the file stays byte for byte; new events only add bytes after it."""
    store = SimpleJsonStore(log)
    store.save_event(make_event(lamport_clock=1))
    before = log.read_bytes()
    for n in range(2, 6):
        store.save_event(make_event(lamport_clock=n))
        after = log.read_bytes()
        assert after.startswith(before)
        before = after


def test_directory_is_created_on_first_save(tmp_path: Path):
    """Saving into a feature folder that does not exist yet creates it."""
    path = tmp_path / "a" / "b" / "execution.events.jsonl"
    SimpleJsonStore(path).save_event(make_event())
    assert path.is_file()


def test_torn_last_line_loses_only_itself(log: Path, caplog: pytest.LogCaptureFixture):
    """After a crash mid-append, the next save starts a fresh line; only the torn line is lost."""
    store = SimpleJsonStore(log)
    kept = [make_event(lamport_clock=n) for n in (1, 2)]
    torn = make_event(lamport_clock=3)
    store.save_events([*kept, torn])
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 40])  # cut the last line in its middle

    new = make_event(lamport_clock=4)
    assert SimpleJsonStore(log).save_event(new) is True
    with caplog.at_level(logging.WARNING):
        loaded = store.load_all_events()
    assert loaded == [*kept, new]
    assert store.last_read is not None
    assert store.last_read.malformed_lines == [3]
    assert len(caplog.records) == 1
    assert f"{log}: skipped 1 malformed line (3)" in caplog.text


def test_malformed_lines_are_skipped_and_reported_once(log: Path, caplog: pytest.LogCaptureFixture):
    """Bad JSON, wrong types, bad ids and non-UTF-8 bytes are skipped with one warning."""
    good = [make_event(lamport_clock=n) for n in range(1, 5)]
    wrong_type = good[0].to_dict() | {"lamport_clock": "seven", "event_id": make_event().event_id}
    bad_id = good[0].to_dict() | {"event_id": "not-a-ulid"}
    lines = [
        good[0].to_json().encode(),
        b"{this is not json",
        good[1].to_json().encode(),
        json.dumps(wrong_type).encode(),
        b"",
        json.dumps(bad_id).encode(),
        b'{"aggregate_id": "caf\xe9"}',
        good[2].to_json().encode(),
        b"[1, 2, 3]",
        good[3].to_json().encode(),
    ]
    log.parent.mkdir(parents=True)
    log.write_bytes(b"\n".join(lines) + b"\n")

    store = SimpleJsonStore(log)
    with caplog.at_level(logging.WARNING):
        assert store.load_all_events() == good
    assert store.last_read is not None
    assert store.last_read.malformed_lines == [2, 4, 6, 7, 9]
    assert store.last_read.events == 4
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "skipped 5 malformed lines (2, 4, 6, 7, 9)" in caplog.text


def test_clean_read_logs_nothing(log: Path, caplog: pytest.LogCaptureFixture):
    """Reading a healthy log produces no warning and an empty report."""
    store = SimpleJsonStore(log)
    store.save_event(make_event())
    with caplog.at_level(logging.WARNING):
        store.load_all_events()
    assert caplog.records == []
    assert store.last_read is not None
    assert store.last_read.malformed_count == 0


def test_duplicated_lines_from_a_merge_load_once(log: Path):
    """The same event twice (union merge, cherry-pick), even in another id spelling, loads once."""
    a, b = make_event(lamport_clock=1), make_event(lamport_clock=2)
    a_lower = a.to_dict() | {"event_id": a.event_id.lower()}
    log.parent.mkdir(parents=True)
    log.write_text("\n".join([a.to_json(), b.to_json(), json.dumps(a_lower), b.to_json()]) + "\n")
    store = SimpleJsonStore(log)
    assert store.load_all_events() == [a, b]
    assert store.last_read is not None
    assert store.last_read.duplicates == 2


def test_a_line_repeated_after_the_ids_stopped_rising_loads_once(log: Path):
    """A copy of the first event appended at the end (a cherry-pick) is recognised."""
    events = [make_event(lamport_clock=n) for n in range(1, 5)]
    log.parent.mkdir(parents=True)
    log.write_text("".join(e.to_json() + "\n" for e in [*events, events[0], events[2]]))
    store = SimpleJsonStore(log)
    assert store.load_all_events() == events
    assert store.last_read is not None
    assert store.last_read.duplicates == 2


def test_a_valid_line_is_not_hidden_by_a_malformed_line_with_its_id(log: Path):
    """An id first seen on a malformed line still loads from the valid line that repeats it."""
    early, late = make_event(lamport_clock=1), make_event(lamport_clock=2)
    broken = early.to_dict() | {"lamport_clock": "one"}
    log.parent.mkdir(parents=True)
    log.write_text("\n".join([late.to_json(), json.dumps(broken), early.to_json()]) + "\n")
    store = SimpleJsonStore(log)
    assert store.load_all_events() == [early, late]
    assert store.last_read is not None
    assert store.last_read.malformed_lines == [2]
    assert store.last_read.duplicates == 0


def test_missing_file_reads_as_empty(tmp_path: Path):
    """A log that does not exist yet is an empty store, not an error."""
    store = SimpleJsonStore(tmp_path / "nothing" / "execution.events.jsonl")
    assert store.load_all_events() == []
    assert not (tmp_path / "nothing").exists()


def _replace_file(path: Path, content: str) -> None:
    """Write a new file over ``path`` the way git checkout and merge do (new inode)."""
    tmp = path.with_name("incoming.tmp")
    tmp.write_text(content)
    os.replace(tmp, path)


def test_save_of_an_event_a_merge_brought_in_is_a_no_op(log: Path):
    """After git replaces the file with newer events, re-saving one of them adds nothing."""
    store = SimpleJsonStore(log)
    ours = make_event(lamport_clock=1)
    store.save_event(ours)
    theirs = make_event(lamport_clock=5)  # made later: its id is above everything we wrote
    _replace_file(log, ours.to_json() + "\n" + theirs.to_json() + "\n")

    assert store.save_event(theirs) is False
    assert _lines(log) == [ours.to_json().encode(), theirs.to_json().encode()]


def test_lines_appended_by_another_tool_are_seen(log: Path):
    """Events appended by a writer that ignores our lock and index are still never duplicated."""
    store = SimpleJsonStore(log)
    store.save_event(make_event(lamport_clock=1))
    foreign = make_event(lamport_clock=2)
    with log.open("a") as handle:
        handle.write(foreign.to_json() + "\n")
    assert store.save_event(foreign) is False
    assert store.head().max_lamport_clock == 2


def test_a_line_finished_after_a_save_saw_half_of_it_is_read_whole(log: Path):
    """A line another tool was still writing when we looked is scanned again once complete."""
    store = SimpleJsonStore(log)
    store.save_event(make_event(lamport_clock=1))
    late = make_event(lamport_clock=50, node_id="other-tool")
    line = late.to_json() + "\n"
    with log.open("a") as handle:
        handle.write(line[:30])  # only the start of "aggregate_id"
    assert store.head().max_lamport_clock == 1
    with log.open("a") as handle:
        handle.write(line[30:])
    assert store.save_event(late) is False
    assert store.head().max_lamport_clock == 50
    assert store.load_all_events()[-1] == late


def test_file_rewritten_in_place_is_rescanned(log: Path):
    """A file overwritten in place (same inode) with other events is rescanned, not trusted."""
    store = SimpleJsonStore(log)
    store.save_events([make_event(lamport_clock=n) for n in (1, 2)])
    replacement = [make_event(lamport_clock=n) for n in (7, 8, 9)]
    with log.open("r+b") as handle:
        handle.write("".join(e.to_json() + "\n" for e in replacement).encode())
    assert store.save_event(replacement[2]) is False
    assert store.head().max_lamport_clock == 9


def test_corrupt_index_only_costs_a_rescan(log: Path):
    """A garbage index file is ignored; the store stays correct."""
    store = SimpleJsonStore(log)
    event = make_event(lamport_clock=3)
    store.save_event(event)
    store.index_path.write_text("{garbage")
    assert store.save_event(event) is False
    assert store.head().max_lamport_clock == 3
    assert store.save_event(make_event(lamport_clock=4)) is True
    assert len(store.load_all_events()) == 2


def test_resaving_an_old_event_after_the_index_is_lost(log: Path):
    """With the index deleted, saving an already stored (older) event is still a no-op."""
    store = SimpleJsonStore(log)
    old = make_event(lamport_clock=1)
    store.save_events([old, make_event(lamport_clock=2)])
    store.index_path.unlink()
    assert store.save_event(old) is False
    assert len(_lines(log)) == 2


def test_fsync_mode_writes_the_same_file(log: Path):
    """Durable mode stores the same bytes; it only waits for the disk."""
    event = make_event()
    SimpleJsonStore(log, fsync=True).save_event(event)
    assert log.read_text() == event.to_json() + "\n"


def test_lock_held_elsewhere_times_out_with_the_file_named(log: Path):
    """A writer that cannot get the lock in time raises StoreLockTimeout naming the log."""
    store = SimpleJsonStore(log, lock_timeout=0.2)
    store.save_event(make_event())
    with lock_held_by_another_process(store.lock_path):
        started = time.monotonic()
        with pytest.raises(StoreLockTimeout, match=r"execution\.events\.jsonl"):
            store.save_event(make_event())
        assert time.monotonic() - started < 5
    assert len(_lines(log)) == 1


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60)
@given(
    payloads=st.lists(st.dictionaries(st.text(max_size=8), _JSON, max_size=4), max_size=5),
    node=st.text(min_size=1, max_size=12).filter(str.strip),
    moment=st.datetimes(),
)
def test_events_round_trip_through_the_file(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[dict[str, Any]], node: str, moment: Any
):
    """Any JSON payload, node id and timestamp comes back equal after a trip through the file."""
    path = tmp_path_factory.mktemp("rt") / "execution.events.jsonl"
    events = [
        make_event(payload=p, node_id=node, timestamp=moment, lamport_clock=i)
        for i, p in enumerate(payloads)
    ]
    SimpleJsonStore(path).save_events(events)
    assert SimpleJsonStore(path).load_all_events() == events


def test_a_line_being_appended_during_a_read_is_not_malformed(
    log: Path, caplog: pytest.LogCaptureFixture
):
    """A reader that meets a half-written last line reports it as incomplete, without a warning."""
    events = [make_event(lamport_clock=n) for n in (1, 2, 3)]
    late = make_event(lamport_clock=4).to_json() + "\n"
    log.parent.mkdir(parents=True)
    log.write_text("".join(e.to_json() + "\n" for e in events) + late[:40])
    store = SimpleJsonStore(log)
    with caplog.at_level(logging.WARNING):
        reader = store.iter_events()
        first = next(reader)
        with log.open("a") as handle:  # the writer finishes its line mid-read
            handle.write(late[40:])
        rest = list(reader)
    assert [first, *rest] == events
    assert store.last_read is not None
    assert store.last_read.malformed_lines == []
    assert store.last_read.incomplete_line == 4
    assert caplog.records == []
    assert len(store.load_all_events()) == 4


def test_a_torn_last_line_nobody_is_writing_is_malformed(
    log: Path, caplog: pytest.LogCaptureFixture
):
    """An unfinished last line in a file that is not growing is reported as malformed."""
    event = make_event(lamport_clock=1)
    log.parent.mkdir(parents=True)
    log.write_text(event.to_json() + "\n" + make_event(lamport_clock=2).to_json()[:50])
    store = SimpleJsonStore(log)
    with caplog.at_level(logging.WARNING):
        assert store.load_all_events() == [event]
    assert store.last_read is not None
    assert store.last_read.malformed_lines == [2]
    assert "skipped 1 malformed line (2)" in caplog.text


def test_a_byte_order_mark_at_the_start_is_ignored(log: Path):
    """A UTF-8 BOM an editor added does not cost the first event, nor the clock it carries."""
    first, second = make_event(lamport_clock=9), make_event(lamport_clock=2)
    log.parent.mkdir(parents=True)
    log.write_bytes(b"\xef\xbb\xbf" + (first.to_json() + "\n" + second.to_json() + "\n").encode())
    store = SimpleJsonStore(log)
    assert store.load_all_events() == [second, first]
    assert store.head().max_lamport_clock == 9


def test_absurd_lamport_clocks_are_malformed_and_do_not_exhaust_the_clock(log: Path):
    """A line claiming a clock beyond 2**53-1 is not an event and is not followed by writers."""
    good = make_event(lamport_clock=5)
    absurd = good.to_dict() | {"lamport_clock": 2**63 - 1, "event_id": make_event().event_id}
    log.parent.mkdir(parents=True)
    log.write_text(good.to_json() + "\n" + json.dumps(absurd, sort_keys=True) + "\n")
    store = SimpleJsonStore(log)
    assert store.load_all_events() == [good]
    assert store.last_read is not None
    assert store.last_read.malformed_lines == [2]
    assert store.head().max_lamport_clock == 5


_NOT_EVENTS = [
    {"event_type": ""},
    {"node_id": ""},
    {"aggregate_id": 7},
    {"timestamp": 0},
    {"causation_id": "nope"},
    {"extra_key": 1},
    {"payload": []},
    {"lamport_clock": -1},
    {"lamport_clock": 1.5},
    {"lamport_clock": True},
    {"event_id": "not-an-id"},
    {"event_type": "  "},
    {"timestamp": "0001-01-01T00:00:00+05:00"},
    {"timestamp": "not a time"},
]


def test_both_readers_agree_on_what_is_not_an_event(log: Path):
    """iter_records (the fast reader) and iter_events skip the same structurally bad lines."""
    base = make_event(lamport_clock=1)
    lines = [base.to_json()]
    for change in _NOT_EVENTS:
        lines.append(json.dumps(base.to_dict() | {"event_id": make_event().event_id} | change))
    missing = base.to_dict()
    del missing["timestamp"]
    lines.append(json.dumps(missing))
    log.parent.mkdir(parents=True)
    log.write_text("\n".join(lines) + "\n")
    expected = list(range(2, len(lines) + 1))

    store = SimpleJsonStore(log)
    assert [e.event_id for e in store.iter_events()] == [base.event_id]
    assert store.last_read is not None
    assert store.last_read.malformed_lines == expected
    assert [r["event_id"] for r in store.iter_records()] == [base.event_id]
    assert store.last_read.malformed_lines == expected


def test_a_long_catch_up_happens_before_taking_the_lock(log: Path):
    """A big unindexed log (fresh clone) is scanned without holding the lock other writers need."""
    line = make_event().to_json() + "\n"
    log.parent.mkdir(parents=True)
    with log.open("w") as handle:
        for n in range(1, 20_001):
            handle.write(line.replace('"lamport_clock": 1', f'"lamport_clock": {n}'))
    assert log.stat().st_size > 4 << 20
    store = SimpleJsonStore(log, lock_timeout=0.2)
    with lock_held_by_another_process(store.lock_path):
        with pytest.raises(StoreLockTimeout):
            store.save_event(make_event(lamport_clock=30_000))
        assert store.index_path.exists()  # the scan was done and kept while we waited
    assert store.head().max_lamport_clock == 20_000

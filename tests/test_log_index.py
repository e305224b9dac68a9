"""The log index: trusted exactly while the log is the file it describes, rebuilt otherwise.

Each test changes a real log under a real index the way tools and git do, then
checks two things: the store's answer (the largest Lamport clock and event id)
is right, and the index was trusted when it should be. To see whether it was
trusted, a test plants a *marker* head in the index, a clock and an id that no
line holds: an answer that still shows the marker came from the index, one that
does not came from rescanning the log.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from spec_kitty_telemetry import SimpleJsonStore, _log_index
from spec_kitty_telemetry.ids import new_event_id, normalize_event_id
from spec_kitty_telemetry.store import StoreHead as LogHead
from spec_kitty_telemetry.testing import make_event

MARKER_CLOCK = 40
MARKER_ID = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"  # the largest ULID: above every id a test writes


_seconds = iter(range(10**6))


def line(clock: object, event_id: str | None = None, **extra: object) -> bytes:
    """One event line as the store writes it, each with its own timestamp (as real ones have)."""
    second = next(_seconds)
    record = {
        "aggregate_id": "001-feature",
        "causation_id": None,
        "event_id": event_id or new_event_id(),
        "event_type": "TestEvent",
        "lamport_clock": clock,
        "node_id": "test",
        "payload": extra,
        "timestamp": f"2025-11-03T10:{second // 60 % 60:02}:{second % 60:02}+00:00",
    }
    return (json.dumps(record, sort_keys=True) + "\n").encode()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "001-feature" / "execution.events.jsonl"


def indexed_log(log: Path, *clocks: int) -> tuple[SimpleJsonStore, list[bytes]]:
    """A log holding one line per clock, with an index that covers all of it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    lines = [line(clock) for clock in clocks]
    log.write_bytes(b"".join(lines))
    store = SimpleJsonStore(log)
    store.head()  # a writer scans the log and saves its index
    assert store.index_path.exists()
    return store, lines


def plant_marker(store: SimpleJsonStore) -> None:
    """Replace the head the index remembers with the marker; offset, tail and inode stay."""
    index = _log_index.load(store.index_path)
    assert index is not None
    _log_index.save(
        store.index_path, dataclasses.replace(index, head=LogHead(MARKER_CLOCK, MARKER_ID))
    )


def append(log: Path, data: bytes) -> None:
    """Append bytes as a tool that ignores the index would (git, another emitter, an editor)."""
    with log.open("ab") as handle:
        handle.write(data)


def test_an_unchanged_log_is_answered_from_the_index(log: Path):
    """Nothing appended: the index is trusted as is, the log not read again."""
    store, _ = indexed_log(log, 1, 2, 3)
    plant_marker(store)
    assert store.head() == LogHead(MARKER_CLOCK, MARKER_ID)


def test_a_plain_append_scans_only_the_new_lines(log: Path):
    """Lines appended after the index: the index is trusted and only the new bytes are read."""
    store, _ = indexed_log(log, 1, 2, 3)
    plant_marker(store)
    append(log, line(7) + line(50))
    head = store.head()
    assert head.max_lamport_clock == 50  # the appended line was read
    assert head.max_event_id == MARKER_ID  # the old lines were not
    append(log, line(45))
    head = store.head()
    assert head.max_lamport_clock == 50
    assert head.max_event_id == MARKER_ID  # the index kept up with the first append


def test_the_index_after_an_append_covers_the_whole_file(log: Path):
    """After each save the index ends where the file ends and remembers its last 32 bytes."""
    store = SimpleJsonStore(log)
    ids: list[str] = []
    for clock in range(1, 4):
        event = make_event(lamport_clock=clock)
        store.save_event(event)
        ids.append(event.event_id)  # ids made in one millisecond need not rise
        index = _log_index.load(store.index_path)
        assert index is not None
        data = log.read_bytes()
        assert index.offset == len(data)
        assert index.tail == data[-32:]
        assert index.head == LogHead(clock, max(ids))
        assert (index.device, index.inode) == (os.stat(log).st_dev, os.stat(log).st_ino)


def test_a_log_rewritten_in_place_is_rescanned(log: Path):
    """Bytes before the index's offset changed (same file, same size): the whole log is read."""
    store, lines = indexed_log(log, 1, 2, 3)
    plant_marker(store)
    last = lines[-1]
    rewritten = line(9)  # the last line replaced by another event, as a rebase would
    assert len(rewritten) == len(last)
    with log.open("r+b") as handle:
        handle.seek(len(lines[0]) + len(lines[1]))
        handle.write(rewritten)
    head = store.head()
    assert head.max_lamport_clock == 9
    assert head.max_event_id != MARKER_ID


def test_a_truncated_log_is_rescanned(log: Path):
    """The log shrank below the index's offset (a reset branch): the whole log is read."""
    store, lines = indexed_log(log, 1, 5, 3)
    plant_marker(store)
    os.truncate(log, len(lines[0]) + len(lines[1]))
    assert store.head().max_lamport_clock == 5
    assert store.head().max_event_id != MARKER_ID
    os.truncate(log, 0)
    assert store.head() == LogHead(None, None)


def test_a_truncated_log_that_grew_back_past_the_offset_is_rescanned(log: Path):
    """Shrunk, then appended to beyond the old size: the tail no longer matches, so rescan."""
    store, lines = indexed_log(log, 1, 2, 3)
    plant_marker(store)
    log.write_bytes(lines[0] + line(6) + line(4) + line(2))
    assert os.path.getsize(log) > sum(map(len, lines))
    head = store.head()
    assert head.max_lamport_clock == 6
    assert head.max_event_id != MARKER_ID


def test_a_log_replaced_by_another_file_of_the_same_size_is_rescanned(log: Path):
    """git writes a new file: same size, same last line, another inode: the whole log is read."""
    store, lines = indexed_log(log, 1, 2, 3)
    plant_marker(store)
    first = lines[0].replace(b'"lamport_clock": 1', b'"lamport_clock": 8')
    other = log.with_name("checkout.tmp")
    other.write_bytes(first + lines[1] + lines[2])
    os.replace(other, log)
    assert os.path.getsize(log) == sum(map(len, lines))
    head = store.head()
    assert head.max_lamport_clock == 8
    assert head.max_event_id != MARKER_ID


def test_an_unfinished_last_line_is_read_again_once_finished(log: Path):
    """A line still being written is not covered by the index; its end is read when it comes."""
    store, lines = indexed_log(log, 1, 2)
    finished = line(30)
    append(log, finished[:25])  # a writer that does not lock, halfway through
    assert store.head().max_lamport_clock == 2
    index = _log_index.load(store.index_path)
    assert index is not None
    assert index.offset == len(lines[0]) + len(lines[1])  # stops before the unfinished line
    plant_marker(store)
    append(log, finished[25:])
    head = store.head()
    assert head.max_lamport_clock == MARKER_CLOCK  # 30 was read, the older lines were not
    append(log, line(55))
    assert store.head().max_lamport_clock == 55


def test_an_unfinished_line_of_a_complete_event_counts_but_stays_uncovered(log: Path):
    """A whole event missing only its newline raises the head, and is read again later."""
    store, lines = indexed_log(log, 1, 2)
    append(log, line(60)[:-1])
    assert store.head().max_lamport_clock == 60
    index = _log_index.load(store.index_path)
    assert index is not None
    assert index.offset == len(lines[0]) + len(lines[1])
    assert index.tail == (lines[0] + lines[1])[-32:]


def test_saving_after_an_unfinished_line_starts_a_new_line_and_covers_it_all(log: Path):
    """The store ends the torn line first; the index then covers the file to its end."""
    store, _ = indexed_log(log, 1, 2)
    append(log, b'{"torn": ')
    store.save_event(make_event(lamport_clock=3))
    data = log.read_bytes()
    assert data.endswith(b'{"torn": \n' + data.split(b"\n")[-2] + b"\n")
    index = _log_index.load(store.index_path)
    assert index is not None
    assert (index.offset, index.tail) == (len(data), data[-32:])
    assert store.head().max_lamport_clock == 3


def test_a_damaged_index_is_never_trusted_for_a_different_answer(log: Path):
    """Any one byte of the index file changed: it loads as the same index or as none at all."""
    store, _ = indexed_log(log, 1, 2, 3)
    original = _log_index.load(store.index_path)
    assert original is not None
    saved = store.index_path.read_bytes()
    for position in range(len(saved)):
        for replacement in (b"0", b"7", b"f", b"x", b" "):
            damaged = saved[:position] + replacement + saved[position + 1 :]
            store.index_path.write_bytes(damaged)
            assert _log_index.load(store.index_path) in (None, original), (position, replacement)


def test_an_index_that_cannot_describe_a_log_is_ignored(log: Path):
    """An offset shorter than its tail, or an offset with no tail, is not a usable index."""
    store, _ = indexed_log(log, 1)
    index = _log_index.load(store.index_path)
    assert index is not None
    for broken in (
        dataclasses.replace(index, offset=31, tail=b"x" * 32),
        dataclasses.replace(index, tail=b""),
    ):
        _log_index.save(store.index_path, broken)
        assert _log_index.load(store.index_path) is None
    _log_index.save(store.index_path, dataclasses.replace(index, offset=1, tail=b""))
    assert _log_index.load(store.index_path) is None
    empty = dataclasses.replace(index, offset=0, tail=b"", head=LogHead())
    _log_index.save(store.index_path, empty)
    assert _log_index.load(store.index_path) == empty
    short = dataclasses.replace(index, offset=3, tail=b"abc")
    _log_index.save(store.index_path, short)
    assert _log_index.load(store.index_path) == short


def test_the_head_ignores_what_is_not_an_event_clock(log: Path):
    """Clocks above 2**53-1, floats, strings and booleans never raise the head; 2**53-1 does."""
    log.parent.mkdir(parents=True)
    log.write_bytes(
        line(3)
        + line(2**53)
        + line(99.0)
        + line("98")
        + line(True)
        + b"not json\n"
        + b'{"lamport_clock": 97}\n'
    )
    assert SimpleJsonStore(log).head().max_lamport_clock == 3
    append(log, line(2**53 - 1))
    assert SimpleJsonStore(log).head().max_lamport_clock == 2**53 - 1


def test_the_head_of_an_empty_or_event_less_log_is_empty(log: Path):
    """No event lines, no head: clock and id are None, not 0 or ''."""
    log.parent.mkdir(parents=True)
    log.write_bytes(b"")
    assert SimpleJsonStore(log).head() == LogHead(None, None)
    log.write_bytes(b"garbage\n\n")
    assert SimpleJsonStore(log).head() == LogHead(None, None)


def test_a_clock_of_zero_is_a_head(log: Path):
    """An event with Lamport clock 0 is the head's clock 0, not an empty head."""
    log.parent.mkdir(parents=True)
    log.write_bytes(line(0))
    assert SimpleJsonStore(log).head().max_lamport_clock == 0


def test_the_head_reads_ids_in_any_accepted_form(log: Path):
    """UUID and lower-case ids count in their canonical ULID form."""
    uuid_text = "ffffffff-0000-4000-8000-000000000000"
    log.parent.mkdir(parents=True)
    log.write_bytes(line(1, "01khjvjwdm0hgagygxjykd1jqg") + line(2, uuid_text))
    head = SimpleJsonStore(log).head()
    assert head.max_event_id == normalize_event_id(uuid_text)
    assert head.max_event_id > "01KHJVJWDM0HGAGYGXJYKD1JQG"


def test_a_byte_order_mark_does_not_hide_the_first_line(log: Path):
    """Some editors start a file with a BOM; the first event still counts."""
    log.parent.mkdir(parents=True)
    log.write_bytes(b"\xef\xbb\xbf" + line(9) + line(2))
    assert SimpleJsonStore(log).head().max_lamport_clock == 9


def test_lines_across_read_chunks_are_read_whole(log: Path):
    """A multi-megabyte log: the line with the largest clock and id straddles a 1 MiB chunk."""
    log.parent.mkdir(parents=True)
    filler = [line(n, payload="x" * 900) for n in range(1, 1_200)]
    body = b"".join(filler)
    cut = next(i for i in range(len(filler)) if sum(map(len, filler[: i + 1])) > (1 << 20) - 100)
    top_id = new_event_id(after=max(json.loads(f)["event_id"] for f in filler))
    before = b"".join(filler[:cut])
    after = b"".join(filler[cut:])
    top = line(5_000, top_id, payload="y" * 2_000)
    log.write_bytes(before + top + after)
    assert len(before) < (1 << 20) < len(before) + len(top)
    assert len(body) > 1 << 20
    head = SimpleJsonStore(log).head()
    assert head == LogHead(5_000, top_id)


def test_far_behind_means_more_than_four_mebibytes_to_read(log: Path):
    """A writer scans before locking only for more than 4 MiB unread: at 4 MiB it does not."""
    log.parent.mkdir(parents=True)
    limit = 4 << 20
    with log.open("wb") as handle:
        handle.truncate(limit)
    assert not _log_index.far_behind(None, os.stat(log))
    os.truncate(log, limit + 1)
    assert _log_index.far_behind(None, os.stat(log))
    st = os.stat(log)
    cached = _log_index.LogIndex(st.st_dev, st.st_ino, 1, b"x", LogHead())
    assert not _log_index.far_behind(cached, st)  # exactly 4 MiB past its offset
    os.truncate(log, 1)
    assert not _log_index.far_behind(cached, os.stat(log))  # nothing new
    os.truncate(log, limit + 1)
    os.truncate(log, limit + 2)
    assert _log_index.far_behind(cached, os.stat(log))
    os.truncate(log, 0)
    assert _log_index.far_behind(cached, os.stat(log))  # shrunk below the offset: rescan
    other = dataclasses.replace(cached, inode=cached.inode + 1)
    assert not _log_index.far_behind(other, os.stat(log))  # another file, but empty
    os.truncate(log, limit + 1)
    assert _log_index.far_behind(other, os.stat(log))


def test_a_blank_line_appended_is_covered_by_the_index(log: Path):
    """An empty line (an editor's stray newline) is a whole line: the next save adds no other."""
    store, _ = indexed_log(log, 1)
    append(log, b"\n")
    store.head()
    index = _log_index.load(store.index_path)
    assert index is not None
    assert index.offset == os.path.getsize(log)
    store.save_event(make_event(lamport_clock=2))
    assert b"\n\n\n" not in log.read_bytes()
    assert log.read_bytes().count(b"\n") == 3


def test_a_head_and_an_index_cannot_be_changed_once_made(log: Path):
    """Heads and indexes are values shared between a writer and its cache: immutable."""
    store, _ = indexed_log(log, 1)
    index = _log_index.load(store.index_path)
    assert index is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        index.offset = 0  # type: ignore[misc]
    with pytest.raises(AttributeError):  # a plain frozen class (see spec 010), not a dataclass
        index.head.max_lamport_clock = 0  # type: ignore[misc]


def test_appending_a_smaller_clock_or_id_keeps_the_largest(log: Path):
    """The head is a maximum: an event saved with a lower clock or id does not lower it."""
    store = SimpleJsonStore(log)
    high = make_event(lamport_clock=5)
    store.save_event(high)
    low = make_event(
        lamport_clock=3, event_id=normalize_event_id("00000000-0000-0000-0000-000000000001")
    )
    store.save_event(low)
    index = _log_index.load(store.index_path)
    assert index is not None
    assert index.head == LogHead(5, high.event_id)
    assert store.head() == LogHead(5, high.event_id)


# -- the documented bounds, each used exactly ---------------------------------

LARGEST_CLOCK = 2**53 - 1  # MAX_LAMPORT_CLOCK: the largest clock a JSON reader keeps exact
ABOVE_EVERY_ULID = "80000000000000000000000000"  # the smallest canonical id that is not a ULID


def plant_head(store: SimpleJsonStore, head: LogHead) -> None:
    """Replace the head the index remembers with ``head``; offset, tail and inode stay."""
    index = _log_index.load(store.index_path)
    assert index is not None
    _log_index.save(store.index_path, dataclasses.replace(index, head=head))


def pad_index(store: SimpleJsonStore, size: int) -> None:
    """Pad the saved index with trailing whitespace (still the same JSON) to ``size`` bytes."""
    saved = store.index_path.read_bytes().rstrip()
    assert len(saved) < size
    store.index_path.write_bytes(saved + b" " * (size - len(saved)))


def test_an_index_file_of_4096_bytes_is_read_and_one_of_4097_is_not(log: Path):
    """The index file bound is 4,096 bytes inclusive: at it the index is trusted, one byte over
    it the file is not one the package wrote, so the log is rescanned."""
    store, _ = indexed_log(log, 1, 2, 3)
    plant_marker(store)
    pad_index(store, 4096)
    assert store.head() == LogHead(MARKER_CLOCK, MARKER_ID)
    plant_marker(store)
    pad_index(store, 4097)
    head = store.head()
    assert head.max_lamport_clock == 3
    assert head.max_event_id != MARKER_ID


def test_an_index_holding_clock_zero_is_trusted_and_one_below_is_not(log: Path):
    """A clock of exactly 0 is a valid head to remember (an index says so); -1 is no clock a
    scan yields, so an index holding it is not trusted."""
    store, _ = indexed_log(log, 0)
    plant_head(store, LogHead(0, MARKER_ID))
    assert store.head() == LogHead(0, MARKER_ID)
    plant_head(store, LogHead(-1, MARKER_ID))
    head = store.head()
    assert head.max_lamport_clock == 0
    assert head.max_event_id != MARKER_ID


def test_an_index_holding_the_largest_clock_is_trusted_and_one_above_is_not(log: Path):
    """A clock of exactly 2**53-1 is a valid head to remember; 2**53 is beyond what a scan
    follows, so an index holding it is not trusted."""
    store, _ = indexed_log(log, 1, LARGEST_CLOCK)
    plant_head(store, LogHead(LARGEST_CLOCK, MARKER_ID))
    assert store.head() == LogHead(LARGEST_CLOCK, MARKER_ID)
    plant_head(store, LogHead(LARGEST_CLOCK + 1, MARKER_ID))
    head = store.head()
    assert head.max_lamport_clock == LARGEST_CLOCK
    assert head.max_event_id != MARKER_ID


def test_an_event_with_the_largest_ulid_raises_the_head_and_one_above_does_not(log: Path):
    """A scanned line whose id is exactly the largest ULID is the head's id; the next canonical
    id (another tool's, above every ULID) is not."""
    log.parent.mkdir(parents=True)
    log.write_bytes(line(1) + line(2, MARKER_ID) + line(3, ABOVE_EVERY_ULID))
    assert SimpleJsonStore(log).head() == LogHead(3, MARKER_ID)
    log.write_bytes(line(1, ABOVE_EVERY_ULID))
    assert SimpleJsonStore(log).head() == LogHead(1, None)


def test_an_index_holding_the_largest_ulid_is_trusted_and_one_above_is_not(log: Path):
    """The id an index remembers may be exactly the largest ULID; an id above every ULID is
    none a scan yields, so an index holding it is not trusted."""
    store, lines = indexed_log(log, 1, 2)
    plant_head(store, LogHead(MARKER_CLOCK, MARKER_ID))
    assert store.head() == LogHead(MARKER_CLOCK, MARKER_ID)
    plant_head(store, LogHead(MARKER_CLOCK, ABOVE_EVERY_ULID))
    assert store.head() == LogHead(2, max(json.loads(x)["event_id"] for x in lines))

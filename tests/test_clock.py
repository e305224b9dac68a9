"""Lamport clocks over both storages, and the clock file's failure modes."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from spec_kitty_telemetry import (
    ClockError,
    LamportClock,
    TelemetryError,
)
from spec_kitty_telemetry.clock import (
    MAX_CLOCK_FILE_BYTES,
    ClockStorage,
    FileClockStorage,
    InMemoryClockStorage,
)


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ClockStorage:
    if request.param == "memory":
        return InMemoryClockStorage()
    return FileClockStorage(tmp_path / "clock.json")


def test_tick_counts_up_from_zero(storage: ClockStorage):
    """A new clock reads 0 and each tick returns the next integer."""
    clock = LamportClock(storage)
    assert clock.current() == 0
    assert [clock.tick() for _ in range(3)] == [1, 2, 3]
    assert clock.current() == 3


def test_update_jumps_past_a_remote_timestamp(storage: ClockStorage):
    """Receive rule: after seeing remote time t the clock is max(local, t) + 1."""
    clock = LamportClock(storage)
    clock.tick()
    assert clock.update(10) == 11
    assert clock.update(4) == 12  # a smaller remote time still advances the clock


def test_negative_remote_timestamp_is_rejected(storage: ClockStorage):
    """Lamport timestamps are never negative; update refuses one."""
    with pytest.raises(ValueError, match="negative"):
        LamportClock(storage).update(-1)


def test_file_clock_survives_a_new_process_object(tmp_path: Path):
    """The value persists in the file: a fresh clock over it continues where it stopped."""
    path = tmp_path / "clock.json"
    LamportClock(FileClockStorage(path)).update(41)
    assert LamportClock(FileClockStorage(path)).tick() == 43


def test_corrupt_clock_file_reads_as_zero_with_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A clock file that is not a clock is ignored with one INFO record naming it."""
    path = tmp_path / "clock.json"
    path.write_text('{"lamport_clock": "soon"')
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == 0
    assert len(caplog.records) == 1
    assert str(path) in caplog.text


def test_clock_file_is_replaced_atomically(tmp_path: Path):
    """Saving leaves only the clock file behind: no temporary files, valid JSON."""
    path = tmp_path / "clock.json"
    storage = FileClockStorage(path)
    for value in range(5):
        storage.save(value)
    assert [p.name for p in tmp_path.iterdir()] == ["clock.json"]
    assert path.read_text() == '{"lamport_clock": 4}\n'


# -- values out of range (issue 7, items 2 and 5) ------------------------------------

BOUND = 2**53 - 1  # the largest Lamport value: every JSON reader keeps it exact


@pytest.mark.parametrize("value", [-1, -(2**70), BOUND + 1, 2**63, 10**30])
def test_save_refuses_a_value_outside_the_lamport_range(storage: ClockStorage, value: int):
    """save() raises a ValueError that is also a ClockError for a value below 0 or above 2**53-1.

    The stored value is left as it was.
    """
    storage.save(7)
    with pytest.raises(ValueError, match="0 to 2\\*\\*53-1") as raised:
        storage.save(value)
    assert isinstance(raised.value, ClockError)
    assert isinstance(raised.value, TelemetryError)
    assert storage.load() == 7


@pytest.mark.parametrize("value", [-1, BOUND + 1])
def test_in_memory_storage_refuses_an_out_of_range_start(value: int):
    """An in-memory clock cannot start below 0 or above the bound either."""
    with pytest.raises(ClockError, match="0 to 2\\*\\*53-1"):
        InMemoryClockStorage(value)


def test_update_refuses_a_remote_timestamp_above_the_bound(storage: ClockStorage):
    """A remote value above 2**53-1 is no Lamport timestamp: update refuses it, nothing stored."""
    clock = LamportClock(storage)
    clock.tick()
    with pytest.raises(ValueError, match="2\\*\\*53-1"):
        clock.update(BOUND + 1)
    assert clock.current() == 1


def test_clock_saturates_at_the_bound(storage: ClockStorage):
    """At 2**53-1 the clock stays there: tick and update return the bound instead of failing."""
    clock = LamportClock(storage)
    assert clock.update(BOUND - 1) == BOUND
    assert clock.tick() == BOUND
    assert clock.update(BOUND) == BOUND
    assert clock.current() == BOUND


@pytest.mark.parametrize(
    "text",
    [
        f'{{"lamport_clock": {BOUND + 1}}}',
        f'{{"lamport_clock": {2**63}}}',
        f'{{"lamport_clock": {10**30}}}',
        f'{{"lamport_clock": 1{"0" * 4000}}}',
        f'{{"lamport_clock": 1{"0" * 5000}}}',  # beyond Python's int-parsing limit
        '{"lamport_clock": -4}',
        '{"lamport_clock": 12.0}',
        '{"lamport_clock": true}',
        "[12]",
        "12",
        "[" * 50_000,
        "\xff\xfe not utf-8",
    ],
)
def test_clock_file_beyond_the_bound_or_malformed_reads_as_zero(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
):
    """A clock file holding no usable value (above the bound, negative, not an int) is corrupt.

    It reads as 0 with one INFO record, so the emitter falls back to the log.
    """
    path = tmp_path / "clock.json"
    path.write_bytes(text.encode("latin-1"))
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == 0
    assert len(caplog.records) == 1
    assert str(path) in caplog.text
    assert len(caplog.text) < 1000  # a huge value is not copied into the log record


def test_clock_file_at_the_bound_is_valid_and_saturates(tmp_path: Path):
    """2**53-1 itself is a valid clock value; the next tick stays at it."""
    path = tmp_path / "clock.json"
    path.write_text(f'{{"lamport_clock": {BOUND}}}')
    clock = LamportClock(FileClockStorage(path))
    assert clock.current() == BOUND
    assert clock.tick() == BOUND


def test_oversized_clock_file_is_corrupt(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """A clock file larger than MAX_CLOCK_FILE_BYTES is not read at all: it reads as 0."""
    path = tmp_path / "clock.json"
    path.write_text('{"lamport_clock": 9, "pad": "' + "x" * MAX_CLOCK_FILE_BYTES + '"}')
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == 0
    assert "bytes" in caplog.text


# -- clock files that are not regular files (issue 7, item 3) -------------------------

_LOAD_IN_A_CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # /dev/zero must not eat the machine
from spec_kitty_telemetry.clock import FileClockStorage
started = time.monotonic()
value = FileClockStorage(sys.argv[1]).load()
print(value, round(time.monotonic() - started, 3))
"""


def load_in_a_child(path: Path) -> int:
    """Load the clock at ``path`` in a separate process; fail (never hang) after 20 s."""
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    value, seconds = done.stdout.split()
    assert float(seconds) < 5
    return int(value)


def test_fifo_clock_file_reads_as_zero_without_blocking(tmp_path: Path):
    """A FIFO at the clock's path (no writer on the other end) is corrupt, not waited on."""
    path = tmp_path / "clock.json"
    os.mkfifo(path)
    assert load_in_a_child(path) == 0


def test_symlink_to_dev_zero_reads_as_zero_without_reading_it(tmp_path: Path):
    """A symlink to an endless device is not followed: the clock reads 0, no MemoryError."""
    path = tmp_path / "clock.json"
    path.symlink_to("/dev/zero")
    assert load_in_a_child(path) == 0


def test_symlink_to_a_valid_clock_file_is_not_followed(tmp_path: Path):
    """Even a symlink to a well-formed clock file is corrupt: only a regular file is read."""
    real = tmp_path / "real.json"
    real.write_text('{"lamport_clock": 40}')
    path = tmp_path / "clock.json"
    path.symlink_to(real)
    assert FileClockStorage(path).load() == 0


def test_directory_at_the_clock_path_reads_as_zero(tmp_path: Path):
    """A directory where the clock file should be is corrupt (0), not an exception."""
    path = tmp_path / "clock.json"
    path.mkdir()
    assert FileClockStorage(path).load() == 0


def test_saving_over_a_fifo_is_refused_and_names_it(tmp_path: Path):
    """A FIFO where the clock belongs is not the package's file: save refuses, naming the path.

    (The emitter then stamps from the log alone; see tests/test_write_safety.py.)
    """
    path = tmp_path / "clock.json"
    os.mkfifo(path)
    storage = FileClockStorage(path)
    with pytest.raises(ClockError, match=r"clock\.json"):
        storage.save(3)
    assert stat.S_ISFIFO(path.lstat().st_mode)
    assert storage.load() == 0


# -- sharing .telemetry-clock.json with spec-kitty's own telemetry (issue 7, item 10) --

SPEC_KITTY_CLOCK_FACTS = """
spec-kitty's own telemetry module (before this package) kept its clock in the
same file, ``<feature>/.telemetry-clock.json``, in another shape:

* one JSON object mapping each clock node, ``"<node_id>:<wp_id>"`` such as
  ``"cli:WP01"``, to that node's last Lamport value (an int); written as
  ``json.dumps(obj, sort_keys=True)``, no trailing newline, not atomically;
* reading, it takes ``obj.get(node, 0)`` and uses it when it is an int or a
  float (``int(value)``), else 0; a file that is not JSON reads as 0 for
  every node, and a JSON value that is not an object makes its emit fail;
* writing, it re-reads the object, sets its own node's key and writes the
  whole object back, so other keys survive;
* its clock ticks per node from the stored value, with no look at the log.
"""


def spec_kitty_reads(path: Path, node: str) -> int:
    """What spec-kitty's reader makes of ``path`` for ``node`` (see SPEC_KITTY_CLOCK_FACTS)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)  # anything else would break its emit
    value = document.get(node, 0)
    return int(value) if isinstance(value, int | float) else 0


def spec_kitty_writes(path: Path, node: str, value: int) -> None:
    """Store ``value`` for ``node`` the way spec-kitty does (see SPEC_KITTY_CLOCK_FACTS)."""
    document = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    document[node] = value
    path.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")


def test_a_clock_file_in_spec_kittys_format_is_respected(tmp_path: Path):
    """Our clock reads spec-kitty's per-node entries: it starts above the largest of them."""
    path = tmp_path / ".telemetry-clock.json"
    spec_kitty_writes(path, "cli:WP01", 41)
    spec_kitty_writes(path, "cli:WP02", 7)
    clock = LamportClock(FileClockStorage(path))
    assert clock.current() == 41
    assert clock.tick() == 42


def test_what_we_write_keeps_spec_kittys_clocks_moving_forward(tmp_path: Path):
    """After our save, spec-kitty still reads an object; its nodes' values only ever grow.

    Its entries are kept, and raised to our value when below it, so its next
    event is stamped after ours; ours survives its next write.
    """
    path = tmp_path / ".telemetry-clock.json"
    spec_kitty_writes(path, "cli:WP01", 41)
    spec_kitty_writes(path, "cli:WP02", 70)
    spec_kitty_writes(path, "ci-3:None", "garbage")  # type: ignore[arg-type]
    storage = FileClockStorage(path)
    storage.save(50)
    assert spec_kitty_reads(path, "cli:WP01") == 50  # raised: its next tick is 51, after ours
    assert spec_kitty_reads(path, "cli:WP02") == 70  # ahead of ours: left as it was
    assert spec_kitty_reads(path, "ci-3:None") == 0  # not a number: kept, as it was
    assert json.loads(path.read_text())["ci-3:None"] == "garbage"
    assert spec_kitty_reads(path, "cli:WP09") == 0  # a node it never stored, as before
    spec_kitty_writes(path, "cli:WP01", 51)
    assert storage.load() == 70
    assert json.loads(path.read_text())["lamport_clock"] == 50


def test_our_own_file_stays_in_our_format(tmp_path: Path):
    """Without spec-kitty's entries the file is exactly ``{"lamport_clock": N}`` and a newline."""
    path = tmp_path / ".telemetry-clock.json"
    FileClockStorage(path).save(12)
    assert path.read_text() == '{"lamport_clock": 12}\n'
    assert spec_kitty_reads(path, "cli:WP01") == 0

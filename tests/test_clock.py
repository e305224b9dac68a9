"""Lamport clocks over both storages, and the clock file's failure modes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from spec_kitty_telemetry import FileClockStorage, InMemoryClockStorage, LamportClock
from spec_kitty_telemetry.clock import ClockStorage


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

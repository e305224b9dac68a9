"""The Lamport clock at its edges: a remote time of 0, and clock files holding no clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_kitty_telemetry import LamportClock
from spec_kitty_telemetry.clock import FileClockStorage, InMemoryClockStorage


def test_a_remote_time_of_zero_is_a_time():
    """update(0) is the receive rule for a clock that never ticked: the result is 1."""
    assert LamportClock(InMemoryClockStorage()).update(0) == 1
    with pytest.raises(ValueError, match="cannot be negative: -1"):
        LamportClock(InMemoryClockStorage()).update(-1)


@pytest.mark.parametrize(
    "text",
    [
        '{"lamport_clock": 1.5}',
        '{"lamport_clock": "3"}',
        '{"lamport_clock": true}',
        '{"lamport_clock": -1}',
        '{"lamport_clock": null}',
        '{"cli:WP01": "3"}',  # spec-kitty's entries count only as whole numbers
        "[3]",
        "3",
    ],
)
def test_a_clock_file_without_a_whole_clock_reads_as_zero(tmp_path: Path, text: str):
    """No entry holding a whole number in 0..2**53-1 means no clock: 0 (the log decides)."""
    path = tmp_path / "clock.json"
    path.write_text(text)
    assert FileClockStorage(path).load() == 0


def test_a_stored_zero_and_a_stored_value_read_back(tmp_path: Path):
    """0 is a valid stored clock, and a saved value is what the next process loads."""
    path = tmp_path / "clock.json"
    path.write_text('{"lamport_clock": 0}')
    assert FileClockStorage(path).load() == 0
    FileClockStorage(path).save(7)
    assert FileClockStorage(path).load() == 7
    assert path.read_bytes() == b'{"lamport_clock": 7}\n'

"""The clock's documented details: value bounds, messages, the file's exact bytes, describe().

Each test pins one rule of ``clock.py`` that a silent change would otherwise
break unnoticed: what counts as a clock value, the exact size a clock file
may have, what a problem report and an error message say, and which calls
only read.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from spec_kitty_telemetry import LamportClock
from spec_kitty_telemetry.clock import (
    MAX_CLOCK_FILE_BYTES,
    MAX_LAMPORT_CLOCK,
    FileClockStorage,
    InMemoryClockStorage,
    is_clock_value,
    next_timestamp,
)
from spec_kitty_telemetry.errors import InvalidClockValueError

_EXPECTED = "must be a whole number from 0 to 2**53-1, got"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (0, True),
        (1, True),
        (MAX_LAMPORT_CLOCK, True),
        (MAX_LAMPORT_CLOCK + 1, False),
        (-1, False),
        (True, False),  # a bool is an int to Python, never a clock to us
        (False, False),
        (3.0, False),
        ("3", False),
        (None, False),
    ],
)
def test_clock_values_are_ints_from_zero_to_the_bound(value: object, valid: bool):
    """is_clock_value: exactly the ints (not bools, floats or text) in 0..2**53-1."""
    assert is_clock_value(value) is valid


@pytest.mark.parametrize(
    ("seen", "following"),
    [
        (0, 1),
        (41, 42),
        (MAX_LAMPORT_CLOCK - 1, MAX_LAMPORT_CLOCK),
        (MAX_LAMPORT_CLOCK, MAX_LAMPORT_CLOCK),
    ],
)
def test_next_timestamp_adds_one_and_holds_at_the_bound(seen: int, following: int):
    """The timestamp after ``seen`` is seen + 1, and the bound itself after the bound."""
    assert next_timestamp(seen) == following


@pytest.mark.parametrize("value", [True, 3.0, -1, MAX_LAMPORT_CLOCK + 1])
def test_storages_refuse_what_is_not_a_clock_value_and_say_what(tmp_path: Path, value: object):
    """A start value, a saved value: the error says which, and what was given."""
    for make, what in (
        (lambda v: InMemoryClockStorage(v), "a clock's start value"),
        (lambda v: InMemoryClockStorage().save(v), "a clock value"),
        (lambda v: FileClockStorage(tmp_path / "clock.json").save(v), "a clock value"),
    ):
        with pytest.raises(InvalidClockValueError) as raised:
            make(value)
        assert str(raised.value) == f"{what} {_EXPECTED} {value!r}"
    assert not (tmp_path / "clock.json").exists()  # nothing stored


def test_a_start_value_is_where_the_clock_starts():
    """InMemoryClockStorage(5): current() is 5 and the next tick 6; the default start is 0."""
    clock = LamportClock(InMemoryClockStorage(5))
    assert clock.current() == 5
    assert clock.tick() == 6
    assert InMemoryClockStorage().load() == 0


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10**39, repr(10**39)),  # 40 characters: shown whole
        (10**40, "10000000000000000000...(41 characters)"),
        (-(10**38), repr(-(10**38))),  # 40 characters with the sign
    ],
)
def test_a_huge_value_is_shortened_in_the_message_past_40_characters(value: int, shown: str):
    """A 4,000-digit number must not end up whole in a log record: 40 characters at most."""
    with pytest.raises(InvalidClockValueError) as raised:
        InMemoryClockStorage(value)
    assert str(raised.value) == f"a clock's start value {_EXPECTED} {shown}"


def test_update_messages_say_negative_or_above_the_bound():
    """update(-3) says it is negative; update(2**53) that it is beyond the range."""
    clock = LamportClock(InMemoryClockStorage())
    with pytest.raises(InvalidClockValueError) as negative:
        clock.update(-3)
    assert str(negative.value) == "a Lamport timestamp cannot be negative: -3"
    with pytest.raises(InvalidClockValueError) as above:
        clock.update(MAX_LAMPORT_CLOCK + 1)
    assert str(above.value) == f"a remote Lamport timestamp {_EXPECTED} {MAX_LAMPORT_CLOCK + 1}"
    with pytest.raises(InvalidClockValueError) as flag:
        clock.update(True)
    assert str(flag.value) == f"a remote Lamport timestamp {_EXPECTED} True"
    assert clock.current() == 0  # nothing was stored by the refused updates


def test_update_to_the_bound_saturates_and_is_returned(tmp_path: Path):
    """update(2**53-1) gives 2**53-1 (held at the bound), stored for the next process."""
    path = tmp_path / "clock.json"
    assert LamportClock(FileClockStorage(path)).update(MAX_LAMPORT_CLOCK) == MAX_LAMPORT_CLOCK
    assert FileClockStorage(path).load() == MAX_LAMPORT_CLOCK


# -- the clock file: size, content, notes ---------------------------------------------------


def _file_of_size(path: Path, size: int, clock: int = 9) -> None:
    """A valid clock file padded with spaces to exactly ``size`` bytes."""
    body = json.dumps({"lamport_clock": clock})
    path.write_text(body + " " * (size - len(body)))
    assert path.stat().st_size == size


def test_a_clock_file_of_exactly_the_maximum_size_is_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """64 KiB is allowed (room for spec-kitty's entries); one byte more and the file is corrupt."""
    assert MAX_CLOCK_FILE_BYTES == 64 * 1024
    path = tmp_path / "clock.json"
    _file_of_size(path, MAX_CLOCK_FILE_BYTES)
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == 9
    assert caplog.records == []
    _file_of_size(path, MAX_CLOCK_FILE_BYTES + 1)
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == 0
    assert f"larger than {MAX_CLOCK_FILE_BYTES} bytes" in caplog.text
    assert FileClockStorage(path).describe() == ("corrupt", None)


def test_loading_a_missing_or_valid_file_notes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Only a corrupt file earns the INFO note: a missing file is 0, a valid one its value."""
    path = tmp_path / "clock.json"
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == 0
        path.write_text('{"lamport_clock": 4, "cli:WP01": 6}')
        assert FileClockStorage(path).load() == 6
    assert caplog.records == []


@pytest.mark.parametrize(
    ("text", "value", "why"),
    [
        (
            '{"lamport_clock": "x", "cli:WP01": 5}',
            5,
            "lamport_clock 'x', expected a whole number from 0 to 2**53-1",
        ),
        ('{"note": "x"}', 0, "no lamport_clock, expected a whole number from 0 to 2**53-1"),
        ("[1, 2]", 0, "a JSON list, not an object"),
    ],
)
def test_a_corrupt_clock_file_is_noted_with_what_is_wrong(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, value: int, why: str
):
    """load() gives the largest valid entry (else 0); one INFO line says why the file is bad."""
    path = tmp_path / "clock.json"
    path.write_text(text)
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).load() == value
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: corrupt clock file ignored ({why}); restarting from 0"
    ]
    assert FileClockStorage(path).describe() == ("corrupt", None)


def test_the_corruption_note_is_cut_at_200_characters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A long reason (here the path of an oversized file) is kept to its first 200 characters."""
    folder = tmp_path / ("deep-folder-name-" * 12)
    folder.mkdir()
    path = folder / "clock.json"
    _file_of_size(path, MAX_CLOCK_FILE_BYTES + 1)
    with caplog.at_level(logging.INFO):
        FileClockStorage(path).load()
    [message] = [r.getMessage() for r in caplog.records]
    prefix, suffix = f"{path}: corrupt clock file ignored (", "); restarting from 0"
    assert message.startswith(prefix)
    assert message.endswith(suffix)
    reason = message[len(prefix) : -len(suffix)]
    assert len(reason) == 200
    assert reason == f"{path}: larger than {MAX_CLOCK_FILE_BYTES} bytes; ignored"[:200]


def test_saving_over_a_corrupt_file_repairs_it_without_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """save() replaces bad content with the value; the note belongs to the load that decided."""
    path = tmp_path / "clock.json"
    path.write_text("{not json")
    with caplog.at_level(logging.INFO):
        FileClockStorage(path).save(3)
    assert caplog.records == []
    assert path.read_bytes() == b'{"lamport_clock": 3}\n'


def test_save_writes_sorted_keys_and_raises_only_lower_clock_entries(tmp_path: Path):
    """Exact bytes: keys sorted, one newline; entries below the value raised, others untouched."""
    path = tmp_path / "clock.json"
    path.write_text('{"z:WP09": 99, "note": "keep", "lamport_clock": 1, "a:WP01": 4, "b": 7}')
    FileClockStorage(path).save(7)
    assert path.read_bytes() == (
        b'{"a:WP01": 7, "b": 7, "lamport_clock": 7, "note": "keep", "z:WP09": 99}\n'
    )


# -- describe(): what doctor shows, reading only ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "state"),
    [
        (None, ("missing", None)),
        ('{"lamport_clock": 12}', ("ok", 12)),
        ('{"lamport_clock": 12, "cli:WP01": 30}', ("ok", 30)),
        ('{"lamport_clock": 0}', ("ok", 0)),
        ("{}", ("corrupt", None)),  # holds no clock at all
        ('{"lamport_clock": -4, "cli:WP01": 30}', ("corrupt", None)),  # our entry is bad
        ("not json", ("corrupt", None)),
    ],
)
def test_describe_says_missing_ok_or_corrupt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | None, state: tuple
):
    """describe() gives doctor the state and value, and neither logs nor changes the file."""
    path = tmp_path / "clock.json"
    if content is not None:
        path.write_text(content)
    with caplog.at_level(logging.INFO):
        assert FileClockStorage(path).describe() == state
    assert caplog.records == []
    assert (path.read_text() if content is not None else None) == content


def test_describe_calls_a_dangling_link_corrupt_not_missing(tmp_path: Path):
    """A link to nowhere at the clock path is something there (not ours): corrupt."""
    path = tmp_path / "clock.json"
    os.symlink(tmp_path / "nowhere", path)
    assert FileClockStorage(path).describe() == ("corrupt", None)
    assert FileClockStorage(path).load() == 0


_DESCRIBE_AS_NOBODY = """
import os, sys
from spec_kitty_telemetry.clock import FileClockStorage
if os.geteuid() == 0:
    os.setuid(65534)  # root reads any file: drop to nobody, after the imports
print(FileClockStorage(sys.argv[1]).describe())
"""


def test_describe_calls_a_clock_file_it_may_not_read_corrupt():
    """A clock file its reader lacks permission for: corrupt (the log decides), no exception.

    Run in a child process that is not root (root reads every file), over a
    file of mode 000 in a folder anyone may pass through.
    """
    import shutil
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="clock-perm-"))
    try:
        folder.chmod(0o711)
        path = folder / "clock.json"
        path.write_text('{"lamport_clock": 3}')
        path.chmod(0)
        done = subprocess.run(
            [sys.executable, "-c", _DESCRIBE_AS_NOBODY, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "('corrupt', None)\n"
    finally:
        shutil.rmtree(folder, ignore_errors=True)

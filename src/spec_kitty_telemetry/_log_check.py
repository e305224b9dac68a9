"""Whether a log is still the file a reader read: the same file, grown only by appends.

A projection, a rollup and the ids file each hold what they read of a log's
first ``offset`` bytes. Logs only grow, but a checkout, a rebase or a merge
can replace or rewrite one, so each also records what proves the log is the
file it read: its device and inode, its size and modification time then,
the 32 bytes before ``offset``, 16 windows of 32 bytes spread over the read
part, and the last line read whole (its event id is unique, so a rewrite
that moved other lines under it is seen even when every fixed window falls
on bytes the lines share). One rule, :func:`still_valid`, for all of them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ReadPart", "still_valid", "windows_of", "with_windows"]

_WINDOW: Final = 32
_WINDOWS: Final = 16
_LINE_WINDOW: Final = 8192


class ReadPart(Protocol):
    """What proves a log is still the file whose first ``offset`` bytes were read."""

    device: int
    inode: int
    offset: int
    stamp: tuple[int, int]
    windows: list[tuple[int, bytes]]


_Part = TypeVar("_Part", bound=ReadPart)


def still_valid(fd: int, st: os.stat_result, saved: ReadPart) -> bool:
    """Whether the open log is the file ``saved`` read, grown only by appends.

    ``saved`` is what a reader of the log's first bytes recorded: a projection,
    a rollup's record of a log, the ids of its lines (``_seen_ids``).
    """
    if (saved.device, saved.inode) != (st.st_dev, st.st_ino) or saved.offset > st.st_size:
        return False
    if saved.stamp[0] == st.st_size and saved.stamp[1] != st.st_mtime_ns:
        return False  # written since, yet no longer: changed in place
    return all(os.pread(fd, len(data), position) == data for position, data in saved.windows)


def with_windows(log: Path, state: _Part) -> _Part:
    """Record the windows of the folded part of ``log`` that prove it unchanged later."""
    try:
        with log.open("rb") as handle:
            state.windows = windows_of(handle.fileno(), state.offset)
    except OSError:
        state.windows = []
    return state


def windows_of(fd: int, end: int) -> list[tuple[int, bytes]]:
    """Return the windows of the open log's bytes [0, end) that :func:`still_valid` checks."""
    if not end:
        return []
    positions = {max(0, end - _WINDOW)}
    positions.update(end * k // _WINDOWS for k in range(_WINDOWS))
    windows = [
        (position, os.pread(fd, min(_WINDOW, end - position), position))
        for position in sorted(positions)
    ]
    windows.append(_last_line(fd, end))
    return windows


def _last_line(fd: int, end: int) -> tuple[int, bytes]:
    """Return the last folded line (its last ``_LINE_WINDOW`` bytes) and where it starts.

    Its event id is unique, so a rewrite in place that moved other lines
    under it (an insert, a reorder) is seen even when every fixed window
    falls on bytes the lines share (keys, timestamps).
    """
    start = max(0, end - _LINE_WINDOW)
    data = os.pread(fd, end - start, start)
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    return start + cut, data[cut:]

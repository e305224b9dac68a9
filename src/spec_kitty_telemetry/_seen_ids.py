"""The event ids of a log's earlier lines, for the duplicate rule: kept, so a merge costs a read.

An event counts once. While ids rise line after line nothing need be
remembered, but a line whose id is not above every earlier one (a union
merge, ids of one millisecond from two processes) is a duplicate exactly
when an earlier line holds that id. Finding out meant parsing every earlier
line with the line rule, about half a second per 50,000 lines, on each
report folding such a line, for each projection of the log.

So the ids are kept beside the log, in ``.execution.events.jsonl.ids``
(machine-local, covered by the ``init`` ignore rule like the projections):
for the log's first ``lines`` lines, one 26-byte slot per line, holding the
canonical id the line rule found on it or 26 spaces for a line that is no
event. The ids before line ``n`` are then the first ``n - 1`` slots. The file
has the projections' header and checksum (``_checked_file``) and
records what proves the log is the file it was read from
(``_log_check.still_valid``); anything wrong with it, and the earlier lines
are parsed as before. It is derived and disposable: deleting it only costs
the next merge a parse.

A catch-up notes each line's slot as it reads (:class:`LineIds`), so the
file is written when a log is first folded and extended when appends are
folded, without a second read of any line. ``SimpleJsonStore`` reads it and
never writes it: its read's look back (:func:`ids_before`) and its writers'
check that an id below the log's highest is new (:func:`all_ids`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from . import _lazy_json as orjson
from ._lines import line_batches, parse_line
from ._log import lazy_logger
from .errors import InvalidEventError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["MAX_LINES", "NO_ID", "LineIds", "all_ids", "ids_before", "ids_path"]

logger = lazy_logger(__name__)

#: The slot of a line that holds no event (malformed, blank).
NO_ID: Final = " " * 26
_SLOT: Final = len(NO_ID)
#: 1: a JSON line of the log's state, then one slot per line.
_FORMAT: Final = 1
#: Lines of one catch-up whose slots are kept in memory (26 bytes each: 52 MB at most).
MAX_LINES: Final = 2_000_000


def ids_path(log: Path) -> Path:
    """Where the ids of ``log``'s lines are kept."""
    return log.with_name(f".{log.name}.ids")


class _Kept:
    """The ids file as read: the log's state when written, and the slots of its first lines."""

    __slots__ = ("device", "inode", "lines", "offset", "slots", "stamp", "windows")

    def __init__(
        self,
        device: int,
        inode: int,
        offset: int,
        lines: int,
        windows: list[tuple[int, bytes]],
        stamp: tuple[int, int],
        slots: bytes,
    ) -> None:
        self.device = device
        self.inode = inode
        self.offset = offset
        self.lines = lines
        self.windows = windows
        self.stamp = stamp
        self.slots = slots


class LineIds:
    """The slots of the lines one catch-up reads, from just after line ``first``.

    The catch-up appends to :attr:`slots` (an id, or :data:`NO_ID`) for every
    line it reads, in order, and calls :meth:`flush` after each chunk, which
    packs them into 26 bytes a line (the ids themselves are not kept alive).
    :meth:`before` answers the duplicate rule's question, :meth:`keep` writes
    what is known back to the ids file. Past :data:`MAX_LINES` lines nothing
    more is kept (memory stays bounded on a huge log): the look back then
    parses, as it did before there was an ids file, and nothing is written.
    """

    __slots__ = ("first", "log", "packed", "prefix", "slots")

    def __init__(self, log: Path, first: int) -> None:
        self.log = log
        self.first = first
        #: The slots noted since the last :meth:`flush`.
        self.slots: list[str] = []
        #: The slots of the lines read before that; None once past MAX_LINES.
        self.packed: bytearray | None = bytearray()
        #: The slots of lines 1..first, once :meth:`before` needed them.
        self.prefix: bytes | None = None

    def flush(self) -> None:
        """Pack the slots noted so far (the list is emptied, not replaced)."""
        if self.packed is not None:
            self.packed += "".join(self.slots).encode("ascii")
            if len(self.packed) > MAX_LINES * _SLOT:
                self.packed = None
        self.slots.clear()

    def before(self, fd: int, number: int) -> set[str]:
        """Return the ids of the events on lines before line ``number`` (after ``first``)."""
        self.flush()
        if self.packed is None:
            return ids_before(self.log, fd, number)
        if self.prefix is None:
            self.prefix = _first_slots(self.log, fd, self.first)
        ids = _ids_in(self.prefix + self.packed[: (number - 1 - self.first) * _SLOT])
        ids.discard(NO_ID)
        return ids

    def keep(self, fd: int, end: int) -> None:
        """Write the slots of every line before ``end`` (a line end) when they are all known.

        Known means read here, or kept in a valid ids file; a failure to
        write (a read-only folder) only costs a later merge a parse.
        """
        self.flush()
        if not self.packed:
            return  # nothing read, or past MAX_LINES
        lines = self.first + len(self.packed) // _SLOT
        prefix = self.prefix
        if prefix is None and self.first:
            kept = _load(self.log, fd)
            if kept is None or kept.lines < self.first:
                return  # lines before these are unknown: a later merge parses them
            if kept.lines >= lines:
                return  # already written as far (another projection of the log)
            prefix = kept.slots[: self.first * _SLOT]
        body = (prefix or b"") + self.packed
        st = os.fstat(fd)
        from ._log_check import windows_of

        windows = [[at, data.hex()] for at, data in windows_of(fd, end)]
        state = [st.st_dev, st.st_ino, end, lines, windows, [st.st_size, st.st_mtime_ns]]
        _save(self.log, orjson.dumps(state) + b"\n" + body)


def ids_before(log: Path, fd: int, number: int) -> set[str]:
    """Return the ids of the events on lines before line ``number`` of the open log.

    From the ids file, parsing only the lines it lacks: the look back of a
    reader that keeps no slots of its own (``SimpleJsonStore``).
    """
    ids = _ids_in(_first_slots(log, fd, number - 1))
    ids.discard(NO_ID)
    return ids


def all_ids(log: Path, fd: int) -> set[str]:
    """Return the id of every event of the open log: the kept slots, then the lines after them.

    A last line without its newline counts if it is an event (a writer's
    check that an id is new must see it).
    """
    kept = _load(log, fd)
    start, slots = (0, b"") if kept is None else (kept.offset, kept.slots)
    ids = _ids_in(slots)
    for lines, _complete in line_batches(fd, start, os.fstat(fd).st_size):
        ids.update(_slots_of(lines))
    ids.discard(NO_ID)
    return ids


def _slots_of(lines: list[bytes]) -> list[str]:
    slots = []
    for line in lines:
        try:
            slots.append(parse_line(line)[0])
        except InvalidEventError:
            slots.append(NO_ID)
    return slots


def _ids_in(slots: bytes) -> set[str]:
    text = slots.decode("ascii")
    return {text[start : start + _SLOT] for start in range(0, len(text), _SLOT)}


def _first_slots(log: Path, fd: int, count: int) -> bytes:
    """Return the slots of the open log's lines 1..count: kept ones, then parsed ones."""
    kept = _load(log, fd)
    if kept is not None and kept.lines >= count:
        return kept.slots[: count * _SLOT]
    start, lines, slots = (0, 0, b"") if kept is None else (kept.offset, kept.lines, kept.slots)
    return slots + "".join(_parse_slots(fd, start, count - lines)).encode("ascii")


def _parse_slots(fd: int, start: int, count: int) -> list[str]:
    """Return the slot of each of the ``count`` lines from byte ``start`` of the open log."""
    slots: list[str] = []
    for lines, complete in line_batches(fd, start, os.fstat(fd).st_size):
        if not complete or len(slots) >= count:
            break
        slots += _slots_of(lines[: count - len(slots)])
    return slots


def _load(log: Path, fd: int) -> _Kept | None:
    """Read the ids file of the open log; None unless it is whole and the log is the one read."""
    from ._checked_file import read_checked
    from ._log_check import still_valid

    body = read_checked(ids_path(log), _FORMAT)
    if body is None:
        return None
    head, _, slots = body.partition(b"\n")
    try:
        device, inode, offset, lines, windows, (size, mtime) = orjson.loads_small(head)
        kept = _Kept(
            device,
            inode,
            offset,
            lines,
            [(at, bytes.fromhex(text)) for at, text in windows],
            (size, mtime),
            slots,
        )
        if len(slots) != lines * _SLOT or not still_valid(fd, os.fstat(fd), kept):
            return None
    except (ValueError, TypeError, AttributeError):
        return None
    return kept


def _save(log: Path, body: bytes) -> None:
    from ._atomic import write_atomically
    from ._checked_file import checked_file

    path = ids_path(log)
    try:
        write_atomically(path, checked_file(_FORMAT, body))
    except Exception as exc:  # noqa: BLE001 - a cache: the reports are right without it
        logger.debug("%s: ids not saved: %s", path, exc)

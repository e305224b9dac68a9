"""The projection of a log: its cells, kept beside it and brought up to date by appends only.

Logs only grow, so a report need not re-read history: the projection of
``<feature>/execution.events.jsonl`` is ``<feature>/.execution.events.jsonl.projection``
(machine-local; the ``init`` ignore rule ``.execution.events.jsonl.*`` covers
it), holding the :class:`~._cells.CellFold` of the log's first ``offset``
bytes and enough to know the file is still the one folded: its device and
inode, the 32 bytes before ``offset``, 16 windows of 32 bytes spread over
the folded part, and the last folded line whole. A report folds only the
bytes appended since, and saves the result. Besides the untimed projection a
log may have a 15-minute one (``-time``) and local-day ones (``-day-<hash>``,
``_timed``), each caught up when a report reads it. A log that shrank, was
replaced (a checkout, a merge, a rebase), or changed under any checked
window is folded again from the start; so is a projection that is damaged
(its checksum fails), of another format or package version, or built under
other long-context thresholds. A read-only folder
still gets a correct report: the fold is kept in memory only.

Duplicates (union merges, cherry-picks) count once, by the readers' rule:
while ids rise line after line nothing is remembered; a line whose id is not
above every earlier one (rare: ids of one millisecond from two processes, a
merge) costs one look at the ids before it, as in ``SimpleJsonStore``. Those
are read from the ids kept beside the log (``_seen_ids``, written as lines
are folded), so the look back parses only lines the ids file lacks.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ._cells import CellFold
from ._lines import is_blank, line_batches, parse_line
from ._log import lazy_logger
from ._log_check import still_valid, with_windows
from ._plain import field, plain
from ._projection_file import load_projection, save_projection, with_durations
from ._seen_ids import NO_ID, LineIds
from .errors import InvalidEventError
from .store import ReadReport

if TYPE_CHECKING:
    from ._timed import DayCells


__all__ = [
    "PROJECTION_SUFFIX",
    "LogFold",
    "empty_fold",
    "fold_log",
    "projection_path",
]

logger = lazy_logger(__name__)

#: Appended to a log's hidden name to name its projection.
PROJECTION_SUFFIX: Final = ".projection"


def projection_path(log: Path, *, timed: bool = False, shape: str = "") -> Path:
    """Where the projection of ``log`` is kept.

    ``timed``: the one with 15-minute buckets; ``shape`` (``DayCells.shape``):
    a compact one of local days, one file per zone and set of kept fields.
    """
    if shape:
        kind = shape.partition("|")[0]  # "day", or "keep" (no time)
        return log.with_name(
            f".{log.name}{PROJECTION_SUFFIX}-{kind}-{zlib.crc32(shape.encode()):08x}"
        )
    return log.with_name(f".{log.name}{PROJECTION_SUFFIX}{'-time' if timed else ''}")


@plain
class LogFold:
    """A log's cells and what its read found, up to ``offset`` (a line end)."""

    fold: CellFold
    device: int = 0
    inode: int = 0
    offset: int = 0
    lines: int = 0
    highest: str = ""
    report: ReadReport = field(default_factory=lambda: ReadReport(""))
    #: The windows checked (position, bytes) that prove the log is the one folded.
    windows: list[tuple[int, bytes]] = field(default_factory=list)
    #: The log's size and modification time when folded: same size, other time = rewritten.
    stamp: tuple[int, int] = (0, 0)
    #: The fold of an unfinished last line, if it is an event (never saved).
    tail: CellFold | None = None
    #: The saved duration histograms not yet read into the cells (``fold_log(durations=False)``).
    durations: bytes | None = None

    def __init__(
        self,
        fold: CellFold,
        device: int = 0,
        inode: int = 0,
        offset: int = 0,
        lines: int = 0,
        highest: str = "",
        report: ReadReport | None = None,
        windows: list[tuple[int, bytes]] | None = None,
        stamp: tuple[int, int] = (0, 0),
        tail: CellFold | None = None,
        durations: bytes | None = None,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        self.fold = fold
        self.device = device
        self.inode = inode
        self.offset = offset
        self.lines = lines
        self.highest = highest
        self.report = ReadReport("") if report is None else report
        self.windows = [] if windows is None else windows
        self.stamp = stamp
        self.tail = tail
        self.durations = durations

    def folds(self) -> Iterator[CellFold]:
        """Return the log's folds: the saved one, and an unfinished last line's."""
        yield self.fold
        if self.tail is not None:
            yield self.tail


def fold_log(
    log: Path,
    thresholds: Callable[[str], tuple[int, ...]],
    *,
    save: bool = True,
    timed: bool = False,
    durations: bool = True,
    days: DayCells | None = None,
) -> LogFold:
    """Return the fold of every event of ``log``, from its projection plus what was appended.

    ``thresholds`` gives a raw model's tier thresholds under the report's
    price table. With ``save``, a projection that moved on is written back
    (failures to write only cost the next report a fold). A log has two
    projections, each brought up to date when a report needs it: one without
    time (a few cells per agent, model and work package: what most reports
    read) and, with ``timed``, one with 15-minute buckets (about a cell per
    event, for time groupings and bounds). Without ``durations`` the cells'
    duration histograms (a third of the file, read by no cost report) are left
    empty unless the log grew, since then the projection is saved again.
    With ``days``, the projection is the compact one of that shape (local
    days of a zone, some fields left out), kept in a file of its own; it is
    saved only when the zone's rules have a fingerprint.
    """
    path = projection_path(log, timed=timed, shape="" if days is None else days.shape)
    shape = days.shape if days is not None else "time" if timed else ""

    def empty() -> CellFold:
        return empty_fold(thresholds, timed=timed, days=days)

    if days is not None and days.fingerprint is None:
        save = False
    try:
        handle = log.open("rb")
    except FileNotFoundError:
        return LogFold(empty(), report=ReadReport(str(log)))
    with handle:
        fd = handle.fileno()
        st = os.fstat(fd)
        saved = load_projection(path, empty, shape)
        start = saved if saved is not None and still_valid(fd, st, saved) else None
        if start is not None and (durations or start.offset != st.st_size):
            start = with_durations(start)
        state = start or LogFold(empty(), st.st_dev, st.st_ino)
        state.report.source = str(log)
        before = state.offset
        _catch_up(log, fd, st.st_size, state, keep_ids=save)
        moved = start is None or state.offset != before
        state.stamp = (st.st_size, st.st_mtime_ns)
    if state.report.malformed_lines:
        logger.warning("%s", state.report.describe())
    if save and moved:
        save_projection(path, with_windows(log, state), shape)
    return state


def empty_fold(
    thresholds: Callable[[str], tuple[int, ...]],
    *,
    timed: bool = False,
    days: DayCells | None = None,
) -> CellFold:
    """Return an empty fold of a projection's shape: 15-minute or untimed, or ``days``'."""
    if days is None:
        return CellFold(thresholds, timed=timed)
    return CellFold(thresholds, timed=days.periods is not None, days=days.periods, keep=days.keep)


def _catch_up(log: Path, fd: int, size: int, state: LogFold, *, keep_ids: bool = False) -> None:
    """Fold the lines in bytes [offset, size) of the open log into ``state``.

    Each line's id is noted (``_seen_ids``): the duplicate rule's look back
    reads the ids kept for earlier lines, and with ``keep_ids`` the ids of
    the lines read here are kept for the next report.
    """
    fold, report = state.fold, state.report
    line_ids = LineIds(log, state.lines)
    note = line_ids.slots.append
    seen: set[str] | None = None
    tail = b""
    for lines, complete in line_batches(fd, state.offset, size):
        if not complete:
            tail = lines[0]
            break
        for line in lines:
            state.lines += 1
            state.offset += len(line) + 1
            try:
                event_id, record = parse_line(line)
            except InvalidEventError:
                note(NO_ID)
                if not is_blank(line):
                    report.malformed_lines.append(state.lines)
                continue
            note(event_id)
            if event_id > state.highest:
                state.highest = event_id
            else:
                if seen is None:
                    seen = line_ids.before(fd, state.lines)
                if event_id in seen:
                    report.duplicates += 1
                    continue
            if seen is not None:
                seen.add(event_id)
            report.events += 1
            fold.add(record)
        line_ids.flush()
    if keep_ids:
        line_ids.keep(fd, state.offset)
    if tail:
        _fold_tail(fd, size, tail, state, line_ids, seen)


def _fold_tail(
    fd: int, size: int, line: bytes, state: LogFold, line_ids: LineIds, seen: set[str] | None
) -> None:
    """Fold an unfinished last line into ``state.tail`` (it may be a whole event).

    It is not saved: the next report reads it again, finished or not. A line
    that is no event is malformed once nobody is appending to the log.
    """
    try:
        event_id, record = parse_line(line)
    except InvalidEventError:
        if not is_blank(line) and os.fstat(fd).st_size == size:
            state.report.malformed_lines.append(state.lines + 1)
        return
    if event_id <= state.highest:
        if seen is None:
            seen = line_ids.before(fd, state.lines + 1)
        if event_id in seen:
            state.report.duplicates += 1
            return
    state.tail = state.fold.empty()
    state.tail.add(record)
    state.report.events += 1

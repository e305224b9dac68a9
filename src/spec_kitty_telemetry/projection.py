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
from typing import TYPE_CHECKING, Any, Final

from . import _lazy_json as orjson
from ._cells import Cell, CellFold
from ._lines import is_blank, parse_line
from ._log import lazy_logger
from ._plain import field, plain
from ._seen_ids import NO_ID, LineIds
from .completion import Completions
from .errors import InvalidEventError
from .store import ReadReport

if TYPE_CHECKING:
    from typing import Protocol

    from ._timed import DayCells

    class ReadPart(Protocol):
        """What proves a log is still the file whose first ``offset`` bytes were read."""

        device: int
        inode: int
        offset: int
        stamp: tuple[int, int]
        windows: list[tuple[int, bytes]]


__all__ = [
    "PROJECTION_SUFFIX",
    "LogFold",
    "checked_file",
    "empty_fold",
    "fold_log",
    "projection_path",
    "read_checked",
]

logger = lazy_logger(__name__)

#: Appended to a log's hidden name to name its projection.
PROJECTION_SUFFIX: Final = ".projection"
#: 3: cell keys end with the events' tags (``_cells.cell_tags``); cells hold what runs
#: produced (lines, tests, failure categories) and the fold its phase transitions;
#: the duration histograms are a document of their own, decoded on demand.
#: 4: the header names the projection's shape (untimed, 15-minute, or local days), and
#: cells sum 1-hour cache writes (slot ``_cells.CACHE_WRITE_1H``, a fifth tier sum).
#: 5: phase transitions are kept folded, one entry per work package (``Completions``),
#: and the work packages of cells keyed without them as distinct sets and places.
_FORMAT: Final = 5
_WINDOW: Final = 32
_INT64_MAX: Final = 2**63 - 1
_WINDOWS: Final = 16
_LINE_WINDOW: Final = 8192
_CHUNK: Final = 1 << 20
_MAX_BYTES: Final = 1 << 31


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
        saved = _load(path, empty, shape)
        start = saved if saved is not None and _still_valid(fd, st, saved) else None
        if start is not None and (durations or start.offset != st.st_size):
            start = _with_durations(start)
        state = start or LogFold(empty(), st.st_dev, st.st_ino)
        state.report.source = str(log)
        before = state.offset
        _catch_up(log, fd, st.st_size, state, keep_ids=save)
        moved = start is None or state.offset != before
        state.stamp = (st.st_size, st.st_mtime_ns)
    if state.report.malformed_lines:
        logger.warning("%s", state.report.describe())
    if save and moved:
        _save(path, _with_windows(log, state), shape)
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


def _still_valid(fd: int, st: os.stat_result, saved: ReadPart) -> bool:
    """Whether the open log is the file ``saved`` read, grown only by appends.

    ``saved`` is what a reader of the log's first bytes recorded: a projection,
    a rollup's record of a log, the ids of its lines (``_seen_ids``).
    """
    if (saved.device, saved.inode) != (st.st_dev, st.st_ino) or saved.offset > st.st_size:
        return False
    if saved.stamp[0] == st.st_size and saved.stamp[1] != st.st_mtime_ns:
        return False  # written since, yet no longer: changed in place
    return all(os.pread(fd, len(data), position) == data for position, data in saved.windows)


def _with_windows(log: Path, state: LogFold) -> LogFold:
    """Record the windows of the folded part of ``log`` that prove it unchanged later."""
    try:
        with log.open("rb") as handle:
            state.windows = windows_of(handle.fileno(), state.offset)
    except OSError:
        state.windows = []
    return state


def windows_of(fd: int, end: int) -> list[tuple[int, bytes]]:
    """Return the windows of the open log's bytes [0, end) that :func:`_still_valid` checks."""
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


def _catch_up(log: Path, fd: int, size: int, state: LogFold, *, keep_ids: bool = False) -> None:
    """Fold the lines in bytes [offset, size) of the open log into ``state``.

    Each line's id is noted (``_seen_ids``): the duplicate rule's look back
    reads the ids kept for earlier lines, and with ``keep_ids`` the ids of
    the lines read here are kept for the next report.
    """
    fold, report = state.fold, state.report
    line_ids = LineIds(log, state.lines, state.offset)
    note = line_ids.slots.append
    seen: set[str] | None = None
    position = state.offset
    pending = b""
    while position < size:
        chunk = os.pread(fd, min(_CHUNK, size - position), position)
        if not chunk:
            break
        position += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
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
    if keep_ids:
        line_ids.keep(fd, state.offset)
    if pending:
        _fold_tail(fd, size, pending, state, line_ids, seen)


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


# -- the file ----------------------------------------------------------------


def _package_version() -> str:
    from . import __version__

    return __version__


def _save(path: Path, state: LogFold, shape: str) -> None:
    """Write the projection atomically; a failure (read-only folder) only costs a fold later."""
    from ._atomic import write_atomically

    if state.durations is not None and _with_durations(state) is None:
        return  # the histograms were never read in: saving would drop them
    try:
        write_atomically(path, checked_file(_FORMAT, _encoded(state), shape=shape))
    except Exception as exc:  # noqa: BLE001 - the projection is a cache; the report is right
        logger.debug("%s: projection not saved: %s", path, exc)


def checked_file(form: int, body: bytes, **fields: str) -> bytes:
    """Return ``body`` under a header line: its format, the package version, ``fields``, its CRC.

    The form of the package's own caches (projections, rollups), read back
    by :func:`read_checked`.
    """
    header = {"format": form, "package": _package_version(), **fields, "crc": zlib.crc32(body)}
    return orjson.dumps(header) + b"\n" + body


def read_checked(path: Path, form: int, limit: int = _MAX_BYTES, **fields: str) -> bytes | None:
    """Return the body of a :func:`checked_file` at ``path``; None unless its header holds.

    None when the file is missing, unreadable or not a sidecar, over ``limit``
    bytes, of another format or package version, with other ``fields``, or
    damaged (its CRC fails).
    """
    from ._safe_paths import read_sidecar

    try:
        data = read_sidecar(path, limit)
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    try:
        header = orjson.loads_small(head)
        expected = {"format": form, "package": _package_version(), **fields}
        if any(header[name] != value for name, value in expected.items()):
            return None
        return body if header["crc"] == zlib.crc32(body) else None
    except (ValueError, TypeError, KeyError):
        return None


def _encoded(state: LogFold) -> bytes:
    """Return the projection's body (its header is ``checked_file``'s)."""
    fold = state.fold
    body = orjson.dumps(
        {
            "log": [
                state.device,
                state.inode,
                state.offset,
                state.lines,
                state.highest,
                [[position, data.hex()] for position, data in state.windows],
                list(state.stamp),
            ],
            "report": [state.report.events, state.report.duplicates, state.report.malformed_lines],
            "thresholds": {name: list(values) for name, values in fold.thresholds_used.items()},
            "cells": [
                [list(key), _sums_of(cell.sums), _flat(cell.tiers), list(cell.categories.items())]
                for key, cell in fold.cells.items()
            ],
            "work_packages": None
            if fold.work_packages is None
            else _indexed([sorted(fold.work_packages.get(key, ())) for key in fold.cells]),
            "aside": fold.aside,
            "lanes": fold.completions.to_json(),
            "types": [
                [feature, kind, count] for (feature, kind), count in fold.other_types.items()
            ],
        }
    )
    # The cells' duration histograms, in cell order, as a document of their own:
    # decoded only by readers that want them (``fold_log(durations=True)``).
    body += b"\n" + orjson.dumps([_flat(cell.durations) for cell in fold.cells.values()])
    return body


def _sums_of(sums: list[int]) -> list[int | str]:
    """Return a cell's sums as JSON can hold them: one past 64 bits as its decimal text.

    A sum of squared durations outgrows 64 bits on a long project (a million
    hour-long runs), and orjson writes no wider integer; the text form keeps
    such a projection saved, so its reports stay warm.
    """
    if max(sums) <= _INT64_MAX:  # sums are never negative
        return sums  # type: ignore[return-value]  # list is invariant; nothing is added
    return [value if value <= _INT64_MAX else str(value) for value in sums]


def _indexed(lists: list[list[str]]) -> list[list[Any]]:
    """Return ``[distinct lists, each list's place among them]``.

    A cell keyed without the work package keeps the work packages of its
    events, and most cells of a log hold the same few (a day's cells, one
    per model, ran on the same packages): each set is written once.
    """
    places: dict[tuple[str, ...], int] = {}
    of = [places.setdefault(tuple(names), len(places)) for names in lists]
    return [[list(names) for names in places], of]


def _flat(table: dict[int, Any]) -> list[Any]:
    return [[key, value] for key, value in table.items()]


def _load(path: Path, empty: Callable[[], CellFold], shape: str) -> LogFold | None:
    """Read a projection; None when missing, damaged, of another version or other thresholds."""
    body = read_checked(path, _FORMAT, shape=shape)
    if body is None:
        return None
    try:
        cells_part, _, durations_part = body.partition(b"\n")
        return _decode(orjson.loads_small(cells_part), durations_part, empty)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _decode(
    doc: dict[str, Any],
    durations: bytes,
    empty: Callable[[], CellFold],
) -> LogFold | None:
    fold = empty()
    used = {name: tuple(values) for name, values in doc["thresholds"].items()}
    if any(fold._thresholds(name) != values for name, values in used.items()):
        return None  # built under other long-context limits: tiers would be wrong
    fold.thresholds_used = used
    cells = fold.cells
    for key, sums, tiers, categories in doc["cells"]:
        cell = Cell()
        cell.sums = sums if str not in map(type, sums) else [int(value) for value in sums]
        cell.tiers = dict(tiers)  # [[key, value], ...]: dict() pairs them in C
        if categories:
            cell.categories = dict(categories)
        *fields, tags = key
        cells[(*fields, None if tags is None else tuple(map(tuple, tags)))] = cell
    if fold.work_packages is not None:
        distinct, places = doc["work_packages"]
        sets = [frozenset(names) for names in distinct]
        fold.work_packages = {  # a set per cell: folding an append adds to one cell's only
            key: set(sets[place])
            for key, place in zip(cells, places, strict=True)
            if distinct[place]
        }
    fold.aside = doc["aside"]
    fold.completions = Completions.from_json(doc["lanes"])
    fold.other_types = {(feature, kind): count for feature, kind, count in doc["types"]}
    device, inode, offset, lines, highest, windows, (size, mtime) = doc["log"]
    events, duplicates, malformed = doc["report"]
    report = ReadReport("", events, duplicates, list(malformed))
    return LogFold(
        fold,
        device,
        inode,
        offset,
        lines,
        highest,
        report,
        [(position, bytes.fromhex(text)) for position, text in windows],
        (size, mtime),
        durations=durations,
    )


def _with_durations(state: LogFold) -> LogFold | None:
    """Fill the cells' duration histograms from the saved document; None if it is damaged."""
    if state.durations is None:
        return state
    try:
        histograms = orjson.loads_small(state.durations)
        cells = state.fold.cells.values()
        if len(histograms) != len(cells):
            return None
        for cell, histogram in zip(cells, histograms, strict=True):
            cell.durations = dict(histogram)
    except (ValueError, TypeError):
        return None
    state.durations = None
    return state

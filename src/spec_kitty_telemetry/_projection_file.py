"""A projection's file: its cells, the log's state and read report, as JSON under a checked header.

Written by :func:`save_projection` after a report folded new bytes, read by
:func:`load_projection`; the form is :mod:`._checked_file`'s (format, package version,
shape, CRC). The cells' duration histograms are a second JSON document,
decoded only by readers that want them (:func:`with_durations`). Loading
runs no code: a repository could carry a crafted file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from . import _lazy_json as orjson
from ._cells import Cell, CellFold
from ._checked_file import checked_file, read_checked
from ._log import lazy_logger
from .completion import Completions
from .store import ReadReport

if TYPE_CHECKING:
    from pathlib import Path

    from .projection import LogFold

__all__ = ["FORMAT", "load_projection", "save_projection", "sums_of", "with_durations"]

logger = lazy_logger("spec_kitty_telemetry.projection")

#: 3: cell keys end with the events' tags (``_cells.cell_tags``); cells hold what runs
#: produced (lines, tests, failure categories) and the fold its phase transitions;
#: the duration histograms are a document of their own, decoded on demand.
#: 4: the header names the projection's shape (untimed, 15-minute, or local days), and
#: cells sum 1-hour cache writes (slot ``_cells.CACHE_WRITE_1H``, a fifth tier sum).
#: 5: phase transitions are kept folded, one entry per work package (``Completions``),
#: and the work packages of cells keyed without them as distinct sets and places.
FORMAT: Final = 5
_INT64_MAX: Final = 2**63 - 1


def save_projection(path: Path, state: LogFold, shape: str) -> None:
    """Write the projection atomically; a failure (read-only folder) only costs a fold later."""
    from ._atomic import write_atomically

    if state.durations is not None and with_durations(state) is None:
        return  # the histograms were never read in: saving would drop them
    try:
        write_atomically(path, checked_file(FORMAT, _encoded(state), shape=shape))
    except Exception as exc:  # noqa: BLE001 - the projection is a cache; the report is right
        logger.debug("%s: projection not saved: %s", path, exc)


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
                [list(key), sums_of(cell.sums), _flat(cell.tiers), list(cell.categories.items())]
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


def sums_of(sums: list[int]) -> list[int | str]:
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


def load_projection(path: Path, empty: Callable[[], CellFold], shape: str) -> LogFold | None:
    """Read a projection; None when missing, damaged, of another version or other thresholds."""
    body = read_checked(path, FORMAT, shape=shape)
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
    from .projection import LogFold

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


def with_durations(state: LogFold) -> LogFold | None:
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

"""A project's gathered cells for one report shape, kept so a warm report prices them at once.

Each log's projection answers a report without reading history, but a
report over many logs still decodes every log's cells and sums those that
land in one row (a day report over 20 logs: 12,000 cells for 600 rows and
models). An unfiltered report's :class:`~._reading.Gathered` cells depend
only on the logs and the report's shape, so they are kept too, beside the
first log as ``.execution.events.jsonl.rollup-<crc>`` (the ``init`` ignore
rule covers it), with what proves every log unchanged: its device, inode,
size and modification time, and the windows its projection checks. Any log
that grew, shrank, was replaced or changed under a window, another list of
logs, another package version, format, shape or tier thresholds, or a
damaged file, and the rollup is not used: the report is gathered from the
logs' projections and the rollup written again. Like projections it is
disposable, JSON (a repository could carry a crafted one: loading runs no
code) and checked by CRC-32.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from . import _lazy_json as orjson
from ._cells import CELL_SLOTS, Cell
from ._checked_file import checked_file, read_checked
from ._log import lazy_logger
from ._projection_file import sums_of  # a cell's sums as JSON holds them
from ._reading import Gathered
from .completion import Completions

if TYPE_CHECKING:
    from ._cells import CellFold
    from .projection import LogFold

__all__ = ["Rollup", "catch_up", "load_rollup", "rollup_path", "save_rollup", "warn_malformed"]

logger = lazy_logger(__name__)

_FORMAT: Final = 2
_MAX_BYTES: Final = 1 << 30
_TAGS: Final = 5  # the tags' place in (feature, agent, role, wp, bucket, tags)
_TIER_SUMS: Final = 5  # input, output, cache read, cache write, 1-hour cache write


def rollup_path(logs: Sequence[Path], key: str) -> Path:
    """Where the rollup of ``logs`` for the report shape ``key`` is kept (beside the first)."""
    first = logs[0]
    return first.with_name(f".{first.name}.rollup-{zlib.crc32(key.encode()):08x}")


def save_rollup(
    logs: Sequence[Path], key: str, states: Sequence[LogFold], gathered: Gathered
) -> None:
    """Keep ``gathered`` for the next report, if every log was folded whole and can be checked.

    A log with an unfinished last line, or whose windows were not recorded
    (its projection was not saved), is not kept: the next report gathers
    again. A failure to write only costs the next report a gather.
    """
    if not logs or len(states) != len(logs):
        return
    if any(s.tail is not None or not s.windows or s.offset != s.stamp[0] for s in states):
        return
    from ._atomic import write_atomically

    try:
        body = orjson.dumps(
            {
                "logs": [_log_record(log, state) for log, state in zip(logs, states, strict=True)],
                "used": list(gathered.used),
                "thresholds": {name: list(tiers) for name, tiers in gathered.thresholds.items()},
                **_entries(gathered),
                "aside": gathered.aside,
                "lanes": gathered.completions.to_json(),
            }
        )
        write_atomically(rollup_path(logs, key), checked_file(_FORMAT, body, key=key))
    except Exception as exc:  # noqa: BLE001 - a cache: the report is right without it
        logger.debug("rollup for %s not saved: %s", key, exc)


def _log_record(log: Path, state: LogFold) -> list[Any]:
    """Return what the rollup records of a log: its path, what proves it unchanged, its read."""
    return [
        str(log),
        state.device,
        state.inode,
        state.stamp[0],
        state.stamp[1],
        [[position, data.hex()] for position, data in state.windows],
        state.lines,
        state.highest,
        [state.report.events, state.report.duplicates, state.report.malformed_lines],
    ]


def _entries(gathered: Gathered) -> dict[str, list[Any]]:
    """Return the gathered entries as JSON holds them, with their work packages' sets and maps.

    What each entry's rows ran on, each distinct set of work packages and each
    distinct {feature: set} written once: a day's entries, one per model, share them.
    """
    sets: dict[frozenset[Any], int] = {}
    maps: dict[tuple[tuple[Any, int], ...], int] = {}

    def ran_map(ran: dict[Any, set[Any]]) -> int:
        pairs = tuple(
            sorted(
                (feature, sets.setdefault(frozenset(names), len(sets)))
                for feature, names in ran.items()
            )
        )
        return maps.setdefault(pairs, len(maps))

    entries = [
        [
            list(picked),
            model,
            sums_of(cell.sums),
            [[tier, sums] for tier, sums in cell.tiers.items()],
            list(cell.categories.items()),
            earliest,
            ran_map(ran),
        ]
        for (picked, model), (cell, earliest, ran, _owned) in gathered.entries.items()
    ]
    return {
        "entries": entries,
        "sets": [list(names) for names in sets],
        "maps": [list(pairs) for pairs in maps],
    }


class Rollup:
    """A loaded rollup: its gathered cells, each log's state, and the logs that grew since."""

    __slots__ = ("gathered", "grown", "states")

    def __init__(self, gathered: Gathered, states: list[LogFold], grown: list[int]) -> None:
        self.gathered = gathered
        #: Each log as the rollup holds it (its cells are in ``gathered``, not here).
        self.states = states
        #: Places in the list of logs of those appended to since the rollup was kept.
        self.grown = grown


def load_rollup(
    logs: Sequence[Path],
    key: str,
    thresholds: Callable[[str], tuple[int, ...]],
    make_fold: Callable[[], CellFold],
) -> Rollup | None:
    """Return the kept rollup of ``logs`` for ``key``; None unless every log is the one kept.

    A log is the one kept by the rule of ``_log_check.still_valid``: the
    same file, every recorded window the same bytes; it is unchanged when its
    size is too, else grown by appends only (which :func:`catch_up` folds
    on). Anything else means None. ``make_fold`` gives an empty fold of the
    rollup's shape.
    """
    if not logs:
        return None
    from ._log_check import still_valid

    body = read_checked(rollup_path(logs, key), _FORMAT, _MAX_BYTES, key=key)
    if body is None:
        return None
    try:
        doc = orjson.loads_small(body)
        records: list[list[Any]] = doc["logs"]
        if [record[0] for record in records] != [str(log) for log in logs]:
            return None
        paired = zip(logs, records, strict=True)
        states = [_recorded_state(log, record, make_fold) for log, record in paired]
        grown = []
        for place, (log, state) in enumerate(zip(logs, states, strict=True)):
            with log.open("rb") as handle:
                st = os.fstat(handle.fileno())
                if not still_valid(handle.fileno(), st, state):
                    return None
            if st.st_size != state.offset:
                grown.append(place)
        gathered = _decode(doc, thresholds)
        return None if gathered is None else Rollup(gathered, states, grown)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def catch_up(
    rollup: Rollup, logs: Sequence[Path], fields: tuple[str | None, ...], *, save: bool = True
) -> bool:
    """Fold the bytes appended to the grown logs into the rollup's cells and states.

    False (fold the logs afresh instead) when a grown log now ends in an
    unfinished line: such a line is never kept. With ``save``, the ids of the
    lines read are kept for the next report's duplicate rule (``_seen_ids``).
    """
    from ._log_check import with_windows
    from ._reading import gather
    from .projection import _catch_up

    for place in rollup.grown:
        log, state = logs[place], rollup.states[place]
        with log.open("rb") as handle:
            st = os.fstat(handle.fileno())
            _catch_up(log, handle.fileno(), st.st_size, state, keep_ids=save)
            state.stamp = (st.st_size, st.st_mtime_ns)
        if state.tail is not None:
            return False
        rollup.gathered.merge(gather([state.fold], fields))
        with_windows(log, state)
    return True


def _recorded_state(log: Path, record: list[Any], make_fold: Callable[[], CellFold]) -> LogFold:
    """Return the state a log's record describes (its cells are in the rollup, not here)."""
    from .projection import LogFold
    from .store import ReadReport

    _path, device, inode, size, mtime, windows, lines, highest, (events, duplicates, bad) = record
    return LogFold(
        make_fold(),
        device,
        inode,
        size,
        lines,
        highest,
        ReadReport(str(log), events, duplicates, list(bad)),
        [(position, bytes.fromhex(text)) for position, text in windows],
        (size, mtime),
    )


def warn_malformed(states: Sequence[LogFold]) -> None:
    """Say which lines of each log were skipped, as a log's projection read does."""
    for state in states:
        if state.report.malformed_lines:
            logger.warning("%s", state.report.describe())


def _decode(doc: dict[str, Any], thresholds: Callable[[str], tuple[int, ...]]) -> Gathered | None:
    used = tuple(doc["used"])
    if any(type(place) is not int for place in used):
        return None
    tiers_used = {name: tuple(values) for name, values in doc["thresholds"].items()}
    if any(thresholds(name) != values for name, values in tiers_used.items()):
        return None  # summed under other long-context limits: tiers would be wrong
    gathered = Gathered(used)
    gathered.thresholds = tiers_used
    tags_at = used.index(_TAGS) if _TAGS in used else None
    entries = gathered.entries
    sets = [frozenset(names) for names in doc["sets"]]
    # Shared by the entries that ran on the same packages: read, never changed.
    maps = [{feature: sets[place] for feature, place in pairs} for pairs in doc["maps"]]
    for picked, model, sums, tiers, categories, earliest, ran in doc["entries"]:
        if tags_at is not None and picked[tags_at] is not None:
            picked[tags_at] = tuple(map(tuple, picked[tags_at]))
        if len(sums) != CELL_SLOTS or any(len(values) != _TIER_SUMS for _, values in tiers):
            return None
        cell = Cell()
        cell.sums = sums if str not in map(type, sums) else [int(value) for value in sums]
        cell.tiers = {tier: list(values) for tier, values in tiers}
        cell.categories = dict(categories)
        if type(earliest) is not int:
            return None
        entries[(tuple(picked), model)] = [cell, earliest, maps[ran], True]
    gathered.aside = doc["aside"]
    gathered.completions = Completions.from_json(doc["lanes"])
    return gathered

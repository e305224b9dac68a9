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

import orjson

from ._cells import CELL_SLOTS, Cell
from ._log import lazy_logger
from ._reading import Gathered
from .completion import Completions
from .projection import _sums_of  # the projection's JSON form of a cell's sums

if TYPE_CHECKING:
    from .projection import LogFold

__all__ = ["load_rollup", "rollup_path", "save_rollup"]

logger = lazy_logger(__name__)

_FORMAT: Final = 1
_MAX_BYTES: Final = 1 << 30
_TAGS: Final = 5  # the tags' place in (feature, agent, role, wp, bucket, tags)
_TIER_SUMS: Final = 5  # input, output, cache read, cache write, 1-hour cache write


def rollup_path(logs: Sequence[Path], key: str) -> Path:
    """Where the rollup of ``logs`` for the report shape ``key`` is kept (beside the first)."""
    first = logs[0]
    return first.with_name(f".{first.name}.rollup-{zlib.crc32(key.encode()):08x}")


def _package_version() -> str:
    from . import __version__

    return __version__


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

    # What each entry's rows ran on, each distinct set of work packages and each
    # distinct {feature: set} written once: a day's entries, one per model, share them.
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

    try:
        entries = [
            [
                list(picked),
                model,
                _sums_of(cell.sums),
                [[tier, sums] for tier, sums in cell.tiers.items()],
                list(cell.categories.items()),
                earliest,
                ran_map(ran),
            ]
            for (picked, model), (cell, earliest, ran, _owned) in gathered.entries.items()
        ]
        body = orjson.dumps(
            {
                "logs": [
                    [
                        str(log),
                        state.device,
                        state.inode,
                        state.stamp[0],
                        state.stamp[1],
                        [[position, data.hex()] for position, data in state.windows],
                    ]
                    for log, state in zip(logs, states, strict=True)
                ],
                "used": list(gathered.used),
                "thresholds": {name: list(tiers) for name, tiers in gathered.thresholds.items()},
                "entries": entries,
                "sets": [list(names) for names in sets],
                "maps": [list(pairs) for pairs in maps],
                "aside": gathered.aside,
                "lanes": gathered.completions.to_json(),
            }
        )
        header = orjson.dumps(
            {"format": _FORMAT, "package": _package_version(), "key": key, "crc": zlib.crc32(body)}
        )
        write_atomically(rollup_path(logs, key), header + b"\n" + body)
    except Exception as exc:  # noqa: BLE001 - a cache: the report is right without it
        logger.debug("rollup for %s not saved: %s", key, exc)


def load_rollup(
    logs: Sequence[Path], key: str, thresholds: Callable[[str], tuple[int, ...]]
) -> Gathered | None:
    """Return the kept gathered cells of ``logs`` for ``key``; None unless all still hold."""
    if not logs:
        return None
    from ._safe_paths import read_sidecar

    try:
        data = read_sidecar(rollup_path(logs, key), _MAX_BYTES)
    except OSError:
        return None
    try:
        head, _, body = data.partition(b"\n")
        header = orjson.loads(head)
        if (
            header["format"] != _FORMAT
            or header["package"] != _package_version()
            or header["key"] != key
            or header["crc"] != zlib.crc32(body)
        ):
            return None
        doc = orjson.loads(body)
        if [entry[0] for entry in doc["logs"]] != [str(log) for log in logs]:
            return None
        if not all(
            _unchanged(log, *entry[1:]) for log, entry in zip(logs, doc["logs"], strict=True)
        ):
            return None
        return _decode(doc, thresholds)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _unchanged(
    log: Path, device: int, inode: int, size: int, mtime: int, windows: list[list[Any]]
) -> bool:
    """Whether ``log`` is the very file the rollup gathered, byte for byte under its windows."""
    with log.open("rb") as handle:
        st = os.fstat(handle.fileno())
        if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != (device, inode, size, mtime):
            return False
        fd = handle.fileno()
        return all(
            os.pread(fd, len(expected), position) == expected
            for position, expected in ((p, bytes.fromhex(text)) for p, text in windows)
        )


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

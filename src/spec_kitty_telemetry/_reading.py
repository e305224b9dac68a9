"""Reading folds into a report: filters, rows, breakdowns and order, over cells.

A cell holds events that agree on every field a filter or a row can name, so
a filter is asked once per cell, of a small record standing for the cell
(its fields, and the start of its 15-minute bucket as the timestamp): the
:class:`~spec_kitty_telemetry.query.EventFilter` decides, with its own
matching rules, never a copy of them here. Time bounds must then fall on
bucket edges (``_periods.aligned``); ``cost`` folds the matching records
afresh when they do not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from . import _cells as c
from ._aside import AsideFold
from ._cost_model import NO_VALUE, CostReport, CostSummary
from ._periods import Periods, bucket_of, bucket_start
from ._priced import ROW_SLOTS, SUB, Totals
from .completion import Completions
from .errors import QueryError
from .tags import tag_group_key

if TYPE_CHECKING:
    from datetime import tzinfo

    from .pricing import Pricing
    from .query import EventFilter

__all__ = [
    "SORTS",
    "TIME_GROUPS",
    "Gathered",
    "gather",
    "priced_report",
    "read_report",
    "row_places",
    "row_value",
]

#: Groupings whose rows are periods of the report's time zone.
TIME_GROUPS: Final = frozenset({"day", "week", "month"})
#: The orders of a report's rows.
SORTS: Final = ("cost", "events", "tokens", "name", "time")
_PAYLOAD_FIELDS: Final = {"agent": 1, "role": 2, "wp": 3}


def row_value(
    field: str,
    feature: Any,
    agent: Any,
    role: Any,
    wp: Any,
    bucket: int,
    periods: Periods,
    tags: Any = None,
) -> str:
    """Return the row an event belongs to when grouping by ``field`` (not ``model``): one rule.

    ``tags`` are the event's as written or as a cell holds them (pairs);
    ``tag:KEY`` rows are the tag's value, ``(none)`` for events without it.
    """
    if field == "feature":
        return str(feature)
    if field in TIME_GROUPS:
        return periods.key(field, bucket)
    tag = tag_group_key(field)
    if tag is not None:
        found = dict(tags).get(tag) if isinstance(tags, dict | tuple) else None
        return found if type(found) is str and found else NO_VALUE
    value = {"agent": agent, "role": role, "wp": wp, "feature-wp": wp}[field]
    text = value if type(value) is str and value else NO_VALUE
    return f"{feature}/{text}" if field == "feature-wp" else text


def _row_dims(field: str) -> tuple[int, ...]:
    """Return the places in (feature, agent, role, wp, bucket, tags) a row by ``field`` reads."""
    if field in TIME_GROUPS:
        return (4,)
    if tag_group_key(field) is not None:
        return (5,)
    return {"feature": (0,), "agent": (1,), "role": (2,), "wp": (3,), "feature-wp": (0, 3)}.get(
        field, ()
    )


def _cell_record(key: c.CellKey) -> dict[str, Any]:
    feature, agent, role, wp, model, success, bucket, tags = key
    payload = {"agent": agent, "role": role, "wp_id": wp, "model": model, "success": success}
    if tags is not None:
        payload["tags"] = dict(tags)
    return {
        "event_type": c.EXECUTION_EVENT,
        "aggregate_id": feature,
        "timestamp": bucket_start(bucket).isoformat(),
        "payload": payload,
    }


class Gathered:
    """A report's cells merged by what its rows read, before any price: what a rollup keeps.

    ``entries`` maps (the key fields a row reads, raw model) to ``[cell, first
    bucket, {feature: work packages}, owned]``: cells of every log that land in
    one row with one raw model are summed once here, so pricing and rows cost
    one step per entry, not per cell (a day report over 20 logs: 600 entries for
    12,000 cells). Adding cells is exact (every slot a sum, KNOWN a union), so
    an entry prices as its cells did one by one. ``owned`` marks a cell made
    here (the folds' own cells are never changed).
    """

    __slots__ = ("aside", "completions", "entries", "thresholds", "used")

    def __init__(self, used: tuple[int, ...]) -> None:
        #: Places in (feature, agent, role, wp, bucket, tags) the rows read.
        self.used = used
        self.entries: dict[tuple[tuple[Any, ...], Any], list[Any]] = {}
        self.aside: list[Mapping[str, Any]] = []
        self.completions = Completions()
        #: Raw model -> the tier thresholds its cells were summed under.
        self.thresholds: dict[str, tuple[int, ...]] = {}

    def merge(self, other: Gathered) -> None:
        """Add cells gathered from other events (bytes appended since) to these."""
        for entry_key, (cell, earliest, ran, _owned) in other.entries.items():
            mine = self.entries.get(entry_key)
            if mine is None:
                mine = self.entries[entry_key] = [cell, earliest, {}, False]
            else:
                _add_to_entry(mine, cell, earliest)
                # A decoded rollup's entries share their {feature: set} maps: copy first.
                mine[2] = {feature: set(names) for feature, names in mine[2].items()}
            for feature, names in ran.items():
                mine[2].setdefault(feature, set()).update(names)
        self.aside.extend(other.aside)
        self.completions.merge(other.completions)
        self.thresholds.update(other.thresholds)


def _add_to_entry(entry: list[Any], cell: c.Cell, earliest: int) -> None:
    """Sum ``cell`` into a gathered entry: into a cell of its own once it holds two."""
    if not entry[3]:  # the entry still holds a fold's cell, which is never changed
        own = c.Cell()
        own.merge(entry[0])
        entry[0], entry[3] = own, True
    entry[0].merge(cell)
    if earliest < entry[1]:
        entry[1] = earliest


def row_places(fields: Iterable[str | None]) -> tuple[int, ...]:
    """Return the places in (feature, agent, role, wp, bucket, tags) rows by ``fields`` read."""
    return tuple(
        sorted({place for name in fields if name is not None for place in _row_dims(name)})
    )


def gather(
    folds: Iterable[c.CellFold],
    fields: tuple[str | None, ...],
    predicate: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Gathered:
    """Merge the cells (and keep the aside records) of ``folds`` that ``predicate`` passes."""
    gathered = Gathered(row_places(fields))
    places = gathered.used
    entries = gathered.entries
    for fold in folds:
        kept_wps = fold.work_packages
        for key, cell in fold.cells.items():
            if not cell.sums[c.EVENTS]:
                continue  # only events kept aside
            if predicate is not None and not predicate(_cell_record(key)):
                continue
            feature, agent, role, wp, model, _success, bucket, tags = key
            dims = (feature, agent, role, wp, bucket, tags)
            entry_key = (tuple([dims[place] for place in places]), model)
            entry = entries.get(entry_key)
            if entry is None:
                entry = entries[entry_key] = [cell, bucket, {}, False]
            else:
                _add_to_entry(entry, cell, bucket)
            ran = entry[2].get(feature)
            if ran is None:
                ran = entry[2][feature] = set()
            ran.add(wp)
            if kept_wps is not None:  # keys without the wp: the cell keeps them
                ran.update(kept_wps.get(key, ()))
        gathered.aside.extend(
            fold.aside if predicate is None else [r for r in fold.aside if predicate(r)]
        )
        gathered.completions.merge(fold.completions)
        gathered.thresholds.update(fold.thresholds_used)
    return gathered


def read_report(
    folds: Iterable[c.CellFold],
    group_by: str,
    pricing: Pricing,
    *,
    filters: EventFilter | None = None,
    zone: tzinfo | None = None,
    breakdown: str | None = None,
    sort: str | None = None,
    reverse: bool = False,
) -> CostReport:
    """Return the cost report of the events of ``folds`` that ``filters`` passes."""
    predicate = None if filters is None else filters.predicate
    gathered = gather(folds, (group_by, breakdown), predicate)
    return priced_report(
        gathered, group_by, pricing, zone=zone, breakdown=breakdown, sort=sort, reverse=reverse
    )


def priced_report(
    gathered: Gathered,
    group_by: str,
    pricing: Pricing,
    *,
    zone: tzinfo | None = None,
    breakdown: str | None = None,
    sort: str | None = None,
    reverse: bool = False,
) -> CostReport:
    """Price gathered cells into the report grouped by ``group_by`` (and ``breakdown``)."""
    from datetime import UTC

    periods = Periods(zone or UTC)
    totals = Totals(pricing)
    aside = AsideFold(totals)
    fields = (group_by, breakdown)
    if row_places(fields) != gathered.used:
        raise ValueError("cells gathered for other rows")  # a programming error
    by_model = "model" in fields
    if by_model:
        totals.total = [0] * ROW_SLOTS
    if breakdown == "model":
        totals.event_rows = {}
    first: dict[str, int] = {}
    #: (row, feature) -> the work packages its cells ran on (noted once per row).
    ran_on: dict[tuple[str, Any], set[Any]] = {}
    places = gathered.used

    def row(dims: tuple[Any, ...], model_name: str) -> str:
        feature, agent, role, wp, bucket, tags = dims
        names = [
            model_name
            if name == "model"
            else row_value(name, feature, agent, role, wp, bucket, periods, tags)
            for name in fields
            if name is not None
        ]
        return SUB.join(names)

    for (picked, model), (cell, earliest, ran, _owned) in gathered.entries.items():
        name = totals.model(model)[0] if by_model else ""
        dims = [None] * 6
        for place, value in zip(places, picked, strict=True):
            dims[place] = value
        row_key = row(tuple(dims), name)
        event_row = row_key.partition(SUB)[0] if breakdown == "model" else ""
        totals.add_cell(row_key, cell, model, total=by_model, row=event_row)
        for feature, names in ran.items():
            found = ran_on.get((row_key, feature))
            if found is None:
                ran_on[(row_key, feature)] = set(names)
            else:
                found.update(names)
        _earliest(first, row_key, earliest)
    for record in gathered.aside:
        _add_aside(aside, record, row, by_model, first)
    for (row_key, feature), names in ran_on.items():
        totals.note_work_packages(row_key, feature, names)
    # Completed as the logs stand, whatever the filters: the runs' filter picks which
    # work packages a row ran on; the transitions say which of those are done.
    totals.completed = gathered.completions.completed()
    report = totals.report(group_by, breakdown)
    order(report, sort, reverse, first)
    return report


def _add_aside(
    aside: AsideFold,
    record: Mapping[str, Any],
    row: Callable[[tuple[Any, ...], str], str],
    by_model: bool,
    first: dict[str, int],
) -> None:
    payload = record["payload"]
    bucket = bucket_of(record["timestamp"])
    dims = (
        record["aggregate_id"],
        payload.get("agent"),
        payload.get("role"),
        payload.get("wp_id"),
        bucket,
        payload.get("tags"),
    )
    feature, wp = dims[0], dims[3]
    if not by_model:
        key = row(dims, "")
        aside.add(key, record)
        aside.totals.note_work_package(key, feature, wp)
        _earliest(first, key, bucket)
        return
    placed = row(dims, "\0")  # the model's place in the row key, marked
    prefix, _, suffix = placed.partition("\0")
    event_row = prefix.partition(SUB)[0] if prefix else ""
    for key in aside.add_by_model(record, prefix, suffix, event_row):
        aside.totals.note_work_package(key, feature, wp)
        _earliest(first, key, bucket)


def _earliest(first: dict[str, int], key: str, bucket: int) -> None:
    known = first.get(key)
    if known is None or bucket < known:
        first[key] = bucket
    head = key.partition(SUB)[0]
    if head != key:
        _earliest(first, head, bucket)


def order(report: CostReport, sort: str | None, reverse: bool, first: dict[str, int]) -> None:
    """Sort rows (and breakdown parts): by ``sort``; time groupings default to oldest first."""
    explicit = sort is not None
    if sort is None:
        sort = "time" if report.group_by in TIME_GROUPS else "cost"
    if sort not in SORTS:
        raise QueryError(
            f"unknown sort {sort!r} (choose from {', '.join(SORTS)})", parameter="sort"
        )
    time_rows = report.group_by in TIME_GROUPS
    parted = any(
        part.group_by in TIME_GROUPS
        for summary in report.summaries
        for part in summary.breakdown or ()
    )

    def sort_key(summary: CostSummary, parent: str = "") -> tuple[Any, ...]:
        name = summary.group_key
        if sort == "cost":
            return (-summary.total_cost_usd, not summary.cost_known, name)
        if sort == "events":
            return (-summary.event_count, name)
        if sort == "tokens":
            return (-(summary.input_tokens + summary.output_tokens), name)
        if sort == "name" or (sort == "time" and (time_rows if not parent else parted)):
            return (name == NO_VALUE, name)
        full = f"{parent}{SUB}{name}" if parent else name
        return (first.get(full, 2**62), name)

    report.summaries.sort(key=sort_key, reverse=reverse)
    if not explicit and not (report.summaries and report.summaries[0].breakdown is not None):
        return
    if not explicit:  # parts of a time row: by cost, unless the parts are periods
        parts_by = (
            report.summaries[0].breakdown[0].group_by if report.summaries[0].breakdown else ""
        )
        sort = "time" if parts_by in TIME_GROUPS else "cost"
    for summary in report.summaries:
        if summary.breakdown is not None:
            parent = summary.group_key
            summary.breakdown.sort(key=lambda s: sort_key(s, parent), reverse=reverse)

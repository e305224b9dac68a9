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
from operator import itemgetter
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

__all__ = ["SORTS", "TIME_GROUPS", "read_report", "row_value"]

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
    from datetime import UTC

    periods = Periods(zone or UTC)
    totals = Totals(pricing)
    aside = AsideFold(totals)
    fields = (group_by, breakdown)
    by_model = "model" in fields
    if by_model:
        totals.total = [0] * ROW_SLOTS
    if breakdown == "model":
        totals.event_rows = {}
    predicate = None if filters is None else filters.predicate
    first: dict[str, int] = {}
    completions = Completions()
    #: (row, feature) -> the work packages its cells ran on (noted once per row).
    ran_on: dict[tuple[str, Any], set[Any]] = {}

    # What a row key depends on, of (feature, agent, role, wp, bucket, tags): cells that
    # agree on it share one key, computed once (a day's cells of every feature and model).
    used = sorted({place for name in fields if name is not None for place in _row_dims(name)})
    picked = itemgetter(*used) if used else (lambda dims: ())
    rows: dict[tuple[Any, str], str] = {}

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

    for fold in folds:
        for key, cell in fold.cells.items():
            if not cell.sums[c.EVENTS]:
                continue  # only events kept aside
            if predicate is not None and not predicate(_cell_record(key)):
                continue
            feature, agent, role, wp, model, _success, bucket, tags = key
            name = totals.model(model)[0] if by_model else ""
            dims = (feature, agent, role, wp, bucket, tags)
            memo = (picked(dims), name)
            row_key = rows.get(memo)
            if row_key is None:
                row_key = rows[memo] = row(dims, name)
            event_row = row_key.partition(SUB)[0] if breakdown == "model" else ""
            totals.add_cell(row_key, cell, model, total=by_model, row=event_row)
            ran = ran_on.get((row_key, feature))
            if ran is None:
                ran = ran_on[(row_key, feature)] = set()
            ran.add(wp)
            if fold.work_packages is not None:  # keys without the wp: the cell keeps them
                ran.update(fold.work_packages.get(key, ()))
            _earliest(first, row_key, bucket)
        for record in fold.aside:
            if predicate is not None and not predicate(record):
                continue
            _add_aside(aside, record, row, by_model, first)
        completions.merge(fold.completions)
    for (row_key, feature), names in ran_on.items():
        totals.note_work_packages(row_key, feature, names)
    # Completed as the logs stand, whatever the filters: the runs' filter picks which
    # work packages a row ran on; the transitions say which of those are done.
    totals.completed = completions.completed()
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

"""What agents cost: reports of execution events grouped, filtered and sorted.

Only ``ExecutionEvent`` events count. An event's cost is the ``cost_usd`` it
reports (an explicit 0.0 included) when that is a sane amount; otherwise, when
its input and output token counts are known and valid, the cost is estimated
from pricing; otherwise, or when no pricing layer knows its model, the event
is *unpriced*: its cost is unknown, it adds nothing to the totals, and the
summary says why (``unpriced_reasons``) and which models (``unknown_models``).
Counts and costs are judged by the rules every writer uses (``usage``).

How a report is made, one job per module: ``_cells`` folds events into
price-free cells (the one fold); ``projection`` keeps a log's cells beside it
and folds only what was appended; ``_reading`` filters cells and picks their
rows; ``_priced`` and ``_aside`` apply the price table; ``_cost_model`` holds
the summaries, their money settled to micro-dollars; ``_event_price`` prices
one event by the same rules, without a report around it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cells import CellFold
from ._cost_model import (
    GROUP_BYS,
    MONEY_QUANTUM,
    NO_VALUE,
    UNATTRIBUTED,
    UNPRICED_REASONS,
    CostReport,
    CostSummary,
    GroupBy,
    apportioned,
)
from ._reading import SORTS, read_report
from .errors import QueryError

if TYPE_CHECKING:
    from datetime import tzinfo

    from ._event_price import EventPrice, EventPricer
    from ._timed import DayCells
    from .events import Event
    from .pricing import Pricing
    from .query import EventFilter
    from .store import EventStore

__all__ = [
    "BREAKDOWNS",
    "GROUP_BYS",
    "MONEY_QUANTUM",
    "NO_VALUE",
    "SORTS",
    "UNATTRIBUTED",
    "UNPRICED_REASONS",
    "CostReport",
    "CostSummary",
    "EventPrice",
    "EventPricer",
    "GroupBy",
    "RunningTotal",
    "apportioned",
    "cost_report",
    "cost_summary",
    "project_cost_report",
]

#: The fields a report's rows can be broken down by (any grouping).
BREAKDOWNS = GROUP_BYS


def __getattr__(name: str) -> Any:
    """Load the one-event pricer on first use: ``cost`` itself never prices single events."""
    if name in ("EventPrice", "EventPricer"):
        from . import _event_price

        return getattr(_event_price, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cost_summary(
    events: Iterable[Event | Mapping[str, Any]] | EventStore,
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
) -> list[CostSummary]:
    """Fold events into per-group cost summaries, sorted by total cost, highest first.

    ``events`` are Events or their stored records, or an
    :class:`~spec_kitty_telemetry.store.EventStore`, whose records are folded.
    ``group_by`` is one of :data:`GROUP_BYS`, or ``tag:KEY`` (a row per value
    of the tag, ``(none)`` for events without it). ``pricing`` defaults to the
    shipped table and catalogue.
    """
    return cost_report(events, group_by, pricing=pricing, sort="cost").summaries


def cost_report(
    events: Iterable[Event | Mapping[str, Any]] | EventStore,
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
    timezone: str = "UTC",
    breakdown: str | None = None,
    sort: str | None = None,
    reverse: bool = False,
) -> CostReport:
    """Like :func:`cost_summary`, with the totals; options as :func:`project_cost_report`."""
    zone = _check(group_by, breakdown, sort, timezone)
    pricing = _pricing(pricing, None)
    fold = CellFold(thresholds_of(pricing), timed=_needs_time(group_by, breakdown, sort, None))
    for record in _as_records(events):
        fold.add(record)
    return read_report(
        [fold], group_by, pricing, zone=zone, breakdown=breakdown, sort=sort, reverse=reverse
    )


class RunningTotal:
    """The TOTAL row of a cost report fed in pieces, for a reader splitting one stream.

    ``timeline`` replays a log once and sends each invocation to the phases it
    ran in; it keeps one of these per phase instead of each phase's records.
    Adding records in several calls gives the total one report over all of them gives.
    """

    def __init__(self, pricing: Pricing) -> None:
        self._pricing = pricing
        self._fold = CellFold(thresholds_of(pricing), timed=False)

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Fold more records in."""
        for record in records:
            self._fold.add(record)

    def total(self) -> CostSummary:
        """Return the TOTAL row of ``cost_report`` over every record added."""
        return read_report([self._fold], "feature", self._pricing).total


def project_cost_report(
    repo_root: str | Path,
    filters: EventFilter | None = None,
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
    workers: int | None = 1,
    timezone: str = "UTC",
    breakdown: str | None = None,
    sort: str | None = None,
    reverse: bool = False,
    save: bool = True,
) -> CostReport:
    """Report the cost of every feature of a project; the ``cost`` command.

    Each log is read through its projection (``projection``): only bytes
    appended since the last report are folded, and with ``save`` the
    projection is written back. ``timezone`` (an IANA name, ``UTC`` or
    ``local``) decides day, week and month rows and how the filter's dates
    and naive times are read. ``breakdown`` splits each row by a second field
    (``CostSummary.breakdown``); ``sort`` is one of :data:`SORTS` (default:
    oldest first for time groupings, else by cost), ``reverse`` flips it.
    Pricing defaults to the project's. ``workers`` is accepted for
    compatibility and ignored: a warm report reads no history.
    """
    from .project import project_logs

    del workers
    zone = _check(group_by, breakdown, sort, timezone)
    pricing = _pricing(pricing, repo_root)
    if filters is not None:
        filters = localized(filters, zone)
    select = None if filters is None or not filters.features else filters.selects_feature
    logs = [log for _slug, log in project_logs(repo_root, select)]
    options: dict[str, Any] = {"zone": zone, "breakdown": breakdown, "sort": sort}
    timed = _needs_time(group_by, breakdown, sort, filters)
    from ._timed import day_cells, untimed_cells

    # Cells keeping only the fields the report reads: local days when they answer
    # a time report exactly (else 15-minute cells), or no time at all.
    days = (
        day_cells(group_by, breakdown, sort, filters, zone)
        if timed
        else untimed_cells(group_by, breakdown, filters)
    )
    if days is None and filters is not None and not _whole_buckets(filters):
        # A bound inside a 15-minute bucket splits it: fold those records afresh.
        return _scanned(logs, filters, group_by, pricing, reverse=reverse, **options)
    from .projection import fold_log

    thresholds = thresholds_of(pricing)
    if filters is None and days is not None and logs:
        return _rolled_up(logs, days, group_by, pricing, save=save, reverse=reverse, **options)
    folds = [
        fold_log(log, thresholds, save=save, timed=timed, durations=False, days=days)
        for log in logs
    ]
    return read_report(
        (fold for log in folds for fold in log.folds()),
        group_by,
        pricing,
        filters=filters,
        reverse=reverse,
        **options,
    )


def _rolled_up(
    logs: list[Path],
    days: DayCells,
    group_by: str,
    pricing: Pricing,
    *,
    save: bool,
    zone: tzinfo,
    breakdown: str | None,
    sort: str | None,
    reverse: bool,
) -> CostReport:
    """Report from the project's rollup of this shape (unfiltered), gathered again when stale."""
    from ._reading import gather, priced_report
    from ._rollup import catch_up, load_rollup, save_rollup, warn_malformed
    from .projection import empty_fold, fold_log

    thresholds = thresholds_of(pricing)
    key = f"{days.shape}|{group_by}|{breakdown}"
    fields = (group_by, breakdown)
    keep = save and days.fingerprint is not None
    rollup = load_rollup(logs, key, thresholds, lambda: empty_fold(thresholds, days=days))
    if rollup is not None and catch_up(rollup, logs, fields, save=save):
        gathered = rollup.gathered
        warn_malformed(rollup.states)
        if rollup.grown and keep:
            save_rollup(logs, key, rollup.states, gathered)
    else:
        states = [fold_log(log, thresholds, save=save, durations=False, days=days) for log in logs]
        gathered = gather((fold for state in states for fold in state.folds()), fields)
        if keep:
            save_rollup(logs, key, states, gathered)
    return priced_report(
        gathered, group_by, pricing, zone=zone, breakdown=breakdown, sort=sort, reverse=reverse
    )


def _scanned(
    logs: Iterable[Path],
    filters: EventFilter,
    group_by: str,
    pricing: Pricing,
    **options: Any,
) -> CostReport:
    """Fold the matching records afresh: for time bounds inside a 15-minute bucket.

    Every phase transition is folded too, as a projection holds them: which
    work packages are completed does not depend on the runs' filter.
    """
    from .completion import PHASE_TRANSITION
    from .query import iter_feature_records

    fold = CellFold(thresholds_of(pricing))
    wanted = filters.predicate
    for log in logs:
        for record in iter_feature_records(log.parent):
            if record["event_type"] == PHASE_TRANSITION or wanted is None or wanted(record):
                fold.add(record)
    return read_report([fold], group_by, pricing, **options)


def _needs_time(
    group_by: str, breakdown: str | None, sort: str | None, filters: EventFilter | None
) -> bool:
    """Whether a report reads time buckets (else the small projection without time answers)."""
    from ._reading import TIME_GROUPS

    if group_by in TIME_GROUPS or breakdown in TIME_GROUPS or sort == "time":
        return True
    return filters is not None and (filters.since is not None or filters.until is not None)


def _whole_buckets(filters: EventFilter) -> bool:
    from ._periods import aligned
    from .query import _lower_bound, _upper_bound

    since, until = filters.bounds
    return aligned(_lower_bound(since), _upper_bound(until))


def localized(filters: EventFilter, zone: tzinfo) -> EventFilter:
    """Return the filter with its dates and naive times read in ``zone`` (UTC: unchanged)."""
    from dataclasses import replace  # EventFilter is a dataclass; only zoned bounds get here
    from datetime import UTC

    from ._periods import localized_bound

    if zone is UTC or (filters.since is None and filters.until is None):
        return filters
    since, until = filters.bounds
    return replace(
        filters,
        since=localized_bound(since, zone, upper=False),
        until=localized_bound(until, zone, upper=True),
    )


def thresholds_of(pricing: Pricing) -> Any:
    """Return a raw model's long-context tier thresholds under ``pricing``, cached per name."""
    known: dict[str, tuple[int, ...]] = {}

    def thresholds(model: str) -> tuple[int, ...]:
        found = known.get(model)
        if found is None:
            rates = pricing.rates(model) if model.strip() else None
            found = () if rates is None else tuple(t.above_input_tokens for t in rates.tiers)
            known[model] = found
        return found

    return thresholds


def _check(group_by: str, breakdown: str | None, sort: str | None, timezone: str) -> tzinfo:
    """Refuse unknown options before reading anything; return the time zone."""
    from ._periods import resolve_timezone
    from .tags import tag_group_key, tag_group_problem

    for name, value in (("group_by", group_by), ("breakdown", breakdown)):
        if value is None or value in GROUP_BYS:
            continue
        if tag_group_key(value) is None:
            raise QueryError(
                f"unknown group {value!r} (choose from {', '.join(GROUP_BYS)} or tag:KEY)",
                parameter=name,
            )
        problem = tag_group_problem(value)
        if problem is not None:
            raise QueryError(f"group {value!r}: {problem}", parameter=name)
    if breakdown is not None and breakdown == group_by:
        raise QueryError(f"breakdown {breakdown!r} is the grouping itself", parameter="breakdown")
    if sort is not None and sort not in SORTS:
        raise QueryError(
            f"unknown sort {sort!r} (choose from {', '.join(SORTS)})", parameter="sort"
        )
    return resolve_timezone(timezone)


def _pricing(pricing: Pricing | None, root: str | Path | None) -> Pricing:
    if pricing is not None:
        return pricing
    from .pricing import load_pricing

    return load_pricing(root) if root is not None else load_pricing()


def _as_records(
    events: Iterable[Event | Mapping[str, Any]] | EventStore,
) -> Iterable[Mapping[str, Any]]:
    """Turn events into records; a stream of plain dicts passes through untouched (hot path)."""
    from .store import EventStore

    if isinstance(events, EventStore):
        return events.iter_records()
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        return ()
    if type(first) is dict:
        return itertools.chain((first,), iterator)  # type: ignore[arg-type]
    return (
        e if isinstance(e, Mapping) else e.to_dict() for e in itertools.chain((first,), iterator)
    )

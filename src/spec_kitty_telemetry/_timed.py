"""Which time projection answers a report: compact local days, or 15-minute buckets.

A 15-minute cell of the full key holds about one event (a log's agents,
roles, work packages and models spread its events over the key), so a report
read from 15-minute cells costs about what a scan costs. Most time reports
need far less: rows by day, week or month of one zone, and date bounds in
that zone. For them a log keeps a *day* projection per zone and per set of
key fields the report reads (:class:`DayCells`): cells keyed by the local
day's first bucket (``Periods.day_start``), holding only the key fields the
grouping, breakdown and filter name, besides feature and model (pricing);
a cell's work packages are then kept beside it (completed work packages per
row).

The 15-minute projection still answers what day cells cannot say exactly:
a time bound that is not the first instant of a local day in the report's
zone, and ``--sort time`` of rows that are not periods (ordered by their
first event's bucket).

Reports without time are narrowed the same way (:func:`untimed_cells`): the
full-key projection holds a cell per (agent, role, work package, model,
success, tags) of each log, which a warm ``-g agent`` would decode and price
one by one; a projection keeping only the fields the report reads holds a
few cells per agent and model instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ._cells import NARROWABLE
from ._periods import Periods, zone_fingerprint
from ._plain import plain
from .tags import tag_group_key

if TYPE_CHECKING:
    from datetime import tzinfo

    from .query import EventFilter

__all__ = ["DayCells", "day_cells", "untimed_cells"]

_TIME_GROUPS = frozenset({"day", "week", "month"})
_MICROSECOND = timedelta(microseconds=1)


@plain(frozen=True)
class DayCells:
    """The shape of a compact projection: a zone's local days (or no time), and the fields kept."""

    #: The zone's local days; None: cells without time (a report that reads none).
    periods: Periods | None
    #: ``zone_fingerprint`` of the zone; None: fold in memory, never save.
    fingerprint: str | None
    #: The ``_cells.NARROWABLE`` fields the cells keep.
    keep: frozenset[str]

    @property
    def shape(self) -> str:
        """The text naming this shape in the projection's header and file name."""
        kept = ",".join(sorted(self.keep))
        return f"keep|{kept}" if self.periods is None else f"day|{self.fingerprint}|{kept}"


def day_cells(
    group_by: str,
    breakdown: str | None,
    sort: str | None,
    filters: EventFilter | None,
    zone: tzinfo,
) -> DayCells | None:
    """Return the day projection that answers this time report exactly, or None.

    ``filters`` has its bounds read in ``zone`` already (``cost.localized``).
    None means the 15-minute projection must answer (or a scan, for bounds
    inside a 15-minute bucket).
    """
    periods_shown = group_by in _TIME_GROUPS and (breakdown is None or breakdown in _TIME_GROUPS)
    if sort == "time" and not periods_shown:
        return None  # rows ordered by their first event's 15-minute bucket
    periods = Periods(zone)
    if filters is not None:
        from .query import _lower_bound, _upper_bound

        since, until = filters.bounds
        lower, upper = _lower_bound(since), _upper_bound(until)
        if lower is not None and not periods.on_day_edge(lower):
            return None
        if upper is not None and not periods.on_day_edge(upper + _MICROSECOND):
            return None
    return DayCells(periods, zone_fingerprint(zone), _kept(group_by, breakdown, filters))


def untimed_cells(group_by: str, breakdown: str | None, filters: EventFilter | None) -> DayCells:
    """Return the projection without time that answers this report (one that reads no time)."""
    return DayCells(None, "", _kept(group_by, breakdown, filters))


def _kept(group_by: str, breakdown: str | None, filters: EventFilter | None) -> frozenset[str]:
    """Return the ``NARROWABLE`` fields a report groups, breaks down or filters by."""
    keep: set[str] = set()
    for field in (group_by, breakdown):
        if field in NARROWABLE:
            keep.add(field)
        elif field == "feature-wp":
            keep.add("wp")
        elif field is not None and tag_group_key(field) is not None:
            keep.add("tags")
    if filters is not None:
        keep.update(name for name in ("agent", "role") if getattr(filters, name) is not None)
        if filters.wp_id is not None:
            keep.add("wp")
        if filters.success is not None:
            keep.add("success")
        if filters.tags:
            keep.add("tags")
    return frozenset(keep)

"""The scoreboard: one screen of how the agents did over a window.

Runs, success rate, duration (mean and p95), total cost and cost per
completed work package, failures by kind, and from ``PhaseTransition``
events the first-pass rate (completed work packages that never went back
from review to implementation) and the average number of such rework cycles.
A work package counts in the window it was completed in; its rework cycles
are counted over its whole history.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._money import in_cents, in_micros
from .._records import EXECUTION_EVENT
from ..completion import (
    DONE_PHASES,
    PHASE_TRANSITION,
    REVIEW_PHASES,
    WORK_PHASES,
    Lane,
    completed_lanes,
)
from ..errors import QueryError
from ..outputs import cost_per
from ._stats import percentiles
from .runs import NO_VALUE, Run, group_key, priced_runs

if TYPE_CHECKING:
    from ..pricing import Pricing
    from ..query import EventFilter

__all__ = [
    "DONE_PHASES",
    "REVIEW_PHASES",
    "WINDOWS",
    "WORK_PHASES",
    "Score",
    "Scoreboard",
    "project_scoreboard",
    "scoreboard_of",
    "window_start",
]

#: The windows the scoreboard offers, as spans before ``at`` (None: everything).
WINDOWS: Final[Mapping[str, timedelta | None]] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "all": None,
}
_Rounding = Callable[[Sequence[Decimal], Decimal], tuple[list[Decimal], Decimal]]


def window_start(window: str, at: datetime) -> datetime | None:
    """Return the first instant of ``window`` before ``at``; QueryError naming the window."""
    if window not in WINDOWS:
        raise QueryError(
            f"unknown window {window!r} (choose from {', '.join(WINDOWS)})", parameter="window"
        )
    span = WINDOWS[window]
    return None if span is None else at - span


@dataclass(frozen=True)
class Score:
    """The scoreboard's figures for all runs (``key`` empty) or one group."""

    key: tuple[str, ...]
    runs: int
    successes: int
    mean_duration_ms: float | None
    p95_duration_ms: float | None
    total_cost_usd: Decimal
    estimated_runs: int
    unpriced_runs: int
    completed_work_packages: int
    first_pass: int
    rework_cycles: int
    failures: dict[str, int]
    #: Runs that recorded their changes, and the lines they changed (added + deleted).
    runs_with_changes: int = 0
    lines_changed: int = 0
    #: Runs that recorded test figures, and the tests they passed.
    runs_with_tests: int = 0
    tests_passed: int = 0
    #: Failed runs by ``error_category`` (``(none)``: recorded none).
    failures_by_category: dict[str, int] = field(default_factory=dict)

    def to_dict(self, fields: Sequence[str], shown_cost: Decimal | None = None) -> dict[str, Any]:
        """Return the row as ``scoreboard --json`` shows it.

        ``shown_cost`` is the row's cost as rounded with the other rows (so they
        add up to the total); without it, the cost rounded to micro-dollars.
        """
        done = self.completed_work_packages
        if shown_cost is None:
            shown_cost = in_micros([], self.total_cost_usd)[1]
        return {
            "group": dict(zip(fields, self.key, strict=True)),
            "runs": self.runs,
            "success_rate": round(self.successes / self.runs, 6) if self.runs else None,
            "mean_duration_ms": None
            if self.mean_duration_ms is None
            else round(self.mean_duration_ms, 3),
            "p95_duration_ms": None
            if self.p95_duration_ms is None
            else round(self.p95_duration_ms, 3),
            "total_cost_usd": float(shown_cost),
            "estimated_runs": self.estimated_runs,
            "unpriced_runs": self.unpriced_runs,
            "completed_work_packages": done,
            "first_pass_rate": round(self.first_pass / done, 6) if done else None,
            "mean_rework_cycles": round(self.rework_cycles / done, 6) if done else None,
            "cost_per_completed_wp_usd": round(float(self.total_cost_usd) / done, 6)
            if done
            else None,
            "failures_by_kind": _by_count(self.failures),
            "failures_by_category": _by_count(self.failures_by_category),
            "runs_with_changes": self.runs_with_changes,
            "lines_changed": self.lines_changed if self.runs_with_changes else None,
            "cost_per_line_changed_usd": _rounded(
                cost_per(self.total_cost_usd, self.lines_changed, self.runs_with_changes, self.runs)
            ),
            "runs_with_tests": self.runs_with_tests,
            "tests_passed": self.tests_passed if self.runs_with_tests else None,
            "cost_per_passing_test_usd": _rounded(
                cost_per(self.total_cost_usd, self.tests_passed, self.runs_with_tests, self.runs)
            ),
        }


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _rounded(amount: Decimal | None) -> float | None:
    return None if amount is None else round(float(amount), 6)


@dataclass(frozen=True)
class Scoreboard:
    """The whole-project row and, with ``by``, one row per group."""

    window: str
    start: datetime | None
    end: datetime
    by: tuple[str, ...]
    total: Score
    rows: list[Score]

    def to_dict(self) -> dict[str, Any]:
        """Return the ``scoreboard --json`` document; row costs add up to the total's."""
        rows, total = self.shown_costs(in_micros)
        return {
            "window": self.window,
            "start": None if self.start is None else self.start.isoformat(),
            "end": self.end.isoformat(),
            "by": list(self.by),
            "total": self.total.to_dict((), total),
            "rows": [
                row.to_dict(self.by, shown) for row, shown in zip(self.rows, rows, strict=True)
            ],
        }

    def shown_costs(self, rounding: _Rounding = in_cents) -> tuple[list[Decimal], Decimal]:
        """Return the rows' costs and the total, rounded as ``cost`` rounds its rows and total.

        Rows are rounded together (largest remainder, the cost report's rule), so
        they add up to the total shown and each equals ``cost``'s row of the group.
        """
        return rounding([row.total_cost_usd for row in self.rows], self.total.total_cost_usd)


class _Tally:
    """One row's figures, added up run by run as the runs are read: no run is held.

    Durations are kept (as an array of doubles) because the p95 is exact on
    the values; everything else is a count or a sum, added in the order the
    runs come, so the figures are those of the runs listed and summed.
    """

    __slots__ = (
        "categories",
        "changes",
        "cost",
        "durations",
        "estimated",
        "failures",
        "lines",
        "passed",
        "priced",
        "runs",
        "successes",
        "tests",
    )

    def __init__(self) -> None:
        self.runs = self.successes = self.priced = self.estimated = 0
        self.changes = self.lines = self.tests = self.passed = 0
        self.durations: array[float] = array("d")
        self.cost = Decimal(0)
        self.failures: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()

    def add(self, run: Run) -> None:
        """Count one run in."""
        self.runs += 1
        if run.success:
            self.successes += 1
        else:
            self.failures[run.error_kind or "unknown"] += 1
        if run.duration_ms is not None:
            self.durations.append(float(run.duration_ms))
        if run.cost_usd is not None:
            self.priced += 1
            self.cost += run.cost_usd
            self.estimated += run.estimated
        if run.failure_category is not None:
            self.categories[run.failure_category] += 1
        if run.lines_changed is not None:
            self.changes += 1
            self.lines += run.lines_changed
        if run.tests_passed is not None:
            self.tests += 1
            self.passed += run.tests_passed

    def score(self, key: tuple[str, ...], lanes: list[Lane]) -> Score:
        """Return the row's figures, with the work packages it completed."""
        durations = self.durations
        return Score(
            key,
            self.runs,
            self.successes,
            sum(durations) / len(durations) if durations else None,
            percentiles(durations, (95,))[0] if durations else None,
            self.cost,
            self.estimated,
            self.runs - self.priced,
            len(lanes),
            sum(lane.rework == 0 for lane in lanes),
            sum(lane.rework for lane in lanes),
            dict(self.failures),
            self.changes,
            self.lines,
            self.tests,
            self.passed,
            dict(self.categories),
        )


def project_scoreboard(
    root: str | Path,
    window: str = "7d",
    at: datetime | None = None,
    by: Sequence[str] = (),
    *,
    pricing: Pricing | None = None,
    start: datetime | None = None,
    runs: Sequence[Run] | None = None,
) -> Scoreboard:
    """Score a project's runs in ``window`` before ``at`` (default: now), overall and by group.

    ``start`` replaces the window's first instant (the review scores an ISO week from its Monday).
    ``runs``: the window's runs, already priced (the review has them), instead of reading them.
    """
    from ..pricing import load_pricing
    from ..query import iter_project_records

    return scoreboard_of(
        lambda filters: iter_project_records(root, filters),
        window,
        at,
        by,
        pricing=pricing if pricing is not None else load_pricing(root),
        start=start,
        runs=runs,
    )


def scoreboard_of(
    read: Callable[[EventFilter], Iterable[Mapping[str, Any]]],
    window: str = "7d",
    at: datetime | None = None,
    by: Sequence[str] = (),
    *,
    pricing: Pricing,
    start: datetime | None = None,
    runs: Sequence[Run] | None = None,
) -> Scoreboard:
    """Score the records ``read(filters)`` returns: a project's files, or a store (the server).

    ``read`` is given the filter of what the scoreboard needs (the phase
    transitions up to ``at``, then the runs in the window), so each source
    reads only that. ``runs`` given (the window's runs, priced): they are
    scored instead of reading and pricing the window again.
    """
    from datetime import UTC

    from ..query import EventFilter

    end = at if at is not None else datetime.now(UTC)
    if start is None:
        start = window_start(window, end)
    transitions: list[Mapping[str, Any]] = []
    scored: Iterable[Run]
    if runs is None:
        scored = priced_runs(_one_read(read, start, end, transitions), pricing)
    else:
        scored = runs
        transitions.extend(read(EventFilter(event_type=PHASE_TRANSITION, until=end)))
    by = tuple(by)
    total = _Tally()
    grouped: dict[tuple[str, ...], _Tally] = {}
    lane_groups: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
    for run in scored:
        total.add(run)
        if not by:
            continue
        key = group_key(run, by)
        tally = grouped.get(key)
        if tally is None:
            tally = grouped[key] = _Tally()
        tally.add(run)
        if run.wp != NO_VALUE:
            lane_groups[(run.feature, run.wp)].add(key)
    completed = completed_lanes(transitions, start)
    rows = []
    for key, tally in sorted(grouped.items()):
        mine = [lane for lk, lane in completed.items() if key in lane_groups.get(lk, set())]
        rows.append(tally.score(key, mine))
    return Scoreboard(window, start, end, by, total.score((), list(completed.values())), rows)


def _one_read(
    read: Callable[[EventFilter], Iterable[Mapping[str, Any]]],
    start: datetime | None,
    end: datetime,
    transitions: list[Mapping[str, Any]],
) -> Iterator[Mapping[str, Any]]:
    """Read the logs once up to ``end``: keep the phase transitions, yield the window's runs.

    Each record is sorted by the predicates of the two filters the scoreboard
    would otherwise read with (``query.EventFilter``), so the records are
    those two reads would give, for half the reading.
    """
    from ..query import EventFilter

    is_transition = EventFilter(event_type=PHASE_TRANSITION).predicate
    in_window = EventFilter(event_type=EXECUTION_EVENT, since=start, until=end).predicate
    assert is_transition is not None
    assert in_window is not None
    for record in read(EventFilter(until=end)):
        if is_transition(record):
            transitions.append(record)
        elif in_window(record):
            yield record

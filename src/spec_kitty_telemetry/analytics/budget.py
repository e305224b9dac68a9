"""Budgets: how much of each configured limit the current period has used, and when it runs out.

A period (day, week or month) starts at the budget's reset time in its time
zone, so a monthly budget in Europe/Berlin resets at local midnight on the
1st, whatever UTC says, across month ends and daylight-saving changes. Spend
is priced by the cost report's rule; estimated spend is marked, and unpriced
runs are counted and named, never taken as $0.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._records import EXECUTION_EVENT
from .runs import Run, priced_runs
from .settings import BudgetSettings

if TYPE_CHECKING:
    from ..pricing import Pricing

__all__ = ["BudgetStatus", "budget_status", "period_bounds", "project_budgets"]

GREEN: Final = "GREEN"
YELLOW: Final = "YELLOW"
RED: Final = "RED"


def _local_start(day: date, budget: BudgetSettings) -> datetime:
    return datetime.combine(day, budget.reset, tzinfo=budget.zone)


def _utc(bounds: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    # Python subtracts two datetimes of one zone by wall clock (a 23-hour DST day would
    # count 24): in UTC, every difference is real elapsed time.
    return bounds[0].astimezone(UTC), bounds[1].astimezone(UTC)


def _first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _first_of_previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def period_bounds(at: datetime, budget: BudgetSettings) -> tuple[datetime, datetime]:
    """Return the start and end (exclusive, in UTC) of the budget period holding ``at``.

    The period is the budget's own: it starts at the reset time in the budget's zone.
    """
    local = at.astimezone(budget.zone)
    today = local.date()
    if budget.period == "day":
        first = today
        if _local_start(first, budget) > local:
            first -= timedelta(days=1)
        return _utc((_local_start(first, budget), _local_start(first + timedelta(days=1), budget)))
    if budget.period == "week":
        first = today - timedelta(days=today.weekday())
        if _local_start(first, budget) > local:
            first -= timedelta(days=7)
        return _utc((_local_start(first, budget), _local_start(first + timedelta(days=7), budget)))
    first = today.replace(day=1)
    if _local_start(first, budget) > local:
        first = _first_of_previous_month(first)
    return _utc((_local_start(first, budget), _local_start(_first_of_next_month(first), budget)))


@dataclass(frozen=True)
class BudgetStatus:
    """One budget now: what the period used, what is left, the level and the outlook."""

    budget: BudgetSettings
    at: datetime
    start: datetime
    end: datetime
    consumed: Decimal
    runs: int
    estimated_runs: int
    unpriced_runs: int
    unpriced_models: dict[str, int]

    @property
    def unit(self) -> str:
        """``usd`` or ``tokens``."""
        return "usd" if self.budget.limit_usd is not None else "tokens"

    @property
    def limit(self) -> Decimal:
        """The limit, in the budget's unit."""
        if self.budget.limit_usd is not None:
            return Decimal(str(self.budget.limit_usd))
        return Decimal(self.budget.limit_tokens or 0)

    @property
    def percent(self) -> float:
        """Percent of the limit used (may pass 100)."""
        return float(self.consumed / self.limit * 100)

    @property
    def level(self) -> str:
        """GREEN below yellow%, YELLOW up to red%, RED above red%."""
        if self.percent > self.budget.red:
            return RED
        if self.percent >= self.budget.yellow:
            return YELLOW
        return GREEN

    @property
    def exhausted(self) -> bool:
        """Whether the period has used the whole limit."""
        return self.consumed >= self.limit

    @property
    def projected_exhaustion(self) -> datetime | None:
        """When the limit runs out at the period's burn rate so far, if before the reset."""
        if self.exhausted:
            return None
        elapsed = (self.at - self.start).total_seconds()
        if elapsed <= 0 or self.consumed <= 0:
            return None
        rate = float(self.consumed) / elapsed
        moment = self.start + timedelta(seconds=float(self.limit) / rate)
        return moment if moment < self.end else None

    def to_dict(self) -> dict[str, Any]:
        """Return the status as ``budget --json`` shows it."""
        usd = self.unit == "usd"
        exhaustion = self.projected_exhaustion
        return {
            "name": self.budget.name,
            "scope": self.budget.scope,
            "scope_value": self.budget.scope_value,
            "unit": self.unit,
            "limit": float(self.limit) if usd else int(self.limit),
            "consumed": round(float(self.consumed), 6) if usd else int(self.consumed),
            "remaining": round(float(max(self.limit - self.consumed, Decimal(0))), 6)
            if usd
            else int(max(self.limit - self.consumed, Decimal(0))),
            "percent_used": round(self.percent, 2),
            "level": self.level,
            "exhausted": self.exhausted,
            "period": self.budget.period,
            "period_start": self.start.astimezone(self.budget.zone).isoformat(),
            "period_end": self.end.astimezone(self.budget.zone).isoformat(),
            "seconds_until_reset": int((self.end - self.at).total_seconds()),
            "projected_exhaustion": None if exhaustion is None else exhaustion.isoformat(),
            "runs": self.runs,
            "estimated_runs": self.estimated_runs,
            "unpriced_runs": self.unpriced_runs,
            "unpriced_models": dict(sorted(self.unpriced_models.items())),
        }


_PROVIDERS: dict[str, str | None] = {}


def provider_of(model: str) -> str | None:
    """Return the provider the price catalogue names for ``model`` (``anthropic``), or None."""
    if model in _PROVIDERS:
        return _PROVIDERS[model]
    found: str | None = None
    try:
        from genai_prices import data_snapshot

        provider, _ = data_snapshot.get_snapshot().find_provider_model(model, None, None, None)
        found = str(provider.id)
    except Exception:  # noqa: BLE001 - an unknown model, or no catalogue: no provider
        found = None
    _PROVIDERS[model] = found
    return found


def _in_scope(run: Run, budget: BudgetSettings) -> bool:
    value = budget.scope_value or ""
    if budget.scope == "project":
        return True
    if budget.scope == "feature":
        return fnmatch.fnmatchcase(run.feature, value)
    if budget.scope == "agent":
        return run.agent == value
    if budget.scope == "model":
        return run.model == value
    return provider_of(run.model) == value


class _Tally:
    """One budget's consumption, added up run by run as the runs are read (none is held)."""

    def __init__(self, budget: BudgetSettings, at: datetime) -> None:
        self.budget, self.at = budget, at
        self.start, self.end = period_bounds(at, budget)
        self.consumed, self.count, self.estimated, self.unpriced = Decimal(0), 0, 0, 0
        self.models: Counter[str] = Counter()

    def add(self, run: Run) -> None:
        """Count one run, if it is in the budget's scope and period (up to ``at``)."""
        budget = self.budget
        if not (self.start <= run.timestamp <= self.at) or not _in_scope(run, budget):
            return
        self.count += 1
        if budget.limit_tokens is not None:
            self.consumed += (run.input_tokens or 0) + (run.output_tokens or 0)
            return
        if run.cost_usd is None:
            self.unpriced += 1
            self.models[run.unknown_model or run.model] += 1
        else:
            self.consumed += run.cost_usd
            self.estimated += run.estimated

    def status(self) -> BudgetStatus:
        """Return the budget's status from the runs counted."""
        return BudgetStatus(
            self.budget,
            self.at,
            self.start,
            self.end,
            self.consumed,
            self.count,
            self.estimated,
            self.unpriced,
            dict(self.models),
        )


def budget_status(runs: Iterable[Run], budget: BudgetSettings, at: datetime) -> BudgetStatus:
    """Sum the in-scope runs of the period holding ``at`` (up to ``at``) against the budget."""
    tally = _Tally(budget, at)
    for run in runs:
        tally.add(run)
    return tally.status()


def project_budgets(
    root: str | Path,
    budgets: list[BudgetSettings],
    at: datetime,
    *,
    pricing: Pricing | None = None,
) -> list[BudgetStatus]:
    """Evaluate every budget of a project at ``at``, reading its runs once."""
    from ..pricing import load_pricing
    from ..query import EventFilter, iter_project_records

    if not budgets:
        return []
    pricing = pricing if pricing is not None else load_pricing(root)
    earliest = min(period_bounds(at, budget)[0] for budget in budgets)
    filters = EventFilter(event_type=EXECUTION_EVENT, since=earliest, until=at)
    tallies = [_Tally(budget, at) for budget in budgets]
    for run in priced_runs(iter_project_records(root, filters), pricing):
        for tally in tallies:
            tally.add(run)
    return [tally.status() for tally in tallies]

"""A window of runs in a few numbers: ``report summary``.

Total cost is the cost report's TOTAL over the same events (one pricing rule);
the per-agent and per-model costs are its rows. Durations are of the runs that
recorded one; p95 is the nearest-rank percentile, so it is always a duration
some run really took, never an interpolation between two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._records import EXECUTION_EVENT
from ..usage import COST_FIELD
from .runs import phases_of

if TYPE_CHECKING:
    from ..cost import CostReport
    from ..pricing import Pricing
    from ..query import EventFilter

__all__ = [
    "GroupLine",
    "RunSummary",
    "duration_text",
    "nearest_rank",
    "run_summary",
    "summarize_records",
]


def duration_text(ms: float | None) -> str:
    """Return a duration for people: ``4m 09s``, ``1h 02m``, ``850 ms``; ``-`` when unknown."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{round(ms)} ms"
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def nearest_rank(values: list[int], percent: float) -> int | None:
    """Return the nearest-rank ``percent`` percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class GroupLine:
    """Runs of one agent or one model: how many, how many succeeded, what they cost."""

    key: str
    runs: int = 0
    #: None for models: a run of several models succeeds or fails as a whole, not per model.
    succeeded: int | None = None
    cost_usd: Decimal | None = None
    estimated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the line as JSON-ready data."""
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            COST_FIELD: None if self.cost_usd is None else float(round(self.cost_usd, 6)),
            "cost_estimated": self.estimated,
        }


@dataclass
class RunSummary:
    """What a window of runs cost and how it went."""

    runs: int
    succeeded: int
    cost_usd: Decimal | None
    cost_estimated: bool
    unpriced_runs: int
    mean_duration_ms: float | None
    p95_duration_ms: int | None
    by_agent: list[GroupLine] = field(default_factory=list)
    by_model: list[GroupLine] = field(default_factory=list)
    #: Phase name → total ms over every run that recorded it, in first-seen order.
    profile: dict[str, float] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        """Share of runs that succeeded (None without runs)."""
        return None if not self.runs else self.succeeded / self.runs

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data: ``report summary --json``."""
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            "success_rate": None if self.success_rate is None else round(self.success_rate, 4),
            COST_FIELD: None if self.cost_usd is None else float(round(self.cost_usd, 6)),
            "cost_estimated": self.cost_estimated,
            "unpriced_runs": self.unpriced_runs,
            "mean_duration_ms": (
                None if self.mean_duration_ms is None else round(self.mean_duration_ms, 1)
            ),
            "p95_duration_ms": self.p95_duration_ms,
            "by_agent": {line.key: line.to_dict() for line in self.by_agent},
            "by_model": {line.key: line.to_dict() for line in self.by_model},
            "profile_ms": {name: round(ms, 3) for name, ms in self.profile.items()},
        }


def run_summary(
    repo_root: str | Path, filters: EventFilter | None = None, *, pricing: Pricing | None = None
) -> RunSummary:
    """Summarize the project's runs matching ``filters``."""
    from dataclasses import replace

    from ..pricing import load_pricing
    from ..query import EventFilter, iter_project_records

    wanted = replace(filters or EventFilter(), event_type=EXECUTION_EVENT)
    prices = pricing if pricing is not None else load_pricing(repo_root)
    return summarize_records(list(iter_project_records(repo_root, wanted)), pricing=prices)


def summarize_records(
    selected: Iterable[Mapping[str, Any]], *, pricing: Pricing | None = None
) -> RunSummary:
    """Summarize execution records already selected (any order)."""
    from ..cost import cost_report

    records = [r for r in selected if r.get("event_type") == EXECUTION_EVENT]
    total = cost_report(records, "agent", pricing=pricing)
    models = cost_report(records, "model", pricing=pricing)
    durations: list[int] = []
    succeeded = 0
    profile: dict[str, float] = {}
    for record in records:
        payload = record["payload"]
        if type(payload.get("duration_ms")) is int:
            durations.append(payload["duration_ms"])
        succeeded += payload.get("success", True) is True
        for name, ms in phases_of(payload).items():
            profile[name] = profile.get(name, 0) + ms
    summary = total.total
    return RunSummary(
        runs=len(records),
        succeeded=succeeded,
        cost_usd=summary.total_cost_usd if summary.cost_known and records else None,
        cost_estimated=bool(summary.estimated_event_count or summary.split_cost_event_count),
        unpriced_runs=summary.unpriced_event_count,
        mean_duration_ms=sum(durations) / len(durations) if durations else None,
        p95_duration_ms=nearest_rank(durations, 95),
        by_agent=_lines(total, records, "agent"),
        by_model=_lines(models, records, "model"),
        profile=profile,
    )


def _lines(report: CostReport, records: Iterable[Mapping[str, Any]], name: str) -> list[GroupLine]:
    """One line per row of the cost report, with success counted from the same records."""
    lines = []
    for row in report.summaries:
        line = GroupLine(
            row.group_key,
            runs=row.event_count,
            succeeded=0 if name == "agent" else None,
            cost_usd=row.total_cost_usd if row.cost_known else None,
            estimated=bool(row.estimated_event_count or row.split_cost_event_count),
        )
        lines.append(line)
    if name == "agent":  # success per agent; per model it is not defined for multi-model runs
        by_key = {line.key: line for line in lines}
        for record in records:
            found = by_key.get(_group_key(record["payload"].get("agent")))
            if found is not None and found.succeeded is not None:
                found.succeeded += record["payload"].get("success", True) is True
    return lines


def _group_key(value: object) -> str:
    from ..cost import NO_VALUE

    return value if isinstance(value, str) and value.strip() else NO_VALUE

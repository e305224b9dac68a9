"""Runs one by one: the recent runs, one run in full, and the runs of one feature or work package.

A *run* is one ``ExecutionEvent``: one agent invocation. The runs of one
feature are in causal order (Lamport clock, node, id); the project-wide list
is by recorded time, as no clock orders two features' logs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._json_output import logged
from .._records import EXECUTION_EVENT
from ..errors import QueryError
from ..project import SPECS_DIRNAME
from ..usage import COST_FIELD

if TYPE_CHECKING:
    from ..cost import CostSummary
    from ..events import Event
    from ..lifecycle import PhaseSpan
    from ..pricing import Pricing
    from ..query import EventFilter

__all__ = ["RunRow", "WorkReport", "find_run", "list_runs", "run_detail", "work_report"]

#: What ``report show`` takes for an event id (or a prefix of one) rather than a feature.
_ID_PREFIX: Final = re.compile(r"[0-9A-Za-z]{4,26}")


def _money(amount: Decimal) -> float:
    return float(round(amount, 6))


@dataclass(frozen=True)
class RunRow:
    """One run and what the cost report counts for it (``cost``: that one event's TOTAL row)."""

    event: Event
    cost: CostSummary

    @property
    def cost_usd(self) -> Decimal | None:
        """Reported or estimated cost; None when it cannot be priced."""
        return self.cost.total_cost_usd if self.cost.cost_known else None

    @property
    def estimated(self) -> bool:
        """Whether some of the cost is estimated from tokens rather than reported."""
        return bool(self.cost.estimated_event_count or self.cost.split_cost_event_count)

    def field(self, name: str) -> Any:
        """Return a payload field, or None when absent."""
        return self.event.payload.get(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data: one entry of ``report list --json``."""
        payload = self.event.payload
        duration = payload.get("duration_ms")
        success = payload.get("success")
        return {
            "event_id": self.event.event_id,
            "timestamp": self.event.timestamp.isoformat(),
            "feature": self.event.aggregate_id,
            "wp_id": _text(payload.get("wp_id")),
            "agent": _text(payload.get("agent")),
            "model": _text(payload.get("model")),
            "role": _text(payload.get("role")),
            "success": success if isinstance(success, bool) else None,
            "duration_ms": duration if type(duration) is int else None,
            COST_FIELD: None if self.cost_usd is None else _money(self.cost_usd),
            "cost_estimated": self.estimated,
        }


def priced(event: Event, pricing: Pricing) -> RunRow:
    """Price one run by the cost report's rule."""
    from ..cost import RunningTotal

    total = RunningTotal(pricing)
    total.add([event.to_dict()])
    return RunRow(event, total.total())


def _runs_filter(filters: EventFilter | None) -> EventFilter:
    from dataclasses import replace

    from ..query import EventFilter

    return replace(filters or EventFilter(), event_type=EXECUTION_EVENT)


def list_runs(
    repo_root: str | Path,
    filters: EventFilter | None = None,
    *,
    limit: int | None = None,
    pricing: Pricing | None = None,
) -> list[RunRow]:
    """Return the project's runs matching ``filters``, newest first; at most ``limit`` of them.

    Newest by recorded time, then by causal order: Lamport clocks order the
    runs of one feature's log, but say nothing between two features' logs.
    Only the ``limit`` runs shown are held and priced.
    """
    import heapq

    from .._lines import utc_timestamp
    from ..events import Event
    from ..pricing import load_pricing
    from ..query import iter_project_records, record_order

    def newest(record: Mapping[str, Any]) -> tuple[Any, ...]:
        return (utc_timestamp(record["timestamp"]), record_order(record))

    records = iter_project_records(repo_root, _runs_filter(filters))
    if limit is None:
        chosen = sorted(records, key=newest, reverse=True)
    else:
        chosen = heapq.nlargest(limit, records, key=newest)
    prices = pricing if pricing is not None else load_pricing(repo_root)
    return [priced(Event.from_accepted_record(r), prices) for r in chosen]


def find_run(repo_root: str | Path, ref: str) -> Event:
    """Return the run whose event id is ``ref`` or starts with it (any case).

    Raises QueryError when no run, or more than one, matches.
    """
    from ..query import EventFilter, iter_project_records

    wanted = ref.strip().upper()
    if not _ID_PREFIX.fullmatch(wanted):
        raise QueryError(
            f"{ref!r} is not an event id or a prefix of one (4 to 26 letters and digits)",
        )
    matches = [
        record
        for record in iter_project_records(repo_root, EventFilter(event_type=EXECUTION_EVENT))
        if str(record["event_id"]).upper().startswith(wanted)
    ]
    if not matches:
        raise QueryError(f"no run has an event id starting with {ref!r}")
    if len(matches) > 1:
        ids = ", ".join(sorted(str(m["event_id"]) for m in matches)[:5])
        raise QueryError(
            f"{ref!r} is the start of {len(matches)} run ids ({ids}); give more of it",
        )
    from ..events import Event

    return Event.from_accepted_record(matches[0])


def looks_like_run_id(ref: str) -> bool:
    """Whether ``report show`` reads ``ref`` as an event id prefix (feature names have a dash)."""
    return _ID_PREFIX.fullmatch(ref.strip()) is not None


def run_detail(
    repo_root: str | Path, ref: str, *, pricing: Pricing | None = None
) -> dict[str, Any]:
    """Everything known about one run: ``report show ID --json``.

    ``event`` is the stored record as logged; ``cost`` is what the cost report
    counts for it; ``by_model`` its tokens and cost per model; ``phases`` its
    phase profile (name → ms, as recorded); ``environment`` where it ran; and
    ``lifecycle_phase`` / ``wp_phase`` the feature's and its work package's
    phase open when it was recorded.
    """
    from ..cost import cost_report
    from ..lifecycle import open_phase
    from ..pricing import load_pricing
    from ..project import feature_store
    from ..query import record_order, resolve_repo_root

    root = resolve_repo_root(repo_root)
    event = find_run(root, ref)
    prices = pricing if pricing is not None else load_pricing(root)
    row = priced(event, prices)
    record = event.to_dict()
    by_model = cost_report([record], "model", pricing=prices).to_dict()["summaries"]
    store = feature_store(root / SPECS_DIRNAME / event.aggregate_id)
    before = [r for r in store.iter_records() if record_order(r) < record_order(record)]
    wp_id = _text(event.payload.get("wp_id"))
    environment = event.payload.get("environment")
    return {
        "run": row.to_dict(),
        "event": logged(record),
        "cost": row.cost.to_dict(),
        "by_model": by_model,
        "phases": phases_of(event.payload),
        "environment": dict(environment) if isinstance(environment, Mapping) else None,
        "lifecycle_phase": open_phase(before),
        "wp_phase": None if wp_id is None else open_phase(before, wp_id),
    }


def phases_of(payload: Mapping[str, Any]) -> dict[str, float]:
    """Return a payload's phase profile as name → ms, in order, keeping well-formed entries.

    ``phases`` is stored as a list of ``{"name", "ms"}`` (see :mod:`..phases`).
    """
    phases = payload.get("phases")
    profile: dict[str, float] = {}
    if not isinstance(phases, list):
        return profile
    for entry in phases:
        if not isinstance(entry, Mapping):
            continue
        name, ms = entry.get("name"), entry.get("ms")
        if isinstance(name, str) and isinstance(ms, int | float) and _is_ms(ms):
            profile[name] = profile.get(name, 0.0) + float(ms)
    return profile


@dataclass
class WorkReport:
    """The runs of one feature (or one of its work packages) and its lifecycle timeline."""

    feature: str
    wp_id: str | None
    runs: list[RunRow]
    spans: list[PhaseSpan] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data: ``report show FEATURE[/WP] --json``."""
        return {
            "feature": self.feature,
            "wp_id": self.wp_id,
            "runs": [row.to_dict() for row in self.runs],
            "timeline": [span.to_dict() for span in self.spans],
        }


def work_report(repo_root: str | Path, ref: str, *, pricing: Pricing | None = None) -> WorkReport:
    """Return the runs and phases of ``FEATURE`` or ``FEATURE/WP`` (runs oldest first).

    Raises QueryError when the project has no such feature folder.
    """
    from ..lifecycle import feature_timeline
    from ..pricing import load_pricing
    from ..query import EventFilter, query_execution_events, resolve_repo_root

    root = resolve_repo_root(repo_root)
    feature, _, wp = ref.strip().strip("/").partition("/")
    folder = root / SPECS_DIRNAME / feature
    if not feature or not folder.is_dir():
        raise QueryError(
            f"no run id or feature folder {feature!r} under {root / SPECS_DIRNAME}",
        )
    wp_id = wp or None
    prices = pricing if pricing is not None else load_pricing(root)
    events = query_execution_events(folder, EventFilter(event_type=EXECUTION_EVENT, wp_id=wp_id))
    spans = [
        span
        for span in feature_timeline(folder, pricing=prices)
        if wp_id is None or span.wp_id == wp_id
    ]
    return WorkReport(feature, wp_id, [priced(e, prices) for e in events], spans)


def _is_ms(value: object) -> bool:
    """Whether ``value`` is a finite, non-negative number of milliseconds (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None

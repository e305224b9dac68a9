"""``report html``: one self-contained HTML page of the spend, readable with no server.

Everything is inline (styles and SVG drawn by :mod:`.svg`); the page loads
nothing and runs no script. Figures come from the same rules as the other
reports: costs from :func:`spec_kitty_telemetry.cost.cost_report` (per day,
per model, per feature, per agent), p95 by nearest rank (:mod:`.summary`),
phases from :func:`spec_kitty_telemetry.lifecycle.feature_timeline`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._lines import utc_timestamp
from .._money import money
from .._records import EXECUTION_EVENT
from . import svg
from .summary import duration_text, nearest_rank, summarize_records

if TYPE_CHECKING:
    from ..pricing import Pricing
    from ..query import EventFilter

__all__ = ["html_report", "write_html_report"]

_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 820px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #666; margin: 0 0 16px; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; }
.tile { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.tile b { display: block; font-size: 20px; } .tile span { color: #666; font-size: 12px; }
.note { color: #666; font-size: 12px; }
"""


def _usd(amount: Decimal) -> float:
    return float(round(amount, 6))


def _day(record: Mapping[str, Any]) -> str:
    return utc_timestamp(record["timestamp"]).date().isoformat()


def _cost_rows(
    records: Sequence[Mapping[str, Any]], group_by: str, pricing: Pricing
) -> list[tuple[str, float]]:
    from ..cost import cost_report

    report = cost_report(records, group_by, pricing=pricing)
    return [(s.group_key, _usd(s.total_cost_usd)) for s in report.summaries if s.cost_known]


def _cost_per_day_by_model(
    records: Sequence[Mapping[str, Any]], pricing: Pricing
) -> tuple[list[str], list[tuple[str, list[float]]]]:
    by_day: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_day[_day(record)].append(record)
    days = sorted(by_day)
    per_day = {day: dict(_cost_rows(by_day[day], "model", pricing)) for day in days}
    models = [key for key, _ in _cost_rows(records, "model", pricing)]
    return days, [(model, [per_day[day].get(model, 0.0) for day in days]) for model in models]


def _per_day_outcomes(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[str], list[float | None], list[float | None]]:
    by_day: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_day[_day(record)].append(record)
    days = sorted(by_day)
    rates: list[float | None] = []
    p95s: list[float | None] = []
    for day in days:
        runs = by_day[day]
        ok = sum(r["payload"].get("success", True) is True for r in runs)
        rates.append(100 * ok / len(runs))
        durations = [
            r["payload"]["duration_ms"]
            for r in runs
            if type(r["payload"].get("duration_ms")) is int
        ]
        p95 = nearest_rank(durations, 95)
        p95s.append(None if p95 is None else p95 / 1000)
    return days, rates, p95s


def _feature_gantts(
    root: Path, last_seen: Mapping[str, datetime], pricing: Pricing
) -> list[tuple[str, str]]:
    """One Gantt per feature: its phases and its work packages' phases.

    A phase still open is drawn up to the feature's last recorded run, not to
    now: a feature idle for months would otherwise squash all else to a line.
    """
    from ..lifecycle import feature_timeline
    from ..project import SPECS_DIRNAME

    charts = []
    for feature, last in sorted(last_seen.items()):
        spans = feature_timeline(root / SPECS_DIRNAME / feature, pricing=pricing)
        bars = []
        for span in spans:
            end = span.ended_at or max(last, span.started_at)
            if end < span.started_at:
                continue  # clock skew: no true duration to draw
            cost = "-" if span.cost_usd is None else money(span.cost_usd)
            bars.append(
                svg.Span(
                    lane=span.wp_id or "feature",
                    label=span.phase or "(before first phase)",
                    start=span.started_at,
                    end=end,
                    detail=f"{span.invocations} runs, {cost}"
                    + ("" if span.ended_at else ", still open"),
                )
            )
        if bars:
            charts.append((feature, svg.gantt(f"timeline-{feature}", bars)))
    return charts


def html_report(
    repo_root: str | Path,
    filters: EventFilter | None = None,
    *,
    pricing: Pricing | None = None,
    generated_at: datetime | None = None,
) -> str:
    """Return the report page for the project's runs matching ``filters``."""
    from dataclasses import replace

    from ..pricing import load_pricing
    from ..query import EventFilter, iter_project_records, resolve_repo_root

    root = resolve_repo_root(repo_root)
    prices = pricing if pricing is not None else load_pricing(root)
    wanted = replace(filters or EventFilter(), event_type=EXECUTION_EVENT)
    records = sorted(
        iter_project_records(root, wanted), key=lambda r: utc_timestamp(r["timestamp"])
    )
    summary = summarize_records(records, pricing=prices)
    days, series = _cost_per_day_by_model(records, prices)
    outcome_days, rates, p95s = _per_day_outcomes(records)
    last_seen: dict[str, datetime] = {}
    for record in records:  # oldest first: the last one of each feature wins
        last_seen[str(record["aggregate_id"])] = utc_timestamp(record["timestamp"])
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    window = f"{days[0]} to {days[-1]}" if days else "no runs"
    rate = "-" if summary.success_rate is None else f"{100 * summary.success_rate:.1f}%"
    cost = (
        "unknown"
        if summary.cost_usd is None
        else money(summary.cost_usd, estimated=summary.cost_estimated)
    )
    tiles = [
        (cost, "total cost"),
        (f"{summary.runs:,}", "runs"),
        (rate, "success rate"),
        (duration_text(summary.p95_duration_ms), "p95 duration"),
    ]
    body = [
        "<h1>Agent spend</h1>",
        f'<p class="sub">{escape(window)} · generated {escape(when)} by spec-kitty-telemetry</p>',
        '<div class="tiles">',
        *(f'<div class="tile"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for v, k in tiles),
        "</div>",
        "<h2>Cost per day, by model</h2>",
        svg.stacked_bars("cost-per-day", days, series),
        "<h2>Cost by feature</h2>",
        svg.hbars("cost-by-feature", _cost_rows(records, "feature", prices)),
        "<h2>Cost by agent</h2>",
        svg.hbars("cost-by-agent", _cost_rows(records, "agent", prices)),
        "<h2>Success rate per day</h2>",
        svg.line_chart("success-rate", outcome_days, rates, unit="%", top_value=100.0),
        "<h2>p95 duration per day</h2>",
        svg.line_chart("p95-duration", outcome_days, p95s, unit="s"),
    ]
    for feature, chart in _feature_gantts(root, last_seen, prices):
        body += [f"<h2>Timeline of {escape(feature)}</h2>", chart]
    notes = []
    if summary.cost_estimated:
        notes.append("~ some costs are estimated from token counts at list prices.")
    if summary.unpriced_runs:
        notes.append(f"{summary.unpriced_runs:,} runs could not be priced and are not counted.")
    if notes:
        body.append(f'<p class="note">{escape(" ".join(notes))}</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Agent spend · {escape(window)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_html_report(
    repo_root: str | Path, output: str | Path, filters: EventFilter | None = None
) -> Path:
    """Write :func:`html_report` to ``output`` (replaced whole, never half-written); return it."""
    from .._atomic import write_atomically

    path = Path(output)
    write_atomically(path, html_report(repo_root, filters).encode("utf-8"))
    return path

"""What ``cost`` does once its options are read: the report, then JSON, CSV or a table.

Kept free of typer, so both routes into the command run this one body: the
typer command (``cli/cost.py``), and the fast route (``cli/_fast.py``) that
the console scripts take for a plain ``cost`` command line, which starts
without typer and pydantic. Rich is imported only to print a table to a
terminal (``cli/_table_text`` draws it for a pipe or a file).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .._json_output import print_document
from .._money import in_cents
from ..usage import PRICED_TOKEN_FIELDS
from ._common import cost_cell, event_filter, hint_unmatched_features
from ._format import CENT, Column, Grid, choose, console, count, money_per
from ._project import report_root
from ._table_text import plain_text, plain_width

if TYPE_CHECKING:
    from ..cost import CostReport, CostSummary

__all__ = ["DEFAULT_GROUP", "DEFAULT_ZONE", "run_cost"]

#: What ``cost`` groups by, and in which zone, when not told.
DEFAULT_GROUP: Final = "agent"
DEFAULT_ZONE: Final = "UTC"
_NO_EVENTS = "No execution events found."


def run_cost(
    *,
    feature: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    wp: str | None = None,
    agent: str | None = None,
    model: str | None = None,
    role: str | None = None,
    success: bool | None = None,
    tag: list[str] | None = None,
    group_by: str = DEFAULT_GROUP,
    breakdown: str | None = None,
    timezone: str = DEFAULT_ZONE,
    sort: str | None = None,
    reverse: bool = False,
    per: str | None = None,
    as_json: bool = False,
    as_csv: bool = False,
    compact: bool = False,
    repo: Path | None = None,
) -> None:
    """Print the cost report the options ask for (a ``TelemetryError`` names a bad one)."""
    from ..cost import project_cost_report

    units = _per_units(per)
    root, is_project = report_root(repo)

    # No filter option: no filter, and the query module (the filters' rules) is not loaded.
    filtered = feature or tag or (since, until, wp, agent, model, role, success) != (None,) * 7
    filters = (
        event_filter(
            root,
            feature=feature,
            since=since,
            until=until,
            wp_id=wp,
            agent=agent,
            model=model,
            role=role,
            success=success,
            tag=tag,
        )
        if filtered
        else None
    )
    report = project_cost_report(
        root,
        filters,
        group_by,
        timezone=timezone,
        breakdown=breakdown,
        sort=sort,
        reverse=reverse,
    )
    if is_project and feature:
        hint_unmatched_features(root, feature)
    if as_json:
        print_document(report.to_dict())
        return
    if as_csv:
        from ..exports import write_report_csv

        write_report_csv(report, sys.stdout)
        return
    if not report.summaries:
        print(_NO_EVENTS)
        return
    _print_cost_table(report, compact, units)


_TOKEN_HEADERS = ("input", "output", "cache read", "cache write")
#: ``--per`` units: their column header and the summary's amount.
_PER_UNITS: dict[str, tuple[str, str]] = {
    "line": ("$/line", "cost_per_line_changed_usd"),
    "test": ("$/test", "cost_per_passing_test_usd"),
    "wp": ("$/WP", "cost_per_completed_wp_usd"),
}


def _per_units(text: str | None) -> tuple[str, ...]:
    """Parse ``--per line,test,wp``; InvalidOptionError naming ``--per`` for another unit."""
    from ..errors import InvalidOptionError

    if text is None:
        return ()
    units = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [unit for unit in units if unit not in _PER_UNITS]
    if unknown or not units:
        raise InvalidOptionError(
            f"unknown unit {','.join(unknown) or text!r} (choose from line, test, wp)",
            parameter="per",
        )
    return units


def _shown_costs(report: CostReport) -> tuple[list[Decimal], Decimal]:
    """Return the rows' and TOTAL's costs in cents, apportioned as ``--json`` apportions."""
    return in_cents(
        [summary.total_cost_usd for summary in report.summaries], report.total.total_cost_usd
    )


def _tokens(summary: CostSummary, name: str, compact: bool) -> str:
    if name not in summary.reported_token_fields:
        return "-"  # no event of the row reported this count
    return count(getattr(summary, name), compact=compact)


def _cost_grid(
    report: CostReport, fields: tuple[str, ...], compact: bool, units: tuple[str, ...] = ()
) -> Grid:
    from ..cost import apportioned

    headers = dict(zip(PRICED_TOKEN_FIELDS, _TOKEN_HEADERS, strict=True))
    shown, total_shown = _shown_costs(report)
    columns = [
        Column(report.group_by, "name"),
        Column("events"),
        *(Column(headers[name]) for name in fields),
        Column("cost"),
        *(Column(_PER_UNITS[unit][0]) for unit in units),
    ]

    def cells(summary: CostSummary, cost: Decimal) -> list[str]:
        return [
            summary.group_key,
            count(summary.event_count, compact=compact),
            *(_tokens(summary, name, compact) for name in fields),
            cost_cell(summary, cost),
            *(money_per(getattr(summary, _PER_UNITS[unit][1])) for unit in units),
        ]

    rows = []
    for summary, cost in zip(report.summaries, shown, strict=True):
        rows.append(cells(summary, cost))
        if summary.breakdown is not None:
            parts = apportioned([part.total_cost_usd for part in summary.breakdown], cost, CENT)
            for part, part_cost in zip(summary.breakdown, parts, strict=True):
                row = cells(part, part_cost)
                row[0] = f"  {part.group_key}"  # a sub-row, indented under its row
                rows.append(row)
    return Grid(columns, rows, cells(report.total, total_shown))


def _cost_layouts(report: CostReport, compact: bool, units: tuple[str, ...] = ()) -> list[Grid]:
    """Widest first: every column; without the cache columns; and with counts abbreviated.

    With ``--per`` columns, a last layout leaves out the token columns for them.
    """
    narrow = PRICED_TOKEN_FIELDS[:2]
    full = _cost_grid(report, PRICED_TOKEN_FIELDS, False, units)
    no_cache = _cost_grid(report, narrow, False, units)
    abbreviated = _cost_grid(report, narrow, True, units)
    dropped = "cache read and cache write columns left out to fit (--json has them)."
    no_cache.note = abbreviated.note = dropped
    abbreviated.note += " Counts rounded: k = thousand, M = million."
    layouts = [abbreviated] if compact else [full, no_cache, abbreviated]
    if units:
        no_tokens = _cost_grid(report, (), compact, units)
        no_tokens.note = "token columns left out to fit (--json has them)."
        layouts.append(no_tokens)
    return layouts


def _print_cost_table(report: CostReport, compact: bool, units: tuple[str, ...] = ()) -> None:
    """Print the widest layout that fits, then its notes: as plain text when Rich would."""
    layouts = _cost_layouts(report, compact, units)
    width = plain_width()
    if width is not None:
        grid = choose(layouts, width)
        text = plain_text(grid, _notes_under(report, grid, units), width)
        if text is not None:
            sys.stdout.write(text)
            return
    out = console()
    grid = choose(layouts, out.width)
    out.print(grid.table())
    for line in _notes_under(report, grid, units):
        out.print(line, soft_wrap=True, markup=False)


def _notes_under(report: CostReport, grid: Grid, units: tuple[str, ...]) -> list[str]:
    """Return the lines under the table: its marks explained, outputs, what the layout left out."""
    shown_tokens = {
        header for header in _TOKEN_HEADERS if any(c.header == header for c in grid.columns)
    }
    notes = [*_footnotes(report, shown_tokens), *_output_notes(report, units)]
    return [*notes, grid.note] if grid.note else notes


def _output_notes(report: CostReport, units: tuple[str, ...]) -> list[str]:
    """Failures by category, and how many runs the cost-per columns rest on."""
    from ..outputs import NO_CATEGORY

    total = report.total
    notes = []
    if set(total.failures_by_category) - {NO_CATEGORY}:  # old logs record no category
        parts = sorted(total.failures_by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        notes.append("Failures by category: " + ", ".join(f"{k} {v:,}" for k, v in parts) + ".")
    events = total.event_count
    if "line" in units:
        notes.append(
            f"$/line: {total.lines_changed:,} lines changed by the {total.runs_with_changes:,} "
            f"of {_events(events)} that recorded their changes; — where some did not."
        )
    if "test" in units:
        notes.append(
            f"$/test: {total.tests_passed:,} passing tests of the {total.runs_with_tests:,} "
            f"of {_events(events)} that recorded tests; — where some did not."
        )
    if "wp" in units:
        done = total.completed_work_packages
        notes.append(
            f"$/WP: {done:,} completed work package{'' if done == 1 else 's'} the runs "
            "worked on; a work package counts in each row it ran in."
        )
    return notes


def _events(count: int) -> str:
    return f"{count:,} event{'' if count == 1 else 's'}"


def _footnotes(report: CostReport, shown_tokens: set[str]) -> list[str]:
    """Explain every mark the rows and TOTAL show, from the rows themselves."""
    from ..cost import UNATTRIBUTED, UNPRICED_REASONS
    from ..usage import MAX_COST_USD

    total = report.total
    rows = [*report.summaries, total]
    notes = []
    estimated = total.estimated_event_count
    if estimated or any(s.estimated_event_count for s in rows):
        sources = ", ".join(
            f"{source} (to override, set pricing: in .kittify/telemetry.yaml)"
            if source.startswith("shipped table")
            else source
            for source in report.price_sources
        )
        notes.append(
            f"~ includes costs estimated from token counts for {_events(estimated)}, "
            f"at rates from: {sources}."
        )
    if total.long_context_unknown_event_count:
        count = total.long_context_unknown_event_count
        notes.append(
            "  Long-context surcharges are estimated only for single requests: "
            f"{_events(count)} of several (or an unknown number of) requests, over a "
            f"long-context threshold in total, {'was' if count == 1 else 'were'} priced "
            "at base rates."
        )
    if total.cache_write_1h_at_5m_rate_tokens:
        notes.append(
            f"  {total.cache_write_1h_at_5m_rate_tokens:,} 1-hour cache write tokens were priced "
            "at the 5-minute write rate: the price table has no 1-hour rate for their model."
        )
    split = sum(s.split_cost_event_count for s in report.summaries)
    if split:
        notes.append(
            "~ also marks reported costs of multi-model events split across their models, "
            "in proportion to the models' own costs, estimates or tokens."
        )
    if any(s.group_key == UNATTRIBUTED for s in report.summaries):
        notes.append(
            f"{UNATTRIBUTED}: reported costs of multi-model events that say nothing of "
            "how the cost divides between their models."
        )
    if total.unpriced_event_count:
        one = total.unpriced_event_count == 1
        notes.append(
            f"* {_events(total.unpriced_event_count)} could not be priced "
            f"and {'is' if one else 'are'} not in the costs:"
        )
        by_model = sorted(total.unknown_models.items(), key=lambda item: (-item[1], item[0]))
        for name, count in by_model:
            notes.append(f"    {name}: {_events(count)} (no price known)")
        by_reason = sorted(total.unpriced_reasons.items(), key=lambda item: (-item[1], item[0]))
        for reason, count in by_reason:
            if reason != "unknown_model":
                notes.append(f"    {_events(count)} {UNPRICED_REASONS.get(reason, reason)}")
    if total.invalid_cost_event_count:
        count = total.invalid_cost_event_count
        notes.append(
            f"! {_events(count)} reported a cost that is not an amount (negative, not a number, "
            f"or ${MAX_COST_USD:,.0f} or more): ignored, and estimated from tokens "
            "where possible."
        )

    shown = {
        name
        for name, header in zip(PRICED_TOKEN_FIELDS, _TOKEN_HEADERS, strict=True)
        if header in shown_tokens
    }
    if any(shown - s.reported_token_fields and s.event_count for s in rows):
        notes.append("- no event of the row reported this count.")
    return notes

"""The reporting commands: ``cost`` (what agents cost) and ``events`` (the event query).

Each command turns its options into an :class:`~spec_kitty_telemetry.query.EventFilter`
and calls one library function; this module only formats. The library, Rich
and the price data are imported inside the commands, so other commands (the
emitter's, run once per agent call) do not pay for them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from .._json_output import dumps_line, logged, print_document
from ..usage import PRICED_TOKEN_FIELDS
from ._format import CENT, Column, Grid, choose, console, count, money
from ._project import report_root

if TYPE_CHECKING:
    from ..cost import CostReport, CostSummary
    from ..events import Event
    from ..pricing import Pricing
    from ..query import EventFilter

__all__ = ["cost", "events", "register"]

_NO_EVENTS = "No execution events found."

FeatureOption = Annotated[
    list[str] | None,
    typer.Option(
        "--feature",
        "-f",
        metavar="PATTERN",
        help="Only this feature: a folder name under kitty-specs/ or a glob "
        "('00*-cost-*'). Repeat for several.",
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        metavar="DATE",
        help="Only events at or after this ISO 8601 date or datetime (UTC if naive).",
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        metavar="DATE",
        help="Only events at or before this ISO 8601 date or datetime; a date includes its day.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of a table.")
]
CompactOption = Annotated[
    bool,
    typer.Option(
        "--compact",
        help="The narrow table: fewer columns, counts rounded (1.3M). Chosen by itself "
        "when the full table does not fit the terminal.",
    ),
]
RepoOption = Annotated[
    Path | None,
    typer.Option(
        metavar="PATH",
        help="Project root (default: the nearest folder above the current one "
        "holding kitty-specs/ or .kittify/).",
        show_default=False,
    ),
]


def cost(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    group_by: Annotated[
        str,
        typer.Option(
            "--group-by",
            "-g",
            metavar="GROUP",
            help="Group by agent, model, feature, role, wp or day (days oldest first).",
        ),
    ] = "agent",
    as_json: JsonOption = False,
    compact: CompactOption = False,
    repo: RepoOption = None,
) -> None:
    """Report what coding agents cost, from every feature's execution events.

    Costs the agents reported are shown as they are; costs estimated from
    token counts and model prices are marked ~. Events whose cost cannot be
    known (no cost, and no tokens or no price for the model) are left out of
    the totals and listed under the table. Amounts are in cents, rounded so
    that the rows add up to TOTAL.

    Examples:
      spec-kitty agent telemetry cost

      spec-kitty agent telemetry cost --group-by model --since 2025-11-01

      spec-kitty agent telemetry cost --feature '002-*' --json

      spec-kitty agent telemetry cost --group-by day --compact

    """
    from ..cost import project_cost_report

    root, is_project = report_root(repo)
    filters = _filters(feature=feature, since=since, until=until)
    report = project_cost_report(root, filters, group_by, workers=None)
    _in_time_order(report)
    if is_project:
        _hint_unmatched_features(root, feature)
    if as_json:
        print_document(report.to_dict())
        return
    if not report.summaries:
        typer.echo(_NO_EVENTS)
        return
    _print_cost_table(report, compact)


def events(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    wp: Annotated[
        str | None, typer.Option(metavar="WP", help="Only this work package (e.g. WP01).")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(metavar="AGENT", help="Only this agent (e.g. claude).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            help="Only this model, any spelling: 'sonnet' matches claude-sonnet-4.5.",
        ),
    ] = None,
    role: Annotated[
        str | None, typer.Option(metavar="ROLE", help="Only this role (e.g. implementer).")
    ] = None,
    success: Annotated[
        bool | None,
        typer.Option(
            "--success/--failure", help="Only successful, or only failed, runs.", show_default=False
        ),
    ] = None,
    event_type: Annotated[
        str | None,
        typer.Option(
            "--type", metavar="TYPE", help="Only events of this type (e.g. ExecutionEvent)."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Show only the most recent N events."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Print one JSON document: {"events": [...]}.'),
    ] = False,
    as_jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="Print JSON Lines: each stored event on a line, as logged."),
    ] = False,
    compact: CompactOption = False,
    repo: RepoOption = None,
) -> None:
    """List the project's events in causal order, across every feature.

    Examples:
      spec-kitty agent telemetry events --agent codex --failure

      spec-kitty agent telemetry events --feature 001-event-store-foundation --limit 20

      spec-kitty agent telemetry events --model sonnet --since 2025-11-01 --json

    The cost column is what the cost report counts for the event: reported,
    or estimated from its tokens (marked ~).

    """
    from ..errors import InvalidOptionError
    from ..pricing import load_aliases
    from ..query import query_project_events

    if as_json and as_jsonl:
        raise InvalidOptionError("--json and --jsonl: choose one")
    root, is_project = report_root(repo)
    filters = _filters(
        model_aliases=None if model is None else load_aliases(root),
        feature=feature,
        since=since,
        until=until,
        wp_id=wp,
        agent=agent,
        model=model,
        role=role,
        success=success,
        event_type=event_type,
    )
    found = query_project_events(root, filters, limit=limit)
    if is_project:
        _hint_unmatched_features(root, feature)
    if as_jsonl:
        for event in found:
            typer.echo(dumps_line(event.to_dict()))
        return
    if as_json:
        print_document({"events": [logged(event.to_dict()) for event in found]})
        return
    if not found:
        typer.echo("No events found.")
        return
    _print_events_table(root, found, compact)


def register(group: typer.Typer) -> None:
    """Add the reporting commands to the ``telemetry`` command group."""
    from ._command import Command

    group.command("cost", cls=Command)(cost)
    group.command("events", cls=Command)(events)


def _filters(
    *, feature: list[str] | None, since: str | None, until: str | None, **fields: Any
) -> EventFilter:
    from ..query import EventFilter, parse_time_range

    lower, upper = parse_time_range(since, until)
    return EventFilter(
        feature=tuple(feature) if feature else None, since=lower, until=upper, **fields
    )


def _hint_unmatched_features(root: Path, patterns: list[str] | None) -> None:
    """Say on stderr which --feature patterns matched no folder (a typo, not an empty result)."""
    from ..query import SPECS_DIRNAME, unmatched_features

    for pattern in unmatched_features(root, patterns or []):
        typer.echo(
            f"Note: --feature {pattern!r} matches no feature folder with events "
            f"under {root / SPECS_DIRNAME}",
            err=True,
        )


#: Groupings whose rows are periods: shown oldest first, not by cost.
_TIME_GROUPS = frozenset({"day", "week", "month"})
_TOKEN_HEADERS = ("input", "output", "cache read", "cache write")


def _in_time_order(report: CostReport) -> None:
    """Sort a time grouping's rows chronologically (ISO keys sort so), ungrouped last."""
    from ..cost import NO_VALUE

    if report.group_by in _TIME_GROUPS:
        report.summaries.sort(key=lambda s: (s.group_key == NO_VALUE, s.group_key))


def _shown_costs(report: CostReport) -> tuple[list[Decimal], Decimal]:
    """Return the rows' and TOTAL's costs in cents, apportioned as ``--json`` apportions."""
    from ..cost import apportioned

    target = report.total.total_cost_usd.quantize(CENT, rounding=ROUND_HALF_UP)
    exact = [summary.total_cost_usd for summary in report.summaries]
    return apportioned(exact, target, CENT), target


def _cost_cell(summary: CostSummary, shown: Decimal) -> str:
    if not summary.cost_known:
        return money(None)  # never $0.00 for costs nobody knows
    return money(
        shown,
        exact=summary.total_cost_usd,
        estimated=bool(summary.estimated_event_count or summary.split_cost_event_count),
        unpriced=bool(summary.unpriced_event_count),
    )


def _tokens(summary: CostSummary, name: str, compact: bool) -> str:
    if name not in summary.reported_token_fields:
        return "-"  # no event of the row reported this count
    return count(getattr(summary, name), compact=compact)


def _cost_grid(report: CostReport, fields: tuple[str, ...], compact: bool) -> Grid:

    headers = dict(zip(PRICED_TOKEN_FIELDS, _TOKEN_HEADERS, strict=True))
    shown, total_shown = _shown_costs(report)
    columns = [
        Column(report.group_by, "name"),
        Column("events"),
        *(Column(headers[name]) for name in fields),
        Column("cost"),
    ]

    def cells(summary: CostSummary, cost: Decimal) -> list[str]:
        return [
            summary.group_key,
            count(summary.event_count, compact=compact),
            *(_tokens(summary, name, compact) for name in fields),
            _cost_cell(summary, cost),
        ]

    rows = [cells(s, c) for s, c in zip(report.summaries, shown, strict=True)]
    return Grid(columns, rows, cells(report.total, total_shown))


def _cost_layouts(report: CostReport, compact: bool) -> list[Grid]:
    """Widest first: every column; without the cache columns; and with counts abbreviated."""
    narrow = PRICED_TOKEN_FIELDS[:2]
    full = _cost_grid(report, PRICED_TOKEN_FIELDS, compact=False)
    no_cache = _cost_grid(report, narrow, compact=False)
    abbreviated = _cost_grid(report, narrow, compact=True)
    dropped = "cache read and cache write columns left out to fit (--json has them)."
    no_cache.note = abbreviated.note = dropped
    abbreviated.note += " Counts rounded: k = thousand, M = million."
    return [abbreviated] if compact else [full, no_cache, abbreviated]


def _print_cost_table(report: CostReport, compact: bool) -> None:
    out = console()
    grid = choose(_cost_layouts(report, compact), out.width)
    out.print(grid.table())
    shown_tokens = {
        header for header in _TOKEN_HEADERS if any(c.header == header for c in grid.columns)
    }
    for line in _footnotes(report, shown_tokens):
        out.print(line, soft_wrap=True, markup=False)
    if grid.note:
        out.print(grid.note, soft_wrap=True, markup=False)


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


def _event_cost(pricing: Pricing, event: Event) -> str:
    """Show what the cost report counts for this one event: reported, ~estimated, or nothing."""
    from ..cost import RunningTotal

    if event.event_type != "ExecutionEvent":
        return ""
    total = RunningTotal(pricing)
    total.add([event.to_dict()])
    summary = total.total()
    if not summary.cost_known:
        return ""
    return _cost_cell(summary, summary.total_cost_usd)


#: The events table's layouts, widest first: (columns kept, counts rounded).
#: Level 1 drops type and role; 3 merges feature with wp and agent with model,
#: and lets the time wrap under its date; 4 merges those four into one column.
_EVENT_LAYOUTS: Final = (
    (("time", "feature", "wp", "type", "agent", "role", "model"), False),
    (("time", "feature", "wp", "agent", "model"), False),
    (("time", "feature", "wp", "agent", "model"), True),
    (("when", "feature wp", "agent model"), True),
    (("when", "run"), True),
)


def _event_grid(found: list[Event], costs: list[str], level: int) -> Grid:
    """Build the events table at one of :data:`_EVENT_LAYOUTS`."""
    kept, compact = _EVENT_LAYOUTS[level]
    time_format = "%Y-%m-%d %H:%M:%S" if level == 0 else "%Y-%m-%d %H:%M"
    headers: dict[str, Column] = {
        "time": Column("time (UTC)", "fixed"),
        "when": Column("time (UTC)", "name"),  # the date, and the time under it when narrow
        "feature": Column("feature", "name"),
        "wp": Column("wp", "fixed"),
        "type": Column("type", "name"),
        "agent": Column("agent", "name"),
        "role": Column("role", "name"),
        "model": Column("model", "name"),
        "feature wp": Column("feature wp", "name"),
        "agent model": Column("agent model", "name"),
        "run": Column("feature wp agent model", "name"),
    }
    columns = [
        *(headers[name] for name in kept),
        Column("input"),
        Column("output"),
        Column("cost"),
        Column("ok", "fixed"),
    ]
    rows = []
    for event, cost in zip(found, costs, strict=True):
        payload = event.payload
        fields = {
            "feature": event.aggregate_id,
            "wp": _text(payload.get("wp_id")),
            "type": event.event_type,
            # Without type, an event that is no agent run says what it is instead.
            "agent": _text(payload.get("agent")) or ("" if "type" in kept else event.event_type),
            "role": _text(payload.get("role")),
            "model": _text(payload.get("model")),
        }
        fields["time"] = fields["when"] = event.timestamp.strftime(time_format)
        fields["feature wp"] = _joined(fields["feature"], fields["wp"])
        fields["agent model"] = _joined(fields["agent"], fields["model"])
        fields["run"] = _joined(fields["feature wp"], fields["agent model"])
        success = payload.get("success")
        rows.append(
            [
                *(fields[name] for name in kept),
                *(_count(payload.get(name), compact) for name in PRICED_TOKEN_FIELDS[:2]),
                cost,
                "yes" if success is True else "no" if success is False else "",
            ]
        )
    grid = Grid(columns, rows)
    if level:
        grid.note = "Columns merged or left out to fit (--json has every field)."
    if compact:
        grid.note += " Counts rounded: k = thousand, M = million."
    return grid


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _print_events_table(root: Path, found: list[Event], compact: bool) -> None:
    from ..pricing import load_pricing

    pricing = load_pricing(root)
    costs = [_event_cost(pricing, event) for event in found]
    out = console()
    levels = range(2, len(_EVENT_LAYOUTS)) if compact else range(len(_EVENT_LAYOUTS))
    layouts = [_event_grid(found, costs, level) for level in levels]
    grid = choose(layouts, out.width)
    out.print(grid.table())
    if any(cell.startswith("~") for cell in costs):
        out.print(
            "~ estimated from token counts at list prices, as the cost report estimates it.",
            soft_wrap=True,
        )
    if grid.note:
        out.print(grid.note, soft_wrap=True, markup=False)


# Cells show what the cost report would read from a field, and nothing for a value
# of the wrong type (a list for a model, true for a cost): the log's oddities never crash.


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object, compact: bool) -> str:
    return count(value, compact=compact) if type(value) is int else ""

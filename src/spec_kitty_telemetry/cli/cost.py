"""The reporting commands: ``cost`` (what agents cost) and ``events`` (the event query).

Each command turns its options into an :class:`~spec_kitty_telemetry.query.EventFilter`
and calls one library function; this module only formats. The library, Rich
and the price data are imported inside the commands, so other commands (the
emitter's, run once per agent call) do not pay for them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..usage import COST_FIELD, PRICED_TOKEN_FIELDS

if TYPE_CHECKING:
    from rich.console import Console

    from ..cost import CostReport, CostSummary
    from ..events import Event
    from ..query import EventFilter

__all__ = ["cost", "events", "register"]

_NO_EVENTS = "No execution events found."

FeatureOption = Annotated[
    list[str] | None,
    typer.Option(
        "--feature",
        "-f",
        help="Only this feature: a folder name under kitty-specs/ or a glob "
        "('00*-cost-*'). Repeat for several.",
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(help="Only events at or after this ISO 8601 date or datetime (UTC if naive)."),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        help="Only events at or before this ISO 8601 date or datetime; a date includes its day."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RepoOption = Annotated[
    Path | None,
    typer.Option(
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
        typer.Option("--group-by", "-g", help="Group by agent, model, feature, role, wp or day."),
    ] = "agent",
    as_json: JsonOption = False,
    repo: RepoOption = None,
) -> None:
    """Report what coding agents cost, from every feature's execution events.

    Costs the agents reported are shown as they are; costs estimated from
    token counts and model prices are marked ~. Events whose cost cannot be
    known (no cost, and no tokens or no price for the model) are left out of
    the totals and listed under the table.

    Examples:
      spec-kitty agent telemetry cost

      spec-kitty agent telemetry cost --group-by model --since 2025-11-01

      spec-kitty agent telemetry cost --feature '002-*' --json

    """
    from ..cost import project_cost_report
    from ..query import resolve_repo_root

    root = resolve_repo_root(repo)
    filters = _filters(feature=feature, since=since, until=until)
    report = project_cost_report(root, filters, group_by, workers=None)
    _hint_unmatched_features(root, feature)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    if not report.summaries:
        typer.echo(_NO_EVENTS)
        return
    _print_cost_table(report)


def events(
    feature: FeatureOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    wp: Annotated[str | None, typer.Option(help="Only this work package (e.g. WP01).")] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent (e.g. claude).")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Only this model, any spelling: 'sonnet' matches claude-sonnet-4.5."),
    ] = None,
    role: Annotated[str | None, typer.Option(help="Only this role (e.g. implementer).")] = None,
    success: Annotated[
        bool | None,
        typer.Option(
            "--success/--failure", help="Only successful, or only failed, runs.", show_default=False
        ),
    ] = None,
    event_type: Annotated[
        str | None,
        typer.Option("--type", help="Only events of this type (e.g. ExecutionEvent)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Show only the most recent N events.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON Lines (one stored event per line).")
    ] = False,
    repo: RepoOption = None,
) -> None:
    """List the project's events in causal order, across every feature.

    Examples:
      spec-kitty agent telemetry events --agent codex --failure

      spec-kitty agent telemetry events --feature 001-event-store-foundation --limit 20

      spec-kitty agent telemetry events --model sonnet --since 2025-11-01 --json

    """
    from ..pricing import load_aliases
    from ..query import query_project_events, resolve_repo_root

    root = resolve_repo_root(repo)
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
    _hint_unmatched_features(root, feature)
    if as_json:
        with _json_depth():
            for event in found:
                typer.echo(_json_line(event))
        return
    if not found:
        typer.echo("No events found.")
        return
    _print_events_table(found)


def register(group: typer.Typer) -> None:
    """Add the reporting commands to the ``telemetry`` command group."""
    group.command("cost")(cost)
    group.command("events")(events)


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


def _console() -> Console:
    """Make a console for tables: the terminal's width, or unlimited when piped.

    Piped output (a file, a pager, a test) is not cut to 80 columns; tables
    take the width they need. Pipes get no escape codes; with NO_COLOR set,
    not even bold ones, whatever FORCE_COLOR says.
    """
    import os
    import sys

    from rich.console import Console

    width = None if sys.stdout.isatty() else 1000
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(highlight=False, width=width, color_system=None if plain else "auto")


def _usd(amount: Decimal) -> str:
    if 0 < amount < Decimal("0.005"):
        return "<$0.01"
    return f"${amount:,.2f}"


def _cost_cell(summary: CostSummary) -> str:
    if not summary.cost_known:
        return "unknown*"  # never $0.00 for costs nobody knows
    text = _usd(summary.total_cost_usd)
    if summary.estimated_event_count or summary.split_cost_event_count:
        text = "~" + text
    if summary.unpriced_event_count:
        text += "*"
    return text


def _tokens(summary: CostSummary, name: str) -> str:
    if name not in summary.reported_token_fields:
        return "-"  # no event of the row reported this count
    return f"{getattr(summary, name):,}"


def _print_cost_table(report: CostReport) -> None:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False)
    total = report.total
    columns = [
        (report.group_by, "TOTAL", "left"),
        ("events", f"{total.event_count:,}", "right"),
        *(
            (header, _tokens(total, name), "right")
            for header, name in zip(_TOKEN_HEADERS, PRICED_TOKEN_FIELDS, strict=True)
        ),
        ("cost", _cost_cell(total), "right"),
    ]
    for header, footer, justify in columns:
        table.add_column(header, footer=footer, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for summary in report.summaries:
        table.add_row(
            summary.group_key,
            f"{summary.event_count:,}",
            *(_tokens(summary, name) for name in PRICED_TOKEN_FIELDS),
            _cost_cell(summary),
        )
    console = _console()
    console.print(table)
    for line in _footnotes(report):
        console.print(line, soft_wrap=True, markup=False)


_TOKEN_HEADERS = ("input", "output", "cache read", "cache write")


def _events(count: int) -> str:
    return f"{count:,} event{'' if count == 1 else 's'}"


def _footnotes(report: CostReport) -> list[str]:
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
    if any(len(s.reported_token_fields) < len(_TOKEN_HEADERS) and s.event_count for s in rows):
        notes.append("- no event of the row reported this count.")
    return notes


@contextmanager
def _json_depth() -> Iterator[None]:
    """Let ``json.dumps`` write any record the reader could read.

    orjson reads objects nested up to 1,024 deep; Python's encoder counts each
    level against the recursion limit (1,000 by default), so the limit is
    raised for the time of the output.
    """
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 4 * 1024 + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def _json_line(event: Event) -> str:
    """One event as a line of the log format, whatever its payload holds.

    Not ``Event.to_json``: that is the writers' rule, which refuses integers
    beyond 64 bits, while an event read from a log may hold one (another
    tool wrote it), and what was read must print.
    """
    return json.dumps(event.to_dict(), sort_keys=True)


def _print_events_table(found: list[Event]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header, justify in (
        ("time (UTC)", "left"),
        ("feature", "left"),
        ("wp", "left"),
        ("type", "left"),
        ("agent", "left"),
        ("role", "left"),
        ("model", "left"),
        ("input", "right"),
        ("output", "right"),
        ("cost", "right"),
        ("ok", "left"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for event in found:
        payload = event.payload
        success = payload.get("success")
        cells = (
            event.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            event.aggregate_id,
            _text(payload.get("wp_id")),
            event.event_type,
            _text(payload.get("agent")),
            _text(payload.get("role")),
            _text(payload.get("model")),
            *(_count(payload.get(name)) for name in PRICED_TOKEN_FIELDS[:2]),  # input, output
            _cost_text(payload.get(COST_FIELD)),
            "yes" if success is True else "no" if success is False else "",
        )
        # Text, not markup: a value like "[/x]" from a log is shown, not interpreted.
        table.add_row(*(Text(cell) for cell in cells))
    _console().print(table)


# Cells show what the cost report would read from a field, and nothing for a value
# of the wrong type (a list for a model, true for a cost): the log's oddities never crash.


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> str:
    return f"{value:,}" if type(value) is int else ""  # shown as logged, valid or not


def _cost_text(value: object) -> str:
    if type(value) is not int and type(value) is not float:
        return ""
    return _usd(Decimal(repr(value)))

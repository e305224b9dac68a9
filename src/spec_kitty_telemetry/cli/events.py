"""The ``events`` command: the project's events, filtered, newest first (``--reverse``: oldest).

This module only formats; the query is the library's
(:func:`~spec_kitty_telemetry.query.query_project_events`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from .._json_output import dumps_line, logged, print_document
from ..usage import PRICED_TOKEN_FIELDS
from ._filter_hints import hint_unmatched_filters
from ._format import Column, Grid, choose, console, count
from ._project import report_root
from ._reports import (
    CompactOption,
    FeatureOption,
    RepoOption,
    SinceOption,
    TagOption,
    UntilOption,
    cost_cell,
    event_filter,
    hint_unmatched_features,
)

if TYPE_CHECKING:
    from ..cost import EventPricer
    from ..events import Event

__all__ = ["events", "register"]


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
    tag: TagOption = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Show only the newest N events."),
    ] = None,
    reverse: Annotated[
        bool,
        typer.Option("--reverse", help="Oldest first (with --limit: the newest N, oldest first)."),
    ] = False,
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
    """List the project's events, newest first, across every feature.

    Examples:
      spec-kitty agent telemetry events --agent codex --failure

      spec-kitty agent telemetry events --feature 001-event-store-foundation --limit 20

      spec-kitty agent telemetry events --model sonnet --since 2025-11-01 --json

      spec-kitty agent telemetry events --tag environment=ci --failure

    Order: within a feature, causal order (Lamport clock, node, id); across
    features, by timestamp, then that causal key. --json and --jsonl use the
    same order. Agent, role and type match whatever their case. The cost
    column is what the cost report counts for the event: reported, or
    estimated from its tokens (marked ~).

    """
    from ..errors import InvalidOptionError
    from ..query import query_project_events

    if as_json and as_jsonl:
        raise InvalidOptionError("--json and --jsonl: choose one")
    root, is_project = report_root(repo)
    filters = event_filter(
        root,
        feature=feature,
        since=since,
        until=until,
        wp_id=wp,
        agent=agent,
        model=model,
        role=role,
        success=success,
        event_type=event_type,
        tag=tag,
    )
    found = query_project_events(root, filters, limit=limit, newest_first=not reverse)
    if is_project:
        hint_unmatched_features(root, feature)
        if not found:
            hint_unmatched_filters(root, filters)
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
    """Add the ``events`` command to the ``telemetry`` command group."""
    from ._command import Command

    group.command("events", cls=Command)(events)


def _event_cost(price_of: EventPricer, event: Event) -> str:
    """Show what the cost report counts for this one event: reported, ~estimated, or nothing."""
    if event.event_type != "ExecutionEvent":
        return ""
    summary = price_of(event.to_dict()).summary
    if not summary.cost_known:
        return ""
    return cost_cell(summary, summary.total_cost_usd)


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
    from ..cost import EventPricer
    from ..pricing import load_pricing

    price_of = EventPricer(load_pricing(root))
    costs = [_event_cost(price_of, event) for event in found]
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

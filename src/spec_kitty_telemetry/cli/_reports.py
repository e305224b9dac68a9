"""Options and cells the report commands share (``cost``, ``events``).

One definition of each option keeps their spelling, help text and parsing the
same in every report; one cost cell keeps an event's cost shown as the cost
report shows a row's.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._format import money

if TYPE_CHECKING:
    from ..cost import CostSummary
    from ..query import EventFilter

__all__ = [
    "AgentOption",
    "CompactOption",
    "FeatureOption",
    "JsonOption",
    "ModelOption",
    "RepoOption",
    "RoleOption",
    "SinceOption",
    "SuccessOption",
    "TagOption",
    "UntilOption",
    "WpOption",
    "cost_cell",
    "event_filter",
    "hint_unmatched_features",
]

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
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        metavar="KEY=VALUE",
        help="Only events carrying this tag (e.g. environment=ci). Repeat: all must match.",
        show_default=False,
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
WpOption = Annotated[
    str | None, typer.Option(metavar="WP", help="Only this work package (e.g. WP01).")
]
AgentOption = Annotated[
    str | None, typer.Option(metavar="AGENT", help="Only this agent (e.g. claude).")
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        metavar="MODEL", help="Only this model, any spelling: 'sonnet' matches claude-sonnet-4.5."
    ),
]
RoleOption = Annotated[
    str | None, typer.Option(metavar="ROLE", help="Only this role (e.g. implementer).")
]
SuccessOption = Annotated[
    bool | None,
    typer.Option(
        "--success/--failure", help="Only successful, or only failed, runs.", show_default=False
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


def event_filter(
    root: Path,
    *,
    feature: list[str] | None,
    since: str | None,
    until: str | None,
    model: str | None = None,
    tag: list[str] | None = None,
    **fields: Any,
) -> EventFilter:
    """Build a report's filter from its options, the same way for every report.

    ``--model`` matches under the project's own aliases too; ``--tag`` values
    are checked by the one tag rule (a bad one is a one-line error naming it).
    """
    from ..query import EventFilter, parse_time_range

    lower, upper = parse_time_range(since, until)
    if model is not None:
        from ..pricing import load_aliases

        fields["model_aliases"] = load_aliases(root)
    if tag:
        from ..tags import parse_tag_filter

        fields["tags"] = parse_tag_filter(tag)
    return EventFilter(
        feature=tuple(feature) if feature else None,
        since=lower,
        until=upper,
        model=model,
        **fields,
    )


def hint_unmatched_features(root: Path, patterns: list[str] | None) -> None:
    """Say on stderr which --feature patterns matched no folder (a typo, not an empty result)."""
    from ..query import SPECS_DIRNAME, unmatched_features

    for pattern in unmatched_features(root, patterns or []):
        typer.echo(
            f"Note: --feature {pattern!r} matches no feature folder with events "
            f"under {root / SPECS_DIRNAME}",
            err=True,
        )


def cost_cell(summary: CostSummary, shown: Decimal) -> str:
    if not summary.cost_known:
        return money(None)  # never $0.00 for costs nobody knows
    return money(
        shown,
        exact=summary.total_cost_usd,
        estimated=bool(summary.estimated_event_count or summary.split_cost_event_count),
        unpriced=bool(summary.unpriced_event_count),
    )

"""What the report commands share besides their options, kept free of typer.

Building a report's filter from its options and showing an event's cost the
way the cost report shows a row's are one rule each; ``cost``'s fast route
(``cli/_fast.py``) uses them without loading typer, so they live here and
``cli/_reports.py`` re-exports them for the typer commands.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._format import money

if TYPE_CHECKING:
    from ..cost import CostSummary
    from ..query import EventFilter

__all__ = ["cost_cell", "event_filter", "hint_unmatched_features"]


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
        print(
            f"Note: --feature {pattern!r} matches no feature folder with events "
            f"under {root / SPECS_DIRNAME}",
            file=sys.stderr,
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

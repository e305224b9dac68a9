"""Why a filtered report came back empty: one ``Note:`` line per filter that matched nothing.

"No events found." alone cannot tell a typo (``--role implementor``) from a
quiet week. The library says which filters no event matches on its own
(:func:`~spec_kitty_telemetry.query.unmatched_filters`); this module names
them as the flags that set them and lists the values the events do hold, as
the ``--feature`` note does for patterns. Any report that takes these
filters (``events``, and ``cost`` once it has them) calls
:func:`hint_unmatched_filters` after an empty result.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import typer

if TYPE_CHECKING:
    from ..query import EventFilter, FilterMiss

__all__ = ["filter_notes", "hint_unmatched_filters"]

#: Flags whose name is not the filter field's (the others are ``--<field>``).
_FLAGS: Final = {"event_type": "--type", "wp_id": "--wp", "success": "--success/--failure"}
#: What the note calls the known values of each field.
_PLURALS: Final = {
    "event_type": "event types",
    "wp_id": "work packages",
    "agent": "agents",
    "role": "roles",
    "model": "models",
    "success": "outcomes",
}
#: At most this many known values are listed; a long tail is counted instead.
_LISTED: Final = 12


def hint_unmatched_filters(root: Path, filters: EventFilter) -> None:
    """Print on stderr which filters matched no event, or that only their combination did."""
    for note in filter_notes(root, filters):
        typer.echo(f"Note: {note}", err=True)


def filter_notes(root: Path, filters: EventFilter) -> list[str]:
    """Return the notes :func:`hint_unmatched_filters` prints (without ``Note:``)."""
    from ..query import unmatched_filters

    misses = unmatched_filters(root, filters)
    if misses:
        return [_note(miss) for miss in misses]
    given = [name for name in (*_PLURALS, "since", "until") if getattr(filters, name) is not None]
    if len(given) > 1 and _has_events(root, filters):
        return ["each filter matches some event, but no event matches all of them together"]
    return []


def _has_events(root: Path, filters: EventFilter) -> bool:
    from ..query import EventFilter, iter_project_records

    scope = EventFilter(feature=filters.feature) if filters.features else None
    return next(iter_project_records(root, scope), None) is not None


def _note(miss: FilterMiss) -> str:
    field = miss.fields[0]
    if field in ("since", "until"):
        pairs = zip(miss.fields, miss.values, strict=True)
        asked = " ".join(f"--{name} {_bound(value)}" for name, value in pairs)
        first, last = (_moment(stamp) for stamp in miss.known)
        return f"{asked} matches no event; the events run from {first} to {last} (UTC)"
    if field == "success":
        flag = "--success" if miss.values[0] is True else "--failure"
        return f"{flag} matches no event; outcomes recorded: {_listed(miss.known)}"
    flag = _FLAGS.get(field, f"--{field.replace('_', '-')}")
    known = _listed(miss.known)
    return f"{flag} {miss.values[0]!r} matches no event; known {_PLURALS[field]}: {known}"


def _bound(value: object) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _moment(stamp: str) -> str:
    """Show a UTC ISO timestamp as the tables do, to the minute."""
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")


def _listed(values: tuple[str, ...]) -> str:
    if not values:
        return "(none recorded)"
    shown = ", ".join(values[:_LISTED])
    more = len(values) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown

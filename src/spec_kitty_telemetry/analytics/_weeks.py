"""ISO weeks (``2026-W48``): the period a baseline is frozen for and a review covers.

Weeks are UTC, Monday 00:00 to the next Monday, as ISO 8601 defines them;
a frozen baseline is named by its week so everyone's file has the same name.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from ..errors import QueryError

__all__ = ["last_full_week", "week_bounds", "week_name", "week_of"]

_WEEK: Final = re.compile(r"(\d{4})-?W(\d{2})")


def week_bounds(week: str, parameter: str = "week") -> tuple[datetime, datetime]:
    """Return the first instant of ``week`` and of the next (UTC); QueryError if not a week."""
    match = _WEEK.fullmatch(week.strip())
    if match is None:
        raise QueryError(f"not an ISO week: {week!r} (expected e.g. 2026-W48)", parameter=parameter)
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise QueryError(f"no such ISO week: {week!r}", parameter=parameter) from None
    start = datetime.combine(monday, time.min, tzinfo=UTC)
    return start, start + timedelta(days=7)


def week_name(day: date) -> str:
    """Return the ISO week holding ``day``, spelled ``2026-W48``."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(moment: datetime) -> str:
    """Return the ISO week (in UTC) holding ``moment``."""
    return week_name(moment.astimezone(UTC).date())


def last_full_week(now: datetime) -> str:
    """Return the last ISO week that has ended at ``now``: the one before ``now``'s week."""
    return week_name(now.astimezone(UTC).date() - timedelta(days=7))

"""Time in reports: 15-minute UTC buckets, and the days, weeks and months of a time zone.

A projection keeps its time dimension as buckets of 15 minutes of UTC
(:data:`BUCKET_SECONDS`). Every UTC offset in use since 1972 is a multiple of
15 minutes (+05:45 Nepal, +12:45 Chatham), so a bucket lies within one local
day, week and month of any such zone: the buckets answer ``--group-by
day|week|month`` and date bounds in any ``--timezone`` exactly. A bucket that
a zone splits (an offset that is not a multiple of 15 minutes, as local mean
times before 1972 were) is reported by :meth:`Periods.exact` so the caller
can scan the events instead of guessing.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from ._lines import utc_timestamp
from .errors import QueryError

__all__ = ["BUCKET_SECONDS", "Periods", "bucket_of", "bucket_start", "resolve_timezone"]

#: Width of a projection's time bucket: 15 minutes, the step of every real UTC offset.
BUCKET_SECONDS: Final = 900
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_BUCKET: Final = timedelta(seconds=BUCKET_SECONDS)
_prefix_buckets: dict[str, int] = {}


def bucket_of(stamp: str) -> int:
    """Return the 15-minute UTC bucket (a count since 1970) of a stored timestamp.

    The timestamp must be one the line rule accepted. Stamps in UTC of the
    usual ``YYYY-MM-DDTHH:MM...`` shape share a bucket with every stamp of the
    same minute, so their bucket is cached by that prefix: one dict look-up
    per event on the common path.
    """
    if (stamp.endswith("+00:00") or stamp.endswith("Z")) and stamp[13:14] == ":":
        prefix = stamp[:16]
        found = _prefix_buckets.get(prefix)
        if found is None:
            found = _prefix_buckets[prefix] = _bucket(utc_timestamp(stamp))
        return found
    return _bucket(utc_timestamp(stamp))


def _bucket(moment: datetime) -> int:
    return (moment - _EPOCH) // _BUCKET


def bucket_start(bucket: int) -> datetime:
    """Return the first instant of a bucket, in UTC."""
    return _EPOCH + bucket * _BUCKET


def resolve_timezone(name: str) -> tzinfo:
    """Return the zone called ``name``: an IANA name, ``UTC``, or ``local`` (this machine's).

    ``local`` is the ``TZ`` environment variable when set, else ``/etc/localtime``,
    else UTC. Raises QueryError (parameter ``timezone``) for a name no zone has.
    """
    text = name.strip()
    if text.upper() == "UTC":
        return UTC  # the default: no need to load zoneinfo (and sysconfig) for it
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if text.lower() == "local":
        configured = os.environ.get("TZ", "").strip().lstrip(":")
        if configured:
            return resolve_timezone(configured)
        try:
            with open("/etc/localtime", "rb") as handle:
                return ZoneInfo.from_file(handle, key="localtime")
        except (OSError, ValueError):
            return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(
            f"unknown time zone {name!r} (expected an IANA name like Europe/Paris, UTC or local)",
            parameter="timezone",
        ) from None


class Periods:
    """The day, ISO week and month of buckets in one time zone, cached per bucket."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._dates: dict[int, date | None] = {}

    def local_date(self, bucket: int) -> date | None:
        """Return the local date of the whole bucket; None when the zone splits it."""
        found = self._dates.get(bucket, False)
        if found is not False:
            return found  # type: ignore[return-value]
        start = bucket_start(bucket)
        first = start.astimezone(self.zone)
        last = (start + _BUCKET - timedelta(microseconds=1)).astimezone(self.zone)
        offset = first.utcoffset()
        whole = (
            offset is not None
            and offset == last.utcoffset()
            and offset.total_seconds() % BUCKET_SECONDS == 0
        )
        value = first.date() if whole else None
        self._dates[bucket] = value
        return value

    def exact(self, bucket: int) -> bool:
        """Whether the bucket lies within one local day (always so in UTC)."""
        return self.zone is UTC or self.local_date(bucket) is not None

    def key(self, group_by: str, bucket: int) -> str:
        """Return the row of a bucket: ``2025-11-03``, ``2025-W45`` (ISO week) or ``2025-11``."""
        day = self.local_date(bucket)
        if day is None:  # callers check exact() first; the bucket's start decides
            day = bucket_start(bucket).astimezone(self.zone).date()
        if group_by == "day":
            return day.isoformat()
        if group_by == "week":
            year, week, _ = day.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{day.year:04d}-{day.month:02d}"


def localized_bound(bound: datetime | date | None, zone: tzinfo, *, upper: bool) -> datetime | None:
    """Return an inclusive time bound as an aware instant: dates and naive times read in ``zone``.

    A date is its whole local day: from its first instant (``upper`` false) or
    up to the last microsecond before the next day.
    """
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return bound.replace(tzinfo=zone) if bound.tzinfo is None else bound
    if not upper:
        return datetime.combine(bound, time.min, tzinfo=zone)
    following = datetime.combine(bound + timedelta(days=1), time.min, tzinfo=zone)
    return following - timedelta(microseconds=1)


def aligned(lower: datetime | None, upper: datetime | None) -> bool:
    """Whether inclusive bounds fall on bucket edges, so whole buckets answer them exactly."""
    if lower is not None and (lower - _EPOCH) % _BUCKET:
        return False
    return upper is None or not (upper + timedelta(microseconds=1) - _EPOCH) % _BUCKET

"""Time in reports: 15-minute UTC buckets, and the days, weeks and months of a time zone.

A projection keeps its time dimension as buckets of 15 minutes of UTC
(:data:`BUCKET_SECONDS`). Every UTC offset in use since 1972 is a multiple of
15 minutes (+05:45 Nepal, +12:45 Chatham), so a bucket lies within one local
day, week and month of any such zone: the buckets answer ``--group-by
day|week|month`` and date bounds in any ``--timezone`` exactly. A bucket that
a zone splits (an offset that is not a multiple of 15 minutes, as local mean
times before 1972 were) is reported by :meth:`Periods.exact` so the caller
can scan the events instead of guessing.

A compact time projection keys its cells by *local day* instead: the first
bucket of the run of consecutive buckets a zone puts on one local date
(:meth:`Periods.day_start`). Runs are defined from the buckets themselves,
never from an assumed midnight, so a zone whose clocks go back across
midnight (a date in two runs) or skip a day stays exact; a time bound can be
answered by day cells only when it falls on a run's first instant
(:meth:`Periods.on_day_edge`). :func:`zone_fingerprint` names a zone by its
rules' bytes, so day cells saved under other rules (a tzdata update, another
``/etc/localtime``) are never read.
"""

from __future__ import annotations

import os
import zlib
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from ._lines import utc_timestamp
from .errors import QueryError

__all__ = [
    "BUCKET_SECONDS",
    "Periods",
    "bucket_of",
    "bucket_start",
    "resolve_timezone",
    "zone_fingerprint",
]

#: Width of a projection's time bucket: 15 minutes, the step of every real UTC offset.
BUCKET_SECONDS: Final = 900
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_BUCKET: Final = timedelta(seconds=BUCKET_SECONDS)
_UTC_DAY: Final = 86_400 // BUCKET_SECONDS
#: "YYYY-MM-DDTHH" -> the bucket of that hour's first quarter (UTC stamps: ``bucket_of``).
_hour_buckets: dict[str, int] = {}
#: A stamp's minutes ("00" to "59") -> its quarter of the hour.
_QUARTERS: Final = {f"{minute:02d}": minute // 15 for minute in range(60)}


def bucket_of(stamp: str) -> int:
    """Return the 15-minute UTC bucket (a count since 1970) of a stored timestamp.

    The timestamp must be one the line rule accepted. Stamps in UTC of the
    usual ``YYYY-MM-DD?HH:MM...`` layout are in the bucket of their hour plus
    their minute's quarter, so a bucket costs two dict look-ups: the hour's
    bucket is cached by the stamp's first 13 characters (one parse per hour
    of the log, where a cache by minute missed on most events of a log with
    fewer than one event a minute).
    """
    if (stamp.endswith("+00:00") or stamp.endswith("Z")) and stamp[13:14] == ":":
        quarter = _QUARTERS.get(stamp[14:16])
        hour = _hour_buckets.get(stamp[:13])
        if hour is not None and quarter is not None:
            return hour + quarter
        bucket = _bucket(utc_timestamp(stamp))
        if quarter is not None and stamp[4:5] == "-" and stamp[7:8] == "-":
            # YYYY-MM-DD, a separator, HH:MM: every stamp of these 13 characters shares it.
            _hour_buckets[stamp[:13]] = bucket - quarter
        return bucket
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


def zone_fingerprint(zone: tzinfo) -> str | None:
    """Return a name for ``zone`` and the rules it applies; None when they cannot be read.

    An IANA zone is its key and the CRC-32 of its TZif file (from ``TZPATH``,
    else the ``tzdata`` package), so a tzdata update or another
    ``/etc/localtime`` gives another fingerprint. None means day cells in this
    zone are folded in memory only, never saved.
    """
    if zone is UTC:
        return "UTC"
    key = getattr(zone, "key", None)
    if type(key) is not str:
        return None
    data = _zone_bytes(key)
    return None if data is None else f"{key}:{zlib.crc32(data):08x}"


def _zone_bytes(key: str) -> bytes | None:
    if key == "localtime":  # resolve_timezone("local") without TZ
        candidates = ["/etc/localtime"]
    else:
        from zoneinfo import TZPATH

        candidates = [os.path.join(root, key) for root in TZPATH]
    for candidate in candidates:
        try:
            with open(candidate, "rb") as handle:
                return handle.read()
        except OSError:
            continue
    try:
        from importlib.resources import files

        return files("tzdata.zoneinfo").joinpath(*key.split("/")).read_bytes()
    except (ImportError, OSError, ValueError):
        return None


class Periods:
    """The day, ISO week and month of buckets in one time zone, cached per bucket."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._dates: dict[int, date | None] = {}
        self._starts: dict[int, int] = {}

    def day(self, bucket: int) -> date:
        """Return the local date a bucket's row is (its start's, when the zone splits it)."""
        found = self.local_date(bucket)
        return found if found is not None else bucket_start(bucket).astimezone(self.zone).date()

    def day_start(self, bucket: int) -> int:
        """Return the first bucket of the run of consecutive buckets on ``bucket``'s local day."""
        found = self._starts.get(bucket)
        if found is not None:
            return found
        if self.zone is UTC:
            found = self._starts[bucket] = bucket - bucket % _UTC_DAY
            return found
        day = self.day(bucket)
        start = bucket
        while self.day(start - 1) == day:
            known = self._starts.get(start - 1)
            if known is not None:
                start = known
                break
            start -= 1
        for inside in range(start, bucket + 1):
            self._starts[inside] = start
        return start

    def day_of_stamp(self, stamp: str) -> int:
        """Return :meth:`day_start` of a stored timestamp's bucket (both cached)."""
        bucket = bucket_of(stamp)
        found = self._starts.get(bucket)
        return found if found is not None else self.day_start(bucket)

    def on_day_edge(self, moment: datetime) -> bool:
        """Whether ``moment`` starts a day run, so every day cell lies wholly on one side."""
        offset = moment - _EPOCH
        if offset % _BUCKET:
            return False
        bucket = offset // _BUCKET
        return self.day_start(bucket) == bucket

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
        day = self.day(bucket)  # callers check exact() first; a split bucket's start decides
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

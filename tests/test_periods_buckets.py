"""A stamp's 15-minute bucket: the cached arithmetic equals a parse, whatever the stamp's layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from spec_kitty_telemetry._lines import utc_timestamp
from spec_kitty_telemetry._periods import BUCKET_SECONDS, Periods, bucket_of

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
offsets = st.sampled_from([0, 0, 0, 60, -300, 330, 345, -570, 765])


def _parsed_bucket(stamp: str) -> int:
    return (utc_timestamp(stamp) - _EPOCH) // timedelta(seconds=BUCKET_SECONDS)


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """Timestamps the line rule accepts, in the layouts writers use and some they rarely do."""
    offset = timezone(timedelta(minutes=draw(offsets)))
    moment = draw(moments).astimezone(offset) if draw(offsets) else draw(moments)
    layouts = ["seconds", "minutes", "micro", "week", "compact week", "space", "lower"]
    layout = draw(st.sampled_from(layouts))
    zone_text = moment.isoformat(timespec="seconds")[19:]  # "+05:30", as writers put it
    if layout == "week":
        year, week, day = moment.isocalendar()
        text = f"{year:04d}-W{week:02d}-{day}T{moment:%H:%M:%S}{zone_text}"
    elif layout == "compact week":  # "2025W36T00:01:51": a colon at 13, then seconds
        year, week, day = moment.isocalendar()
        if day != 1:
            moment -= timedelta(days=day - 1)
        text = f"{year:04d}W{week:02d}T{moment:%H:%M:%S}{zone_text}"
    else:
        spec = {"seconds": "seconds", "minutes": "minutes", "micro": "microseconds"}
        text = moment.isoformat(
            sep=" " if layout == "space" else "t" if layout == "lower" else "T",
            timespec=spec.get(layout, "seconds"),
        )
    if text.endswith("+00:00") and draw(st.booleans()):
        text = text[:-6] + "Z"
    return text


@settings(max_examples=400, deadline=None)
@given(st.lists(stamps(), min_size=1, max_size=30))
def test_a_stamps_bucket_is_the_bucket_of_its_parsed_instant(texts: list[str]) -> None:
    """In any order, sharing hours or not, every stamp's bucket is its parsed instant's.

    The hour cache is filled by earlier stamps of the list, so a stamp read
    after another of its hour takes the cached path, and one of another layout
    (week dates, offsets, no seconds) must never be answered from it wrongly.
    """
    for text in texts:
        assert bucket_of(text) == _parsed_bucket(text), text


@pytest.mark.parametrize(
    "layout",
    ["%Y-%m-%dT%H:%M:%S+00:00", "%Y-%m-%d %H:%M:%SZ", "%GW%VT%H:%M:%S+00:00", "%G-W%V-%uT%H:%MZ"],
)
def test_every_minute_and_second_of_an_hour_falls_in_its_quarter(layout: str) -> None:
    """Every second of an hour, in turn, in each layout: four buckets of 15 minutes.

    The compact week date (``2025W36T00:01:51``) has a colon at 13 followed by
    seconds, not minutes: its stamps must never share the hour cache's sums.
    """
    hour = datetime(2025, 9, 1, 10, tzinfo=UTC)  # a Monday: week dates name the day
    first = _parsed_bucket(hour.isoformat())
    for second in range(0, 3600, 7):
        stamp = (hour + timedelta(seconds=second)).strftime(layout)
        assert bucket_of(stamp) == first + second // 900, stamp


@given(st.lists(stamps(), min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_a_stamps_local_day_is_the_day_of_its_bucket(texts: list[str]) -> None:
    """``day_of_stamp`` is the day run of the stamp's bucket, in a zone with :30 and DST."""
    periods = Periods(ZoneInfo("Australia/Adelaide"))
    fresh = Periods(ZoneInfo("Australia/Adelaide"))
    for text in texts:
        if not 1900 <= utc_timestamp(text).year <= 2100:
            continue  # keep the zone's day runs short to walk in a fresh cache
        assert periods.day_of_stamp(text) == fresh.day_start(_parsed_bucket(text))

"""Budget periods across month ends, weeks, reset times and time zones; levels and outlook."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from spec_kitty_telemetry.analytics.budget import BudgetStatus, period_bounds
from spec_kitty_telemetry.analytics.settings import BudgetSettings, budget_settings
from spec_kitty_telemetry.errors import ConfigError


def _budget(**fields: object) -> BudgetSettings:
    return BudgetSettings(name="b", limit_usd=100.0, **fields)  # type: ignore[arg-type]


def test_month_in_berlin_starts_at_local_midnight() -> None:
    """2026-01-31T23:30Z is 00:30 on Feb 1 in Berlin: February, from 2026-01-31T23:00Z."""
    start, end = period_bounds(
        datetime(2026, 1, 31, 23, 30, tzinfo=UTC), _budget(timezone="Europe/Berlin")
    )
    assert start.astimezone(UTC) == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 2, 28, 23, tzinfo=UTC)


def test_december_rolls_into_next_year() -> None:
    """A UTC month on 2026-12-31: December 2026 up to 2027-01-01."""
    start, end = period_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), _budget())
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_reset_time_before_it_is_the_previous_period() -> None:
    """A daily budget resetting at 09:00 New York: at 08:00 local the day began yesterday 09:00."""
    budget = _budget(period="day", reset=time(9), timezone="America/New_York")
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)  # 08:00 EDT
    start, end = period_bounds(at, budget)
    assert start.astimezone(budget.zone).isoformat() == "2026-03-09T09:00:00-04:00"
    assert end.astimezone(budget.zone).isoformat() == "2026-03-10T09:00:00-04:00"


def test_day_across_a_daylight_saving_change_is_23_hours() -> None:
    """Berlin's 2026-03-29 has 23 hours: its day period is 23 hours long."""
    start, end = period_bounds(
        datetime(2026, 3, 29, 12, tzinfo=UTC), _budget(period="day", timezone="Europe/Berlin")
    )
    assert (end - start).total_seconds() == 23 * 3600


def test_week_starts_on_monday() -> None:
    """Wednesday 2026-12-02: the week began Monday 2026-11-30."""
    start, end = period_bounds(datetime(2026, 12, 2, tzinfo=UTC), _budget(period="week"))
    assert (start.date().isoformat(), end.date().isoformat()) == ("2026-11-30", "2026-12-07")


def _status(consumed: str, at: datetime) -> BudgetStatus:
    budget = _budget()
    start, end = period_bounds(at, budget)
    return BudgetStatus(budget, at, start, end, Decimal(consumed), 3, 0, 0, {})


def test_levels_and_projection() -> None:
    """$40 by day 10 of November: GREEN, burn $4/day, runs out on day 25 (before the reset)."""
    status = _status("40", datetime(2026, 11, 11, tzinfo=UTC))
    assert status.level == "GREEN"
    assert status.projected_exhaustion == datetime(2026, 11, 26, tzinfo=UTC)
    assert _status("50", datetime(2026, 11, 11, tzinfo=UTC)).level == "YELLOW"
    assert _status("80", datetime(2026, 11, 11, tzinfo=UTC)).level == "YELLOW"
    assert _status("80.01", datetime(2026, 11, 11, tzinfo=UTC)).level == "RED"
    assert _status("10", datetime(2026, 11, 11, tzinfo=UTC)).projected_exhaustion is None
    assert _status("100", datetime(2026, 11, 11, tzinfo=UTC)).exhausted


def test_budget_settings_errors_name_the_key() -> None:
    """Both limits, an unknown zone or a bad scope: a ConfigError naming the budget and key."""
    with pytest.raises(ConfigError, match=r"budgets\[0\] \(a\): give exactly one of"):
        budget_settings([{"name": "a", "limit_usd": 1, "limit_tokens": 5}])
    with pytest.raises(ConfigError, match=r"budgets\[0\] \(a\)\.timezone: unknown time zone"):
        budget_settings([{"name": "a", "limit_usd": 1, "timezone": "Mars/Olympus"}])
    with pytest.raises(ConfigError, match=r"budgets\[0\] \(a\)\.scope: expected project"):
        budget_settings([{"name": "a", "limit_usd": 1, "scope": {"team": "x"}}])
    assert (
        budget_settings([{"name": "a", "limit_tokens": 5, "scope": {"agent": "claude"}}])[0].scope
        == "agent"
    )

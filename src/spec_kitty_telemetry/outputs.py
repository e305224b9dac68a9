"""What a run produced, as reports read it: lines changed, tests passed, why it failed.

The writers (:mod:`~spec_kitty_telemetry.changes`, :mod:`~spec_kitty_telemetry.junit`,
:mod:`~spec_kitty_telemetry.failure_kinds`) decide what goes into an event;
this module is the one reading rule every report applies to what they wrote
(the cost fold, its projections, the scoreboard), so "lines changed" means
the same number everywhere. It imports nothing heavy: the cost fold calls it
per event, and the writers import their payload keys from here.

Unknown is not zero: a run whose changes or tests were not recorded (the key
absent, ``null``, or a hand-written value that is not the recorded shape)
gives None, and a report counts it among the runs without the figure, never
as a run that changed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "CHANGES_KEY",
    "ERROR_CATEGORY_KEY",
    "NO_CATEGORY",
    "TESTS_KEY",
    "cost_per",
    "failure_category",
    "lines_changed",
    "tests_passed",
]

#: Payload key of the changes a run made (None: asked for but unknown).
CHANGES_KEY: Final = "changes"
#: Payload key of a run's test figures (None: asked for but unknown).
TESTS_KEY: Final = "tests"
#: Payload key of a failed run's category.
ERROR_CATEGORY_KEY: Final = "error_category"
#: The category of a failed run that recorded none (written before categories, or by hand).
NO_CATEGORY: Final = "(none)"
_MAX_COUNT: Final = 2**63 - 1


def _count(value: object) -> int | None:
    return value if type(value) is int and 0 <= value <= _MAX_COUNT else None


def lines_changed(payload: Mapping[str, Any]) -> int | None:
    """Return the lines the run added plus those it deleted; None when its changes are unknown."""
    changes = payload.get(CHANGES_KEY)
    if type(changes) is not dict:
        return None
    added = _count(changes.get("lines_added"))
    deleted = _count(changes.get("lines_deleted"))
    if added is None or deleted is None:
        return None
    return added + deleted


def tests_passed(payload: Mapping[str, Any]) -> int | None:
    """Return the tests the run's JUnit reports passed; None when its tests are unknown."""
    tests = payload.get(TESTS_KEY)
    return _count(tests.get("passed")) if type(tests) is dict else None


def failure_category(payload: Mapping[str, Any]) -> str | None:
    """Return a failed run's category (:data:`NO_CATEGORY` if it recorded none); else None.

    A run failed when its ``success`` is false, as everywhere else in the reports.
    """
    if payload.get("success") is not False:
        return None
    category = payload.get(ERROR_CATEGORY_KEY)
    return category if type(category) is str and category else NO_CATEGORY


def cost_per(cost: Decimal, units: int, runs_known: int, runs: int) -> Decimal | None:
    """Return ``cost`` per unit (line changed, passing test); None when that is unknown.

    Known only when every run of the group recorded the figure
    (``runs_known == runs``) and there is at least one unit: with some runs'
    figures unknown their cost would be divided by lines that are not theirs,
    and with no unit the ratio is no number (never shown as infinite or $0).
    """
    if runs == 0 or runs_known != runs or units <= 0:
        return None
    return cost / units

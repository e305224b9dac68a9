"""When a work package is completed: the one rule the cost report and the scoreboard share.

A work package (a feature's ``wp_id``) is completed when a ``PhaseTransition``
takes it to a done phase (:data:`DONE_PHASES`), and reopened when one takes it
from review or done back to work (:data:`WORK_PHASES`): a rework cycle, after
which it is completed only when it gets to done again. Transitions are read in
causal order (the Lamport clock, as every log is ordered), not file order: a
``merge=union`` puts lines of two branches in any order. A transition without
a ``wp_id`` is a feature's own phase and names no work package.

"Cost per completed work package" divides a group's cost by the work packages
this rule says were completed (in the report's time bounds) that the group
ran on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ._lines import utc_timestamp

__all__ = [
    "DONE_PHASES",
    "PHASE_TRANSITION",
    "REVIEW_PHASES",
    "WORK_PHASES",
    "Lane",
    "completed_lanes",
    "lanes_of",
]

#: The event type of a work package's move from one phase to another.
PHASE_TRANSITION: Final = "PhaseTransition"
#: Phases that finish a work package, and those of review and of "being implemented".
DONE_PHASES: Final = frozenset({"done", "approved", "accepted", "merged"})
REVIEW_PHASES: Final = frozenset({"for_review", "review", "in_review", "reviewing"})
WORK_PHASES: Final = frozenset({"doing", "implement", "implementing", "in_progress", "planned"})


class Lane:
    """One work package's history: its rework cycles and when it was (last) completed.

    A plain class: every cost report defines it, and defining a dataclass runs
    millions of instructions of generated code (``kitty-specs/010-projection/spec.md``).
    """

    __slots__ = ("completed", "rework")

    def __init__(self, rework: int = 0, completed: datetime | None = None) -> None:
        self.rework = rework
        self.completed = completed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lane):
            return NotImplemented
        return (self.rework, self.completed) == (other.rework, other.completed)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"Lane(rework={self.rework!r}, completed={self.completed!r})"


def lanes_of(transitions: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Lane]:
    """Return each work package's lane, keyed ``(feature, wp_id)``, from its transitions.

    ``transitions`` are PhaseTransition records in any order (other records
    are skipped); each needs ``lamport_clock``, ``node_id`` and ``event_id``
    to be put in causal order, as the line rule guarantees.
    """
    from .store import record_order

    ordered = sorted(
        (r for r in transitions if r.get("event_type") == PHASE_TRANSITION), key=record_order
    )
    lanes: dict[tuple[str, str], Lane] = {}
    for record in ordered:
        payload = record["payload"]
        wp = payload.get("wp_id")
        if not isinstance(wp, str) or not wp.strip():
            continue  # a feature's own phase, not a work package's
        key = (record["aggregate_id"], wp.strip())
        lane = lanes.get(key)
        if lane is None:
            lane = lanes[key] = Lane()
        source, target = payload.get("from_phase"), payload.get("to_phase")
        if (source in REVIEW_PHASES or source in DONE_PHASES) and target in WORK_PHASES:
            lane.rework += 1
            lane.completed = None  # reopened: done only when it gets there again
        if target in DONE_PHASES:
            lane.completed = utc_timestamp(record["timestamp"])
    return lanes


def completed_lanes(
    transitions: Iterable[Mapping[str, Any]],
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[tuple[str, str], Lane]:
    """Return the work packages completed (and not reopened) by ``end``, at or after ``start``.

    Only transitions up to ``end`` count: a work package reopened later was
    still completed at ``end``.
    """
    if end is not None:
        transitions = (r for r in transitions if utc_timestamp(r["timestamp"]) <= end)
    return {
        key: lane
        for key, lane in lanes_of(transitions).items()
        if lane.completed is not None and (start is None or lane.completed >= start)
    }

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
    "Completions",
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


#: What one transition does to its work package's lane.
_NOTHING: Final = 0
_REOPEN: Final = 1
_DONE: Final = 2


def _move(payload: Mapping[str, Any]) -> int:
    """Whether a transition reopens its work package, completes it, or neither."""
    source, target = payload.get("from_phase"), payload.get("to_phase")
    if target in DONE_PHASES:
        return _DONE
    if (source in REVIEW_PHASES or source in DONE_PHASES) and target in WORK_PHASES:
        return _REOPEN
    return _NOTHING


class Completions:
    """Each work package's lane, folded from its transitions in *any* order.

    Replaying transitions in causal order (reopen: not completed; done:
    completed then) leaves a work package completed exactly when the
    causally last of its reopen and done transitions is a done, at that
    transition's time; its rework cycles are the number of reopens. Both
    are order-free (a count, and a maximum by :func:`~.store.record_order`),
    so a projection can keep one entry per work package instead of every
    transition, fold appended transitions that sort before earlier ones (a
    union merge), and add the folds of two parts of a log in either order.
    """

    __slots__ = ("marks",)

    def __init__(self) -> None:
        #: (feature, wp_id) -> [rework, order of the last reopen or done (or None),
        #: that transition's timestamp text when it is a done (else None)].
        self.marks: dict[tuple[str, str], list[Any]] = {}

    def add(self, record: Mapping[str, Any]) -> None:
        """Fold one PhaseTransition record (others are skipped); each record once."""
        if record.get("event_type") != PHASE_TRANSITION:
            return
        payload = record["payload"]
        wp = payload.get("wp_id")
        if not isinstance(wp, str) or not wp.strip():
            return  # a feature's own phase, not a work package's
        key = (record["aggregate_id"], wp.strip())
        mark = self.marks.get(key)
        if mark is None:
            mark = self.marks[key] = [0, None, None]
        move = _move(payload)
        if move == _NOTHING:
            return
        if move == _REOPEN:
            mark[0] += 1
        order = [record["lamport_clock"], record["node_id"], record["event_id"]]
        if mark[1] is None or order >= mark[1]:  # equal: the later line wins, as a stable sort
            mark[1] = order
            mark[2] = record["timestamp"] if move == _DONE else None

    def merge(self, other: Completions) -> None:
        """Add the fold of other transitions (of other events) to this one."""
        for key, (rework, order, done) in other.marks.items():
            mark = self.marks.get(key)
            if mark is None:
                self.marks[key] = [rework, order, done]
                continue
            mark[0] += rework
            if order is not None and (mark[1] is None or order >= mark[1]):
                mark[1], mark[2] = order, done

    def lanes(self) -> dict[tuple[str, str], Lane]:
        """Return each work package's lane, keyed ``(feature, wp_id)``."""
        return {
            key: Lane(rework, None if done is None else utc_timestamp(done))
            for key, (rework, _order, done) in self.marks.items()
        }

    def completed(self) -> set[tuple[str, str]]:
        """Return the work packages completed as the transitions stand (no time bounds)."""
        return {key for key, mark in self.marks.items() if mark[2] is not None}

    def to_json(self) -> list[list[Any]]:
        """Return the fold as JSON can hold it (a projection's part)."""
        return [[feature, wp, *mark] for (feature, wp), mark in self.marks.items()]

    @classmethod
    def from_json(cls, rows: list[list[Any]]) -> Completions:
        """Rebuild a fold from :meth:`to_json`'s rows (raises on a wrong shape)."""
        fold = cls()
        for feature, wp, rework, order, done in rows:
            if (
                type(feature) is not str
                or type(wp) is not str
                or type(rework) is not int
                or not (done is None or type(done) is str)
                or not (order is None or _is_order(order))
            ):
                raise ValueError("not a completion fold")
            fold.marks[(feature, wp)] = [rework, order, done]
        return fold


def _is_order(value: object) -> bool:
    """Whether ``value`` is a saved ``[lamport_clock, node_id, event_id]``, comparable to others."""
    return (
        type(value) is list
        and len(value) == 3
        and type(value[0]) is int
        and type(value[1]) is str
        and type(value[2]) is str
    )


def lanes_of(transitions: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Lane]:
    """Return each work package's lane, keyed ``(feature, wp_id)``, from its transitions.

    ``transitions`` are PhaseTransition records in any order (other records
    are skipped); each needs ``lamport_clock``, ``node_id`` and ``event_id``
    to be put in causal order, as the line rule guarantees.
    """
    fold = Completions()
    for record in transitions:
        fold.add(record)
    return fold.lanes()


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

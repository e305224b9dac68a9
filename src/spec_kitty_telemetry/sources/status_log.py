"""spec-kitty's lifecycle log, read in place: how each work package moved through its lanes.

Every spec-kitty feature keeps ``kitty-specs/<feature>/status.events.jsonl``,
one lane transition per line (``at, wp_id, from_lane, to_lane, actor, force,
reason, review_result, ...``). The file is spec-kitty's, so it is only ever
read, never written. Real files mix in other records (annotations with
``kind``/``delta``, event envelopes, retrospective records, legacy lines) and
the odd torn line: those are counted by kind and skipped, never an error.

From the transitions, per work package: the time spent in each lane, review
rounds, rejections, cycle time and blocked time; per feature and project:
first-pass rate, rework cycles and cycle-time percentiles, also per agent,
model and role. The definitions, stated once here:

* a **review round** is an entry into a review lane (``for_review``,
  ``in_review``) from a lane that is not one;
* a **rejection** is a move from a review lane or later (``for_review``,
  ``in_review``, ``approved``, ``done``) back to a work lane (``genesis``,
  ``planned``, ``claimed``, ``in_progress``); each is one **rework cycle**;
* **cycle time** runs from the first entry into ``claimed`` or
  ``in_progress`` (else the first transition) to the last entry into ``done``;
* **blocked time** is the time spent in ``blocked`` (up to ``now`` while still blocked);
* **first pass**: done with no rejection; the **first-pass rate** is over
  the work packages that are done;
* a work package is credited to the **actor who started it** (the first move
  into ``claimed``/``in_progress``, else its first mover); actors are parsed
  as ``agent:model:profile:role`` (``claude:opus:python-pedro:implementer``)
  or ``{"display", "id", "kind"}``;
* percentiles are ``statistics.quantiles(..., method="inclusive")`` (linear
  between the nearest ranks), the one value itself for a single work package.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ..errors import StoreError
from ..project import SPECS_DIRNAME
from ._common import FileProblem, json_objects, parse_moment

__all__ = [
    "STATUS_FILENAME",
    "Actor",
    "FlowStats",
    "LaneReport",
    "LaneSpan",
    "LaneTransition",
    "StatusLog",
    "WorkPackageFlow",
    "lane_report",
    "project_lane_report",
    "read_status_log",
]

#: spec-kitty's lifecycle log in each feature folder.
STATUS_FILENAME: Final = "status.events.jsonl"
REVIEW_LANES: Final = frozenset({"for_review", "in_review"})
_AFTER_WORK: Final = frozenset({"for_review", "in_review", "approved", "done"})
_WORK_LANES: Final = frozenset({"genesis", "planned", "claimed", "in_progress"})
_STARTED: Final = frozenset({"claimed", "in_progress"})
_DONE: Final = "done"
_BLOCKED: Final = "blocked"
_UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class Actor:
    """Who moved a work package, parsed from spec-kitty's ``actor`` field."""

    display: str
    agent: str
    model: str | None = None
    profile: str | None = None
    role: str | None = None
    kind: str | None = None

    @classmethod
    def parse(cls, raw: object) -> Actor:
        """Read a string (``agent:model:profile:role``), an object or null."""
        if isinstance(raw, Mapping):
            kind = raw.get("kind")
            text = next(
                (v for v in (raw.get("id"), raw.get("display")) if isinstance(v, str) and v), None
            )
            parsed = cls.parse(text)
            display = raw.get("display")
            return cls(
                display if isinstance(display, str) and display else parsed.display,
                parsed.agent,
                parsed.model,
                parsed.profile,
                parsed.role,
                kind if isinstance(kind, str) and kind else parsed.kind,
            )
        if not isinstance(raw, str) or not raw.strip():
            return cls(_UNKNOWN, _UNKNOWN)
        parts = [part.strip() or None for part in raw.strip().split(":")]
        agent = parts[0] or _UNKNOWN
        if agent == "migration":
            return cls(raw, agent, kind="migration")
        rest = [*parts[1:4], None, None, None][:3]
        return cls(raw, agent, rest[0], rest[1], rest[2])


@dataclass(frozen=True)
class LaneTransition:
    """One move of a work package from a lane to another."""

    at: datetime
    wp_id: str
    from_lane: str | None
    to_lane: str
    actor: Actor
    force: bool = False
    line: int = 0


@dataclass(frozen=True)
class LaneSpan:
    """A stay in one lane: from entering it to leaving it (``end`` None: still there)."""

    lane: str
    start: datetime
    end: datetime | None
    seconds: float


@dataclass
class StatusLog:
    """What a read of one status log found: transitions, and what it skipped."""

    path: Path
    transitions: list[LaneTransition] = field(default_factory=list)
    #: Records that are not lane transitions, by kind (annotation, envelope, ...).
    skipped: Counter[str] = field(default_factory=Counter)
    malformed: list[FileProblem] = field(default_factory=list)


@dataclass
class WorkPackageFlow:
    """How one work package moved: its lanes over time and what that says."""

    wp_id: str
    transitions: list[LaneTransition]
    spans: list[LaneSpan]
    lane: str
    review_rounds: int
    rejections: int
    cycle_seconds: float | None
    blocked_seconds: float
    started_by: Actor

    @property
    def done(self) -> bool:
        """Whether the work package is in ``done`` now."""
        return self.lane == _DONE

    @property
    def first_pass(self) -> bool | None:
        """Done with no rejection (None while not done)."""
        return None if not self.done else self.rejections == 0

    def time_in_lanes(self) -> dict[str, float]:
        """Seconds spent in each lane, in the order first entered."""
        totals: dict[str, float] = {}
        for span in self.spans:
            totals[span.lane] = totals.get(span.lane, 0.0) + span.seconds
        return totals

    def to_dict(self) -> dict[str, Any]:
        """Return the ``--json`` form."""
        return {
            "wp_id": self.wp_id,
            "lane": self.lane,
            "review_rounds": self.review_rounds,
            "rejections": self.rejections,
            "first_pass": self.first_pass,
            "cycle_seconds": self.cycle_seconds,
            "blocked_seconds": self.blocked_seconds,
            "started_by": self.started_by.display,
            "time_in_lanes": self.time_in_lanes(),
            "lanes": [
                {
                    "lane": s.lane,
                    "start": s.start.isoformat(),
                    "end": None if s.end is None else s.end.isoformat(),
                    "seconds": s.seconds,
                }
                for s in self.spans
            ],
        }


@dataclass(frozen=True)
class FlowStats:
    """First-pass rate, rework and cycle time over a set of work packages."""

    work_packages: int
    done: int
    first_pass: int
    rework_cycles: int
    review_rounds: int
    blocked_seconds: float
    cycle_p50_seconds: float | None
    cycle_p95_seconds: float | None

    @property
    def first_pass_rate(self) -> float | None:
        """First-pass work packages over done ones (None when none is done)."""
        return None if not self.done else self.first_pass / self.done

    @classmethod
    def of(cls, flows: Iterable[WorkPackageFlow]) -> FlowStats:
        """Summarise ``flows``."""
        items = list(flows)
        cycles = sorted(f.cycle_seconds for f in items if f.cycle_seconds is not None)
        return cls(
            work_packages=len(items),
            done=sum(f.done for f in items),
            first_pass=sum(f.first_pass is True for f in items),
            rework_cycles=sum(f.rejections for f in items),
            review_rounds=sum(f.review_rounds for f in items),
            blocked_seconds=sum(f.blocked_seconds for f in items),
            cycle_p50_seconds=_percentile(cycles, 50),
            cycle_p95_seconds=_percentile(cycles, 95),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the ``--json`` form."""
        return {
            "work_packages": self.work_packages,
            "done": self.done,
            "first_pass": self.first_pass,
            "first_pass_rate": self.first_pass_rate,
            "rework_cycles": self.rework_cycles,
            "review_rounds": self.review_rounds,
            "blocked_seconds": self.blocked_seconds,
            "cycle_p50_seconds": self.cycle_p50_seconds,
            "cycle_p95_seconds": self.cycle_p95_seconds,
        }


@dataclass
class LaneReport:
    """The lane history of one feature, or of a whole project (``feature`` None)."""

    feature: str | None
    work_packages: dict[str, WorkPackageFlow]
    logs: list[StatusLog]

    @property
    def stats(self) -> FlowStats:
        """First-pass rate, rework and cycle time over every work package."""
        return FlowStats.of(self.work_packages.values())

    def by(self, what: str) -> dict[str, FlowStats]:
        """Return the figures per ``agent``, ``model`` or ``role`` of whoever started each WP."""
        groups: dict[str, list[WorkPackageFlow]] = {}
        for flow in self.work_packages.values():
            key = getattr(flow.started_by, what) or _UNKNOWN
            groups.setdefault(key, []).append(flow)
        return {key: FlowStats.of(flows) for key, flows in sorted(groups.items())}

    def to_dict(self) -> dict[str, Any]:
        """Return the ``--json`` document."""
        skipped: Counter[str] = Counter()
        for log in self.logs:
            skipped.update(log.skipped)
        return {
            "feature": self.feature,
            "summary": self.stats.to_dict(),
            "by_agent": {k: v.to_dict() for k, v in self.by("agent").items()},
            "by_model": {k: v.to_dict() for k, v in self.by("model").items()},
            "by_role": {k: v.to_dict() for k, v in self.by("role").items()},
            "work_packages": [
                {"id": key, **flow.to_dict()} for key, flow in self.work_packages.items()
            ],
            "skipped_records": dict(sorted(skipped.items())),
            "malformed": [p.describe() for log in self.logs for p in log.malformed],
        }


def read_status_log(path: str | Path) -> StatusLog:
    """Read the lane transitions of one status log (a missing file has none).

    Raises StoreError when the file exists but cannot be read.
    """
    log = StatusLog(Path(path))
    try:
        data = log.path.read_bytes()
    except FileNotFoundError:
        return log
    except OSError as exc:
        raise StoreError(f"{log.path}: cannot read: {exc.strerror or exc}") from exc
    for number, record in json_objects(enumerate(data.splitlines(), 1), log.path, log.malformed):
        transition = _transition(record, number)
        if transition is None:
            log.skipped[_kind(record)] += 1
        else:
            log.transitions.append(transition)
    return log


def _transition(record: dict[str, Any], number: int) -> LaneTransition | None:
    wp, to_lane = record.get("wp_id"), record.get("to_lane")
    if not (isinstance(wp, str) and wp and isinstance(to_lane, str) and to_lane):
        return None
    at = parse_moment(record.get("at"))
    if at is None:
        return None
    from_lane = record.get("from_lane")
    return LaneTransition(
        at=at,
        wp_id=wp,
        from_lane=from_lane if isinstance(from_lane, str) and from_lane else None,
        to_lane=to_lane,
        actor=Actor.parse(record.get("actor")),
        force=record.get("force") is True,
        line=number,
    )


def _kind(record: Mapping[str, Any]) -> str:
    """Name the kind of a record that is not a lane transition, for the skipped count."""
    if "kind" in record and "delta" in record:
        return "annotation"
    if "event_type" in record and "payload" in record:
        return "envelope"
    if "type" in record and "lamport" in record:
        return "retrospective"
    if "wp_id" in record:
        return "incomplete transition"
    return "other"


def flows(log: StatusLog, now: datetime | None = None) -> dict[str, WorkPackageFlow]:
    """Each work package's flow from the log's transitions, by WP id in order of appearance."""
    moment = now or datetime.now(UTC)
    by_wp: dict[str, list[LaneTransition]] = {}
    for transition in log.transitions:
        by_wp.setdefault(transition.wp_id, []).append(transition)
    return {
        wp: _flow(wp, sorted(moves, key=lambda t: (t.at, t.line)), moment)
        for wp, moves in by_wp.items()
    }


def _flow(wp: str, moves: list[LaneTransition], now: datetime) -> WorkPackageFlow:
    spans = []
    for index, move in enumerate(moves):
        end = moves[index + 1].at if index + 1 < len(moves) else None
        seconds = ((end or max(now, move.at)) - move.at).total_seconds()
        spans.append(LaneSpan(move.to_lane, move.at, end, seconds))
    rounds = rejections = 0
    for move in moves:
        came_from = move.from_lane
        if move.to_lane in REVIEW_LANES and came_from not in REVIEW_LANES:
            rounds += 1
        if came_from in _AFTER_WORK and move.to_lane in _WORK_LANES:
            rejections += 1
    starter = next((m for m in moves if m.to_lane in _STARTED), moves[0])
    lane = moves[-1].to_lane
    cycle: float | None = None
    if lane == _DONE:
        finished = moves[-1].at
        cycle = max(0.0, (finished - starter.at).total_seconds())
    blocked = sum(s.seconds for s in spans if s.lane == _BLOCKED)
    return WorkPackageFlow(
        wp_id=wp,
        transitions=moves,
        spans=spans,
        lane=lane,
        review_rounds=rounds,
        rejections=rejections,
        cycle_seconds=cycle,
        blocked_seconds=blocked,
        started_by=starter.actor,
    )


def lane_report(feature_dir: str | Path, *, now: datetime | None = None) -> LaneReport:
    """Read one feature's ``status.events.jsonl`` into its lane report.

    Public for the scoreboard and the timeline: ``report.stats.first_pass_rate``
    and ``report.stats.rework_cycles`` are the feature's figures,
    ``report.by("agent")`` the same per agent. Raises StoreError when the log
    exists but cannot be read.
    """
    folder = Path(feature_dir)
    log = read_status_log(folder / STATUS_FILENAME)
    return LaneReport(folder.name, flows(log, now), [log])


def project_lane_report(root: str | Path, *, now: datetime | None = None) -> LaneReport:
    """Read every feature's status log of the project at ``root`` into one report.

    Work packages are keyed ``<feature>/<WP>`` so the same WP id in two
    features stays two work packages.
    """
    specs = Path(root) / SPECS_DIRNAME
    try:
        folders = sorted(p for p in specs.iterdir() if (p / STATUS_FILENAME).is_file())
    except OSError:
        folders = []
    merged: dict[str, WorkPackageFlow] = {}
    logs = []
    for folder in folders:
        report = lane_report(folder, now=now)
        logs.extend(report.logs)
        for wp, flow in report.work_packages.items():
            merged[f"{folder.name}/{wp}"] = flow
    return LaneReport(None, merged, logs)


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]

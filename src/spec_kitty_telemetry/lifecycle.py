"""Phase transitions of a feature and its work packages, and the timeline they make.

A ``PhaseTransition`` event says a feature (or one work package, with
``wp_id``) moved ``from_phase`` → ``to_phase``; it sits in the same log as the
``ExecutionEvent`` records, which cost reports count and everything else
ignores. Phase names are the workflow's own (``specify``, ``plan``,
``implement``, ``review``… for a feature; ``planned``, ``doing``,
``for_review``, ``done`` for a work package); this module does not restrict them.

:func:`phase_timeline` replays a log in causal order: each transition closes
the phase open in its lane (the feature, or that work package) and opens the
next, and every invocation between is counted in the open phase of the
feature and of its work package. Timestamps come from the writers' clocks;
when a phase would end before it started (machines' clocks disagree), its
duration is reported as unknown and the span flagged ``clock_skew``.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._emit_result import fail
from ._records import EXECUTION_EVENT
from .emit import emit_record
from .errors import InvalidEventError
from .store import EventStore

if TYPE_CHECKING:
    from .cost import RunningTotal
    from .pricing import Pricing

__all__ = [
    "PHASE_TRANSITION",
    "PhaseSpan",
    "emit_transition",
    "feature_timeline",
    "open_phase",
    "phase_timeline",
    "transition_payload",
]

logger = logging.getLogger(__name__)

#: ``event_type`` of a lifecycle transition.
PHASE_TRANSITION: Final = "PhaseTransition"


def transition_payload(
    from_phase: str | None,
    to_phase: str,
    *,
    wp_id: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Validate a transition and return its payload; raises InvalidEventError naming the field.

    ``from_phase`` is None for the first transition (nothing was open before).
    """
    problems = []
    if not isinstance(to_phase, str) or not to_phase.strip():
        problems.append(f"to_phase: must be a non-empty string, got {to_phase!r}")
    for name, value in (("from_phase", from_phase), ("wp_id", wp_id), ("actor", actor)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{name}: must be a non-empty string or None, got {value!r}")
    if problems:
        raise InvalidEventError("; ".join(problems))
    return {"from_phase": from_phase, "to_phase": to_phase, "wp_id": wp_id, "actor": actor}


def emit_transition(
    feature_dir: str | Path | EventStore,
    feature_slug: str,
    from_phase: str | None,
    to_phase: str,
    *,
    wp_id: str | None = None,
    actor: str | None = None,
    node_id: str | None = None,
    causation_id: str | None = None,
) -> dict[str, Any] | None:
    """Record a ``PhaseTransition`` in the feature's log; return the stored record or None.

    ``feature_dir`` may instead be the :class:`EventStore` to append to.
    Fire-and-forget like every emitter: never raises; a problem is logged as
    one warning. ``node_id`` defaults to the configured one of the project
    holding the folder (for a store, the project around the working directory).
    """
    try:
        payload = transition_payload(from_phase, to_phase, wp_id=wp_id, actor=actor)
        if node_id is None:
            from .project import node_id_for

            node_id = node_id_for(
                Path.cwd() if isinstance(feature_dir, EventStore) else feature_dir
            )
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        fail(logger, f"telemetry: {PHASE_TRANSITION} for {feature_slug!r} not recorded: {exc}")
        return None
    return emit_record(
        feature_dir,
        feature_slug,
        PHASE_TRANSITION,
        payload,
        node_id=node_id,
        causation_id=causation_id,
    )


@dataclass
class PhaseSpan:
    """One phase of the feature (``wp_id`` None) or of one work package, and what ran in it.

    ``phase`` is None for invocations recorded before the feature's first
    transition. ``ended_at`` is None while the phase is still open. Tokens and
    cost are those of the ``cost`` report over the phase's invocations: cost
    is reported or estimated, ``unpriced_invocations`` could not be priced,
    and ``cost_usd`` is None when none of the phase's invocations could be.
    """

    phase: str | None
    wp_id: str | None
    started_at: datetime
    ended_at: datetime | None = None
    actor: str | None = None
    invocations: int = 0
    failed_invocations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal | None = Decimal(0)
    unpriced_invocations: int = 0
    #: Invocations whose cost (or part of it) is estimated from tokens, not reported.
    estimated_invocations: int = 0
    _total: RunningTotal | None = field(default=None, repr=False, compare=False)

    @property
    def clock_skew(self) -> bool:
        """True when the phase ends before it starts: the writers' clocks disagree."""
        return self.ended_at is not None and self.ended_at < self.started_at

    @property
    def duration_seconds(self) -> float | None:
        """Wall time from the transition into the phase to the one out of it.

        None while the phase is open, and when clock skew makes it negative
        (causal order is right, the clocks are not: there is no true figure).
        """
        if self.ended_at is None or self.clock_skew:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """Return the span as JSON-ready data: one entry of ``timeline --json``."""
        return {
            "phase": self.phase,
            "wp_id": self.wp_id,
            "actor": self.actor,
            "started_at": self.started_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "duration_seconds": self.duration_seconds,
            "clock_skew": self.clock_skew,
            "invocations": self.invocations,
            "failed_invocations": self.failed_invocations,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost_usd is None else float(round(self.cost_usd, 6)),
            "unpriced_invocations": self.unpriced_invocations,
            "estimated_invocations": self.estimated_invocations,
        }


def phase_timeline(
    records: Iterable[Mapping[str, Any]], *, pricing: Pricing | None = None
) -> list[PhaseSpan]:
    """Replay event records (one feature's, any order) into its phases, in causal order.

    ``pricing`` prices invocations that did not report a cost (default: the
    shipped table and catalogue, loaded only if some phase has invocations).
    The replay reads the records twice: a collection is read as it is, any
    other iterable is first held in a list (:func:`feature_timeline` reads
    the log twice instead).
    """
    source = records if isinstance(records, Collection) else list(records)
    return _replay(lambda: source, pricing)


_Key = tuple[int, str, str]
#: Records an invocation is held in a phase's buffer before its costs are folded in.
_BATCH: Final = 4096


def _replay(
    read: Callable[[], Iterable[Mapping[str, Any]]], pricing: Pricing | None
) -> list[PhaseSpan]:
    """Replay in two streaming passes, holding the transitions but never the invocations.

    Pass one collects the transitions (few) and, per work-package lane, the
    causally first invocation. Their causal order fixes every phase: which
    phase of the feature and of its work package was open at an invocation's
    place in that order is a binary search. Pass two sends each invocation to
    its phases, whose costs are folded in batches. This gives what replaying
    the sorted records one by one gives, without sorting (or holding) them.
    """
    from .query import record_order

    transitions: list[tuple[_Key, datetime, Mapping[str, Any]]] = []
    first_run: dict[str | None, tuple[_Key, datetime]] = {}
    for record, payload, at in _placeable(read()):
        key = record_order(record)
        if record["event_type"] == PHASE_TRANSITION:
            if _text(payload.get("to_phase")) is not None:
                transitions.append((key, at, payload))
        else:
            wp_id = _text(payload.get("wp_id"))
            earliest = first_run.get(wp_id)
            if earliest is None or key < earliest[0]:
                first_run[wp_id] = (key, at)
    transitions.sort(key=lambda item: item[0])

    # Each lane's phases, in causal order, with the key of the event that opened them.
    lanes: dict[str | None, tuple[list[_Key], list[PhaseSpan]]] = {}
    spans: list[tuple[_Key, PhaseSpan]] = []
    for key, at, payload in transitions:
        wp_id = _text(payload.get("wp_id"))
        keys, opened = lanes.setdefault(wp_id, ([], []))
        if opened:
            opened[-1].ended_at = at
        span = PhaseSpan(
            _text(payload.get("to_phase")), wp_id, at, actor=_text(payload.get("actor"))
        )
        keys.append(key)
        opened.append(span)
        spans.append((key, span))
    _add_unphased_span(lanes, spans, first_run)

    totals: dict[int, tuple[PhaseSpan, list[Mapping[str, Any]]]] = {}
    pending = 0
    for record, payload, _at in _placeable(read()):
        if record["event_type"] != EXECUTION_EVENT:
            continue
        key = record_order(record)
        wp_id = _text(payload.get("wp_id"))
        holders = [_open_at(lanes.get(None), key, inclusive=True)]
        if wp_id is not None:
            holders.append(_open_at(lanes.get(wp_id), key, inclusive=False))
        for holder in holders:
            if holder is None:
                continue
            entry = totals.setdefault(id(holder), (holder, []))
            entry[1].append(record)
            pending += 1
            holder.invocations += 1
            if payload.get("success") is False:
                holder.failed_invocations += 1
        if pending >= _BATCH:
            pricing = _fold_batches(totals, pricing)
            pending = 0
    if pending:
        _fold_batches(totals, pricing)
    for span, _ in totals.values():
        total = span._total.total() if span._total is not None else None
        if total is not None:
            span.input_tokens = total.input_tokens
            span.output_tokens = total.output_tokens
            span.cost_usd = total.total_cost_usd if total.cost_known else None
            span.unpriced_invocations = total.unpriced_event_count
            span.estimated_invocations = total.estimated_event_count
        span._total = None
    return [span for _, span in sorted(spans, key=lambda item: item[0])]


def _placeable(
    records: Iterable[Mapping[str, Any]],
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any], datetime]]:
    """Yield the records this replay can place: a payload object and a readable timestamp."""
    for record in records:
        payload = record.get("payload")
        at = _timestamp(record)
        if isinstance(payload, Mapping) and at is not None:
            yield record, payload, at


def _add_unphased_span(
    lanes: dict[str | None, tuple[list[_Key], list[PhaseSpan]]],
    spans: list[tuple[_Key, PhaseSpan]],
    first_run: dict[str | None, tuple[_Key, datetime]],
) -> None:
    """Open the feature's phase None at the first invocation that no phase holds, if any.

    That is the causally first invocation before the feature's first transition
    and before its work package's first one (if it has a work package). The
    phase stays open, holding the feature-level share of what follows, until
    the feature's first transition closes it.
    """
    feature_keys, feature_spans = lanes.get(None, ([], []))
    first_phase = feature_keys[0] if feature_keys else None
    candidates = []
    for wp_id, (key, at) in first_run.items():
        lane = lanes.get(wp_id) if wp_id is not None else None
        if (first_phase is None or key < first_phase) and (lane is None or key < lane[0][0]):
            candidates.append((key, at))
    if not candidates:
        return
    key, at = min(candidates)
    span = PhaseSpan(None, None, at)
    if feature_spans:
        span.ended_at = feature_spans[0].started_at
    lanes[None] = ([key, *feature_keys], [span, *feature_spans])
    spans.append((key, span))


def _open_at(
    lane: tuple[list[_Key], list[PhaseSpan]] | None, key: _Key, *, inclusive: bool
) -> PhaseSpan | None:
    """Return the phase of a lane open at ``key`` (or opened at it, if ``inclusive``)."""
    if lane is None:
        return None
    keys, opened = lane
    place = (bisect.bisect_right if inclusive else bisect.bisect_left)(keys, key)
    return opened[place - 1] if place else None


def _fold_batches(
    totals: dict[int, tuple[PhaseSpan, list[Mapping[str, Any]]]], pricing: Pricing | None
) -> Pricing:
    """Fold every phase's buffered invocations into its running cost; return the pricing used."""
    from .cost import RunningTotal
    from .pricing import load_pricing

    prices = pricing if pricing is not None else load_pricing()
    for span, batch in totals.values():
        if batch:
            if span._total is None:
                span._total = RunningTotal(prices)
            span._total.add(batch)
            batch.clear()
    return prices


def open_phase(records: Iterable[Mapping[str, Any]], wp_id: str | None = None) -> str | None:
    """Return the phase open now in one lane (the feature, or work package ``wp_id``), or None.

    The ``to_phase`` of the lane's last transition in causal order.
    """
    from .query import record_order

    current: str | None = None
    transitions = (r for r in records if r.get("event_type") == PHASE_TRANSITION)
    for record in sorted(transitions, key=record_order):
        payload = record.get("payload")
        if isinstance(payload, Mapping) and _text(payload.get("wp_id")) == wp_id:
            current = _text(payload.get("to_phase")) or current
    return current


def feature_timeline(
    feature_dir: str | Path | EventStore, *, pricing: Pricing | None = None
) -> list[PhaseSpan]:
    """Return the phase timeline of the feature whose log is in ``feature_dir`` (or in a store).

    Pricing defaults to the project's (its overrides, the shipped table, the
    catalogue): the project holding the folder, or for a store the project
    around the working directory.
    """
    from .project import store_for

    store = store_for(feature_dir)
    if pricing is None:
        from .config import find_project_root
        from .pricing import load_pricing

        start = None if isinstance(feature_dir, EventStore) else feature_dir
        pricing = load_pricing(find_project_root(start))
    return _replay(store.iter_records, pricing)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _timestamp(record: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(record["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None

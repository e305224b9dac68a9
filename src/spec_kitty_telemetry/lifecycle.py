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

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._records import EXECUTION_EVENT
from .emit import emit_record
from .errors import InvalidEventError

if TYPE_CHECKING:
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
    feature_dir: str | Path,
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

    Fire-and-forget like every emitter: never raises; a problem is logged as
    one warning. ``node_id`` defaults to the project's configured one.
    """
    try:
        payload = transition_payload(from_phase, to_phase, wp_id=wp_id, actor=actor)
        if node_id is None:
            from .integration import node_id_for

            node_id = node_id_for(feature_dir)
    except Exception as exc:  # noqa: BLE001 - telemetry must not break its host
        logger.warning("telemetry: %s for %r not recorded: %s", PHASE_TRANSITION, feature_slug, exc)
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
    _records: list[Mapping[str, Any]] = field(default_factory=list, repr=False, compare=False)

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
        }


def phase_timeline(
    records: Iterable[Mapping[str, Any]], *, pricing: Pricing | None = None
) -> list[PhaseSpan]:
    """Replay event records (one feature's, any order) into its phases, in causal order.

    ``pricing`` prices invocations that did not report a cost (default: the
    shipped table and catalogue, loaded only if some phase has invocations).
    """
    from .query import record_order

    spans: list[PhaseSpan] = []
    open_spans: dict[str | None, PhaseSpan] = {}
    for record in sorted(records, key=record_order):
        payload = record.get("payload")
        at = _timestamp(record)
        if not isinstance(payload, Mapping) or at is None:
            continue  # not an event this replay can place
        wp_id = _text(payload.get("wp_id"))
        if record["event_type"] == PHASE_TRANSITION:
            to_phase = _text(payload.get("to_phase"))
            if to_phase is None:
                continue
            previous = open_spans.get(wp_id)
            if previous is not None:
                previous.ended_at = at
            span = PhaseSpan(to_phase, wp_id, at, actor=_text(payload.get("actor")))
            open_spans[wp_id] = span
            spans.append(span)
        elif record["event_type"] == EXECUTION_EVENT:
            wp_span = open_spans.get(wp_id) if wp_id is not None else None
            feature_span: PhaseSpan | None = open_spans.get(None)
            if feature_span is None and wp_span is None:
                feature_span = PhaseSpan(None, None, at)
                open_spans[None] = feature_span
                spans.append(feature_span)
            for holder in (feature_span, wp_span):
                if holder is not None:
                    holder._records.append(record)
    if any(span._records for span in spans):
        _price(spans, pricing)
    return spans


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


def feature_timeline(feature_dir: str | Path, *, pricing: Pricing | None = None) -> list[PhaseSpan]:
    """Return the phase timeline of the feature whose log is in ``feature_dir``.

    Pricing defaults to the project's (its overrides, the shipped table, the catalogue).
    """
    from .query import iter_feature_records

    if pricing is None:
        from .config import find_project_root
        from .pricing import load_pricing

        pricing = load_pricing(find_project_root(feature_dir))
    return phase_timeline(iter_feature_records(feature_dir), pricing=pricing)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _timestamp(record: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(record["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None


def _price(spans: list[PhaseSpan], pricing: Pricing | None) -> None:
    from .cost import cost_report
    from .pricing import load_pricing

    prices = pricing if pricing is not None else load_pricing()
    for span in spans:
        if not span._records:
            continue
        total = cost_report(span._records, "feature", pricing=prices).total
        span.invocations = len(span._records)
        span.failed_invocations = sum(
            1 for r in span._records if r["payload"].get("success") is False
        )
        span.input_tokens = total.input_tokens
        span.output_tokens = total.output_tokens
        span.cost_usd = total.total_cost_usd if total.cost_known else None
        span.unpriced_invocations = total.unpriced_event_count
        span._records = []

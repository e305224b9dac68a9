"""What the cost report counts for one event, without building a report around it.

Analytics price every run on its own (a run's cost, whether it was estimated,
why it is unpriced). A whole :func:`~spec_kitty_telemetry.cost.cost_report`
per event pays for options, sorting, price sources and a report object each
time. :class:`EventPricer` instead folds the one record with the same
``_cells`` fold, prices its cell (or, for events of several models, its
aside record) with the same ``_priced`` / ``_aside`` rules, and settles its
money with the same ``settle``: the figures are those of the report's TOTAL
row over that one record, by construction. Model names and tier thresholds
are cached per pricer, so a pricer is made once per price table.

Readers that need only the cost (analytics runs, the real-time check) call
:meth:`EventPricer.cost`, the lean one-event price: the record goes through
the same ``CellFold.add`` (a fold of its own, so threads may share a pricer),
and the one cell it lands in is read directly: its reported units by
``_priced.reported_usd``, its model by ``Totals.model``, its estimate by
``ModelRates.cost`` at the tier the fold chose, an unknown model by
``_priced.no_rates_reason``: the calls the report makes, without the report
(rows, summaries, settling) around them: about a third of the time (7-10 µs
against 20-50 µs per event on the development machine; spec 011). An event
the fold keeps aside (several models, odd grouped fields) is rare and takes
the full path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from . import _cells as c
from ._aside import AsideFold
from ._cost_model import CostSummary, settle
from ._priced import Totals, no_rates_reason, reported_usd

if TYPE_CHECKING:
    from ._rates import ModelRates
    from .pricing import Pricing

__all__ = ["EventCost", "EventPrice", "EventPricer"]

_NOTHING: Final = Decimal(0)

_ROW = ""


@dataclass(frozen=True)
class EventPrice:
    """The price of one event, as ``cost_report([record]).total`` states it.

    ``cost_usd`` is the exact amount the report adds to any total for this
    event, before rounding: sums of it, rounded once, are the report's totals
    (rounding each event first would lose micro-dollars over many events).
    It is None when the event is unpriced (its cost is unknown);
    ``unpriced_reason`` (a key of ``UNPRICED_REASONS``) and ``unknown_model``
    say why, the first in name order when there are several. ``summary`` is
    the one-event summary itself, money settled to micro-dollars as the
    report shows it. An event that is not an ``ExecutionEvent`` costs nothing
    and counts no event.
    """

    cost_usd: Decimal | None
    estimated: bool
    unpriced_reason: str | None
    unknown_model: str | None
    summary: CostSummary


class EventCost(NamedTuple):
    """The cost figures of :class:`EventPrice`, without its summary (:meth:`EventPricer.cost`)."""

    cost_usd: Decimal | None
    estimated: bool
    unpriced_reason: str | None
    unknown_model: str | None


class EventPricer:
    """Price single records under one price table; ``pricer(record)`` is one event's price."""

    def __init__(self, pricing: Pricing) -> None:
        from .cost import thresholds_of

        self._pricing = pricing
        self._thresholds = thresholds_of(pricing)
        self._models: dict[str, tuple[str, ModelRates | None]] = {}
        #: The lean path's model lookup (canonical name and rates, cached per raw name).
        self._lookup = Totals(pricing)
        self._lookup.models = self._models

    def cost(self, record: Mapping[str, Any]) -> EventCost:
        """Return the cost figures ``self(record)`` gives, by the lean path (see the module)."""
        fold = c.CellFold(self._thresholds, timed=False)  # one per event: threads may share us
        fold.add(record)
        if fold.aside:
            price = self(record)
            return EventCost(
                price.cost_usd, price.estimated, price.unpriced_reason, price.unknown_model
            )
        if not fold.cells:  # not an execution event: it costs nothing
            return EventCost(_NOTHING, False, None, None)
        ((key, cell),) = fold.cells.items()
        sums = cell.sums
        if sums[c.INVALID_TOKENS]:
            return EventCost(None, False, "invalid_tokens", None)
        if sums[c.NO_USAGE]:
            return EventCost(None, False, "no_usage", None)
        reported = reported_usd(sums[c.REPORTED])
        if not sums[c.ESTIMABLE]:
            return EventCost(reported, False, None, None)
        name, rates = self._lookup.model(key[4])
        if rates is None:
            reason = no_rates_reason(name)
            return EventCost(None, False, reason, name if reason == "unknown_model" else None)
        ((tier, tokens),) = cell.tiers.items()
        return EventCost(reported + rates.cost(*tokens, tier=tier), True, None, None)

    def __call__(self, record: Mapping[str, Any]) -> EventPrice:
        """Return what the cost report over this one record counts for it."""
        fold = c.CellFold(self._thresholds, timed=False)
        fold.add(record)
        totals = Totals(self._pricing)
        totals.models = self._models  # canonical names and rates, shared across events
        for key, cell in fold.cells.items():
            if cell.sums[c.EVENTS]:
                totals.add_cell(_ROW, cell, key[4])
        if fold.aside:
            aside = AsideFold(totals)
            for kept in fold.aside:
                aside.add(_ROW, kept)
        rows = totals.summaries("feature")
        summary = rows[0] if rows else CostSummary("TOTAL", "feature")
        exact = summary.total_cost_usd
        settle([], summary)
        unpriced = summary.unpriced_event_count > 0
        return EventPrice(
            cost_usd=None if unpriced else exact,
            estimated=bool(summary.estimated_event_count or summary.split_cost_event_count),
            unpriced_reason=min(summary.unpriced_reasons, default=None) if unpriced else None,
            unknown_model=min(summary.unknown_models, default=None) if unpriced else None,
            summary=summary,
        )

"""Pricing cells at read time: per-row accumulators, estimate buckets, and the report.

:class:`Totals` turns the price-free sums of ``_cells`` (and the few events
kept aside, through ``_aside``) into rows under one price table. Reported
costs are summed as integers of 1e-10 USD; estimates are computed once per
row, canonical model and price tier from summed token counts, in ``Decimal``,
so a million events cost no float drift and one multiplication per bucket.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

from . import _cells as c
from ._cost_model import NO_VALUE, CostReport, CostSummary, settle
from ._rates import ModelRates
from .usage import PRICED_TOKEN_FIELDS

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .pricing import Pricing

__all__ = ["OUTPUT_SLOTS", "ROW_SLOTS", "SUB", "Totals", "no_rates_reason", "reported_usd"]

#: Separates a row from its breakdown part in a composite row key.
SUB: Final = "\x1f"

# Slots of a row accumulator.
ROW_SLOTS: Final = 16
(
    EVENTS,
    INPUT,
    OUTPUT,
    CACHE_READ,
    CACHE_WRITE,
    REPORTED,  # reported cost, 1e-10 USD
    ESTIMATED,  # events (or shares) estimated from tokens
    UNPRICED,  # events whose cost is unknown
    KNOWN,  # bit i set: some event reported PRICED_TOKEN_FIELDS[i]
    BAD_COST,
    UNTIERED,
    SPLIT,  # events whose reported cost was split across their models
    CHANGES_KNOWN,  # events that recorded their changes
    LINES_CHANGED,
    TESTS_KNOWN,  # events that recorded test figures
    TESTS_PASSED,
) = range(ROW_SLOTS)
#: The row slots of what events produced, and the cell slots they add up.
OUTPUT_SLOTS: Final = (
    (c.CHANGES_KNOWN, CHANGES_KNOWN),
    (c.LINES_CHANGED, LINES_CHANGED),
    (c.TESTS_KNOWN, TESTS_KNOWN),
    (c.TESTS_PASSED, TESTS_PASSED),
)
_COST_DIGITS: Final = 10
_PLAIN: Final = (
    (c.EVENTS, EVENTS),
    (c.INPUT, INPUT),
    (c.OUTPUT, OUTPUT),
    (c.CACHE_READ, CACHE_READ),
    (c.CACHE_WRITE, CACHE_WRITE),
    (c.REPORTED, REPORTED),
    (c.BAD_COST, BAD_COST),
    *OUTPUT_SLOTS,
)


class Totals:
    """The rows of one report under one price table."""

    def __init__(self, pricing: Pricing) -> None:
        self.pricing = pricing
        self.groups: dict[str, list[int]] = {}
        #: (row, canonical model, tier) -> [input, output, cache read, cache write,
        #: 1-hour cache write] sums.
        self.buckets: dict[tuple[str, str, int], list[int]] = {}
        self.bucket_rates: dict[str, ModelRates] = {}
        #: (row, canonical model) -> events unpriced because the model has no rates.
        self.unknown: dict[tuple[str, str], int] = {}
        #: (row, reason) -> unpriced events.
        self.reasons: dict[tuple[str, str], int] = {}
        #: (row, error_category) -> failed events.
        self.categories: dict[tuple[str, str], int] = {}
        #: row -> the (feature, work package) pairs its events ran on; "" for the TOTAL.
        self.work_packages: dict[str, set[tuple[str, str]]] = {}
        self.models: dict[str, tuple[str, ModelRates | None]] = {}
        #: Event-level counts, kept when rows are models (an event may be in several).
        self.total: list[int] | None = None
        #: Event-level counts per row, kept when the breakdown is by model.
        self.event_rows: dict[str, list[int]] | None = None
        #: The work packages completed in the report's bounds (``completion``).
        self.completed: set[tuple[str, str]] = set()

    def event_acc(self, key: str) -> list[int]:
        """Return the event-level counts of a row whose parts are models, created empty."""
        assert self.event_rows is not None
        found = self.event_rows.get(key)
        if found is None:
            found = self.event_rows[key] = [0] * ROW_SLOTS
        return found

    def acc(self, key: str) -> list[int]:
        """Return the accumulator of a row, created empty."""
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = [0] * ROW_SLOTS
        return found

    def model(self, raw: object) -> tuple[str, ModelRates | None]:
        """Canonical name and rates of a raw model name, cached per name."""
        if not isinstance(raw, str) or not raw.strip():
            return (NO_VALUE, None)
        found = self.models.get(raw)
        if found is None:
            found = self.models[raw] = (self.pricing.canonical(raw), self.pricing.rates(raw))
        return found

    def count_reason(self, acc: list[int], key: str, reason: str, events: int = 1) -> None:
        """Count unpriced events of a row, and why."""
        acc[UNPRICED] += events
        reason_key = (key, reason)
        self.reasons[reason_key] = self.reasons.get(reason_key, 0) + events

    def count_category(self, key: str, category: str, events: int = 1) -> None:
        """Count failed events of a row by category."""
        category_key = (key, category)
        self.categories[category_key] = self.categories.get(category_key, 0) + events

    def note_work_package(self, key: str, feature: object, wp: object) -> None:
        """Note that an event of row ``key`` ran on work package ``wp`` of ``feature``."""
        self.note_work_packages(key, feature, (wp,))

    def note_work_packages(self, key: str, feature: object, names: Iterable[object]) -> None:
        """Note that events of row ``key`` ran on the work packages ``names`` of ``feature``.

        A name that is not a non-blank string names no work package; names are
        compared stripped. One call per row and feature, not per cell: a day
        report's cells each carry the work packages of their events.
        """
        if not isinstance(feature, str):
            return
        pairs = {(feature, wp.strip()) for wp in names if isinstance(wp, str) and wp.strip()}
        if not pairs:
            return
        head = key.partition(SUB)[0]
        for row in {key, head, ""}:
            found = self.work_packages.get(row)
            if found is None:
                self.work_packages[row] = set(pairs)
            else:
                found.update(pairs)

    def count_unknown(self, key: str, name: str, events: int = 1) -> None:
        """Count events of a row left unpriced by a model no table lists."""
        unknown_key = (key, name)
        self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + events

    def estimate(self, key: str, name: str, rates: ModelRates, tier: int, sums: list[int]) -> None:
        """Add token sums to be priced at ``rates`` (of ``name``, at ``tier``) in a row."""
        bucket_key = (key, name, tier)
        bucket = self.buckets.get(bucket_key)
        if bucket is None:
            bucket = self.buckets[bucket_key] = [0, 0, 0, 0, 0]
            self.bucket_rates[name] = rates
        for slot, count in enumerate(sums):
            bucket[slot] += count

    def add_cell(
        self, key: str, cell: c.Cell, raw_model: object, total: bool = False, row: str = ""
    ) -> None:
        """Add a cell's one-model events to a row (and, when rows are models, to the TOTAL).

        With ``row`` (a breakdown by model), its events are counted in that row's
        event-level counts too.
        """
        sums = cell.sums
        acc = self.acc(key)
        for source, target in _PLAIN:
            acc[target] += sums[source]
        acc[KNOWN] |= sums[c.KNOWN]
        for category, count in cell.categories.items():
            self.count_category(key, category, count)
        self._count_cell(acc, key, cell, raw_model, estimate=True)
        if total:
            if self.total is None:
                self.total = [0] * ROW_SLOTS
            targets: list[tuple[str, list[int]]] = [("", self.total)]
            if row:
                targets.append((row, self.event_acc(row)))
            for counts_key, counts in targets:
                counts[EVENTS] += sums[c.EVENTS]
                counts[BAD_COST] += sums[c.BAD_COST]
                for source, target in OUTPUT_SLOTS:
                    counts[target] += sums[source]
                for category, count in cell.categories.items():
                    self.count_category(counts_key, category, count)
                self._count_cell(counts, counts_key, cell, raw_model, estimate=False)

    def _count_cell(
        self, acc: list[int], key: str, cell: c.Cell, raw_model: object, *, estimate: bool
    ) -> None:
        sums = cell.sums
        if sums[c.INVALID_TOKENS]:
            self.count_reason(acc, key, "invalid_tokens", sums[c.INVALID_TOKENS])
        if sums[c.NO_USAGE]:
            self.count_reason(acc, key, "no_usage", sums[c.NO_USAGE])
        estimable = sums[c.ESTIMABLE]
        if not estimable:
            return
        name, rates = self.model(raw_model)
        if rates is None:
            reason = no_rates_reason(name)
            self.count_reason(acc, key, reason, estimable)
            if reason == "unknown_model":
                self.count_unknown(key, name, estimable)
            return
        acc[ESTIMATED] += estimable
        acc[UNTIERED] += sums[c.UNTIERED]
        if estimate:
            for tier, token_sums in cell.tiers.items():
                self.estimate(key, name, rates, tier, token_sums)

    def summaries(self, group_by: str) -> list[CostSummary]:
        """One exact (not yet quantized) summary per row key."""
        estimated: dict[str, Decimal] = {}
        at_5m_rate: dict[str, int] = {}  # 1-hour cache writes without a 1-hour rate
        for (key, name, tier), sums in sorted(self.buckets.items()):
            rates = self.bucket_rates[name]
            cost = rates.cost(*sums, tier=tier)
            estimated[key] = estimated.get(key, Decimal(0)) + cost
            if sums[4] and rates.hour_rate(tier) is None:
                at_5m_rate[key] = at_5m_rate.get(key, 0) + sums[4]
        rows = {
            key: _summary(key, group_by, acc, estimated.get(key, Decimal(0)))
            for key, acc in self.groups.items()
        }
        for key, tokens in at_5m_rate.items():
            if key in rows:
                rows[key].cache_write_1h_at_5m_rate_tokens = tokens
        for (key, name), count in self.unknown.items():
            if key in rows:
                rows[key].unknown_models[name] = count
        for (key, reason), count in self.reasons.items():
            if key in rows:
                rows[key].unpriced_reasons[reason] = count
        for (key, category), count in self.categories.items():
            if key in rows:
                rows[key].failures_by_category[category] = count
        for key, row in rows.items():
            row.completed_work_packages = self.completed_in(key)
        return list(rows.values())

    def completed_in(self, key: str) -> int:
        """Completed work packages (see :attr:`completed`) among those row ``key`` ran on."""
        return len(self.work_packages.get(key, set()) & self.completed)

    def report(self, group_by: str, breakdown_by: str | None = None) -> CostReport:
        """Return the report of every row, money settled to micro-dollars, highest cost first."""
        from .pricing import price_sources, shipped_table

        parts = self.summaries(group_by)
        summaries = parts if breakdown_by is None else _rows_of_parts(parts, group_by, breakdown_by)
        for summary in summaries:
            if self.event_rows is not None and summary.group_key in self.event_rows:
                self._event_counts(summary, self.event_rows[summary.group_key])
        if breakdown_by is not None:  # a row of parts ran on the work packages of all its parts
            for summary in summaries:
                summary.completed_work_packages = self.completed_in(summary.group_key)
        summaries.sort(key=lambda s: (-s.total_cost_usd, not s.cost_known, s.group_key))
        total = sum_summaries("TOTAL", group_by, summaries, counts=self.total is None)
        if self.total is not None:
            self._event_counts(total, self.total, "")
        total.completed_work_packages = self.completed_in("")
        settle(summaries, total)
        for summary in summaries:
            if summary.breakdown is not None:
                settle(summary.breakdown, summary)
        sources = price_sources(rates.source for rates in self.bucket_rates.values())
        return CostReport(group_by, summaries, total, shipped_table().last_updated, sources)

    def _event_counts(self, total: CostSummary, acc: list[int], key: str | None = None) -> None:
        """Set counts of events where one event may be in several parts (models)."""
        key = total.group_key if key is None else key
        total.event_count = acc[EVENTS]
        total.estimated_event_count = acc[ESTIMATED]
        total.unpriced_event_count = acc[UNPRICED]
        total.invalid_cost_event_count = acc[BAD_COST]
        total.long_context_unknown_event_count = acc[UNTIERED]
        total.unknown_models = {n: k for (row, n), k in self.unknown.items() if row == key}
        total.unpriced_reasons = {r: k for (row, r), k in self.reasons.items() if row == key}
        total.runs_with_changes = acc[CHANGES_KNOWN]
        total.lines_changed = acc[LINES_CHANGED]
        total.runs_with_tests = acc[TESTS_KNOWN]
        total.tests_passed = acc[TESTS_PASSED]
        total.failures_by_category = {
            category: k for (row, category), k in self.categories.items() if row == key
        }


def no_rates_reason(name: str) -> str:
    """Why events to estimate are unpriced when their model has no rates: none named, or unknown.

    A key of ``UNPRICED_REASONS``; ``name`` is the canonical name of :meth:`Totals.model`.
    Shared with the one-event price (``_event_price``), so both say the same.
    """
    return "no_model" if name == NO_VALUE else "unknown_model"


def reported_usd(units: int) -> Decimal:
    """Return reported cost summed in 1e-10 USD (``_cells``) as exact USD, as every row holds it."""
    return Decimal(units).scaleb(-_COST_DIGITS)


def _rows_of_parts(parts: list[CostSummary], group_by: str, breakdown_by: str) -> list[CostSummary]:
    """Gather breakdown parts (``row SUB part`` keys) into rows that are their sums."""
    by_row: dict[str, list[CostSummary]] = {}
    for part in parts:
        row, _, sub = part.group_key.partition(SUB)
        part.group_key, part.group_by = sub, breakdown_by
        by_row.setdefault(row, []).append(part)
    rows = []
    for row, members in by_row.items():
        members.sort(key=lambda s: (-s.total_cost_usd, not s.cost_known, s.group_key))
        summary = sum_summaries(row, group_by, members, counts=True)
        summary.breakdown = members
        rows.append(summary)
    return rows


def sum_summaries(
    key: str, group_by: str, parts: list[CostSummary], *, counts: bool
) -> CostSummary:
    """Return a summary adding up ``parts``; event counts too when ``counts`` (rows apart)."""
    whole = CostSummary(key, group_by)
    known: set[str] = set()
    for part in parts:
        whole.input_tokens += part.input_tokens
        whole.output_tokens += part.output_tokens
        whole.cache_read_tokens += part.cache_read_tokens
        whole.cache_write_tokens += part.cache_write_tokens
        known |= part.reported_token_fields
        whole.reported_cost_usd += part.reported_cost_usd
        whole.estimated_cost_usd += part.estimated_cost_usd
        whole.split_cost_event_count += part.split_cost_event_count
        whole.cache_write_1h_at_5m_rate_tokens += part.cache_write_1h_at_5m_rate_tokens
        if not counts:
            continue
        whole.event_count += part.event_count
        whole.estimated_event_count += part.estimated_event_count
        whole.unpriced_event_count += part.unpriced_event_count
        whole.invalid_cost_event_count += part.invalid_cost_event_count
        whole.long_context_unknown_event_count += part.long_context_unknown_event_count
        for name, count in part.unknown_models.items():
            whole.unknown_models[name] = whole.unknown_models.get(name, 0) + count
        for reason, count in part.unpriced_reasons.items():
            whole.unpriced_reasons[reason] = whole.unpriced_reasons.get(reason, 0) + count
        whole.runs_with_changes += part.runs_with_changes
        whole.lines_changed += part.lines_changed
        whole.runs_with_tests += part.runs_with_tests
        whole.tests_passed += part.tests_passed
        for category, count in part.failures_by_category.items():
            found = whole.failures_by_category.get(category, 0)
            whole.failures_by_category[category] = found + count
    whole.reported_token_fields = frozenset(known) if parts else frozenset(PRICED_TOKEN_FIELDS)
    return whole


def _summary(key: str, group_by: str, acc: list[int], estimated: Decimal) -> CostSummary:
    return CostSummary(
        group_key=key,
        group_by=group_by,
        event_count=acc[EVENTS],
        input_tokens=acc[INPUT],
        output_tokens=acc[OUTPUT],
        cache_read_tokens=acc[CACHE_READ],
        cache_write_tokens=acc[CACHE_WRITE],
        reported_cost_usd=reported_usd(acc[REPORTED]),
        estimated_cost_usd=estimated,
        estimated_event_count=acc[ESTIMATED],
        unpriced_event_count=acc[UNPRICED],
        invalid_cost_event_count=acc[BAD_COST],
        long_context_unknown_event_count=acc[UNTIERED],
        split_cost_event_count=acc[SPLIT],
        runs_with_changes=acc[CHANGES_KNOWN],
        lines_changed=acc[LINES_CHANGED],
        runs_with_tests=acc[TESTS_KNOWN],
        tests_passed=acc[TESTS_PASSED],
        reported_token_fields=frozenset(
            name for bit, name in enumerate(PRICED_TOKEN_FIELDS) if acc[KNOWN] & (1 << bit)
        ),
    )

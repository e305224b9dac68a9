"""What a cost report holds: one summary per group, their TOTAL, and how money is shown.

Kept apart from the folds that fill them so that a reader of a report (the
CLI, a script, the analytics) imports the shapes without the machinery.
Money is exact ``Decimal`` inside a summary; it is quantized once, to
micro-dollars (:data:`MONEY_QUANTUM`), when a summary is built, so every
amount a caller sees has the same precision (issue 8, item 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final, Literal, get_args

from ._plain import field, plain
from .outputs import cost_per
from .usage import PRICED_TOKEN_FIELDS

__all__ = [
    "GROUP_BYS",
    "MONEY_QUANTUM",
    "NO_VALUE",
    "UNATTRIBUTED",
    "UNPRICED_REASONS",
    "CostReport",
    "CostSummary",
    "GroupBy",
    "apportioned",
    "settle",
]

GroupBy = Literal["agent", "model", "feature", "role", "wp", "feature-wp", "day", "week", "month"]
#: The ways a report can group events.
GROUP_BYS: Final[tuple[str, ...]] = get_args(GroupBy)
#: The group of events that lack the grouped field (no model, no work package).
NO_VALUE: Final = "(none)"
#: The ``--group-by model`` row of reported costs no model share can be credited with.
UNATTRIBUTED: Final = "(unattributed)"
#: Why an event can be unpriced (keys of ``CostSummary.unpriced_reasons``), and what it means.
UNPRICED_REASONS: Final[Mapping[str, str]] = {
    "no_usage": "reported no cost, and not both input and output tokens",
    "invalid_tokens": "reported invalid token counts (not whole numbers >= 0, "
    "cache counts above input or reasoning above output)",
    "no_model": "reported tokens but no model",
    "unknown_model": "used a model no price table lists",
}
#: The precision of every amount of a report: micro-dollars.
MONEY_QUANTUM: Final = Decimal("0.000001")
_MICRO: Final = MONEY_QUANTUM


@plain
class CostSummary:
    """Totals of one group of execution events.

    Token totals add up the valid counts events reported; a token field no
    event of the group reported is absent from ``reported_token_fields`` (and
    ``null`` in ``to_dict``). ``total_cost_usd`` is reported plus estimated
    cost; it excludes the ``unpriced_event_count`` events whose cost is
    unknown, and means nothing when ``cost_known`` is false (no event priced).
    ``unpriced_reasons`` counts those events by reason (keys of
    :data:`UNPRICED_REASONS`); ``unknown_models`` maps each model no pricing
    layer knows to how many of this group's events it left unpriced.
    """

    group_key: str
    group_by: str
    event_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reported_cost_usd: Decimal = Decimal(0)
    estimated_cost_usd: Decimal = Decimal(0)
    estimated_event_count: int = 0
    unpriced_event_count: int = 0
    unknown_models: dict[str, int] = field(default_factory=dict)
    unpriced_reasons: dict[str, int] = field(default_factory=dict)
    #: Events whose reported cost was invalid (negative, not a number, huge): ignored.
    invalid_cost_event_count: int = 0
    #: Estimated events of several requests whose summed input exceeds a long-context
    #: threshold: priced at base rates, as the size of each request is unknown.
    long_context_unknown_event_count: int = 0
    #: 1-hour cache write tokens of estimated events priced at the 5-minute write rate,
    #: because the price table gives their model (or its tier) no 1-hour rate.
    cache_write_1h_at_5m_rate_tokens: int = 0
    #: Multi-model events whose reported cost this row holds a proportional part of.
    split_cost_event_count: int = 0
    reported_token_fields: frozenset[str] = frozenset(PRICED_TOKEN_FIELDS)
    #: With ``breakdown_by``: this row split by a second field, the parts adding up to it.
    breakdown: list[CostSummary] | None = None
    #: Events that recorded their changes, and the lines those changed (added + deleted).
    runs_with_changes: int = 0
    lines_changed: int = 0
    #: Events that recorded test figures, and the tests those passed.
    runs_with_tests: int = 0
    tests_passed: int = 0
    #: Failed events by ``error_category`` (``(none)``: recorded none).
    failures_by_category: dict[str, int] = field(default_factory=dict)
    #: Work packages completed (``completion``, within the report's time bounds) that
    #: this group's events ran on. A work package counts in every row it ran in, so
    #: rows need not add up to the TOTAL, which counts each once.
    completed_work_packages: int = 0

    def __init__(
        self,
        group_key: str,
        group_by: str,
        event_count: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reported_cost_usd: Decimal = Decimal(0),
        estimated_cost_usd: Decimal = Decimal(0),
        estimated_event_count: int = 0,
        unpriced_event_count: int = 0,
        unknown_models: dict[str, int] | None = None,
        unpriced_reasons: dict[str, int] | None = None,
        invalid_cost_event_count: int = 0,
        long_context_unknown_event_count: int = 0,
        cache_write_1h_at_5m_rate_tokens: int = 0,
        split_cost_event_count: int = 0,
        reported_token_fields: frozenset[str] = frozenset(PRICED_TOKEN_FIELDS),
        breakdown: list[CostSummary] | None = None,
        runs_with_changes: int = 0,
        lines_changed: int = 0,
        runs_with_tests: int = 0,
        tests_passed: int = 0,
        failures_by_category: dict[str, int] | None = None,
        completed_work_packages: int = 0,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        self.group_key = group_key
        self.group_by = group_by
        self.event_count = event_count
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_read_tokens = cache_read_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reported_cost_usd = reported_cost_usd
        self.estimated_cost_usd = estimated_cost_usd
        self.estimated_event_count = estimated_event_count
        self.unpriced_event_count = unpriced_event_count
        self.unknown_models = {} if unknown_models is None else unknown_models
        self.unpriced_reasons = {} if unpriced_reasons is None else unpriced_reasons
        self.invalid_cost_event_count = invalid_cost_event_count
        self.long_context_unknown_event_count = long_context_unknown_event_count
        self.cache_write_1h_at_5m_rate_tokens = cache_write_1h_at_5m_rate_tokens
        self.split_cost_event_count = split_cost_event_count
        self.reported_token_fields = reported_token_fields
        self.breakdown = breakdown
        self.runs_with_changes = runs_with_changes
        self.lines_changed = lines_changed
        self.runs_with_tests = runs_with_tests
        self.tests_passed = tests_passed
        self.failures_by_category = {} if failures_by_category is None else failures_by_category
        self.completed_work_packages = completed_work_packages

    @property
    def total_cost_usd(self) -> Decimal:
        """Reported plus estimated cost, in USD."""
        return self.reported_cost_usd + self.estimated_cost_usd

    @property
    def cost_known(self) -> bool:
        """False when the group has events and none of them could be priced."""
        return self.event_count == 0 or self.unpriced_event_count < self.event_count

    @property
    def cost_per_line_changed_usd(self) -> Decimal | None:
        """Cost per line changed; None unless every event recorded its changes (``cost_per``)."""
        return self._per(self.lines_changed, self.runs_with_changes)

    @property
    def cost_per_passing_test_usd(self) -> Decimal | None:
        """Cost per passing test; None unless every event recorded test figures."""
        return self._per(self.tests_passed, self.runs_with_tests)

    @property
    def cost_per_completed_wp_usd(self) -> Decimal | None:
        """Cost per completed work package; None when the group completed none."""
        return self._per(self.completed_work_packages, self.event_count)

    def _per(self, units: int, runs_known: int) -> Decimal | None:
        if not self.cost_known or not self.event_count:
            return None
        return cost_per(self.total_cost_usd, units, runs_known, self.event_count)

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data; money in USD (micro-dollars, as held).

        Cost fields are ``null`` when no event of the group could be priced;
        token fields are ``null`` when no event of the group reported them.
        """
        known = self.cost_known
        tokens = {
            name: getattr(self, name) if name in self.reported_token_fields else None
            for name in PRICED_TOKEN_FIELDS
        }
        return {
            "group_key": self.group_key,
            "group_by": self.group_by,
            "event_count": self.event_count,
            **tokens,
            "reported_cost_usd": _usd(self.reported_cost_usd) if known else None,
            "estimated_cost_usd": _usd(self.estimated_cost_usd) if known else None,
            "total_cost_usd": _usd(self.total_cost_usd) if known else None,
            "estimated_event_count": self.estimated_event_count,
            "unpriced_event_count": self.unpriced_event_count,
            "unknown_models": dict(sorted(self.unknown_models.items())),
            "unpriced_reasons": dict(sorted(self.unpriced_reasons.items())),
            "invalid_cost_event_count": self.invalid_cost_event_count,
            "long_context_unknown_event_count": self.long_context_unknown_event_count,
            "cache_write_1h_at_5m_rate_tokens": self.cache_write_1h_at_5m_rate_tokens,
            "split_cost_event_count": self.split_cost_event_count,
            "runs_with_changes": self.runs_with_changes,
            "lines_changed": self.lines_changed if self.runs_with_changes else None,
            "runs_with_tests": self.runs_with_tests,
            "tests_passed": self.tests_passed if self.runs_with_tests else None,
            "failures_by_category": dict(
                sorted(self.failures_by_category.items(), key=lambda kv: (-kv[1], kv[0]))
            ),
            "completed_work_packages": self.completed_work_packages,
            "cost_per_line_changed_usd": _maybe_usd(self.cost_per_line_changed_usd),
            "cost_per_passing_test_usd": _maybe_usd(self.cost_per_passing_test_usd),
            "cost_per_completed_wp_usd": _maybe_usd(self.cost_per_completed_wp_usd),
            **(
                {}
                if self.breakdown is None
                else {"breakdown": [part.to_dict() for part in self.breakdown]}
            ),
        }


@plain
class CostReport:
    """Summaries sorted by cost (highest first), and the totals over all events."""

    group_by: str
    summaries: list[CostSummary]
    total: CostSummary
    #: The date of the shipped price table.
    prices_last_updated: date | None = None
    #: Where the rates of the estimates came from, e.g. ``shipped table of 2025-11-20``.
    price_sources: list[str] = field(default_factory=list)

    def __init__(
        self,
        group_by: str,
        summaries: list[CostSummary],
        total: CostSummary,
        prices_last_updated: date | None = None,
        price_sources: list[str] | None = None,
    ) -> None:
        # Written out rather than generated: compiling a generated __init__ costs a report
        # about 60 k instructions a field at start-up (see _plain).
        self.group_by = group_by
        self.summaries = summaries
        self.total = total
        self.prices_last_updated = prices_last_updated
        self.price_sources = [] if price_sources is None else price_sources

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data: the ``--json`` output of ``cost``.

        Amounts are the summaries' own, already micro-dollars that add up
        (see :func:`settle`), so the rows still add up to the total exactly.
        """
        return {
            "group_by": self.group_by,
            "summaries": [summary.to_dict() for summary in self.summaries],
            "total": self.total.to_dict(),
            "prices_last_updated": (
                None if self.prices_last_updated is None else self.prices_last_updated.isoformat()
            ),
            "price_sources": list(self.price_sources),
        }


def settle(parts: list[CostSummary], whole: CostSummary) -> None:
    """Quantize the money of ``whole`` and ``parts`` to micro-dollars, the parts adding up.

    ``whole`` is rounded to the nearest micro-dollar; each part is rounded down
    and the micro-dollars left over go to the parts that lost the most (largest
    remainder), for reported and estimated cost alike. Done once, when a
    report is built: every amount a caller sees has the same precision.
    """
    for name in ("reported_cost_usd", "estimated_cost_usd"):
        target = getattr(whole, name).quantize(_MICRO)
        if parts:  # a lone summary (one event's price) has nothing to apportion
            exact = [getattr(part, name) for part in parts]
            for part, amount in zip(parts, apportioned(exact, target), strict=True):
                setattr(part, name, amount)
        setattr(whole, name, target)


def apportioned(amounts: list[Decimal], target: Decimal, unit: Decimal = _MICRO) -> list[Decimal]:
    """Round ``amounts`` to multiples of ``unit`` summing to ``target`` (largest remainder).

    Each amount is rounded down and the units left over go to the amounts that
    lost the most. ``--json`` rounds to micro-dollars; the table, to cents.
    """
    floors = [amount.quantize(unit, rounding=ROUND_FLOOR) for amount in amounts]
    missing = int((target - sum(floors, Decimal(0))) / unit)
    missing = max(0, min(missing, len(floors)))
    by_loss = sorted(range(len(amounts)), key=lambda i: amounts[i] - floors[i], reverse=True)
    for index in by_loss[:missing]:
        floors[index] += unit
    return floors


def _usd(amount: Decimal) -> float:
    return float(amount.quantize(_MICRO))


def _maybe_usd(amount: Decimal | None) -> float | None:
    return None if amount is None else _usd(amount)

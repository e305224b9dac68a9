"""The events a cell cannot hold: several models in one event, or odd grouped fields.

An event with a ``models`` breakdown is priced per model share, and when it
reports one cost for all its models, that cost is split between them in
proportion to the shares' own costs or estimates: prices decide the split,
so such events are kept aside by ``_cells`` and folded here, under the price
table of the report, by the same rules a one-model event follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from ._cells import reported_units
from ._cost_model import NO_VALUE, UNATTRIBUTED
from ._plain import plain
from ._priced import (
    BAD_COST,
    CHANGES_KNOWN,
    ESTIMATED,
    EVENTS,
    KNOWN,
    LINES_CHANGED,
    REPORTED,
    ROW_SLOTS,
    SPLIT,
    TESTS_KNOWN,
    TESTS_PASSED,
    UNTIERED,
    Totals,
)
from ._rates import ModelRates
from .outputs import failure_category, lines_changed, tests_passed
from .usage import (
    CACHE_WRITE_1H_FIELD,
    COST_FIELD,
    PRICED_TOKEN_FIELDS,
    TOKEN_FIELDS,
    counts_valid,
)

__all__ = ["AsideFold"]

TOKEN_SLOTS: Final = (1, 2, 3, 4)  # the row slots of PRICED_TOKEN_FIELDS


@plain
class Usage:
    """The token counts of an event (or of one model's share of it), checked."""

    #: PRICED_TOKEN_FIELDS, then the 1-hour cache writes (``usage.CACHE_WRITE_1H_FIELD``,
    #: part of the cache writes); unknown counts as 0.
    counts: tuple[int, int, int, int, int]
    known: int  # bit i: PRICED_TOKEN_FIELDS[i] was reported
    valid: bool
    complete: bool  # input and output both known

    @classmethod
    def of(cls, usage: Mapping[str, Any]) -> Usage:
        get = usage.get
        if not counts_valid(
            get(TOKEN_FIELDS[0]),
            get(TOKEN_FIELDS[1]),
            get(TOKEN_FIELDS[2]),
            get(TOKEN_FIELDS[3]),
            get(TOKEN_FIELDS[4]),
            get(CACHE_WRITE_1H_FIELD),
        ):
            return cls((0, 0, 0, 0, 0), 0, False, False)
        raw = [usage.get(name) for name in PRICED_TOKEN_FIELDS]
        known = sum(1 << i for i, value in enumerate(raw) if value is not None)
        counts = tuple(value or 0 for value in (*raw, usage.get(CACHE_WRITE_1H_FIELD)))
        return cls(counts, known, True, raw[0] is not None and raw[1] is not None)  # type: ignore[arg-type]

    @classmethod
    def summed(cls, parts: list[Usage]) -> Usage:
        """Add up complete, valid shares; a count is known only if every share knew it."""
        counts = tuple(sum(part.counts[i] for part in parts) for i in range(5))
        known = 0b1111
        for part in parts:
            known &= part.known
        return cls(counts, known, True, True)  # type: ignore[arg-type]


@plain
class Share:
    """One model's part of an event: its row name, usage and how it is priced."""

    name: str
    usage: Usage
    reported: int | None = None  # its own sane reported cost, 1e-10 USD
    rates: ModelRates | None = None
    tier: int = 0
    untiered: bool = False
    problem: str | None = None  # why it cannot be estimated (a key of UNPRICED_REASONS)


@plain
class Outcome:
    """How one event is priced: by its reported cost, estimated per share, or not at all."""

    usage: Usage
    shares: list[Share]
    has_breakdown: bool
    reported: int | None = None  # the event's own sane reported cost
    bad_cost: bool = False
    reason: str | None = None  # set: the event is unpriced
    unknown: tuple[str, ...] = ()
    #: What the event produced (``outputs``): lines changed, tests passed, failure category.
    lines: int | None = None
    passed: int | None = None
    category: str | None = None


_REASON_ORDER: Final = ("invalid_tokens", "no_usage", "no_model", "unknown_model")


class AsideFold:
    """Fold aside records into a report's :class:`~._priced.Totals`."""

    def __init__(self, totals: Totals) -> None:
        self.totals = totals

    def add(self, key: str, record: Mapping[str, Any]) -> None:
        """Add a whole event to one row (every grouping but ``model``)."""
        self._add(self.totals.acc(key), key, self._outcome(record["payload"]))

    def add_by_model(
        self, record: Mapping[str, Any], prefix: str = "", suffix: str = "", row: str = ""
    ) -> list[str]:
        """Add an event to its models' rows (``prefix + model + suffix``), and to the TOTAL.

        With ``row`` (a breakdown by model) the event is counted once in that
        row's event-level counts too. Returns the keys of the rows it went to.
        """
        totals = self.totals
        if totals.total is None:
            totals.total = [0] * ROW_SLOTS
        outcome = self._outcome(record["payload"])
        self._count_event(totals.total, "", outcome)
        if row:
            self._count_event(totals.event_acc(row), row, outcome)
        if not outcome.has_breakdown:
            key = prefix + outcome.shares[0].name + suffix
            self._add(totals.acc(key), key, outcome)
            return [key]
        return self._add_shares(outcome, prefix, suffix)

    def _estimate(self, key: str, share: Share) -> None:
        assert share.rates is not None
        self.totals.estimate(key, share.name, share.rates, share.tier, list(share.usage.counts))

    def _outcome(self, payload: Mapping[str, Any]) -> Outcome:
        """Decide how an event is priced (the rules :meth:`add_by` inlines, and breakdowns)."""
        usage = Usage.of(payload)
        breakdown = payload.get("models")
        has_breakdown = bool(breakdown) and type(breakdown) is dict
        turns = payload.get("num_turns")
        one_request = type(turns) is int and turns == 1
        if has_breakdown:
            assert isinstance(breakdown, dict)
            shares = [
                self._share(name, part if isinstance(part, Mapping) else {}, one_request)
                for name, part in breakdown.items()
            ]
            if len(shares) > 1:  # one turn of several models is several requests
                for share in shares:
                    share.tier, share.untiered = self._tier(share, False)
            if usage.known == 0 and all(s.usage.complete for s in shares):
                # Another tool wrote only the per-model counts: they are the totals.
                usage = Usage.summed([share.usage for share in shares])
        else:
            shares = [self._share(payload.get("model"), payload, one_request, usage)]
            shares[0].reported = None  # the event's cost is the event's, below
        outcome = Outcome(usage, shares, has_breakdown)
        outcome.lines = lines_changed(payload)
        outcome.passed = tests_passed(payload)
        outcome.category = failure_category(payload)
        cost = payload.get(COST_FIELD)
        if cost is not None:
            outcome.reported = reported_units(cost)
            outcome.bad_cost = outcome.reported is None
        if has_breakdown and any(
            part.get(COST_FIELD) is not None and reported_units(part.get(COST_FIELD)) is None
            for part in breakdown.values()  # type: ignore[union-attr]
            if isinstance(part, Mapping)
        ):
            outcome.bad_cost = True
        if outcome.reported is not None:
            return outcome
        if not usage.valid:
            outcome.reason = "invalid_tokens"
        elif not usage.complete and not has_breakdown:
            outcome.reason = "no_usage"
        # Else each share is priced by its own cost or counts: an event of several
        # models is unpriced only for what a share lacks, whatever counts it has itself.
        else:
            problems = {s.problem for s in shares if s.reported is None and s.problem}
            for reason in _REASON_ORDER:
                if reason in problems:
                    outcome.reason = reason
                    break
            if outcome.reason == "unknown_model":
                outcome.unknown = tuple(
                    dict.fromkeys(
                        s.name for s in shares if s.reported is None and s.problem == reason
                    )
                )
        return outcome

    def _share(
        self,
        raw_name: object,
        part: Mapping[str, Any],
        one_request: bool,
        usage: Usage | None = None,
    ) -> Share:
        name, rates = self.totals.model(raw_name)
        share = Share(name, usage or Usage.of(part), reported_units(part.get(COST_FIELD)))
        if not share.usage.valid:
            share.problem = "invalid_tokens"
        elif not share.usage.complete:
            share.problem = "no_usage"
        elif rates is None:
            share.problem = "no_model" if name == NO_VALUE else "unknown_model"
        else:
            share.rates = rates
            share.tier, share.untiered = self._tier(share, one_request)
        return share

    @staticmethod
    def _tier(share: Share, one_request: bool) -> tuple[int, bool]:
        """Price tier of a share: long-context rates only for what is known to be one request."""
        rates = share.rates
        if rates is None or not rates.tiers:
            return 0, False
        tokens_in = share.usage.counts[0]
        if one_request:
            return rates.tier_for(tokens_in), False
        return 0, tokens_in > rates.tiers[0].above_input_tokens

    def _count_event(
        self, acc: list[int], key: str, outcome: Outcome, share: Share | None = None
    ) -> None:
        """Count an event in a row (for ``share``'s model): events, how it was priced, why not.

        What the event produced is counted wherever the event is.
        """
        acc[EVENTS] += 1
        if outcome.lines is not None:
            acc[CHANGES_KNOWN] += 1
            acc[LINES_CHANGED] += outcome.lines
        if outcome.passed is not None:
            acc[TESTS_KNOWN] += 1
            acc[TESTS_PASSED] += outcome.passed
        if outcome.category is not None:
            self.totals.count_category(key, outcome.category)
        if outcome.bad_cost:
            acc[BAD_COST] += 1
        if outcome.reason is not None:
            self.totals.count_reason(acc, key, outcome.reason)
            for name in outcome.unknown:
                self.totals.count_unknown(key, name)
        elif outcome.reported is None:
            estimated = [
                s for s in (outcome.shares if share is None else [share]) if s.reported is None
            ]
            if estimated:
                acc[ESTIMATED] += 1
            if any(s.untiered for s in estimated):
                acc[UNTIERED] += 1

    def _add(self, acc: list[int], key: str, outcome: Outcome) -> None:
        """Add a whole event to one row: its own token counts, and its cost."""
        self._count_event(acc, key, outcome)
        usage = outcome.usage
        if usage.valid:
            for slot, count in zip(TOKEN_SLOTS, usage.counts[:4], strict=True):
                acc[slot] += count
            acc[KNOWN] |= usage.known
        if outcome.reported is not None:
            acc[REPORTED] += outcome.reported
        elif outcome.reason is None:
            for share in outcome.shares:
                if share.reported is not None:
                    acc[REPORTED] += share.reported
                else:
                    self._estimate(key, share)

    def _add_shares(self, outcome: Outcome, prefix: str, suffix: str) -> list[str]:
        """Add a multi-model event to its models' rows; costs add up to the event's cost."""
        shares = outcome.shares
        portions = self._split(outcome) if outcome.reported is not None else None
        # Shares whose own costs make up the event's cost exactly are not an approximation.
        approximate = len(shares) > 1 and not (
            portions is not None
            and all(s.reported is not None for s in shares)
            and sum(s.reported or 0 for s in shares) == outcome.reported
        )
        keys = []
        for number, share in enumerate(shares):
            key = prefix + share.name + suffix
            keys.append(key)
            acc = self.totals.acc(key)
            self._count_event(acc, key, outcome, share)
            if share.usage.valid:
                for slot, count in zip(TOKEN_SLOTS, share.usage.counts[:4], strict=True):
                    acc[slot] += count
                acc[KNOWN] |= share.usage.known
            if outcome.reason is not None:
                continue
            if portions is not None:
                acc[REPORTED] += portions[number]
                if approximate and portions[number]:
                    acc[SPLIT] += 1
            elif outcome.reported is None:
                if share.reported is not None:
                    acc[REPORTED] += share.reported
                else:
                    self._estimate(key, share)
        if outcome.reported is not None and portions is None:
            acc = self.totals.acc(prefix + UNATTRIBUTED + suffix)
            acc[EVENTS] += 1
            acc[REPORTED] += outcome.reported
            keys.append(prefix + UNATTRIBUTED + suffix)
        return keys

    def _split(self, outcome: Outcome) -> list[int] | None:
        """Split an event's reported cost over its shares, exactly; None if nothing says how.

        Weights: the shares' own reported costs, else (per share) their
        estimates; else their input plus output tokens. The rounding remainder
        goes to the heaviest share, so the parts add up to the event's cost.
        """
        assert outcome.reported is not None
        shares = outcome.shares
        if len(shares) == 1:
            return [outcome.reported]
        weights: list[Decimal] = []
        for share in shares:
            if share.reported is not None:
                weights.append(Decimal(share.reported).scaleb(-10))
            elif share.rates is not None:
                weights.append(share.rates.cost(*share.usage.counts, tier=share.tier))
        if len(weights) < len(shares) or sum(weights) <= 0:
            if not all(s.usage.complete for s in shares):
                return None
            weights = [Decimal(s.usage.counts[0] + s.usage.counts[1]) for s in shares]
        whole = sum(weights)
        if whole <= 0:
            return None
        portions = [int(outcome.reported * weight / whole) for weight in weights]
        portions[weights.index(max(weights))] += outcome.reported - sum(portions)
        return portions

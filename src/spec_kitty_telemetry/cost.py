"""What agents cost: a streaming fold of execution events into per-group totals.

Only ``ExecutionEvent`` events count. An event's cost is the ``cost_usd`` it
reports (an explicit 0.0 included) when that is a sane amount; otherwise, when
its input and output token counts are known and valid, the cost is estimated
from pricing; otherwise, or when no pricing layer knows its model, the event
is *unpriced*: its cost is unknown, it adds nothing to the totals, and the
summary says why (``unpriced_reasons``) and which models (``unknown_models``).

Logs may come from other tools, so nothing is trusted: counts and costs are
judged by the rules every writer uses (:mod:`spec_kitty_telemetry.usage`:
whole numbers in 0..2**63-1, cache counts within ``input_tokens``, reasoning
within ``output_tokens``, a cost from 0 to under ``usage.MAX_COST_USD``), so a
record ``emit`` accepts is never flagged here. An event with invalid counts
adds no tokens; an invalid cost is counted and ignored.

The fold holds one accumulator per group, never the events, and keeps money
exact: reported costs are summed as integers of 1e-10 USD, and estimated costs
are computed once per group, model and price tier from summed token counts,
in ``Decimal``. A million events cost one pass and no float drift.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from ._lines import utc_timestamp
from ._rates import ModelRates
from .errors import QueryError
from .store import EventStore
from .usage import COST_FIELD, PRICED_TOKEN_FIELDS, TOKEN_FIELDS, counts_valid, is_cost

if TYPE_CHECKING:
    from .events import Event
    from .pricing import Pricing
    from .query import EventFilter

__all__ = [
    "GROUP_BYS",
    "NO_VALUE",
    "UNATTRIBUTED",
    "UNPRICED_REASONS",
    "CostReport",
    "CostSummary",
    "GroupBy",
    "RunningTotal",
    "apportioned",
    "cost_report",
    "cost_summary",
    "project_cost_report",
]

GroupBy = Literal["agent", "model", "feature", "role", "wp", "day"]
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

_EXECUTION_EVENT: Final = "ExecutionEvent"
_COST_DIGITS: Final = 10
_COST_UNITS: Final = 10**_COST_DIGITS  # reported costs are summed in 1e-10 USD
_MICRO: Final = Decimal("0.000001")

# Accumulator slots, a list of ints per group (the fastest thing to fold into).
_SLOTS: Final = 12
(
    _EVENTS,
    _INPUT,
    _OUTPUT,
    _CACHE_READ,
    _CACHE_WRITE,
    _REPORTED,  # reported cost, 1e-10 USD
    _ESTIMATED,  # events (or shares) estimated from tokens
    _UNPRICED,  # events whose cost is unknown
    _KNOWN,  # bit i set: some event reported PRICED_TOKEN_FIELDS[i] (OR-ed, not summed)
    _BAD_COST,  # events whose reported cost was not a sane amount
    _UNTIERED,  # estimated at base rates though their summed input is above a tier
    _SPLIT,  # events whose reported cost was split across their models
) = range(_SLOTS)
_TOKEN_SLOTS: Final = (_INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE)


@dataclass
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
    #: Multi-model events whose reported cost this row holds a proportional part of.
    split_cost_event_count: int = 0
    reported_token_fields: frozenset[str] = frozenset(PRICED_TOKEN_FIELDS)

    @property
    def total_cost_usd(self) -> Decimal:
        """Reported plus estimated cost, in USD."""
        return self.reported_cost_usd + self.estimated_cost_usd

    @property
    def cost_known(self) -> bool:
        """False when the group has events and none of them could be priced."""
        return self.event_count == 0 or self.unpriced_event_count < self.event_count

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data; money in USD rounded to micro-dollars.

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
            "split_cost_event_count": self.split_cost_event_count,
        }


@dataclass
class CostReport:
    """Summaries sorted by cost (highest first), and the totals over all events."""

    group_by: str
    summaries: list[CostSummary]
    total: CostSummary
    #: The date of the shipped price table.
    prices_last_updated: date | None = None
    #: Where the rates of the estimates came from, e.g. ``shipped table of 2025-11-20``.
    price_sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data: the ``--json`` output of ``cost``.

        Money is rounded to micro-dollars so that the rows still add up to the
        total exactly: each row is rounded down and the micro-dollars left over
        go to the rows that lost the most (largest remainders).
        """
        rows = [summary.to_dict() for summary in self.summaries]
        total = self.total.to_dict()
        for name in ("reported_cost_usd", "estimated_cost_usd"):
            exact = [getattr(summary, name) for summary in self.summaries]
            target = getattr(self.total, name).quantize(_MICRO)
            for row, summary, amount in zip(
                rows, self.summaries, apportioned(exact, target), strict=True
            ):
                if summary.cost_known:
                    row[name] = float(amount)
            if self.total.cost_known:
                total[name] = float(target)
        for row, summary in zip([*rows, total], [*self.summaries, self.total], strict=True):
            if summary.cost_known:
                row["total_cost_usd"] = float(
                    Decimal(str(row["reported_cost_usd"])) + Decimal(str(row["estimated_cost_usd"]))
                )
        return {
            "group_by": self.group_by,
            "summaries": rows,
            "total": total,
            "prices_last_updated": (
                None if self.prices_last_updated is None else self.prices_last_updated.isoformat()
            ),
            "price_sources": list(self.price_sources),
        }


def cost_summary(
    events: Iterable[Event | Mapping[str, Any]] | EventStore,
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
) -> list[CostSummary]:
    """Fold events into per-group cost summaries, sorted by total cost, highest first.

    ``events`` are Events or their stored records (what ``iter_project_records``
    and ``EventStore.iter_records`` yield, which is much faster to fold), or
    an :class:`~spec_kitty_telemetry.store.EventStore`, whose records are
    folded. ``group_by`` is one of
    :data:`GROUP_BYS`. ``pricing`` defaults to the shipped table and catalogue.
    """
    return cost_report(events, group_by, pricing=pricing).summaries


def cost_report(
    events: Iterable[Event | Mapping[str, Any]] | EventStore,
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
) -> CostReport:
    """Like :func:`cost_summary`, with the totals over all events."""
    if group_by not in GROUP_BYS:
        raise QueryError(
            f"unknown group {group_by!r} (choose from {', '.join(GROUP_BYS)})",
            parameter="group_by",
        )
    if pricing is None:
        from .pricing import load_pricing

        pricing = load_pricing()
    fold = _Fold(pricing)
    records = _as_records(events)
    if group_by == "model":
        fold.add_by_model(records)
    else:
        fold.add_by(records, group_by)
    return fold.report(group_by)


class RunningTotal:
    """The TOTAL row of a cost report fed in pieces, for a reader splitting one stream.

    ``timeline`` replays a log once and sends each invocation to the phases it
    ran in; it keeps one of these per phase instead of each phase's records.
    Adding records in several calls gives the total one report over all of them gives.
    """

    def __init__(self, pricing: Pricing) -> None:
        self._fold = _Fold(pricing)

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Fold more records in."""
        self._fold.add_by(records, "feature")

    def total(self) -> CostSummary:
        """Return the TOTAL row of ``cost_report`` over every record added."""
        return self._fold.report("feature").total


def _as_records(
    events: Iterable[Event | Mapping[str, Any]] | EventStore,
) -> Iterable[Mapping[str, Any]]:
    """Turn events into records; a stream of plain dicts passes through untouched (hot path)."""
    if isinstance(events, EventStore):
        return events.iter_records()
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        return ()
    if type(first) is dict:
        return itertools.chain((first,), iterator)  # type: ignore[arg-type]
    return (
        e if isinstance(e, Mapping) else e.to_dict() for e in itertools.chain((first,), iterator)
    )


def project_cost_report(
    repo_root: str | Path,
    filters: EventFilter | None = None,
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
    workers: int | None = 1,
) -> CostReport:
    """Report the cost of every feature of a project; the ``cost`` command.

    Pricing defaults to the project's: its overrides, the shipped table, the
    catalogue. ``workers`` > 1 folds the feature logs in that many forked
    processes and merges their totals (``None``: one per CPU, for large
    projects only); the default, 1, starts no process, which suits library
    callers in threaded hosts.
    """
    from .pricing import load_pricing
    from .project import project_stores
    from .query import iter_feature_records

    if group_by not in GROUP_BYS:  # fail before reading anything
        return cost_report((), group_by)
    if pricing is None:
        pricing = load_pricing(repo_root)
    select = None if filters is None or not filters.features else filters.selects_feature
    stores: list[EventStore] = [store for _slug, store in project_stores(repo_root, select)]
    shares = _shares(stores, workers)
    if len(shares) < 2:
        records = itertools.chain.from_iterable(
            iter_feature_records(store, filters) for store in stores
        )
        return cost_report(records, group_by, pricing=pricing)
    return _parallel_report(stores, shares, filters, group_by, pricing)


#: Below this many bytes of logs, forking costs more than it saves.
_PARALLEL_MIN_BYTES: Final = 32 << 20


def _size(store: EventStore) -> int:
    """Return the bytes a read of the store goes through (known for a log file; else 0)."""
    from .jsonl_store import SimpleJsonStore

    if not isinstance(store, SimpleJsonStore):
        return 0
    try:
        return store.path.stat().st_size
    except OSError:
        return 0


def _shares(stores: list[EventStore], workers: int | None) -> list[list[int]]:
    """Split stores (by index) into per-worker shares of similar size; one share means fold here."""
    import os

    sizes = [_size(store) for store in stores]
    if workers is None:
        workers = (os.cpu_count() or 1) if sum(sizes) >= _PARALLEL_MIN_BYTES else 1
    workers = min(workers, len(stores))
    # fork is cheap and needs no pickling of the pricing; elsewhere it is unsafe or absent.
    if workers < 2 or not sys.platform.startswith("linux"):
        return [list(range(len(stores)))]
    shares: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for index in sorted(range(len(stores)), key=lambda i: sizes[i], reverse=True):
        lightest = loads.index(min(loads))
        shares[lightest].append(index)
        loads[lightest] += sizes[index]
    return shares


# Set in each forked worker by _start_worker (inherited, never pickled).
_worker_setup: tuple[list[EventStore], EventFilter | None, str, Pricing] | None = None


def _start_worker(
    stores: list[EventStore], filters: EventFilter | None, group_by: str, pricing: Pricing
) -> None:
    global _worker_setup
    _worker_setup = (stores, filters, group_by, pricing)


def _fold_share(share: list[int]) -> _FoldState:
    """Fold some stores (their indexes) in a worker; return the accumulators to merge."""
    from .query import iter_feature_records

    assert _worker_setup is not None
    stores, filters, group_by, pricing = _worker_setup
    fold = _Fold(pricing)
    records = itertools.chain.from_iterable(
        iter_feature_records(stores[index], filters) for index in share
    )
    if group_by == "model":
        fold.add_by_model(records)
    else:
        fold.add_by(records, group_by)
    return fold.state()


def _parallel_report(
    stores: list[EventStore],
    shares: list[list[int]],
    filters: EventFilter | None,
    group_by: str,
    pricing: Pricing,
) -> CostReport:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        len(shares),
        mp_context=context,
        initializer=_start_worker,
        initargs=(stores, filters, group_by, pricing),
    ) as pool:
        states = list(pool.map(_fold_share, shares))
    fold = _Fold(pricing)
    for state in states:
        fold.merge(state)
    return fold.report(group_by)


def _day(record: Mapping[str, Any]) -> str:
    """Return the UTC date of an event from its stored timestamp (cheap when already UTC)."""
    stamp = record["timestamp"]
    # YYYY-MM-DD...+00:00, as every writer we know writes it; other ISO shapes
    # (20251103T..., week dates) and zones are parsed.
    if (stamp.endswith("+00:00") or stamp.endswith("Z")) and stamp[4:5] == stamp[7:8] == "-":
        return str(stamp[:10])
    try:
        return utc_timestamp(stamp).date().isoformat()
    except ValueError:
        return NO_VALUE


#: Groups read from a payload field, by the field's name.
_PAYLOAD_GROUPS: Final = {"agent": "agent", "role": "role", "wp": "wp_id"}


def _reported_units(cost: object) -> int | None:
    """Return a reported cost in 1e-10 USD; None when not a valid cost (NaN, -1, 1e300, "1")."""
    if not is_cost(cost):
        return None
    assert isinstance(cost, int | float)  # what JSON holds; is_cost took it for a real number
    return round(cost * _COST_UNITS) if cost < _FLOAT_EXACT else _units_of_large(cost)


#: Below this, ``round(cost * 1e10)`` of a float is its exact decimal value in 1e-10 USD
#: (the product stays far enough under 2**53 that float error cannot move the rounding).
_FLOAT_EXACT: Final = 100_000


def _units_of_large(cost: float) -> int:
    """Exact 1e-10 USD units of a large reported cost, from its shortest decimal repr."""
    return round(Decimal(repr(cost)).scaleb(_COST_DIGITS))


@dataclass
class _Usage:
    """The token counts of an event (or of one model's share of it), checked."""

    counts: tuple[int, int, int, int]  # unknown counts as 0
    known: int  # bit i: PRICED_TOKEN_FIELDS[i] was reported
    valid: bool
    complete: bool  # input and output both known

    @classmethod
    def of(cls, usage: Mapping[str, Any]) -> _Usage:
        if not counts_valid(*map(usage.get, TOKEN_FIELDS)):
            return cls((0, 0, 0, 0), 0, False, False)
        raw = [usage.get(name) for name in PRICED_TOKEN_FIELDS]
        known = sum(1 << i for i, value in enumerate(raw) if value is not None)
        counts = tuple(value or 0 for value in raw)
        return cls(counts, known, True, raw[0] is not None and raw[1] is not None)  # type: ignore[arg-type]

    @classmethod
    def summed(cls, parts: list[_Usage]) -> _Usage:
        """Add up complete, valid shares; a count is known only if every share knew it."""
        counts = tuple(sum(part.counts[i] for part in parts) for i in range(4))
        known = 0b1111
        for part in parts:
            known &= part.known
        return cls(counts, known, True, True)  # type: ignore[arg-type]


@dataclass
class _Share:
    """One model's part of an event: its row name, usage and how it is priced."""

    name: str
    usage: _Usage
    reported: int | None = None  # its own sane reported cost, 1e-10 USD
    rates: ModelRates | None = None
    tier: int = 0
    untiered: bool = False
    problem: str | None = None  # why it cannot be estimated (a key of UNPRICED_REASONS)


@dataclass
class _Outcome:
    """How one event is priced: by its reported cost, estimated per share, or not at all."""

    usage: _Usage
    shares: list[_Share]
    has_breakdown: bool
    reported: int | None = None  # the event's own sane reported cost
    bad_cost: bool = False
    reason: str | None = None  # set: the event is unpriced
    unknown: tuple[str, ...] = ()


_REASON_ORDER: Final = ("invalid_tokens", "no_usage", "no_model", "unknown_model")

_FoldState = tuple[
    dict[str, list[int]],
    dict[tuple[str, str, int], list[int]],
    dict[str, ModelRates],
    dict[tuple[str, str], int],
    dict[tuple[str, str], int],
    list[int] | None,
]


class _Fold:
    """Per-group accumulators, estimation buckets and unpriced counts of one report."""

    def __init__(self, pricing: Pricing) -> None:
        self.pricing = pricing
        self.groups: dict[str, list[int]] = {}
        # (group, canonical model, tier) -> [input, output, cache read, cache write] token sums
        self.buckets: dict[tuple[str, str, int], list[int]] = {}
        self.bucket_rates: dict[str, ModelRates] = {}
        # (group, canonical model) -> events left unpriced because the model has no rates
        self.unknown: dict[tuple[str, str], int] = {}
        # (group, reason) -> unpriced events
        self.reasons: dict[tuple[str, str], int] = {}
        self.models: dict[str, tuple[str, ModelRates | None, tuple[int, ...]]] = {}
        self.total: list[int] | None = None  # event-level counts, when rows are not events

    def add_by(self, records: Iterable[Mapping[str, Any]], group_by: str) -> None:
        """Fold records grouped by an event field (every grouping but ``model``).

        This loop runs once per event of the project, so the common case (no
        per-model breakdown) is written out by hand: locals instead of
        attributes, no calls on the common paths. It does what :meth:`_add`
        does; tests hold the two to the same totals.
        """
        groups = self.groups
        buckets = self.buckets
        models = self.models
        reasons = self.reasons
        field_name = _PAYLOAD_GROUPS.get(group_by)
        by_feature = group_by == "feature"
        units = _COST_UNITS
        exact = _FLOAT_EXACT
        f_in, f_out, f_read, f_write, f_reasoning = TOKEN_FIELDS
        for record in records:
            if record["event_type"] != _EXECUTION_EVENT:
                continue
            payload = record["payload"]
            if field_name is not None:
                key = payload.get(field_name)
                if type(key) is not str or not key:
                    key = NO_VALUE
            elif by_feature:
                key = record["aggregate_id"]
            else:
                key = _day(record)
            acc = groups.get(key)
            if acc is None:
                acc = groups[key] = [0] * _SLOTS
            breakdown = payload.get("models")
            if breakdown and type(breakdown) is dict:
                self._add(acc, key, self._outcome(payload))
                continue
            acc[0] += 1  # _EVENTS
            tokens_in = payload.get(f_in)
            tokens_out = payload.get(f_out)
            cache_read = payload.get(f_read)
            cache_write = payload.get(f_write)
            # The writers' rule (usage.py), so what emit stores is never flagged here.
            valid = counts_valid(
                tokens_in, tokens_out, cache_read, cache_write, payload.get(f_reasoning)
            )
            if valid:
                if cache_read is None:
                    cache_read = 0
                    known = 0
                else:
                    known = 4
                if cache_write is None:
                    cache_write = 0
                else:
                    known |= 8
                if tokens_in is not None:
                    known |= 1
                    acc[1] += tokens_in
                if tokens_out is not None:
                    known |= 2
                    acc[2] += tokens_out
                acc[3] += cache_read
                acc[4] += cache_write
                acc[8] |= known  # _KNOWN
            cost = payload.get(COST_FIELD)
            if cost is not None:
                if is_cost(cost):  # the writers' rule (usage.py)
                    # _REPORTED; float products are exact to the unit below _FLOAT_EXACT
                    acc[5] += round(cost * units) if cost < exact else _units_of_large(cost)
                    continue
                acc[9] += 1  # _BAD_COST
            if not valid:
                reason = "invalid_tokens"
            elif tokens_in is None or tokens_out is None:
                reason = "no_usage"
            else:
                model = payload.get("model")
                found = models.get(model) if type(model) is str else None
                if found is None:
                    found = self._model(model)
                name, rates, thresholds = found
                if rates is not None:
                    acc[6] += 1  # _ESTIMATED
                    tier = 0
                    if thresholds:
                        turns = payload.get("num_turns")
                        if type(turns) is int and turns == 1:
                            for threshold in thresholds:
                                if tokens_in > threshold:
                                    tier += 1
                        elif tokens_in > thresholds[0]:
                            acc[10] += 1  # _UNTIERED
                    bucket_key = (key, name, tier)
                    bucket = buckets.get(bucket_key)
                    if bucket is None:
                        bucket = buckets[bucket_key] = [0, 0, 0, 0]
                        self.bucket_rates[name] = rates
                    bucket[0] += tokens_in
                    bucket[1] += tokens_out
                    bucket[2] += cache_read
                    bucket[3] += cache_write
                    continue
                if name == NO_VALUE:
                    reason = "no_model"
                else:
                    reason = "unknown_model"
                    unknown_key = (key, name)
                    self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + 1
            acc[7] += 1  # _UNPRICED
            reason_key = (key, reason)
            reasons[reason_key] = reasons.get(reason_key, 0) + 1

    def add_by_model(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Fold records into one row per canonical model (a multi-model event in several)."""
        total = self.total = [0] * _SLOTS
        for record in records:
            if record["event_type"] != _EXECUTION_EVENT:
                continue
            outcome = self._outcome(record["payload"])
            self._count_event(total, "", outcome)
            if not outcome.has_breakdown:
                self._add(self._acc(outcome.shares[0].name), outcome.shares[0].name, outcome)
                continue
            self._add_shares(outcome)

    def _acc(self, key: str) -> list[int]:
        acc = self.groups.get(key)
        if acc is None:
            acc = self.groups[key] = [0] * _SLOTS
        return acc

    def _outcome(self, payload: Mapping[str, Any]) -> _Outcome:
        """Decide how an event is priced (the rules :meth:`add_by` inlines, and breakdowns)."""
        usage = _Usage.of(payload)
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
                usage = _Usage.summed([share.usage for share in shares])
        else:
            shares = [self._share(payload.get("model"), payload, one_request, usage)]
            shares[0].reported = None  # the event's cost is the event's, below
        outcome = _Outcome(usage, shares, has_breakdown)
        cost = payload.get(COST_FIELD)
        if cost is not None:
            outcome.reported = _reported_units(cost)
            outcome.bad_cost = outcome.reported is None
        if has_breakdown and any(
            part.get(COST_FIELD) is not None and _reported_units(part.get(COST_FIELD)) is None
            for part in breakdown.values()  # type: ignore[union-attr]
            if isinstance(part, Mapping)
        ):
            outcome.bad_cost = True
        if outcome.reported is not None:
            return outcome
        if not usage.valid:
            outcome.reason = "invalid_tokens"
        elif not usage.complete:
            outcome.reason = "no_usage"
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
        usage: _Usage | None = None,
    ) -> _Share:
        name, rates, _thresholds = self._model(raw_name)
        share = _Share(name, usage or _Usage.of(part), _reported_units(part.get(COST_FIELD)))
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
    def _tier(share: _Share, one_request: bool) -> tuple[int, bool]:
        """Price tier of a share: long-context rates only for what is known to be one request."""
        rates = share.rates
        if rates is None or not rates.tiers:
            return 0, False
        tokens_in = share.usage.counts[0]
        if one_request:
            return rates.tier_for(tokens_in), False
        return 0, tokens_in > rates.tiers[0].above_input_tokens

    def _count_event(
        self, acc: list[int], key: str, outcome: _Outcome, share: _Share | None = None
    ) -> None:
        """Count an event in a row (for ``share``'s model): events, how it was priced, why not."""
        acc[_EVENTS] += 1
        if outcome.bad_cost:
            acc[_BAD_COST] += 1
        if outcome.reason is not None:
            acc[_UNPRICED] += 1
            reason_key = (key, outcome.reason)
            self.reasons[reason_key] = self.reasons.get(reason_key, 0) + 1
            for name in outcome.unknown:
                unknown_key = (key, name)
                self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + 1
        elif outcome.reported is None:
            estimated = [
                s for s in (outcome.shares if share is None else [share]) if s.reported is None
            ]
            if estimated:
                acc[_ESTIMATED] += 1
            if any(s.untiered for s in estimated):
                acc[_UNTIERED] += 1

    def _add(self, acc: list[int], key: str, outcome: _Outcome) -> None:
        """Add a whole event to one row: its own token counts, and its cost."""
        self._count_event(acc, key, outcome)
        usage = outcome.usage
        if usage.valid:
            for slot, count in zip(_TOKEN_SLOTS, usage.counts, strict=True):
                acc[slot] += count
            acc[_KNOWN] |= usage.known
        if outcome.reported is not None:
            acc[_REPORTED] += outcome.reported
        elif outcome.reason is None:
            for share in outcome.shares:
                if share.reported is not None:
                    acc[_REPORTED] += share.reported
                else:
                    self._estimate(key, share)

    def _add_shares(self, outcome: _Outcome) -> None:
        """Add a multi-model event to its models' rows; costs add up to the event's cost."""
        shares = outcome.shares
        portions = self._split(outcome) if outcome.reported is not None else None
        # Shares whose own costs make up the event's cost exactly are not an approximation.
        approximate = len(shares) > 1 and not (
            portions is not None
            and all(s.reported is not None for s in shares)
            and sum(s.reported or 0 for s in shares) == outcome.reported
        )
        for number, share in enumerate(shares):
            key = share.name
            acc = self._acc(key)
            self._count_event(acc, key, outcome, share)
            if share.usage.valid:
                for slot, count in zip(_TOKEN_SLOTS, share.usage.counts, strict=True):
                    acc[slot] += count
                acc[_KNOWN] |= share.usage.known
            if outcome.reason is not None:
                continue
            if portions is not None:
                acc[_REPORTED] += portions[number]
                if approximate and portions[number]:
                    acc[_SPLIT] += 1
            elif outcome.reported is None:
                if share.reported is not None:
                    acc[_REPORTED] += share.reported
                else:
                    self._estimate(key, share)
        if outcome.reported is not None and portions is None:
            acc = self._acc(UNATTRIBUTED)
            acc[_EVENTS] += 1
            acc[_REPORTED] += outcome.reported

    def _split(self, outcome: _Outcome) -> list[int] | None:
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
                weights.append(Decimal(share.reported).scaleb(-_COST_DIGITS))
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

    def _estimate(self, key: str, share: _Share) -> None:
        assert share.rates is not None
        bucket_key = (key, share.name, share.tier)
        bucket = self.buckets.get(bucket_key)
        if bucket is None:
            bucket = self.buckets[bucket_key] = [0, 0, 0, 0]
            self.bucket_rates[share.name] = share.rates
        for slot, count in enumerate(share.usage.counts):
            bucket[slot] += count

    def _model(self, model: object) -> tuple[str, ModelRates | None, tuple[int, ...]]:
        """Canonical name, rates and tier thresholds of a raw model name, cached per name."""
        if not isinstance(model, str) or not model.strip():
            return (NO_VALUE, None, ())
        found = self.models.get(model)
        if found is None:
            rates = self.pricing.rates(model)
            thresholds = () if rates is None else tuple(t.above_input_tokens for t in rates.tiers)
            found = self.models[model] = (self.pricing.canonical(model), rates, thresholds)
        return found

    def state(self) -> _FoldState:
        """Return the accumulators, to send from a worker process to the one that merges."""
        return (
            self.groups,
            self.buckets,
            self.bucket_rates,
            self.unknown,
            self.reasons,
            self.total,
        )

    def merge(self, state: _FoldState) -> None:
        """Add another fold's accumulators (of other events) to this one."""
        groups, buckets, bucket_rates, unknown, reasons, total = state
        for key, acc in groups.items():
            _merge_acc(self.groups.setdefault(key, [0] * _SLOTS), acc)
        for bucket_key, sums in buckets.items():
            mine = self.buckets.setdefault(bucket_key, [0] * len(sums))
            for slot, value in enumerate(sums):
                mine[slot] += value
        self.bucket_rates.update(bucket_rates)
        for unknown_key, count in unknown.items():
            self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + count
        for reason_key, count in reasons.items():
            self.reasons[reason_key] = self.reasons.get(reason_key, 0) + count
        if total is not None:
            if self.total is None:
                self.total = [0] * _SLOTS
            _merge_acc(self.total, total)

    def report(self, group_by: str) -> CostReport:
        estimated: dict[str, Decimal] = {}
        for (key, name, tier), (tokens_in, tokens_out, cache_read, cache_write) in sorted(
            self.buckets.items()
        ):
            cost = self.bucket_rates[name].cost(
                tokens_in, tokens_out, cache_read, cache_write, tier=tier
            )
            estimated[key] = estimated.get(key, Decimal(0)) + cost
        summaries = []
        for key, acc in self.groups.items():
            summary = _summary(key, group_by, acc, estimated.get(key, Decimal(0)))
            summaries.append(summary)
        by_key = {summary.group_key: summary for summary in summaries}
        for (key, name), count in self.unknown.items():
            if key in by_key:
                by_key[key].unknown_models[name] = count
        for (key, reason), count in self.reasons.items():
            if key in by_key:
                by_key[key].unpriced_reasons[reason] = count
        summaries.sort(key=lambda s: (-s.total_cost_usd, not s.cost_known, s.group_key))
        total = self._total(group_by, summaries)
        from .pricing import price_sources, shipped_table

        sources = price_sources(rates.source for rates in self.bucket_rates.values())
        return CostReport(group_by, summaries, total, shipped_table().last_updated, sources)

    def _total(self, group_by: str, summaries: list[CostSummary]) -> CostSummary:
        """TOTAL: the sum of the rows (events counted once when rows are models)."""
        total = CostSummary("TOTAL", group_by)
        known: set[str] = set()
        for summary in summaries:
            total.input_tokens += summary.input_tokens
            total.output_tokens += summary.output_tokens
            total.cache_read_tokens += summary.cache_read_tokens
            total.cache_write_tokens += summary.cache_write_tokens
            known |= summary.reported_token_fields
            total.reported_cost_usd += summary.reported_cost_usd
            total.estimated_cost_usd += summary.estimated_cost_usd
            total.split_cost_event_count += summary.split_cost_event_count
            if self.total is not None:
                continue
            total.event_count += summary.event_count
            total.estimated_event_count += summary.estimated_event_count
            total.unpriced_event_count += summary.unpriced_event_count
            total.invalid_cost_event_count += summary.invalid_cost_event_count
            total.long_context_unknown_event_count += summary.long_context_unknown_event_count
            for name, count in summary.unknown_models.items():
                total.unknown_models[name] = total.unknown_models.get(name, 0) + count
            for reason, count in summary.unpriced_reasons.items():
                total.unpriced_reasons[reason] = total.unpriced_reasons.get(reason, 0) + count
        total.reported_token_fields = (
            frozenset(known) if summaries else frozenset(PRICED_TOKEN_FIELDS)
        )
        if self.total is not None:
            # Rows are per model, and one event may appear in several: count the events.
            acc = self.total
            total.event_count = acc[_EVENTS]
            total.estimated_event_count = acc[_ESTIMATED]
            total.unpriced_event_count = acc[_UNPRICED]
            total.invalid_cost_event_count = acc[_BAD_COST]
            total.long_context_unknown_event_count = acc[_UNTIERED]
            total.unknown_models = {n: c for (k, n), c in self.unknown.items() if k == ""}
            total.unpriced_reasons = {r: c for (k, r), c in self.reasons.items() if k == ""}
        return total


def _merge_acc(mine: list[int], other: list[int]) -> None:
    for slot, value in enumerate(other):
        if slot == _KNOWN:
            mine[slot] |= value
        else:
            mine[slot] += value


def _summary(key: str, group_by: str, acc: list[int], estimated: Decimal) -> CostSummary:
    return CostSummary(
        group_key=key,
        group_by=group_by,
        event_count=acc[_EVENTS],
        input_tokens=acc[_INPUT],
        output_tokens=acc[_OUTPUT],
        cache_read_tokens=acc[_CACHE_READ],
        cache_write_tokens=acc[_CACHE_WRITE],
        reported_cost_usd=Decimal(acc[_REPORTED]).scaleb(-_COST_DIGITS),
        estimated_cost_usd=estimated,
        estimated_event_count=acc[_ESTIMATED],
        unpriced_event_count=acc[_UNPRICED],
        invalid_cost_event_count=acc[_BAD_COST],
        long_context_unknown_event_count=acc[_UNTIERED],
        split_cost_event_count=acc[_SPLIT],
        reported_token_fields=frozenset(
            name for bit, name in enumerate(PRICED_TOKEN_FIELDS) if acc[_KNOWN] & (1 << bit)
        ),
    )


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

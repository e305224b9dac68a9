"""What agents cost: a streaming fold of execution events into per-group totals.

Only ``ExecutionEvent`` events count. An event's cost is the ``cost_usd`` it
reports (an explicit 0.0 included); when that is missing but its input and
output token counts are known, the cost is estimated from pricing; otherwise,
or when no pricing layer knows its model, the event is *unpriced*: its cost is
unknown, it adds nothing to the totals, and the summary names the models.

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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from ._rates import ModelRates
from .errors import QueryError

if TYPE_CHECKING:
    from .events import Event
    from .pricing import Pricing
    from .query import EventFilter

__all__ = [
    "GROUP_BYS",
    "NO_VALUE",
    "CostReport",
    "CostSummary",
    "GroupBy",
    "cost_report",
    "cost_summary",
    "project_cost_report",
]

GroupBy = Literal["agent", "model", "feature", "role", "wp", "day"]
#: The ways a report can group events.
GROUP_BYS: Final[tuple[str, ...]] = get_args(GroupBy)
#: The group of events that lack the grouped field (no model, no work package).
NO_VALUE: Final = "(none)"

_EXECUTION_EVENT: Final = "ExecutionEvent"
_TOKEN_FIELDS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_COST_DIGITS: Final = 10
_COST_UNITS: Final = 10**_COST_DIGITS  # reported costs are summed in 1e-10 USD
_MICRO: Final = Decimal("0.000001")

# Accumulator slots, a list per group (lists of ints are the fastest thing to fold into).
_EVENTS, _INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE, _REPORTED, _ESTIMATED, _UNPRICED = range(8)


@dataclass
class CostSummary:
    """Totals of one group of execution events.

    Token totals add up the counts events reported (unknown counts add
    nothing). ``total_cost_usd`` is reported plus estimated cost; it excludes
    the ``unpriced_event_count`` events whose cost is unknown.
    ``unknown_models`` maps each model no pricing layer knows to how many of
    this group's events it left unpriced. ``estimated_event_count`` events had
    their cost estimated from tokens.
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

    @property
    def total_cost_usd(self) -> Decimal:
        """Reported plus estimated cost, in USD."""
        return self.reported_cost_usd + self.estimated_cost_usd

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data; money in USD rounded to micro-dollars."""
        return {
            "group_key": self.group_key,
            "group_by": self.group_by,
            "event_count": self.event_count,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reported_cost_usd": _usd(self.reported_cost_usd),
            "estimated_cost_usd": _usd(self.estimated_cost_usd),
            "total_cost_usd": _usd(self.total_cost_usd),
            "estimated_event_count": self.estimated_event_count,
            "unpriced_event_count": self.unpriced_event_count,
            "unknown_models": dict(sorted(self.unknown_models.items())),
        }


@dataclass
class CostReport:
    """Summaries sorted by cost (highest first), and the totals over all events."""

    group_by: str
    summaries: list[CostSummary]
    total: CostSummary
    #: The date of the shipped price table used for estimates.
    prices_last_updated: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data: the ``--json`` output of ``cost``."""
        return {
            "group_by": self.group_by,
            "summaries": [summary.to_dict() for summary in self.summaries],
            "total": self.total.to_dict(),
            "prices_last_updated": (
                None if self.prices_last_updated is None else self.prices_last_updated.isoformat()
            ),
        }


def cost_summary(
    events: Iterable[Event | Mapping[str, Any]],
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
) -> list[CostSummary]:
    """Fold events into per-group cost summaries, sorted by total cost, highest first.

    ``events`` are Events or their stored records (what ``iter_project_records``
    yields, which is much faster to fold). ``group_by`` is one of
    :data:`GROUP_BYS`. ``pricing`` defaults to the shipped table and catalogue.
    """
    return cost_report(events, group_by, pricing=pricing).summaries


def cost_report(
    events: Iterable[Event | Mapping[str, Any]],
    group_by: str = "agent",
    *,
    pricing: Pricing | None = None,
) -> CostReport:
    """Like :func:`cost_summary`, with the totals over all events."""
    if group_by not in GROUP_BYS:
        raise QueryError(
            f"--group-by: unknown group {group_by!r} (choose from {', '.join(GROUP_BYS)})"
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


def _as_records(events: Iterable[Event | Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """Turn events into records; a stream of plain dicts passes through untouched (hot path)."""
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
    from .query import feature_logs, iter_project_records

    if group_by not in GROUP_BYS:  # fail before reading anything
        return cost_report((), group_by)
    if pricing is None:
        pricing = load_pricing(repo_root)
    logs = feature_logs(repo_root, filters)
    shares = _shares(logs, workers)
    if len(shares) < 2:
        return cost_report(iter_project_records(repo_root, filters), group_by, pricing=pricing)
    return _parallel_report(shares, filters, group_by, pricing)


#: Below this many bytes of logs, forking costs more than it saves.
_PARALLEL_MIN_BYTES: Final = 32 << 20


def _shares(logs: list[Path], workers: int | None) -> list[list[Path]]:
    """Split logs into per-worker shares of similar size; one share means fold here."""
    import os

    if workers is None:
        size = sum(log.stat().st_size for log in logs)
        workers = (os.cpu_count() or 1) if size >= _PARALLEL_MIN_BYTES else 1
    workers = min(workers, len(logs))
    # fork is cheap and needs no pickling of the pricing; elsewhere it is unsafe or absent.
    if workers < 2 or not sys.platform.startswith("linux"):
        return [logs]
    shares: list[list[Path]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for log in sorted(logs, key=lambda p: p.stat().st_size, reverse=True):
        lightest = loads.index(min(loads))
        shares[lightest].append(log)
        loads[lightest] += log.stat().st_size
    return shares


# Set in each forked worker by _start_worker (inherited, never pickled).
_worker_setup: tuple[EventFilter | None, str, Pricing] | None = None


def _start_worker(filters: EventFilter | None, group_by: str, pricing: Pricing) -> None:
    global _worker_setup
    _worker_setup = (filters, group_by, pricing)


def _fold_share(logs: list[Path]) -> _FoldState:
    """Fold some feature logs in a worker; return the accumulators to merge."""
    from .query import iter_feature_records

    assert _worker_setup is not None
    filters, group_by, pricing = _worker_setup
    fold = _Fold(pricing)
    records = itertools.chain.from_iterable(
        iter_feature_records(log.parent, filters) for log in logs
    )
    if group_by == "model":
        fold.add_by_model(records)
    else:
        fold.add_by(records, group_by)
    return fold.state()


def _parallel_report(
    shares: list[list[Path]], filters: EventFilter | None, group_by: str, pricing: Pricing
) -> CostReport:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        len(shares),
        mp_context=context,
        initializer=_start_worker,
        initargs=(filters, group_by, pricing),
    ) as pool:
        states = list(pool.map(_fold_share, shares))
    fold = _Fold(pricing)
    for state in states:
        fold.merge(state)
    return fold.report(group_by)


def _day(record: Mapping[str, Any]) -> str:
    """Return the UTC date of an event from its stored timestamp (cheap when already UTC)."""
    stamp = record["timestamp"]
    if stamp.endswith("+00:00") or stamp.endswith("Z"):
        return str(stamp[:10])
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return NO_VALUE
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


#: Groups read from a payload field, by the field's name.
_PAYLOAD_GROUPS: Final = {"agent": "agent", "role": "role", "wp": "wp_id"}


_FoldState = tuple[
    dict[str, list[int]],
    dict[tuple[str, str, int], list[int]],
    dict[str, ModelRates],
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
        self.models: dict[str, tuple[str, ModelRates | None, tuple[int, ...]]] = {}
        self.total: list[int] | None = None  # event-level totals, when rows are not events

    def add_by(self, records: Iterable[Mapping[str, Any]], group_by: str) -> None:
        """Fold records grouped by an event field (every grouping but ``model``).

        This loop runs once per event of the project, so it is written out by
        hand: locals instead of attributes, no calls on the common paths. It
        does what :meth:`add` does; tests hold the two to the same totals.
        """
        groups = self.groups
        buckets = self.buckets
        models = self.models
        field_name = _PAYLOAD_GROUPS.get(group_by)
        by_feature = group_by == "feature"
        units = _COST_UNITS
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
                acc = groups[key] = [0] * 8
            acc[0] += 1  # _EVENTS
            tokens_in = payload.get("input_tokens")
            tokens_out = payload.get("output_tokens")
            cache_read = payload.get("cache_read_tokens")
            cache_write = payload.get("cache_write_tokens")
            if type(tokens_in) is int:
                acc[1] += tokens_in
            else:
                tokens_in = None
            if type(tokens_out) is int:
                acc[2] += tokens_out
            else:
                tokens_out = None
            if type(cache_read) is int:
                acc[3] += cache_read
            else:
                cache_read = 0
            if type(cache_write) is int:
                acc[4] += cache_write
            else:
                cache_write = 0
            cost = payload.get("cost_usd")
            if cost is not None and (type(cost) is float or type(cost) is int) and cost >= 0:
                acc[5] += round(cost * units)  # _REPORTED
                continue
            if tokens_in is None or tokens_out is None:
                acc[7] += 1  # _UNPRICED
                continue
            breakdown = payload.get("models")
            if breakdown and type(breakdown) is dict:
                self._add_breakdown(acc, key, breakdown)
                continue
            model = payload.get("model")
            found = models.get(model) if type(model) is str else None
            if found is None:
                found = self._model(model)
            name, rates, thresholds = found
            if rates is None:
                acc[7] += 1  # _UNPRICED
                unknown_key = (key, name)
                self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + 1
                continue
            acc[6] += 1  # _ESTIMATED
            tier = 0
            for threshold in thresholds:
                if tokens_in > threshold:
                    tier += 1
            bucket_key = (key, name, tier)
            bucket = buckets.get(bucket_key)
            if bucket is None:
                bucket = buckets[bucket_key] = [0, 0, 0, 0]
                self.bucket_rates[name] = rates
            bucket[0] += tokens_in
            bucket[1] += tokens_out
            bucket[2] += cache_read
            bucket[3] += cache_write

    def add_by_model(self, records: Iterable[Mapping[str, Any]]) -> None:
        groups = self.groups
        total = self.total = [0] * 8
        add = self.add
        for record in records:
            if record["event_type"] != _EXECUTION_EVENT:
                continue
            payload = record["payload"]
            model = payload.get("model")
            add(total, "", payload, model)
            breakdown = payload.get("models")
            if isinstance(breakdown, dict) and breakdown:
                parts = [(name, usage) for name, usage in breakdown.items() if type(usage) is dict]
            else:
                parts = [(model, payload)]
            for name, usage in parts:
                key = self._model(name)[0]
                acc = groups.get(key)
                if acc is None:
                    acc = groups[key] = [0] * 8
                add(acc, key, usage, name)

    def add(self, acc: list[int], key: str, usage: Mapping[str, Any], model: object) -> None:
        """Add one event's (or one model's share of an event's) usage to a group."""
        acc[_EVENTS] += 1
        tokens_in = usage.get("input_tokens")
        tokens_out = usage.get("output_tokens")
        cache_read = usage.get("cache_read_tokens")
        cache_write = usage.get("cache_write_tokens")
        if type(tokens_in) is int:
            acc[_INPUT] += tokens_in
        else:
            tokens_in = None
        if type(tokens_out) is int:
            acc[_OUTPUT] += tokens_out
        else:
            tokens_out = None
        if type(cache_read) is int:
            acc[_CACHE_READ] += cache_read
        else:
            cache_read = 0
        if type(cache_write) is int:
            acc[_CACHE_WRITE] += cache_write
        else:
            cache_write = 0
        cost = usage.get("cost_usd")
        if (type(cost) is float or type(cost) is int) and cost >= 0:
            acc[_REPORTED] += round(cost * _COST_UNITS)
            return
        if tokens_in is None or tokens_out is None:
            acc[_UNPRICED] += 1
            return
        breakdown = usage.get("models")
        if breakdown and type(breakdown) is dict:
            self._add_breakdown(acc, key, breakdown)
            return
        name, rates, _thresholds = self._model(model)
        if rates is None:
            acc[_UNPRICED] += 1
            unknown_key = (key, name)
            self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + 1
            return
        acc[_ESTIMATED] += 1
        self._estimate(key, name, rates, tokens_in, tokens_out, cache_read, cache_write)

    def _estimate(
        self,
        key: str,
        name: str,
        rates: ModelRates,
        tokens_in: int,
        tokens_out: int,
        cache_read: int,
        cache_write: int,
    ) -> None:
        bucket_key = (key, name, rates.tier_for(tokens_in) if rates.tiers else 0)
        bucket = self.buckets.get(bucket_key)
        if bucket is None:
            bucket = self.buckets[bucket_key] = [0, 0, 0, 0]
            self.bucket_rates[name] = rates
        bucket[0] += tokens_in
        bucket[1] += tokens_out
        bucket[2] += cache_read
        bucket[3] += cache_write

    def _add_breakdown(self, acc: list[int], key: str, breakdown: dict[Any, Any]) -> None:
        """Price an event without a reported cost from its per-model usage.

        Each model's share is priced at that model's rates (or its own reported
        cost). If any share cannot be priced, the whole event is unpriced.
        """
        reported = 0
        estimates = []
        unknown = []
        for raw, part in breakdown.items():
            if type(part) is not dict:
                continue
            cost = part.get("cost_usd")
            if (type(cost) is float or type(cost) is int) and cost >= 0:
                reported += round(cost * _COST_UNITS)
                continue
            name, rates, _thresholds = self._model(raw)
            tokens = [part.get(token_field) for token_field in _TOKEN_FIELDS]
            if rates is None or type(tokens[0]) is not int or type(tokens[1]) is not int:
                unknown.append(name if rates is None else f"{name} (tokens unknown)")
                continue
            counts = [count if type(count) is int else 0 for count in tokens]
            estimates.append((name, rates, counts))
        if unknown:
            acc[_UNPRICED] += 1
            for name in unknown:
                unknown_key = (key, name)
                self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + 1
            return
        acc[_REPORTED] += reported
        if estimates:
            acc[_ESTIMATED] += 1
        for name, rates, counts in estimates:
            self._estimate(key, name, rates, *counts)

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
        return (self.groups, self.buckets, self.bucket_rates, self.unknown, self.total)

    def merge(self, state: _FoldState) -> None:
        """Add another fold's accumulators (of other events) to this one."""
        groups, buckets, bucket_rates, unknown, total = state
        for key, acc in groups.items():
            mine = self.groups.setdefault(key, [0] * len(acc))
            for slot, value in enumerate(acc):
                mine[slot] += value
        for bucket_key, sums in buckets.items():
            mine = self.buckets.setdefault(bucket_key, [0] * len(sums))
            for slot, value in enumerate(sums):
                mine[slot] += value
        self.bucket_rates.update(bucket_rates)
        for unknown_key, count in unknown.items():
            self.unknown[unknown_key] = self.unknown.get(unknown_key, 0) + count
        if total is not None:
            if self.total is None:
                self.total = [0] * len(total)
            for slot, value in enumerate(total):
                self.total[slot] += value

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
        summaries.sort(key=lambda s: (-s.total_cost_usd, s.group_key))
        total = self._total(group_by, summaries)
        from .pricing import shipped_table

        return CostReport(group_by, summaries, total, shipped_table().last_updated)

    def _total(self, group_by: str, summaries: list[CostSummary]) -> CostSummary:
        total = CostSummary("TOTAL", group_by)
        if self.total is not None:
            # Rows are per model, and one event may appear in several: total the events.
            acc = self.total
            estimated = sum(
                (
                    self.bucket_rates[name].cost(*sums, tier=tier)
                    for (key, name, tier), sums in self.buckets.items()
                    if key == ""
                ),
                Decimal(0),
            )
            total = _summary("TOTAL", group_by, acc, estimated)
            for (key, name), count in self.unknown.items():
                if key == "":
                    total.unknown_models[name] = count
            return total
        for summary in summaries:
            total.event_count += summary.event_count
            total.input_tokens += summary.input_tokens
            total.output_tokens += summary.output_tokens
            total.cache_read_tokens += summary.cache_read_tokens
            total.cache_write_tokens += summary.cache_write_tokens
            total.reported_cost_usd += summary.reported_cost_usd
            total.estimated_cost_usd += summary.estimated_cost_usd
            total.estimated_event_count += summary.estimated_event_count
            total.unpriced_event_count += summary.unpriced_event_count
            for name, count in summary.unknown_models.items():
                total.unknown_models[name] = total.unknown_models.get(name, 0) + count
        return total


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
    )


def _usd(amount: Decimal) -> float:
    return float(amount.quantize(_MICRO))

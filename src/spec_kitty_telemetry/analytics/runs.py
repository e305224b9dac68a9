"""Execution events as priced runs, and runs as per-group samples: what every report reads.

Baselines, anomalies, budgets, the scoreboard and the review all start from the
same two steps, kept here so they agree: :func:`priced_runs` turns raw records
into :class:`Run` values priced by the cost report's own rule, and
:func:`group_samples` folds runs into one :class:`GroupSamples` per group.
``group_samples`` is the one place a faster source (an incremental
projection holding the same per-group samples) would plug in; a full scan of
the records is the reference it must agree with.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .._lines import utc_timestamp
from .._records import EXECUTION_EVENT
from ..errors import QueryError
from ..outputs import failure_category, lines_changed, tests_passed
from ..usage import TOKEN_FIELDS

if TYPE_CHECKING:
    from ..pricing import Pricing

__all__ = [
    "GROUP_FIELDS",
    "NO_VALUE",
    "GroupSamples",
    "Run",
    "RunMaker",
    "error_kind",
    "group_key",
    "group_runs",
    "group_samples",
    "parse_group_by",
    "priced_runs",
]

#: The fields runs can be grouped by (several at once: ``agent,role``).
GROUP_FIELDS: Final = ("agent", "model", "role", "feature", "wp")
#: The value of a field a run does not have (no model, no work package).
NO_VALUE: Final = "(none)"
_INPUT, _OUTPUT = TOKEN_FIELDS[:2]


class Run(NamedTuple):
    """One execution event, with its cost as the ``cost`` report prices it.

    A named tuple, not a frozen dataclass: as immutable, and built about five
    times faster (a frozen dataclass sets each of its fields through
    ``object.__setattr__``), which is most of a run's cost in the real-time
    check and in a scan of a million events.

    ``cost_usd`` is None when the event is unpriced; ``unpriced_reason`` then
    says why (a key of ``cost.UNPRICED_REASONS``) and ``unknown_model`` names
    the model no price table lists, if that was why. A run built without
    pricing (:meth:`RunMaker.run` with ``priced=False``) has ``cost_usd``
    None and no reason.
    """

    event_id: str
    feature: str
    timestamp: datetime
    agent: str
    role: str
    model: str
    wp: str
    success: bool
    duration_ms: int | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: Decimal | None
    estimated: bool
    unpriced_reason: str | None
    unknown_model: str | None
    error_kind: str | None
    #: What the run produced (``outputs``): None when not recorded, never 0 for unknown.
    lines_changed: int | None = None
    tests_passed: int | None = None
    #: A failed run's ``error_category`` (``(none)`` if it recorded none); None for a success.
    failure_category: str | None = None

    def field(self, name: str) -> str:
        """Return the value of a grouping field (one of :data:`GROUP_FIELDS`)."""
        value: str = getattr(self, name)
        return value

    @property
    def tokens(self) -> int | None:
        """Input plus output tokens, or None when either is unknown."""
        if self.input_tokens is None or self.output_tokens is None:
            return None
        return self.input_tokens + self.output_tokens


def parse_group_by(text: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``agent,role`` (or a sequence of names) into grouping fields; QueryError if unknown."""
    names = text.split(",") if isinstance(text, str) else list(text)
    fields = tuple(name.strip() for name in names if name.strip())
    unknown = [name for name in fields if name not in GROUP_FIELDS]
    if unknown or not fields:
        raise QueryError(
            f"unknown group {','.join(unknown) or text!r} "
            f"(choose one or more of {', '.join(GROUP_FIELDS)}, comma-separated)",
            parameter="group_by",
        )
    if len(set(fields)) != len(fields):
        raise QueryError(f"a field is repeated in {text!r}", parameter="group_by")
    return fields


def group_key(run: Run, fields: Sequence[str]) -> tuple[str, ...]:
    """Return the run's values of ``fields``, in order: the key of its group."""
    return tuple(run.field(name) for name in fields)


def error_kind(payload: Mapping[str, Any]) -> str | None:
    """Return what kind of failure a failed run was, in a few words; None for a success.

    An ``error_kind`` the writer gave wins; otherwise the error text up to its
    first colon (``agent exited with status 1``), otherwise the exit code.
    """
    if payload.get("success", True) is not False:
        return None
    kind = payload.get("error_kind")
    if isinstance(kind, str) and kind.strip():
        return kind.strip()
    error = payload.get("error")
    if isinstance(error, str) and error.strip():
        return error.split(":", 1)[0].strip()[:80]
    code = payload.get("exit_code")
    return f"exit code {code}" if isinstance(code, int) else "unknown"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else NO_VALUE


def _count(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _model(payload: Mapping[str, Any], pricing: Pricing) -> str:
    model = payload.get("model")
    return pricing.canonical(model) if isinstance(model, str) and model.strip() else NO_VALUE


#: Where each grouping field other than ``feature`` and ``model`` sits in the payload.
_PAYLOAD_FIELDS: Final = {"agent": "agent", "role": "role", "wp": "wp_id"}


class RunMaker:
    """Turns records into runs under one price table; the event pricer is made once.

    A group key can be read from a record without pricing it
    (:meth:`group_key_of`), by the same field rules a :class:`Run` is built
    with: the real-time check looks the group up first and prices only when
    the group's baseline can use a cost.
    """

    def __init__(self, pricing: Pricing) -> None:
        from ..cost import EventPricer

        self.pricing = pricing
        self._price_of = EventPricer(pricing)

    def group_key_of(self, record: Mapping[str, Any], fields: Sequence[str]) -> tuple[str, ...]:
        """Return the key the record's run would have for ``fields`` (see :func:`group_key`)."""
        payload = record["payload"]
        return tuple(
            record["aggregate_id"]
            if name == "feature"
            else _model(payload, self.pricing)
            if name == "model"
            else _text(payload.get(_PAYLOAD_FIELDS[name]))
            for name in fields
        )

    def run(self, record: Mapping[str, Any], *, priced: bool = True) -> Run:
        """Build the run of an execution record.

        ``priced=False`` skips pricing, for a reader that will not look at
        the cost: the run then has ``cost_usd`` None and no ``unpriced_reason``
        (a priced run that is unpriced always has a reason).
        """
        payload = record["payload"]
        if priced:
            price = self._price_of.cost(record)
            cost, estimated = price.cost_usd, price.estimated
            reason, unknown = price.unpriced_reason, price.unknown_model
        else:
            cost, estimated, reason, unknown = None, False, None, None
        return Run(
            event_id=record["event_id"],
            feature=record["aggregate_id"],
            timestamp=utc_timestamp(record["timestamp"]),
            agent=_text(payload.get("agent")),
            role=_text(payload.get("role")),
            model=_model(payload, self.pricing),
            wp=_text(payload.get("wp_id")),
            success=payload.get("success", True) is not False,
            duration_ms=_count(payload.get("duration_ms")),
            input_tokens=_count(payload.get(_INPUT)),
            output_tokens=_count(payload.get(_OUTPUT)),
            cost_usd=cost,
            estimated=estimated,
            unpriced_reason=reason,
            unknown_model=unknown,
            error_kind=error_kind(payload),
            lines_changed=lines_changed(payload),
            tests_passed=tests_passed(payload),
            failure_category=failure_category(payload),
        )


def priced_runs(records: Iterable[Mapping[str, Any]], pricing: Pricing) -> Iterator[Run]:
    """Turn records into runs (execution events only), each priced as ``cost`` prices it.

    Each event is priced by :meth:`spec_kitty_telemetry.cost.EventPricer.cost`:
    what the cost report over that one event counts, by the same fold and
    rules, so a run's cost never depends on the runs read beside it.
    """
    make = RunMaker(pricing).run
    for record in records:
        if record.get("event_type") == EXECUTION_EVENT:
            yield make(record)


def _floats() -> array[float]:
    return array("d")


@dataclass
class GroupSamples:
    """Everything a group's statistics are computed from: its runs' figures, as compact arrays.

    The values themselves, not running sums, because percentiles and medians
    are exact only on the values; but as arrays of doubles (8 bytes a value,
    against 32 for a list of floats), so a million runs hold 40 MB of figures,
    not 160 MB. Every figure is a whole number or a float already, so the
    array holds exactly what a list did, and the statistics read the same.
    """

    key: tuple[str, ...]
    runs: int = 0
    successes: int = 0
    durations_ms: array[float] = field(default_factory=_floats)
    costs_usd: array[float] = field(default_factory=_floats)
    total_cost_usd: Decimal = Decimal(0)
    estimated: int = 0
    unpriced: int = 0
    unknown_models: Counter[str] = field(default_factory=Counter)
    input_tokens: array[float] = field(default_factory=_floats)
    output_tokens: array[float] = field(default_factory=_floats)
    total_tokens: array[float] = field(default_factory=_floats)
    failures: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, run: Run) -> None:
        """Count one run in."""
        self.runs += 1
        if run.success:
            self.successes += 1
        else:
            self.failures[run.error_kind or "unknown"] += 1
        if run.duration_ms is not None:
            self.durations_ms.append(float(run.duration_ms))
        if run.cost_usd is None:
            self.unpriced += 1
            if run.unknown_model:
                self.unknown_models[run.unknown_model] += 1
        else:
            self.costs_usd.append(float(run.cost_usd))
            self.total_cost_usd += run.cost_usd
            self.estimated += run.estimated
        if run.input_tokens is not None:
            self.input_tokens.append(float(run.input_tokens))
        if run.output_tokens is not None:
            self.output_tokens.append(float(run.output_tokens))
        if run.tokens is not None:
            self.total_tokens.append(float(run.tokens))
        if self.first is None or run.timestamp < self.first:
            self.first = run.timestamp
        if self.last is None or run.timestamp > self.last:
            self.last = run.timestamp


def group_samples(
    records: Iterable[Mapping[str, Any]], group_by: Sequence[str], pricing: Pricing
) -> dict[tuple[str, ...], GroupSamples]:
    """Fold records into one sample per group of ``group_by`` fields, sorted by key.

    The one aggregation every report uses; a projection that keeps the same
    samples can answer instead of this scan, and must give the same result.
    """
    return group_runs(priced_runs(records, pricing), group_by)


def group_runs(runs: Iterable[Run], group_by: Sequence[str]) -> dict[tuple[str, ...], GroupSamples]:
    """Fold runs already priced into one sample per group, sorted by key (see group_samples)."""
    groups: dict[tuple[str, ...], GroupSamples] = {}
    for run in runs:
        key = group_key(run, group_by)
        sample = groups.get(key)
        if sample is None:
            sample = groups[key] = GroupSamples(key)
        sample.add(run)
    return dict(sorted(groups.items()))

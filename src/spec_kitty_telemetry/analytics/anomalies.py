"""Anomalies: runs a frozen baseline says are unusual, each with a reason a person can act on.

Scores, per run, against the baseline of its group:

* duration, cost and tokens: a robust z-score of the value's logarithm
  (distance from the group's log-median in scaled MADs). Durations and costs
  are skewed (lognormal-like), so a plain z-score on raw values would flag
  every long tail; on the log scale the tail is symmetric. Only the high side
  is an anomaly (slow, expensive, token spikes). The message compares with
  the baseline's p95 (duration) or median (cost, tokens).
* failures: a streak of failures whose probability under the group's failure
  rate is below ``alpha``, and per group at the end of a window, a failure
  count whose binomial tail is below ``alpha``. The failure rate used is the
  upper end of the baseline's Wilson interval, so a group that never failed in
  a small baseline is not alarmed by its first failure.
* pricing: an unpriced run (or an unknown model) in a group whose baseline
  had none.

Groups too small to alert on (below the baseline's ``min_sample``) and
groups the baseline has not seen are not scored; the result lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from .._records import EXECUTION_EVENT
from ..usage import COST_FIELD
from ._stats import binomial_tail
from .baseline import Baseline, GroupBaseline
from .runs import NO_VALUE, Run, RunMaker, group_key

if TYPE_CHECKING:
    from ..pricing import Pricing

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_Z",
    "Anomaly",
    "AnomalyDetector",
    "AnomalyReport",
    "detect_anomalies",
    "format_duration",
    "needs_price",
    "runs_to_score",
]

#: Robust z (log scale) at or above which a value is an anomaly; twice it is critical.
DEFAULT_Z: Final = 3.5
#: Probability below which a failure streak or count is an anomaly; its square is critical.
DEFAULT_ALPHA: Final = 0.001
_PRICING_KINDS: Final = frozenset({"unpriced", "unknown_model"})
_FAILURE_KINDS: Final = frozenset({"failure_streak", "failure_rate"})


@dataclass(frozen=True)
class Anomaly:
    """One unusual run (or a group's failure count), and why."""

    event_id: str
    kind: str
    group: str
    value: float | str | None
    baseline: dict[str, Any]
    score: float
    severity: str
    message: str
    timestamp: str = ""
    feature: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the anomaly as ``--json`` shows it (infinite scores as null)."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "group": self.group,
            "value": self.value,
            "baseline": self.baseline,
            "score": round(self.score, 3) if math.isfinite(self.score) else None,
            "severity": self.severity,
            "message": self.message,
        }


def format_duration(ms: float) -> str:
    """Say a duration the way a person would: ``45 s``, ``41 min``, ``2.5 h``."""
    seconds = ms / 1000
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _who(run: Run) -> str:
    """Name the run as a person would: ``001-login WP03 implementer (claude, sonnet)``."""
    parts = [run.feature]
    if run.wp != NO_VALUE:
        parts.append(run.wp)
    parts.append(run.role)
    model = "" if run.model == NO_VALUE else f", {run.model}"
    return f"{' '.join(parts)} ({run.agent}{model})"


def _ratio(value: float, reference: float | None) -> str:
    if not reference:
        return ""
    return f", {value / reference:.1f}\N{MULTIPLICATION SIGN} the "


def _chance(p: float) -> str:
    return "less than 1 in a billion" if p < 1e-9 else f"1 in {round(1 / p):,}"


_Add = Callable[[str, float | str | None, str, float, str], None]


def needs_price(group: GroupBaseline | None) -> bool:
    """Whether scoring a run of ``group`` (its baseline) reads the run's cost.

    Only the cost score (the group has a cost baseline) and the pricing check
    (no run of the baseline was unpriced) do, and only in a group that is
    scored at all (in the baseline, and not too small). Elsewhere a run is
    scored the same without pricing it, so the readers skip its price.
    """
    if group is None or group.too_small:
        return False
    return group.figure("cost_usd.log_median") is not None or not group.figure("cost_usd.unpriced")


def runs_to_score(
    records: Iterable[Mapping[str, Any]], baseline: Baseline, pricing: Pricing
) -> Iterator[Run]:
    """Turn execution records into runs for ``baseline`` to score, priced only where it reads it.

    The runs are those :func:`~.runs.priced_runs` gives, except that a run
    whose cost no score reads (:func:`needs_price`) is left unpriced.
    """
    maker = RunMaker(pricing)
    fields = baseline.group_by
    for record in records:
        if record.get("event_type") == EXECUTION_EVENT:
            group = baseline.group(maker.group_key_of(record, fields))
            yield maker.run(record, priced=needs_price(group))


@dataclass
class AnomalyDetector:
    """Scores runs one at a time against a baseline; keeps the failure streak of each group."""

    baseline: Baseline
    z_threshold: float = DEFAULT_Z
    alpha: float = DEFAULT_ALPHA
    _streaks: dict[tuple[str, ...], int] = field(default_factory=dict)
    _window: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    _last_failure: dict[tuple[str, ...], Run] = field(default_factory=dict)
    too_small: set[str] = field(default_factory=set)
    unbaselined: set[str] = field(default_factory=set)

    def _where(self, group: GroupBaseline) -> str:
        week = self.baseline.week or "baseline"
        return f"({week}, n={group.sample_size})"

    def _ref(self, group: GroupBaseline, figure: str) -> dict[str, Any]:
        return {
            "week": self.baseline.week,
            "sample_size": group.sample_size,
            "figure": figure,
            "value": group.figure(figure),
        }

    def _severity(self, kind: str, score: float) -> str:
        """Warning past the threshold, critical past twice it (failures: alpha squared)."""
        limit = -2 * math.log10(self.alpha) if kind in _FAILURE_KINDS else 2 * self.z_threshold
        return "critical" if score >= limit else "warning"

    def _log_z(self, value: float | None, group: GroupBaseline, name: str) -> float | None:
        """Return the robust z of ``log(value)``; None without a value or a spread to compare."""
        if value is None or value <= 0:
            return None
        scale = group.log_scales.get(name)
        if scale is None:
            return None
        median, scaled = scale
        return float((math.log(value) - median) / scaled)

    def scored_group(self, key: tuple[str, ...]) -> GroupBaseline | None:
        """Return the baseline runs of group ``key`` are scored against; None: not scored.

        A group the baseline has not seen, or one too small to alert on, is
        not scored (and is remembered in :attr:`unbaselined` or
        :attr:`too_small`).
        """
        group = self.baseline.group(key)
        if group is None:
            self.unbaselined.add("/".join(key))
        elif group.too_small:
            self.too_small.add("/".join(key))
        else:
            return group
        return None

    def check(self, run: Run) -> list[Anomaly]:
        """Score one run, the next in time order; return its anomalies.

        None for groups too small or unknown. The run's own figures
        (:meth:`score_figures`), then its place in its group's failure streak
        (:meth:`count_in_order`): what a report over the window gives this run.
        """
        key = group_key(run, self.baseline.group_by)
        group = self.scored_group(key)
        if group is None:
            return []
        found = self.score_figures(run, key, group)
        found.extend(self.count_in_order(key, group, None if run.success else run))
        return found

    def _adder(
        self, run: Run, key: tuple[str, ...], group: GroupBaseline, found: list[Anomaly]
    ) -> _Add:
        """Return what adds an anomaly of ``run`` (with its message) to ``found``."""
        label = "/".join(key)

        def add(kind: str, value: float | str | None, figure: str, score: float, text: str) -> None:
            severity = "warning" if kind in _PRICING_KINDS else self._severity(kind, score)
            found.append(
                Anomaly(
                    run.event_id,
                    kind,
                    label,
                    value,
                    self._ref(group, figure),
                    score,
                    severity,
                    f"{_who(run)}: {text} {self._where(group)}",
                    run.timestamp.isoformat(),
                    run.feature,
                )
            )

        return add

    def score_figures(self, run: Run, key: tuple[str, ...], group: GroupBaseline) -> list[Anomaly]:
        """Return the anomalies of a run's own figures: duration, cost, tokens, pricing.

        These depend on the run and the baseline only, so runs can be scored
        in any order (the report scores them as they are read).
        """
        found: list[Anomaly] = []
        add = self._adder(run, key, group, found)
        z = self._log_z(run.duration_ms, group, "duration_ms")
        if z is not None and z >= self.z_threshold and run.duration_ms is not None:
            p95 = group.figure("duration_ms.p95")
            add(
                "duration",
                run.duration_ms,
                "duration_ms.p95",
                z,
                f"duration {format_duration(run.duration_ms)}"
                f"{_ratio(run.duration_ms, p95)}p95 of its baseline",
            )
        cost = None if run.cost_usd is None else float(run.cost_usd)
        z = self._log_z(cost, group, COST_FIELD)
        if z is not None and z >= self.z_threshold and cost is not None:
            median = math.exp(group.figure("cost_usd.log_median"))
            add(
                "cost",
                round(cost, 6),
                "cost_usd.log_median",
                z,
                f"cost ${cost:,.2f}{_ratio(cost, median)}median of its baseline",
            )
        tokens = run.tokens
        z = self._log_z(None if tokens is None else float(tokens), group, "tokens")
        if z is not None and z >= self.z_threshold and tokens is not None:
            median = math.exp(group.figure("tokens.log_median"))
            add(
                "tokens",
                tokens,
                "tokens.log_median",
                z,
                f"{tokens:,} tokens{_ratio(tokens, median)}median of its baseline",
            )
        if run.cost_usd is None and not group.figure("cost_usd.unpriced"):
            if run.unknown_model:
                add(
                    "unknown_model",
                    run.unknown_model,
                    "cost_usd.unpriced",
                    math.inf,
                    f"model {run.unknown_model} has no known price, and no run of its "
                    "baseline was unpriced",
                )
            else:
                add(
                    "unpriced",
                    run.unpriced_reason,
                    "cost_usd.unpriced",
                    math.inf,
                    f"could not be priced ({run.unpriced_reason}), and no run of its "
                    "baseline was unpriced",
                )
        return found

    def _failure_rate(self, group: GroupBaseline) -> float:
        low = group.figure("success_interval.low")
        return 1.0 - float(low if low is not None else 0.0)

    def count_in_order(
        self, key: tuple[str, ...], group: GroupBaseline, failed: Run | None
    ) -> list[Anomaly]:
        """Count the next run of a group in time order: a success, or the ``failed`` run.

        Returns the failure streak anomaly when this failure makes the streak
        improbable (once per streak). Only failed runs are needed whole, so a
        report keeps the successes as their place in the order only.
        """
        counts = self._window.setdefault(key, [0, 0])
        counts[0] += 1
        if failed is None:
            self._streaks[key] = 0
            return []
        run = failed
        found: list[Anomaly] = []
        add = self._adder(run, key, group, found)
        counts[1] += 1
        self._last_failure[key] = run
        streak = self._streaks[key] = self._streaks.get(key, 0) + 1
        rate = self._failure_rate(group)
        chance = rate**streak
        already = rate ** (streak - 1) < self.alpha if streak > 1 else False
        if chance < self.alpha and not already:
            add(
                "failure_streak",
                streak,
                "success_interval.low",
                -math.log10(chance) if chance > 0 else math.inf,
                f"{streak} failure{'s' if streak > 1 else ''} in a row "
                f"({run.error_kind}), chance {_chance(chance)} at its baseline failure "
                f"rate of at most {rate:.0%}",
            )
        return found

    def finish(self) -> list[Anomaly]:
        """Return the groups whose failure count over the runs checked is improbable."""
        found = []
        for key, (runs, failures) in sorted(self._window.items()):
            group = self.baseline.group(key)
            if group is None or failures == 0:
                continue
            rate = self._failure_rate(group)
            chance = binomial_tail(failures, runs, rate)
            if chance >= self.alpha:
                continue
            last = self._last_failure[key]
            score = -math.log10(chance) if chance > 0 else math.inf
            found.append(
                Anomaly(
                    last.event_id,
                    "failure_rate",
                    "/".join(key),
                    failures / runs,
                    {
                        "week": self.baseline.week,
                        "sample_size": group.sample_size,
                        "figure": "success_interval.low",
                        "value": group.figure("success_interval.low"),
                    },
                    score,
                    self._severity("failure_rate", score),
                    f"{'/'.join(key)}: {failures} of {runs} runs failed, chance "
                    f"{_chance(chance)} at its baseline failure rate of at most {rate:.0%} "
                    f"{self._where(group)}",
                    last.timestamp.isoformat(),
                    last.feature,
                )
            )
        return found


@dataclass(frozen=True)
class AnomalyReport:
    """The anomalies of a window, and the groups that could not be scored."""

    anomalies: list[Anomaly]
    checked: int
    baseline_week: str | None
    too_small_groups: list[str]
    unbaselined_groups: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Return the ``anomalies --json`` document."""
        return {
            "anomalies": [anomaly.to_dict() for anomaly in self.anomalies],
            "checked_event_count": self.checked,
            "baseline_week": self.baseline_week,
            "too_small_groups": self.too_small_groups,
            "unbaselined_groups": self.unbaselined_groups,
        }


def detect_anomalies(
    runs: Iterable[Run],
    baseline: Baseline,
    *,
    z_threshold: float = DEFAULT_Z,
    alpha: float = DEFAULT_ALPHA,
) -> AnomalyReport:
    """Score ``runs`` in time order against ``baseline``; failure counts are judged at the end.

    Each run's own figures are scored as it is read, and of a scored run only
    its place in time order is kept (its timestamp, event id and group; the
    run itself only if it failed), so a million runs are never held: the
    failure streaks are then counted in that order. The anomalies are those
    of :meth:`AnomalyDetector.check` over the runs sorted by time, as the
    real-time check finds them.
    """
    detector = AnomalyDetector(baseline, z_threshold, alpha)
    fields = baseline.group_by
    keys: dict[tuple[str, ...], tuple[str, ...]] = {}  # one key tuple per group, shared
    # (timestamp, event id, read number, ...): the read number makes every entry distinct,
    # so sorting the tuples themselves is the stable sort by time and id, without a key list.
    order: list[tuple[datetime, str, int, tuple[str, ...], GroupBaseline, Run | None]] = []
    found: list[Anomaly] = []
    checked = 0
    for run in runs:
        checked += 1
        key = group_key(run, fields)
        group = detector.scored_group(key)
        if group is None:
            continue
        key = keys.setdefault(key, key)
        found.extend(detector.score_figures(run, key, group))
        failed = None if run.success else run
        order.append((run.timestamp, run.event_id, checked, key, group, failed))
    order.sort()
    for _, _, _, key, group, failed in order:
        found.extend(detector.count_in_order(key, group, failed))
    del order
    found.extend(detector.finish())
    found.sort(key=lambda a: (a.timestamp, a.event_id, a.kind))
    return AnomalyReport(
        found,
        checked,
        baseline.week,
        sorted(detector.too_small),
        sorted(detector.unbaselined),
    )

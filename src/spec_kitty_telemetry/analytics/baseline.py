"""Baselines: what normal looks like for each group of runs, and freezing one per ISO week.

A baseline holds, per group (``agent,role`` by default), the sample size and
period, the success rate with its Wilson interval, exact duration
percentiles, cost and token means, and the median and MAD of the logarithms
that anomaly scores are measured against (runs are lognormal-ish: a
log scale makes a 10x slower run as far out as a 10x faster one).

``freeze_baseline`` writes ``.kittify/baselines/<YYYY-Www>.json``: committed,
shared, and byte-for-byte the same for the same events, so two people
freezing the same week get the same file; an existing file that would
change is refused unless the caller forces it. ``compare_baselines`` says
which figures moved by more than 5%.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._records import EXECUTION_EVENT
from ..config import BASELINES_DIR
from ..errors import ConfigError, QueryError, TelemetryError
from ..usage import COST_FIELD
from . import _stats
from ._weeks import week_bounds
from .runs import GroupSamples, Run, group_runs, group_samples

if TYPE_CHECKING:
    from ..pricing import Pricing

__all__ = [
    "BASELINES_DIR",
    "DEFAULT_GROUP_BY",
    "DEFAULT_MIN_SAMPLE",
    "DRIFT_THRESHOLD",
    "Baseline",
    "BaselineExistsError",
    "Drift",
    "GroupBaseline",
    "baseline_path",
    "choose_frozen",
    "compare_baselines",
    "compute_baseline",
    "freeze_baseline",
    "frozen_weeks",
    "load_baseline",
    "project_baseline",
]

#: Where frozen baselines live, relative to the project root.
DEFAULT_GROUP_BY: Final = ("agent", "role")
#: Groups with fewer runs are reported but too small to alert on.
DEFAULT_MIN_SAMPLE: Final = 20
#: A figure has moved when it changed by more than this fraction.
DRIFT_THRESHOLD: Final = 0.05
_FORMAT: Final = 1


#: The figures anomalies score on the log scale (robust z of the logarithm).
_LOG_SCORED: Final = ("duration_ms", COST_FIELD, "tokens")


class BaselineExistsError(TelemetryError):
    """A frozen baseline already exists with other figures; it is never replaced silently."""


def _r(value: float | None, digits: int) -> float | None:
    """Round for the frozen file: fixed digits keep the bytes stable across machines."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _log_centre(values: Sequence[float]) -> tuple[float | None, float | None]:
    logs = [math.log(v) for v in values if v > 0]
    if not logs:
        return None, None
    median = _stats.percentiles(logs, (50,))[0]
    return median, _stats.mad(logs, median)


@dataclass(frozen=True)
class GroupBaseline:
    """One group's figures; ``data`` is exactly what the frozen file holds for it."""

    group: dict[str, str]
    data: dict[str, Any]

    @property
    def key(self) -> str:
        """The group's values joined by ``/`` (``claude/implementer``)."""
        return "/".join(self.group.values())

    @property
    def sample_size(self) -> int:
        """Runs in the group."""
        return int(self.data["sample_size"])

    @property
    def too_small(self) -> bool:
        """Whether the group has too few runs to alert on."""
        return bool(self.data["too_small"])

    def figure(self, path: str) -> Any:
        """Return a figure by dotted name (``duration_ms.p95``), or None when absent."""
        return self._figures.get(path)

    @cached_property
    def _figures(self) -> dict[str, Any]:
        """Flatten every figure to its dotted name, once.

        The real-time check looks up several per recorded run, and walking the
        nested mappings each time was a measurable part of it.
        """
        flat: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            flat[prefix] = value
            if isinstance(value, Mapping):
                for name, inner in value.items():
                    walk(f"{prefix}.{name}", inner)

        for name, value in self.data.items():
            walk(name, value)
        return flat

    @cached_property
    def log_scales(self) -> dict[str, tuple[float, float]]:
        """Per figure scored on the log scale, its log-median and scaled MAD, read once.

        Only figures with both and a spread above zero are here: the others
        cannot score a value (half the baseline identical leaves no spread).
        The detector scores every run against these, so they are not looked
        up by name for each run.
        """
        scales: dict[str, tuple[float, float]] = {}
        for name in _LOG_SCORED:
            median, spread = self.figure(f"{name}.log_median"), self.figure(f"{name}.log_mad")
            if median is not None and spread is not None and _stats.MAD_SCALE * spread > 0:
                scales[name] = (median, _stats.MAD_SCALE * spread)
        return scales

    def to_dict(self) -> dict[str, Any]:
        """Return the group as ``--json`` and the frozen file show it."""
        return {"group": dict(self.group), "key": self.key, **self.data}


def _group_data(sample: GroupSamples, min_sample: int) -> dict[str, Any]:
    low, high = _stats.wilson_interval(sample.successes, sample.runs)
    cuts: list[float | None] = [*_stats.percentiles(sample.durations_ms)] or [None] * 3
    p50, p95, p99 = cuts
    d_mean, d_std = _stats.mean_std(sample.durations_ms)
    c_mean, c_std = _stats.mean_std(sample.costs_usd)
    d_log, d_mad = _log_centre(sample.durations_ms)
    c_log, c_mad = _log_centre(sample.costs_usd)
    t_log, t_mad = _log_centre(sample.total_tokens)
    in_mean = _stats.mean(sample.input_tokens)
    out_mean = _stats.mean(sample.output_tokens)
    return {
        "sample_size": sample.runs,
        "too_small": sample.runs < min_sample,
        "period": {
            "first": None if sample.first is None else sample.first.isoformat(),
            "last": None if sample.last is None else sample.last.isoformat(),
        },
        "success_rate": _r(sample.successes / sample.runs if sample.runs else None, 6),
        "success_interval": {"low": _r(low, 6), "high": _r(high, 6)},
        "failures": sample.runs - sample.successes,
        "duration_ms": {
            "count": len(sample.durations_ms),
            "p50": _r(p50, 3),
            "p95": _r(p95, 3),
            "p99": _r(p99, 3),
            "mean": _r(d_mean, 3),
            "std": _r(d_std, 3),
            "log_median": _r(d_log, 9),
            "log_mad": _r(d_mad, 9),
        },
        COST_FIELD: {  # the figures of the runs' cost, named after the field
            "priced": len(sample.costs_usd),
            "estimated": sample.estimated,
            "unpriced": sample.unpriced,
            "unknown_models": dict(sorted(sample.unknown_models.items())),
            "total": _r(float(sample.total_cost_usd), 6),
            "mean": _r(c_mean, 8),
            "std": _r(c_std, 8),
            "log_median": _r(c_log, 9),
            "log_mad": _r(c_mad, 9),
        },
        "tokens": {
            "input_mean": _r(in_mean, 3),
            "output_mean": _r(out_mean, 3),
            "log_median": _r(t_log, 9),
            "log_mad": _r(t_mad, 9),
        },
    }


@dataclass(frozen=True)
class Baseline:
    """Per-group figures over one period; ``week`` is set when the period is an ISO week."""

    group_by: tuple[str, ...]
    min_sample: int
    start: datetime | None
    end: datetime | None
    groups: list[GroupBaseline]
    week: str | None = None

    def group(self, key: Sequence[str]) -> GroupBaseline | None:
        """Return the group whose field values are ``key``, or None."""
        return self._by_key.get(tuple(key))

    @cached_property
    def _by_key(self) -> dict[tuple[str, ...], GroupBaseline]:
        return {tuple(group.group.values()): group for group in self.groups}

    def to_dict(self) -> dict[str, Any]:
        """Return the ``--json`` document and the frozen file's content."""
        return {
            "format": _FORMAT,
            "week": self.week,
            "period": {
                "start": None if self.start is None else self.start.isoformat(),
                "end": None if self.end is None else self.end.isoformat(),
            },
            "group_by": list(self.group_by),
            "min_sample": self.min_sample,
            "groups": [group.to_dict() for group in self.groups],
        }

    def dumps(self) -> str:
        """Return the frozen file's text: sorted keys, two-space indent, one trailing newline."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Baseline:
        """Read a frozen baseline; ConfigError naming ``where`` and the key when malformed."""
        try:
            if data.get("format") != _FORMAT:
                raise ConfigError(
                    f"{where}: format: expected {_FORMAT}, got {data.get('format')!r}"
                )
            period = data["period"]
            groups = [
                GroupBaseline(
                    {str(k): str(v) for k, v in g["group"].items()},
                    {k: v for k, v in g.items() if k not in ("group", "key")},
                )
                for g in data["groups"]
            ]
            for group in groups:
                int(group.data["sample_size"])
            return cls(
                group_by=tuple(str(name) for name in data["group_by"]),
                min_sample=int(data["min_sample"]),
                start=None if period["start"] is None else datetime.fromisoformat(period["start"]),
                end=None if period["end"] is None else datetime.fromisoformat(period["end"]),
                groups=groups,
                week=data.get("week"),
            )
        except ConfigError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where}: not a frozen baseline ({type(exc).__name__}: {exc})"
            ) from None


def compute_baseline(
    records: Iterable[Mapping[str, Any]],
    group_by: Sequence[str] = DEFAULT_GROUP_BY,
    *,
    pricing: Pricing,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    start: datetime | None = None,
    end: datetime | None = None,
    week: str | None = None,
) -> Baseline:
    """Compute the baseline of ``records`` (already narrowed to the period) per group."""
    samples = group_samples(records, group_by, pricing)
    return _baseline(samples, group_by, min_sample, start, end, week)


def baseline_of_runs(
    runs: Iterable[Run],
    group_by: Sequence[str] = DEFAULT_GROUP_BY,
    *,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    start: datetime | None = None,
    end: datetime | None = None,
    week: str | None = None,
) -> Baseline:
    """Compute the baseline of runs already priced: what ``compute_baseline`` gives their records.

    For a reader that has the runs anyway (the weekly review), so no event
    is priced twice.
    """
    return _baseline(group_runs(runs, group_by), group_by, min_sample, start, end, week)


def _baseline(
    samples: Mapping[tuple[str, ...], GroupSamples],
    group_by: Sequence[str],
    min_sample: int,
    start: datetime | None,
    end: datetime | None,
    week: str | None,
) -> Baseline:
    groups = [
        GroupBaseline(dict(zip(group_by, key, strict=True)), _group_data(sample, min_sample))
        for key, sample in samples.items()
    ]
    return Baseline(tuple(group_by), min_sample, start, end, groups, week)


def project_baseline(
    root: str | Path,
    group_by: Sequence[str] = DEFAULT_GROUP_BY,
    *,
    week: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    pricing: Pricing | None = None,
) -> Baseline:
    """Compute the baseline of a project's events in ``week`` or from ``since`` to ``until``.

    ``until`` is inclusive, as in every report; a week is Monday 00:00 UTC up
    to (not including) the next Monday.
    """
    from ..pricing import load_pricing
    from ..query import EventFilter, iter_project_records

    if week is not None:
        if since is not None or until is not None:
            raise QueryError("give a week or since/until, not both", parameter="week")
        since, end = week_bounds(week)
        until = end - timedelta(microseconds=1)
    filters = EventFilter(event_type=EXECUTION_EVENT, since=since, until=until)
    return compute_baseline(
        iter_project_records(root, filters),
        group_by,
        pricing=pricing if pricing is not None else load_pricing(root),
        min_sample=min_sample,
        start=since,
        end=until,
        week=week,
    )


def baseline_path(root: str | Path, week: str) -> Path:
    """Where the baseline frozen for ``week`` lives."""
    week_bounds(week)  # a week name only: never a path of the caller's choosing
    return Path(root) / BASELINES_DIR / f"{week.strip()}.json"


def freeze_baseline(
    root: str | Path, baseline: Baseline, *, force: bool = False
) -> tuple[Path, bool]:
    """Write ``baseline`` (of an ISO week) to its file; return the path and whether it changed.

    Writing the same figures again changes nothing. A file with other figures
    is replaced only with ``force``; otherwise BaselineExistsError names it.
    """
    from .._atomic import write_atomically

    if baseline.week is None:
        raise QueryError("only the baseline of an ISO week can be frozen", parameter="week")
    path = baseline_path(root, baseline.week)
    text = baseline.dumps()
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    if existing == text:
        return path, False
    if existing is not None and not force:
        raise BaselineExistsError(
            f"{path}: already frozen with other figures; not replaced unless forced",
            parameter="force",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode())
    return path, True


def load_baseline(root: str | Path, week: str) -> Baseline:
    """Read the baseline frozen for ``week``; ConfigError naming the file when missing or bad."""
    path = baseline_path(root, week)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no baseline frozen for {week} (freeze that week's baseline first)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from None
    return Baseline.from_dict(data, str(path))


def frozen_weeks(root: str | Path) -> list[str]:
    """Return the weeks with a frozen baseline, oldest first."""
    folder = Path(root) / BASELINES_DIR
    weeks = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            week_bounds(path.stem)
        except QueryError:
            continue
        weeks.append(path.stem)
    return sorted(weeks, key=lambda w: week_bounds(w)[0])


#: The figures ``--compare`` watches, by dotted name.
COMPARED: Final = (
    "success_rate",
    "duration_ms.p50",
    "duration_ms.p95",
    "duration_ms.mean",
    "cost_usd.mean",
    "tokens.input_mean",
    "tokens.output_mean",
)


@dataclass(frozen=True)
class Drift:
    """A figure of one group that moved past the threshold (or a group that came or went)."""

    group: str
    figure: str
    before: float | None
    after: float | None
    change: float | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """Return the drift as ``--json`` shows it; change is a fraction (0.12 = +12%)."""
        return {
            "group": self.group,
            "figure": self.figure,
            "before": self.before,
            "after": self.after,
            "change": None if self.change is None else round(self.change, 6),
        }


def compare_baselines(
    before: Baseline, after: Baseline, threshold: float = DRIFT_THRESHOLD
) -> list[Drift]:
    """Return what moved by more than ``threshold`` from ``before`` to ``after``, group by group.

    A group in only one of them is reported as the figure ``sample_size``
    going from or to None. The same data gives the same baseline, so comparing
    a baseline with itself reports nothing.
    """
    drifts: list[Drift] = []
    old = {group.key: group for group in before.groups}
    new = {group.key: group for group in after.groups}
    for key in sorted(old.keys() | new.keys()):
        if key not in new or key not in old:
            was, now = old.get(key), new.get(key)
            drifts.append(
                Drift(
                    key,
                    "sample_size",
                    None if was is None else was.sample_size,
                    None if now is None else now.sample_size,
                )
            )
            continue
        for name in COMPARED:
            a, b = old[key].figure(name), new[key].figure(name)
            if a is None or b is None or a == b:
                continue
            change = None if a == 0 else (b - a) / abs(a)
            if change is None or abs(change) > threshold:
                drifts.append(Drift(key, name, a, b, change))
    return drifts


def choose_frozen(root: str | Path, before: datetime) -> str:
    """Return the latest week frozen that ended by ``before``, else the latest frozen at all.

    ConfigError when no baseline is frozen: there is nothing to score against.
    """
    weeks = frozen_weeks(root)
    if not weeks:
        raise ConfigError(
            f"{Path(root) / BASELINES_DIR}: no frozen baseline (freeze a week's baseline first)"
        )
    ended = [week for week in weeks if week_bounds(week)[1] <= before]
    return (ended or weeks)[-1]

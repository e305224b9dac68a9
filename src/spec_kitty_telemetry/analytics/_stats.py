"""The statistics every analytics report uses: exact percentiles, Wilson intervals, robust z.

Built on the standard library's :mod:`statistics` (``quantiles``, ``median``,
``NormalDist``): it is exact on the data, has no native dependency, and the
samples here (one group's runs of a week) are small enough that numpy would
cost more to import than to compute. One function per figure, so a baseline,
an anomaly score and the scoreboard cannot disagree on what "p95" means.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Final

__all__ = [
    "MAD_SCALE",
    "binomial_tail",
    "mad",
    "mean",
    "mean_std",
    "percentiles",
    "robust_z",
    "wilson_interval",
]

#: The median absolute deviation times this estimates a normal sample's standard
#: deviation (1 / Phi^-1(3/4)); robust z-scores divide by the scaled MAD.
MAD_SCALE: Final = 1.482602218505602

#: Two-sided 95% normal quantile, for the default interval.
_Z95: Final = statistics.NormalDist().inv_cdf(0.975)


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> list[float]:
    """Exact percentiles of ``values`` (each point in 1..99), or [] when there are none.

    Linear interpolation between the closest ranks (``statistics.quantiles``
    with ``method="inclusive"``, numpy's default): p50 of 1..10 is 5.5, p95 is
    9.55. No sketch and no error bound: every value is read.
    """
    if not values:
        return []
    if len(values) == 1:
        return [float(values[0])] * len(points)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return [float(cuts[point - 1]) for point in points]


def mean(values: Sequence[float]) -> float | None:
    """Mean, or None when there are no values (the mean ``mean_std`` gives, without the std)."""
    return statistics.fmean(values) if values else None


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (n - 1); std is None below two values."""
    if not values:
        return None, None
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values, xbar=mean) if len(values) > 1 else None)


def mad(values: Sequence[float], centre: float | None = None) -> float:
    """Median absolute deviation from ``centre`` (default: the median); 0.0 for no values."""
    if not values:
        return 0.0
    middle = statistics.median(values) if centre is None else centre
    return float(statistics.median(abs(value - middle) for value in values))


def robust_z(value: float, median: float, mad_value: float) -> float:
    """How many robust standard deviations ``value`` lies above ``median``.

    ``(value - median) / (MAD_SCALE * mad)``: the median and MAD ignore the
    outliers a mean and standard deviation would be dragged by. With a MAD of
    zero (half the sample identical) any other value is infinitely far.
    """
    spread = MAD_SCALE * mad_value
    if spread > 0:
        return (value - median) / spread
    if value == median:
        return 0.0
    return math.inf if value > median else -math.inf


def wilson_interval(successes: int, total: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a success rate (95% by default); (0, 1) when total is 0.

    Unlike the normal approximation it stays inside [0, 1] and is sane for
    rates of 0 or 1 and small samples, which is what agent groups have.
    """
    if total <= 0:
        return 0.0, 1.0
    rate = successes / total
    z2 = z * z
    centre = (rate + z2 / (2 * total)) / (1 + z2 / total)
    half = (z / (1 + z2 / total)) * math.sqrt(rate * (1 - rate) / total + z2 / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how surprising k failures in n runs are."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    # Summed in log space: math.comb(n, i) overflows a float for n above ~1,000.
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    tail = 0.0
    for i in range(k, n + 1):
        term = log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        tail += math.exp(term)
    return min(1.0, tail)

"""The analytics statistics: exact percentiles, Wilson intervals, robust z and binomial tails."""

from __future__ import annotations

import math

import pytest

from spec_kitty_telemetry.analytics._stats import (
    binomial_tail,
    mad,
    mean_std,
    percentiles,
    robust_z,
    wilson_interval,
)


def test_percentiles_interpolate_between_closest_ranks() -> None:
    """p50/p95/p99 of 1..10 are 5.5, 9.55 and 9.91 (1 + q * 9, interpolated)."""
    assert percentiles(list(range(1, 11))) == pytest.approx([5.5, 9.55, 9.91])


def test_percentiles_of_one_value_and_of_none() -> None:
    """One value is every percentile; no values give no percentiles."""
    assert percentiles([7.0]) == [7.0, 7.0, 7.0]
    assert percentiles([]) == []


def test_percentiles_ignore_input_order() -> None:
    """Percentiles are of the sorted data: shuffled input gives the same figures."""
    assert percentiles([4, 1, 3, 2], (50,)) == [2.5]


def test_mean_and_sample_standard_deviation() -> None:
    """Mean 2.5 and sample std sqrt(5/3) for 1..4; std is None for one value."""
    mean, std = mean_std([1, 2, 3, 4])
    assert mean == 2.5
    assert std == pytest.approx(math.sqrt(5 / 3))
    assert mean_std([3.0]) == (3.0, None)
    assert mean_std([]) == (None, None)


def test_mad_is_the_median_of_absolute_deviations() -> None:
    """MAD of 1,2,3,4,100: deviations from 3 are 2,1,0,1,97, whose median is 1."""
    assert mad([1, 2, 3, 4, 100]) == 1.0
    assert mad([]) == 0.0


def test_robust_z_divides_by_the_scaled_mad() -> None:
    """(10 - 5) / (1.4826 * 2) = 1.686; with no spread, any other value is infinitely far."""
    assert robust_z(10, 5, 2) == pytest.approx(5 / (1.482602218505602 * 2))
    assert robust_z(6, 5, 0) == math.inf
    assert robust_z(4, 5, 0) == -math.inf
    assert robust_z(5, 5, 0) == 0.0


def test_wilson_interval_matches_hand_computation() -> None:
    """8 of 10 gives (0.4902, 0.9433); 0 of 10 gives (0, 0.2775); 10 of 10 (0.7225, 1)."""
    assert wilson_interval(8, 10) == pytest.approx((0.49016, 0.94332), abs=1e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-5)


def test_wilson_interval_of_no_runs_is_everything() -> None:
    """With no runs nothing is known about the rate: (0, 1)."""
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_binomial_tail_by_hand() -> None:
    """P(X >= 2 | 3, 0.5) = 4/8; P(X >= 3 | 3, 0.1) = 0.001; edges 0 and 1."""
    assert binomial_tail(2, 3, 0.5) == pytest.approx(0.5)
    assert binomial_tail(3, 3, 0.1) == pytest.approx(0.001)
    assert binomial_tail(0, 3, 0.1) == 1.0
    assert binomial_tail(4, 3, 0.1) == 0.0
    assert binomial_tail(1, 3, 0.0) == 0.0


def test_binomial_tail_of_large_samples_does_not_overflow() -> None:
    """n = 5,000 (math.comb overflows floats there): P(X >= 2500 | p=0.5) is about 0.506."""
    assert binomial_tail(2500, 5000, 0.5) == pytest.approx(0.5056, abs=1e-3)

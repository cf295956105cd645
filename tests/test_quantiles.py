"""The one nearest-rank percentile (numpy's inverted_cdf with a rank guard) against exact arithmetic and the
hand-written rank formula it replaced (bench/stats.nearest_rank and the replay server's _percentile)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from hivepulse.quantiles import nearest_rank


def former_bench_nearest_rank(values, p):
    """bench/stats.nearest_rank before the refactor (verbatim rule)."""
    arr = np.sort(np.asarray(values, dtype=float))
    if arr.size == 0:
        return None
    rank = max(1, math.ceil(p / 100.0 * arr.size - 1e-9))
    return float(arr[rank - 1])


def former_sensemap_percentile(sorted_values, q):
    """sensemap/server._percentile before the refactor (verbatim rule)."""
    if not sorted_values:
        return None
    n = len(sorted_values)
    rank = max(1, math.ceil(q * n / 100))
    return sorted_values[min(rank, n) - 1]


def test_numpy_inverted_cdf_alone_differs_at_exact_rank_boundaries():
    """Why the guard exists: 28 % of 25 values is rank 7 exactly, but 0.28 * 25 = 7.000000000000001 in
    binary floating point, so plain numpy picks rank 8."""
    values = np.arange(1, 26, dtype=float)
    assert float(np.percentile(values, 28, method="inverted_cdf")) == 8.0
    assert nearest_rank(values, 28) == 7.0


def test_equals_exact_rational_rank_and_the_former_implementations():
    mismatches = []
    for n in range(1, 101):
        values = np.arange(1, n + 1, dtype=float)[::-1]  # unsorted input
        for tenth in range(0, 1001, 5):
            p = tenth / 10
            exact = float(max(1, math.ceil(Fraction(tenth, 1000) * n)))
            got = nearest_rank(values, p)
            if got != exact or got != former_bench_nearest_rank(values, p):
                mismatches.append((n, p, got, exact))
    assert mismatches == []
    # the replay server's former rule agrees wherever p/100 * n is not an exact boundary hit by noise
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 10, 199, 2000):
        sample = sorted(rng.lognormal(size=n).tolist())
        for q in (50, 90, 99):
            assert nearest_rank(sample, q) == former_sensemap_percentile(sample, q)


def test_edges():
    assert nearest_rank([], 50) is None
    assert nearest_rank([4.0], 0) == 4.0 and nearest_rank([4.0], 100) == 4.0
    assert nearest_rank([3.0, 1.0, 2.0], 0) == 1.0
    with pytest.raises(ValueError):
        nearest_rank([1.0], 100.5)
    with pytest.raises(ValueError):
        nearest_rank([1.0], -1)

"""Small, exact statistics shared by the DORA engine and the profiling harness: medians, percentiles, confidence
intervals and tests.

Pure functions over numpy arrays; no I/O. Conventions:

- percentiles use numpy's default linear interpolation (``method="linear"``, the pandas default) for the DORA
  engine, and nearest rank (``numpy.percentile(..., method="inverted_cdf")``: the value at 1-based rank
  ``ceil(p/100 * n)``, always an observed sample) for the profiling harness (:func:`nearest_rank`);
- every confidence interval is two-sided at level ``1 - alpha`` (default 95 %);
- a median CI comes from a seeded percentile bootstrap for ``n <= BOOTSTRAP_MAX_N`` and from the exact,
  distribution-free order-statistic (binomial) interval above that (see :func:`median_ci`);
- rates use the Wilson score interval (``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``),
  counts the exact Poisson (Garwood) interval.

One implementation each: the profiling harness reads its percentiles, medians and bootstrap CIs from here too.

The exact rules are documented in ``docs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

BOOTSTRAP_MAX_N = 5000
"""Above this many values the median CI uses order statistics instead of the bootstrap."""

_BOOT_CHUNK_CELLS = 4_000_000
"""Bootstrap resamples are drawn in chunks of at most this many cells (bounds memory to ~32 MB)."""


def as_array(values: object) -> np.ndarray:
    """``values`` as a 1-d float array with NaN removed."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def median(values: object) -> float | None:
    """Median with linear interpolation; ``None`` for an empty sample."""
    arr = as_array(values)
    return float(np.median(arr)) if arr.size else None


def percentile(values: object, q: float) -> float | None:
    """The ``q``-th percentile (0-100), linear interpolation; ``None`` for an empty sample."""
    arr = as_array(values)
    return float(np.percentile(arr, q)) if arr.size else None


def nearest_rank(values: object, p: float) -> float | None:
    """The ``p``-th percentile (0-100) by nearest rank: the value at 1-based rank ``ceil(p/100 * n)`` of the
    sorted sample (rank 1 for p = 0), so it is always an observed value; ``None`` for an empty sample.

    ``numpy.percentile(values, p, method="inverted_cdf")`` (Hyndman and Fan's definition 1). Example: values
    1..10, p = 90 -> rank 9 -> 9; p = 50 of an even n is the lower middle value.
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    arr = as_array(values)
    return float(np.percentile(arr, p, method="inverted_cdf")) if arr.size else None


def bootstrap_medians(sorted_values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """``n_boot`` medians of resamples (with replacement, size n) of ``sorted_values``, drawn from ``rng``.

    Resamples are drawn in chunks of at most ``_BOOT_CHUNK_CELLS`` cells (memory bound); the chunking does
    not change the numbers (numpy's ``Generator.integers`` gives the same stream however it is split)."""
    n = sorted_values.size
    meds = np.empty(n_boot)
    rows = max(1, _BOOT_CHUNK_CELLS // max(n, 1))
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        meds[start:stop] = np.median(sorted_values[idx], axis=1)
    return meds


def bootstrap_median_ci(
    values: object, *, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float] | None:
    """Seeded percentile-bootstrap CI of the median.

    The sample is sorted first, so the result does not depend on the order of the input. Resamples are
    drawn with ``np.random.default_rng(seed)``; the bounds are the ``alpha/2`` and ``1 - alpha/2``
    percentiles (linear) of the ``n_boot`` resampled medians. ``None`` for an empty sample;
    ``(v, v)`` for a single value.
    """
    arr = np.sort(as_array(values))
    n = arr.size
    if n == 0:
        return None
    if n == 1:
        return float(arr[0]), float(arr[0])
    meds = bootstrap_medians(arr, np.random.default_rng(seed), n_boot)
    low, high = np.percentile(meds, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def order_statistic_median_ci(values: object, *, alpha: float = 0.05) -> tuple[float, float] | None:
    """Exact distribution-free CI of the median from order statistics.

    With ``B ~ Binomial(n, 1/2)`` and the sorted sample ``x(1) <= ... <= x(n)``, the interval
    ``[x(r), x(n-r+1)]`` covers the population median with probability ``1 - 2 P(B <= r-1)``. ``r`` is the
    largest rank with ``P(B <= r-1) <= alpha/2`` (coverage >= ``1 - alpha``), at least 1.
    """
    arr = as_array(values)
    n = arr.size
    if n == 0:
        return None
    # smallest k with P(B <= k) >= alpha/2; then P(B <= k-1) < alpha/2, so r = k.
    k = int(_st.binom.ppf(alpha / 2, n, 0.5))
    if _st.binom.cdf(k, n, 0.5) <= alpha / 2:  # ppf rounding guard: take the largest valid rank
        k += 1
    r = max(1, k)
    s = n - r + 1
    part = np.partition(arr, sorted({r - 1, s - 1}))
    return float(part[r - 1]), float(part[s - 1])


def median_ci(
    values: object, *, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float] | None:
    """CI of the median: bootstrap for n <= BOOTSTRAP_MAX_N, order statistics above; clamped to hold the median."""
    arr = as_array(values)
    if arr.size == 0:
        return None
    if arr.size <= BOOTSTRAP_MAX_N:
        ci = bootstrap_median_ci(arr, n_boot=n_boot, alpha=alpha, seed=seed)
    else:
        ci = order_statistic_median_ci(arr, alpha=alpha)
    assert ci is not None
    m = float(np.median(arr))
    return min(ci[0], m), max(ci[1], m)


def wilson(k: int, n: int, *, alpha: float = 0.05) -> tuple[float, float] | None:
    """Wilson score interval for a proportion ``k / n``; ``None`` when ``n == 0``. Always within [0, 1] and
    holding ``k / n``.

    ``scipy.stats.binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="wilson")``: with
    ``z = Phi^-1(1 - alpha/2)``, ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``."""
    if n <= 0:
        return None
    ci = _st.binomtest(int(k), int(n)).proportion_ci(confidence_level=1 - alpha, method="wilson")
    p = k / n
    low, high = max(0.0, float(ci.low)), min(1.0, float(ci.high))
    return min(low, p), max(high, p)


def garwood(k: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) Poisson interval for a count ``k``: ``[chi2(a/2, 2k)/2, chi2(1-a/2, 2k+2)/2]``."""
    low = 0.0 if k == 0 else float(_st.chi2.ppf(alpha / 2, 2 * k)) / 2
    high = float(_st.chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return low, high


@dataclass(frozen=True)
class TestResult:
    """A two-sided test: its name, p-value, and the sign of the shift (current minus previous).

    ``shift`` is +1 when the current sample/rate tends to be larger, -1 smaller, 0 no difference.
    """

    test: str
    p_value: float | None
    shift: int


def mann_whitney(current: object, previous: object) -> TestResult:
    """Two-sided Mann-Whitney U (scipy, ``method="auto"``); ``shift`` from ``U1 - n1 n2 / 2``."""
    a, b = as_array(current), as_array(previous)
    if a.size == 0 or b.size == 0:
        return TestResult("mann-whitney-u", None, 0)
    res = _st.mannwhitneyu(a, b, alternative="two-sided")
    centre = a.size * b.size / 2
    shift = int(np.sign(res.statistic - centre))
    return TestResult("mann-whitney-u", float(res.pvalue), shift)


def fisher(k1: int, n1: int, k2: int, n2: int) -> TestResult:
    """Fisher's exact two-sided test on the 2x2 table ``[[k1, n1-k1], [k2, n2-k2]]``."""
    if n1 <= 0 or n2 <= 0:
        return TestResult("fisher-exact", None, 0)
    res = _st.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided")
    shift = int(np.sign(k1 * n2 - k2 * n1))  # sign of k1/n1 - k2/n2 without division
    return TestResult("fisher-exact", float(res.pvalue), shift)


def poisson_rate_test(k1: int, t1: float, k2: int, t2: float) -> TestResult:
    """Exact conditional test of two Poisson rates (counts ``k`` over exposures ``t``).

    Under equal rates, ``k1 | k1 + k2 ~ Binomial(k1 + k2, t1 / (t1 + t2))``: a two-sided binomial test.
    ``p_value`` is ``None`` when ``k1 + k2 == 0`` (no information).
    """
    if k1 + k2 == 0 or t1 <= 0 or t2 <= 0:
        return TestResult("poisson-exact-conditional", None, 0)
    res = _st.binomtest(k1, k1 + k2, t1 / (t1 + t2), alternative="two-sided")
    shift = int(np.sign(k1 * t2 - k2 * t1))
    return TestResult("poisson-exact-conditional", float(res.pvalue), shift)

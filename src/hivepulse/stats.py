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

The intervals and tests are computed with the standard library (``math``, ``statistics.NormalDist``), numpy and
exact integer arithmetic, not with scipy: importing ``scipy.stats`` costs about a second of every retro kernel and
``scipy.special`` a third of one (only the order-statistic CI of more than 5,000 values imports
``scipy.special``). Each one gives the numbers ``scipy.stats`` gives (same rules: ``binomtest``,
``fisher_exact``, ``mannwhitneyu(method="auto")``, ``chi2.ppf``, ``binom.ppf``); ``tests/test_stats.py`` checks
them against ``scipy.stats`` on many random inputs.

One implementation each: the profiling harness reads its percentiles, medians and bootstrap CIs from here too.

The exact rules are documented in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist

import numpy as np

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
    k = _binom_ppf(alpha / 2, n)
    if _binom_cdf(k, n) <= alpha / 2:  # ppf rounding guard: take the largest valid rank
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
    k, n = int(k), int(n)
    p = k / n
    z = _NORMAL.inv_cdf(0.5 + 0.5 * (1 - alpha))
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    lo = 0.0 if k == 0 else center - delta
    hi = 1.0 if k == n else center + delta
    low, high = max(0.0, float(lo)), min(1.0, float(hi))
    return min(low, p), max(high, p)


def garwood(k: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) Poisson interval for a count ``k``: ``[chi2(a/2, 2k)/2, chi2(1-a/2, 2k+2)/2]``."""
    # chi2.ppf(q, df) / 2 is the q-quantile of Gamma(df / 2): the inverse of the regularized incomplete gamma
    low = 0.0 if k == 0 else _gamma_ppf(k, alpha / 2)
    high = _gamma_ppf(k + 1, 1 - alpha / 2)
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
    u1, p = _mann_whitney(a, b)
    centre = a.size * b.size / 2
    shift = int(np.sign(u1 - centre))
    return TestResult("mann-whitney-u", p, shift)


def fisher(k1: int, n1: int, k2: int, n2: int) -> TestResult:
    """Fisher's exact two-sided test on the 2x2 table ``[[k1, n1-k1], [k2, n2-k2]]``."""
    if n1 <= 0 or n2 <= 0:
        return TestResult("fisher-exact", None, 0)
    p = _fisher_two_sided(int(k1), int(n1) - int(k1), int(k2), int(n2) - int(k2))
    shift = int(np.sign(k1 * n2 - k2 * n1))  # sign of k1/n1 - k2/n2 without division
    return TestResult("fisher-exact", p, shift)


def poisson_rate_test(k1: int, t1: float, k2: int, t2: float) -> TestResult:
    """Exact conditional test of two Poisson rates (counts ``k`` over exposures ``t``).

    Under equal rates, ``k1 | k1 + k2 ~ Binomial(k1 + k2, t1 / (t1 + t2))``: a two-sided binomial test.
    ``p_value`` is ``None`` when ``k1 + k2 == 0`` (no information).
    """
    if k1 + k2 == 0 or t1 <= 0 or t2 <= 0:
        return TestResult("poisson-exact-conditional", None, 0)
    p = _binom_two_sided(int(k1), int(k1 + k2), t1 / (t1 + t2))
    shift = int(np.sign(k1 * t2 - k2 * t1))
    return TestResult("poisson-exact-conditional", p, shift)


# ---------------------------------------------------------------------------------------------- exact parts
# The rules of scipy.stats (1.17) for the same inputs, computed with scipy.special and exact integers.


_NORMAL = NormalDist()
_TINY = 1e-300


def _gamma_p(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x) (series below a + 1, continued fraction above)."""
    if x <= 0:
        return 0.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return min(1.0, total * math.exp(log_front))
    b = x + 1 - a
    c, d = 1 / _TINY, 1 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-17:
            break
    return max(0.0, 1 - math.exp(log_front) * h)


def _gamma_ppf(a: float, q: float) -> float:
    """The q-quantile of Gamma(a, 1) (``scipy.special.gammaincinv(a, q)``): Newton steps on P(a, x) = q from
    the Wilson-Hilferty start, kept inside a bracket, to the last bits."""
    z = _NORMAL.inv_cdf(q)
    x = max(a * (1 - 1 / (9 * a) + z * math.sqrt(1 / (9 * a))) ** 3, 1e-8)
    lo, hi = 0.0, math.inf
    for _ in range(200):
        f = _gamma_p(a, x) - q
        if f < 0:
            lo = x
        else:
            hi = x
        density = math.exp(-x + (a - 1) * math.log(x) - math.lgamma(a))
        step = f / density if density > 0 else math.inf
        nxt = x - step
        if not lo < nxt < hi:  # outside the bracket: bisect (or grow the bracket)
            nxt = (lo + hi) / 2 if math.isfinite(hi) else 2 * x
        if abs(nxt - x) <= 1e-15 * abs(nxt):
            return nxt
        x = nxt
    return x


def _log_factorials(n: int) -> np.ndarray:
    """``log(i!)`` for i = 0..n (``math.lgamma``, accurate to the last bits)."""
    return np.fromiter((math.lgamma(i + 1) for i in range(n + 1)), dtype=float, count=n + 1)


def _binom_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P(B <= k) for B ~ Binomial(n, p) (``scipy.special.bdtr``; only the order-statistic CI of more than
    5,000 values needs it, so scipy.special is imported here, not with this module)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    from scipy import special

    return float(special.bdtr(k, n, p))


def _binom_ppf(q: float, n: int, p: float = 0.5) -> int:
    """The smallest k with P(B <= k) >= q (as ``scipy.stats.binom.ppf``), by bisection."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if _binom_cdf(mid, n, p) >= q:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _binom_two_sided(k: int, n: int, p: float) -> float:
    """``scipy.stats.binomtest(k, n, p).pvalue`` (two-sided): the probability of every outcome at most as
    likely as ``k`` (relative tolerance 1e-7), 1 when ``k == p n``."""
    if k == p * n:
        return 1.0
    x = np.arange(n + 1, dtype=float)
    log_fact = _log_factorials(n)
    log_pmf = log_fact[n] - log_fact - log_fact[::-1] + x * math.log(p) + (n - x) * math.log1p(-p)
    pmf = np.exp(log_pmf)
    return float(min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()))


FISHER_EXACT_MAX_N = 2000
"""Tables of at most this many observations are summed in exact integers (ties are exact); larger ones in log
space (the exact sum of big binomial coefficients grows with the square of n: 40,000 deployments took 7 s)."""


def _fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """``scipy.stats.fisher_exact([[a, b], [c, d]]).pvalue`` (two-sided): the hypergeometric probability of
    every table with the same margins at most as likely as this one. Up to :data:`FISHER_EXACT_MAX_N`
    observations the weights are exact integers (exact ties); above, log-probabilities from ``lgamma`` with a
    relative tie tolerance of 1e-7 (as ``scipy.stats.binomtest``)."""
    row1, row2, col1 = a + b, c + d, a + c
    if 0 in (row1, row2, col1, b + d):
        return 1.0
    low, high = max(0, col1 - row2), min(col1, row1)
    if row1 + row2 <= FISHER_EXACT_MAX_N:
        weights = {x: math.comb(row1, x) * math.comb(row2, col1 - x) for x in range(low, high + 1)}
        observed = weights[a]
        total = sum(weights.values())
        return float(min(Fraction(1), Fraction(sum(w for w in weights.values() if w <= observed), total)))
    log_fact = _log_factorials(row1 + row2)
    x = np.arange(low, high + 1)
    log_w = (log_fact[row1] - log_fact[x] - log_fact[row1 - x]
             + log_fact[row2] - log_fact[col1 - x] - log_fact[row2 - col1 + x])
    log_w -= log_w.max()  # the mode weighs 1: no underflow where it matters
    weights_f = np.exp(log_w)
    observed_f = weights_f[a - low]
    return float(min(1.0, weights_f[weights_f <= observed_f * (1 + 1e-7)].sum() / weights_f.sum()))


def _ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) of ``values`` and the sizes of its groups of ties."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    sizes = np.diff(np.r_[starts, values.size])
    average = starts + (sizes + 1) / 2  # mean of the 1-based ranks start+1 .. start+size
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(average, sizes)
    return ranks, sizes


def _u_counts(n1: int, n2: int) -> list[int]:
    """How many of the ``comb(n1 + n2, n1)`` arrangements give U = 0, 1, ..., n1 n2 (the coefficients of the
    Gaussian binomial coefficient), exactly."""
    k, n = min(n1, n2), n1 + n2
    poly = [1]
    for i in range(1, k + 1):  # multiply by (1 - q^(n - k + i)), then divide by (1 - q^i)
        step = n - k + i
        grown = poly + [0] * step
        for j in range(len(poly)):
            grown[j + step] -= poly[j]
        for j in range(i, len(grown)):
            grown[j] += grown[j - i]
        poly = grown[: len(grown) - i]
    return poly[: n1 * n2 + 1]


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(U1, p)`` of ``scipy.stats.mannwhitneyu(a, b, alternative="two-sided")`` (``method="auto"``: exact
    when one sample has at most 8 values and there are no ties, else the normal approximation with the tie
    correction and the continuity correction)."""
    n1, n2 = a.size, b.size
    ranks, ties = _ranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u = max(u1, n1 * n2 - u1)
    if (n1 <= 8 or n2 <= 8) and not (ties > 1).any():
        counts = _u_counts(n1, n2)
        tail = sum(counts[: int(n1 * n2 - u) + 1])
        p = 2 * tail / math.comb(n1 + n2, n1)
    else:
        n = n1 + n2
        tie_term = float(((ties.astype(float) ** 3) - ties).sum())
        sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        numerator = u - n1 * n2 / 2 - 0.5
        z = numerator / sigma if sigma > 0 else math.copysign(math.inf, numerator)  # all tied: -inf, p = 1
        p = 2 * (0.5 * math.erfc(z / math.sqrt(2)))  # 2 x the normal survival function at z
    return u1, float(min(max(p, 0.0), 1.0))

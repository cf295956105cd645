"""hivepulse.stats: each figure checked against a hand or table value (arithmetic in comments)."""

from __future__ import annotations

import numpy as np
import pytest

from hivepulse import stats


def test_median_and_percentiles_use_linear_interpolation():
    # sorted [0, 2, 24]: median = 2; p75 at rank 0.75*2 = 1.5 -> 2 + 0.5*(24-2) = 13; p90 at 1.8 -> 2 + 0.8*22 = 19.6
    assert stats.median([24, 0, 2]) == 2
    assert stats.percentile([24, 0, 2], 75) == pytest.approx(13)
    assert stats.percentile([24, 0, 2], 90) == pytest.approx(19.6)
    # even n: median of [1, 2, 3, 10] = (2 + 3) / 2 = 2.5
    assert stats.median([1, 2, 3, 10]) == 2.5
    assert stats.median([]) is None and stats.percentile([], 90) is None
    assert stats.median([np.nan, 4.0]) == 4.0  # NaN dropped


def test_wilson_known_values():
    # 0/10: z = 1.959964, z^2/n = 0.384146, denom = 1.384146, centre = half = (z^2/20)/denom = 0.138767
    # -> [0, 0.277533]
    low, high = stats.wilson(0, 10)
    assert low == 0 and high == pytest.approx(0.277533, abs=1e-6)
    # 5/10: centre 0.5; half = z*sqrt(0.025 + z^2/400)/denom = 1.959964*0.186022/1.384146 = 0.263407
    assert stats.wilson(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert stats.wilson(0, 0) is None
    low, high = stats.wilson(10, 10)
    assert high == 1.0 and low < 1.0


def test_garwood_known_values():
    # exact Poisson CI: [chi2(0.025, 2k)/2, chi2(0.975, 2k+2)/2]; published table values
    assert stats.garwood(0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert stats.garwood(1) == pytest.approx((0.0253, 5.5716), abs=1e-4)
    assert stats.garwood(10) == pytest.approx((4.7954, 18.3904), abs=1e-4)


def test_bootstrap_is_seeded_order_free_and_degenerate_cases():
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    a = stats.bootstrap_median_ci(values, n_boot=300, seed=1)
    b = stats.bootstrap_median_ci(list(reversed(values)), n_boot=300, seed=1)
    assert a == b  # sorted before resampling
    assert min(values) <= a[0] <= a[1] <= max(values)
    assert stats.bootstrap_median_ci([4.2]) == (4.2, 4.2)
    assert stats.bootstrap_median_ci([]) is None


def test_order_statistic_ci_n100():
    # n = 100, B ~ Bin(100, 1/2): P(B <= 39) = 0.0176 <= 0.025 < P(B <= 40) = 0.0284, so r = 40 and
    # s = 100 - 40 + 1 = 61: CI = [x(40), x(61)] = [40, 61] for the values 1..100 (coverage 0.9648)
    assert stats.order_statistic_median_ci(np.arange(100, 0, -1)) == (40.0, 61.0)


def test_median_ci_switches_to_order_statistics_above_5000():
    values = np.arange(6001, dtype=float)  # median 3000
    ci = stats.median_ci(values)
    assert ci == stats.order_statistic_median_ci(values)
    assert ci[0] < 3000 < ci[1]
    assert stats.median_ci([3.0]) == (3.0, 3.0)
    assert stats.median_ci([]) is None


def test_median_ci_contains_the_median():
    ci = stats.median_ci([1, 1, 1, 1, 50], n_boot=200)
    assert ci[0] <= 1 <= ci[1]


def test_mann_whitney_exact():
    # [1,2,3] vs [4,5,6]: U1 = 0, the most extreme of C(6,3) = 20 splits -> two-sided p = 2/20 = 0.1
    res = stats.mann_whitney([1, 2, 3], [4, 5, 6])
    assert res.p_value == pytest.approx(0.1) and res.shift == -1
    # 1..8 vs 11..18: p = 2 / C(16, 8) = 2 / 12870 = 0.000155
    assert stats.mann_whitney(range(1, 9), range(11, 19)).p_value == pytest.approx(2 / 12870)
    assert stats.mann_whitney([], [1.0]).p_value is None


def test_fisher_exact():
    # [[1, 9], [9, 1]], margins 10/10: P(a) = C(10,a) C(10,10-a) / C(20,10) with C(20,10) = 184756;
    # as or more extreme: a in {0, 1, 9, 10} -> (1 + 100 + 100 + 1) / 184756 = 0.00109333
    res = stats.fisher(1, 10, 9, 10)
    assert res.p_value == pytest.approx(202 / 184756) and res.shift == -1
    assert stats.fisher(0, 0, 1, 2).p_value is None


def test_poisson_rate_test():
    # k1 = 20, k2 = 5, equal exposure: Bin(25, 1/2); P(X >= 20) = (53130+12650+2300+300+25+1)/2^25
    # = 68406 / 33554432; two-sided p = 2 * that = 0.0040773
    res = stats.poisson_rate_test(20, 7, 5, 7)
    assert res.p_value == pytest.approx(2 * 68406 / 2**25) and res.shift == 1
    assert stats.poisson_rate_test(10, 7, 10, 7).p_value == pytest.approx(1.0)
    assert stats.poisson_rate_test(0, 7, 0, 7).p_value is None


# ---------------------------------------------------------------------------------------------- library equals hand


def _wilson_by_hand(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The Wilson score interval written out (the formula of docs/metrics.md), as hivepulse had it."""
    import math

    from scipy.stats import norm

    z = float(norm.ppf(1 - alpha / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def test_wilson_from_scipy_equals_the_formula_by_hand():
    # every k of every n up to 40 at three levels, and a few large n: equal to the last bits (|diff| <= 4e-16)
    cases = [(k, n) for n in range(1, 41) for k in range(n + 1)] + [(0, 5000), (17, 5000), (4999, 5000)]
    for alpha in (0.05, 0.1, 0.01):
        for k, n in cases:
            low, high = stats.wilson(k, n, alpha=alpha)
            want = _wilson_by_hand(k, n, alpha)
            assert abs(low - want[0]) <= 4e-16 and abs(high - want[1]) <= 4e-16, (k, n, alpha)
            assert low <= k / n <= high


def _nearest_rank_by_hand(values, p):
    import math

    arr = sorted(values)
    return arr[max(1, math.ceil(p / 100 * len(arr) - 1e-9)) - 1]


def test_nearest_rank_is_numpys_inverted_cdf_and_an_observed_value():
    # 1..10: p90 -> rank ceil(9) = 9 -> 9; p50 of an even n is the lower middle value; p0 -> rank 1
    assert stats.nearest_rank(range(1, 11), 90) == 9
    assert stats.nearest_rank([4, 1, 3, 2], 50) == 2
    assert stats.nearest_rank([7, 5], 0) == 5 and stats.nearest_rank([7, 5], 100) == 7
    assert stats.nearest_rank([], 50) is None
    rng = np.random.default_rng(3)
    for n in range(1, 120):
        values = rng.normal(size=n).round(2)
        for p in (0, 1, 10, 25, 33.3, 50, 75, 90, 95, 99, 99.9, 100):
            got = stats.nearest_rank(values, p)
            assert got == _nearest_rank_by_hand(values, p) and got in values, (n, p)
    with pytest.raises(ValueError):
        stats.nearest_rank([1.0], 101)


def test_bootstrap_medians_do_not_depend_on_chunking(monkeypatch):
    values = np.sort(np.random.default_rng(5).exponential(size=333))
    whole = stats.bootstrap_medians(values, np.random.default_rng(9), 500)
    monkeypatch.setattr(stats, "_BOOT_CHUNK_CELLS", 1000)  # 3 resamples per chunk
    assert np.array_equal(stats.bootstrap_medians(values, np.random.default_rng(9), 500), whole)


def test_one_bootstrap_median_implementation_for_engine_and_harness():
    """The profiling harness's bootstrap CI (hivepulse.bench.stats) gives the numbers of hivepulse.stats."""
    from hivepulse.bench import stats as bench_stats

    rng = np.random.default_rng(11)
    for n in (2, 3, 10, 57, 400, 2500):
        values = rng.lognormal(3, 1, size=n)
        for seed in (0, 7):
            assert bench_stats.bootstrap_median_ci(values, n_boot=400, seed=seed) == pytest.approx(
                stats.bootstrap_median_ci(values, n_boot=400, seed=seed), rel=1e-12, abs=0)


# ---------------------------------------------------------------------------------------------- scipy.stats parity
# hivepulse.stats computes its intervals and tests without importing scipy.stats (a second of every retro
# kernel's start); these check that it gives scipy.stats's numbers on many random inputs.


def test_no_scipy_stats_import():
    import subprocess
    import sys

    code = "import sys, hivepulse.stats; print('scipy.stats' in sys.modules, 'scipy.special' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_intervals_equal_scipy_stats():
    from scipy import stats as st

    for k, n in [(0, 1), (1, 1), (0, 20), (1, 20), (7, 55), (10, 132), (50, 50), (3, 1000)]:
        ci = st.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = stats.wilson(k, n)
        assert low == pytest.approx(min(max(0.0, ci.low), k / n), abs=1e-15)
        assert high == pytest.approx(max(min(1.0, ci.high), k / n), abs=1e-15)
    for k in [*range(0, 60), 72, 130, 511, 1000, 4999, 20_000, 250_000]:
        for alpha in (0.05, 0.01, 0.2):
            low, high = stats.garwood(k, alpha=alpha)
            assert low == pytest.approx(0.0 if k == 0 else st.chi2.ppf(alpha / 2, 2 * k) / 2, rel=1e-12)
            assert high == pytest.approx(st.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2, rel=1e-12)
    for k, n, p in [(3, 10_000, 0.5), (4_900, 10_000, 0.5), (40, 60, 0.3), (0, 5, 0.5), (5, 5, 0.5)]:
        assert stats.poisson_rate_test(k, p, n - k, 1 - p).p_value == pytest.approx(
            st.binomtest(k, n, p).pvalue, rel=1e-9, abs=1e-15)
    for n in (1, 2, 5, 10, 99, 5001, 100_000):
        assert stats._binom_ppf(0.025, n) == int(st.binom.ppf(0.025, n, 0.5)), n


@pytest.mark.parametrize("seed", range(6))
def test_tests_equal_scipy_stats(seed):
    from scipy import stats as st

    rng = np.random.default_rng(seed)
    for _ in range(60):
        n1, n2 = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        k1, k2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        want = st.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert stats.fisher(k1, n1, k2, n2).p_value == pytest.approx(want, rel=1e-9, abs=1e-15)
        t1, t2 = float(rng.choice([7.0, 14.0, 28.0])), float(rng.choice([7.0, 14.0, 10.5]))
        if k1 + k2:
            want = st.binomtest(k1, k1 + k2, t1 / (t1 + t2)).pvalue
            assert stats.poisson_rate_test(k1, t1, k2, t2).p_value == pytest.approx(want, rel=1e-9, abs=1e-15)
        small, big = int(rng.integers(1, 9)), int(rng.integers(1, 60))
        for a, b in [(rng.exponential(5, small), rng.exponential(7, big)),  # exact (no ties, one side <= 8)
                     (rng.exponential(5, big + 9), rng.exponential(7, 12)),  # asymptotic
                     (rng.integers(0, 4, small).astype(float), rng.integers(0, 4, big).astype(float))]:  # ties
            res = st.mannwhitneyu(a, b, alternative="two-sided")
            got = stats.mann_whitney(a, b)
            assert got.p_value == pytest.approx(float(res.pvalue), rel=1e-9, abs=1e-15)
            assert got.shift == int(np.sign(res.statistic - a.size * b.size / 2))
    same = np.full(5, 2.0)
    assert stats.mann_whitney(same, same).p_value == st.mannwhitneyu(same, same).pvalue == 1.0


def test_fisher_on_big_tables_equals_scipy_stats():
    """Above FISHER_EXACT_MAX_N observations the sum runs in log space (the exact integer sum of 40,000
    deployments took 7 s); same p-values as scipy.stats within 1e-9, on both sides of the switch."""
    from scipy import stats as st

    rng = np.random.default_rng(3)
    for n in (stats.FISHER_EXACT_MAX_N // 2, stats.FISHER_EXACT_MAX_N // 2 + 1, 5_000, 40_000):
        for _ in range(4):
            n2 = int(rng.integers(n // 2, n + 1))
            k1, k2 = int(rng.integers(0, n // 10)), int(rng.integers(0, n2 // 10))
            want = st.fisher_exact([[k1, n - k1], [k2, n2 - k2]]).pvalue
            assert stats.fisher(k1, n, k2, n2).p_value == pytest.approx(want, rel=1e-9, abs=1e-300)
    assert stats.fisher(500, 20_000, 500, 20_000).p_value == pytest.approx(1.0)  # the observed table is the mode

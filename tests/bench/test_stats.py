import math

import pytest

from hivepulse.bench.stats import bootstrap_median_ci, iqr, median, nearest_rank, speedup_ci, summarize


def test_nearest_rank_hand_computed():
    values = list(range(1, 11))  # 1..10
    assert nearest_rank(values, 90) == 9  # rank ceil(0.9*10) = 9
    assert nearest_rank(values, 50) == 5  # rank ceil(5.0) = 5: an observed value, not 5.5
    assert nearest_rank(values, 99) == 10  # rank ceil(9.9) = 10
    assert nearest_rank(values, 0) == 1
    assert nearest_rank(values, 100) == 10
    assert nearest_rank([7.0, 3.0, 5.0], 50) == 5.0  # sorted 3,5,7; rank ceil(1.5) = 2
    assert nearest_rank([], 50) is None
    with pytest.raises(ValueError):
        nearest_rank([1], 101)


def test_median_iqr():
    assert median([1, 2, 3, 4]) == 2.5
    # p75 rank ceil(3) = 3 -> 3; p25 rank ceil(1) = 1 -> 1; IQR = 2
    assert iqr([1, 2, 3, 4]) == 2
    assert median([]) is None and iqr([]) is None


def test_bootstrap_ci_contains_median_and_is_seeded():
    values = [float(v) for v in range(100)]
    lo, hi = bootstrap_median_ci(values, seed=1)
    assert lo <= 49.5 <= hi
    assert (lo, hi) == bootstrap_median_ci(list(reversed(values)), seed=1)
    assert bootstrap_median_ci([4.0]) == (4.0, 4.0)
    assert bootstrap_median_ci([]) is None


def test_speedup_ci():
    ratio, (lo, hi) = speedup_ci([300, 310, 320], [1, 2, 3])
    assert ratio == pytest.approx(155.0)  # 310 / 2
    assert lo <= ratio <= hi
    assert speedup_ci([], [1]) is None
    assert speedup_ci([1], [0]) is None


def test_summarize():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    # sorted 1..5: p50 rank ceil(2.5)=3 -> 3; p90 rank ceil(4.5)=5 -> 5
    assert (s.count, s.p50, s.p90, s.p99, s.max, s.min) == (5, 3.0, 5.0, 5.0, 5.0, 1.0)
    assert summarize([]).count == 0
    assert not math.isnan(s.iqr)

import numpy as np

from hivepulse.bench.compare import compare_runs, compare_samples


def test_faster_slower_unchanged():
    rng = np.random.default_rng(3)
    base = rng.normal(100, 5, 200)
    faster = compare_samples("s", base, base * 0.5)
    assert faster.verdict == "faster" and faster.ratio < 0.6 and faster.p_value < 0.01
    slower = compare_samples("s", base, base * 1.5)
    assert slower.verdict == "slower"
    # significant with n=200 per side but only 3% slower: below the 10% minimum effect
    small = compare_samples("s", base, base * 1.03)
    assert small.verdict == "unchanged" and "below" in small.reason
    # same distribution, different draw: not significant
    same = compare_samples("s", base, rng.normal(100, 5, 200))
    assert same.verdict == "unchanged"
    few = compare_samples("s", [1, 2], [10, 20])
    assert few.verdict == "unchanged" and "too few" in few.reason


def test_compare_runs_new_and_removed():
    out = compare_runs({"a": [1.0] * 10, "gone": [1.0] * 10}, {"a": [1.0] * 10, "b": [2.0] * 10})
    verdicts = {c.scenario: c.verdict for c in out}
    assert verdicts == {"a": "unchanged", "b": "new", "gone": "removed"}

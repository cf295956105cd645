"""Findings of a profiling run (hand-made results.json documents): numbers, n in every text, kinds and
thresholds (docs/profiling.md), and the generated conclusion."""

import pytest

from hivepulse.bench import compare
from hivepulse.bench import findings as fmod
from hivepulse.bench.findings import conclusion, findings
from hivepulse.vocabulary import direction


def _s(name, cache, client, p50, p99, calls, hit=None, speedup=None, ci=None, n=100, errors=0, wait=None,
       bound=None, p90=None, median_ci=None, latency=100):
    return {"name": name, "cache": cache, "client": client, "latency_ms": latency, "requests": n, "p50_ms": p50,
            "p90_ms": p90 if p90 is not None else p50, "p99_ms": p99, "upstream_calls_per_1000": calls,
            "hit_ratio": hit, "speedup": speedup, "speedup_ci": ci, "errors": errors,
            "baseline_scenario": "none-naive", "upstream_wait_share": wait, "upstream_bound_per_1000": bound,
            "boxes": 3, "median_ci_ms": median_ci}


RESULTS = {
    "scenarios": [
        _s("none-naive", "none", "naive", 412.0, 2100.0, 3000.0, n=30, wait=0.97),
        _s("valkey-pooled", "valkey", "pooled", 1.9, 4.0, 3.0, hit=0.999, speedup=216.8, ci=[180.2, 240.9],
           bound=20.0),
        _s("memory-naive", "memory", "naive", 2.5, 5.0, 3.0, hit=0.42, speedup=164.8, errors=2),
    ],
    "comparison": [{"scenario": "memory-naive", "verdict": "slower", "ratio": 1.5, "baseline_median_ms": 1.0,
                    "current_median_ms": 1.5, "reason": "median x1.50, p=1e-05 < 0.01", "p_value": 1e-5,
                    "n_baseline": 100, "n_current": 100}],
    "profiles": {"py-spy": {"ok": False, "message": "py-spy could not attach"}},
}


def by_key(results):
    return {(f["metric"], f["scenario"]): f for f in findings(results)}


def test_findings_shape_and_numbers():
    out = findings(RESULTS)
    keys = {"metric", "value", "text", "scenario", "unit", "kind", "better", "threshold", "n", "reach",
            "reach_text", "significant"}
    assert all(set(f) == keys for f in out)
    assert all(f["kind"] in fmod.KINDS and f["better"] == direction(f["metric"]) for f in out)
    by = by_key(RESULTS)
    assert by[("p99_ms", "none-naive")]["text"] == "p99 2.1 s under naive client without cache (n=30)"
    assert by[("hit_ratio", "memory-naive")]["text"] == (
        "hit ratio 0.42 under naive client with memory cache (n=100 lookups), below 0.80")
    sp = by[("speedup_p50", "valkey-pooled")]
    assert sp["value"] == 216.8 and "412 ms to 1.9 ms" in sp["text"] and "180-241x" in sp["text"]
    assert "n=100 vs 30" in sp["text"]
    # 1 - 3 / 3000 = 0.999
    assert by[("upstream_calls_saved", "valkey-pooled")]["value"] == pytest.approx(0.999)
    assert by[("errors", "memory-naive")]["value"] == 2
    assert by[("baseline_ratio", "memory-naive")]["value"] == 1.5
    assert by[("profiler_unavailable", None)]["value"] == 1
    # every finding states its n (the py-spy message is a tooling note, not a measurement)
    assert all("n=" in f["text"] for f in out if f["metric"] != "profiler_unavailable")


def test_kinds_problem_good_news_and_context():
    by = by_key(RESULTS)
    kinds = {k: f["kind"] for k, f in by.items()}
    assert kinds[("p50_ms", "none-naive")] == "info"  # the baseline is context
    assert kinds[("hit_ratio", "memory-naive")] == "problem"  # 0.42 < 0.80
    assert kinds[("hit_ratio", "valkey-pooled")] == "good"  # "hit ratio 1.00" is good news
    assert kinds[("upstream_calls_saved", "valkey-pooled")] == "good"  # 3 <= the TTL bound 20
    assert kinds[("upstream_calls_per_1000", "valkey-pooled")] == "good"
    assert kinds[("p99_ms", "valkey-pooled")] == "good"  # 4 ms <= 100 ms
    assert kinds[("speedup_p50", "valkey-pooled")] == "good" and by[("speedup_p50", "valkey-pooled")]["significant"]
    assert kinds[("errors", "memory-naive")] == "problem"
    assert kinds[("baseline_ratio", "memory-naive")] == "problem"  # slower than the baseline run
    assert kinds[("profiler_unavailable", None)] == "info"
    # 97% waiting upstream, but a cached scenario works (hit ratio 0.999 >= 0.8): context, not a problem
    assert kinds[("upstream_wait_share", "none-naive")] == "info"
    hit = by[("hit_ratio", "memory-naive")]
    assert (hit["threshold"], hit["reach"], hit["n"]) == (0.8, 0.58, 100)  # reach: miss share 1 - 0.42


def test_thresholds_turn_numbers_into_problems():
    results = {"scenarios": [
        _s("none-naive", "none", "naive", 400.0, 900.0, 3000.0, n=50, wait=0.9, median_ci=[390.0, 410.0]),
        _s("none-pooled", "none", "pooled", 300.0, 700.0, 3000.0, n=50, median_ci=[295.0, 305.0]),
        # cached p99 340 ms > 100 ms, p90 150 ms > 100 ms: at least 10% of requests above the budget
        _s("memory-pooled", "memory", "pooled", 3.0, 340.0, 60.0, hit=0.6, p90=150.0, bound=20.0, n=300),
    ]}
    by = by_key(results)
    p99 = by[("p99_ms", "memory-pooled")]
    assert (p99["kind"], p99["reach"], p99["threshold"]) == ("problem", 0.1, fmod.CACHED_P99_BUDGET_MS)
    calls = by[("upstream_calls_per_1000", "memory-pooled")]
    # (60 - 20) / (1000 x 3 boxes) = 0.0133 of requests made an extra refresh
    assert calls["kind"] == "problem" and calls["reach"] == pytest.approx(0.0133)
    assert by[("upstream_calls_saved", "memory-pooled")]["kind"] == "info"  # above the bound: no good news
    over = by[("naive_client_overhead", "none-naive")]
    # 400 / 300 = 1.33 > 1.2; CIs 390-410 and 295-305 do not overlap; reach 1 - 0.6 = 0.4 go upstream
    assert over["kind"] == "problem" and over["value"] == pytest.approx(1.3333, abs=1e-4)
    assert over["significant"] is True and over["reach"] == pytest.approx(0.4)
    # no cached scenario reaches 0.8: waiting 90% upstream is a problem
    assert by[("upstream_wait_share", "none-naive")]["kind"] == "problem"
    assert by[("errors", None)]["kind"] == "good" and "no errors in 400 requests" in by[("errors", None)]["text"]


def test_comparison_alpha_matches_the_compare_module():
    assert fmod.COMPARISON_ALPHA == compare.ALPHA


def test_conclusion_sentence():
    text = conclusion(RESULTS)
    # memory-naive (2.5 ms, no CI) is not practically slower than valkey-pooled (1.9 ms): 0.6 ms < 1 ms
    assert text.startswith("With caching, p50 fell from 412 ms to 1.9-2.5 ms (165-217x; n=100 vs 30); memory, "
                           "valkey (2 scenarios) show no measurable difference between them")
    assert "97% of uncached time is waiting on openSenseMap" in text
    clear = {"scenarios": [RESULTS["scenarios"][0],
                           {**RESULTS["scenarios"][1]},
                           {**RESULTS["scenarios"][2], "p50_ms": 25.0, "speedup": 16.5, "speedup_ci": [15.0, 18.0]}]}
    assert conclusion(clear).startswith("With valkey cache and pooled client, p50 fell from 412 ms to 1.9 ms (217x, "
                                        "95% CI 180-241x; n=100 vs 30), practically faster than every other cached "
                                        "scenario")


def test_identical_runs_with_overlapping_cis_give_the_same_conclusion():
    a = {**RESULTS["scenarios"][1], "speedup": 68.0, "speedup_ci": [60.0, 75.0], "p50_ms": 6.0}
    b = {**RESULTS["scenarios"][2], "speedup": 65.0, "speedup_ci": [58.0, 72.0], "p50_ms": 6.3}
    run1 = {"scenarios": [RESULTS["scenarios"][0], a, b]}
    run2 = {"scenarios": [RESULTS["scenarios"][0], {**a, "speedup": 64.0}, {**b, "speedup": 66.0}]}
    assert "no measurable difference" in conclusion(run1) and "no measurable difference" in conclusion(run2)
    assert fmod.practically_different(a, b) is False
    assert conclusion({"scenarios": []}) == "No scenario was measured."

from hivepulse.bench.findings import conclusion, findings


def _s(name, cache, client, p50, p99, calls, hit=None, speedup=None, ci=None, n=100, errors=0, wait=None):
    return {"name": name, "cache": cache, "client": client, "latency_ms": 100, "requests": n, "p50_ms": p50,
            "p99_ms": p99, "upstream_calls_per_1000": calls, "hit_ratio": hit, "speedup": speedup,
            "speedup_ci": ci, "errors": errors, "baseline_scenario": "none-naive", "upstream_wait_share": wait}


RESULTS = {
    "scenarios": [
        _s("none-naive", "none", "naive", 412.0, 2100.0, 3000.0, n=30, wait=0.97),
        _s("valkey-pooled", "valkey", "pooled", 1.9, 4.0, 3.0, hit=0.999, speedup=216.8, ci=[180.2, 240.9]),
        _s("memory-naive", "memory", "naive", 2.5, 5.0, 3.0, hit=0.42, speedup=164.8, errors=2),
    ],
    "comparison": [{"scenario": "memory-naive", "verdict": "slower", "ratio": 1.5, "baseline_median_ms": 1.0,
                    "current_median_ms": 1.5, "reason": "median x1.50, p=1e-05 < 0.01"}],
    "profiles": {"py-spy": {"ok": False, "message": "py-spy could not attach"}},
}


def test_findings_shape_and_numbers():
    out = findings(RESULTS)
    assert all(set(f) >= {"metric", "value", "text", "scenario"} for f in out)
    by = {(f["metric"], f["scenario"]): f for f in out}
    assert by[("p99_ms", "none-naive")]["text"] == "p99 2.1 s under naive client without cache"
    assert by[("hit_ratio", "memory-naive")]["text"] == "hit ratio 0.42 under naive client with memory cache"
    sp = by[("speedup_p50", "valkey-pooled")]
    assert sp["value"] == 216.8 and "412 ms to 1.9 ms" in sp["text"] and "180-241x" in sp["text"]
    # 1 - 3 / 3000 = 0.999
    assert by[("upstream_calls_saved", "valkey-pooled")]["value"] == 0.999
    assert by[("errors", "memory-naive")]["value"] == 2
    assert by[("regression", "memory-naive")]["value"] == 1.5
    assert by[("profiler_unavailable", None)]["value"] == 1


def test_conclusion_sentence():
    text = conclusion(RESULTS)
    assert text.startswith("With valkey cache and pooled client, p50 fell from 412 ms to 1.9 ms (217x, 95% CI")
    assert "97% of uncached time is waiting on openSenseMap" in text
    assert conclusion({"scenarios": []}) == "No scenario was measured."

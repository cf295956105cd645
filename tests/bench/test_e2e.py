"""End to end with the real servers: replay server, Valkey, HiveBox processes, py-spy and pyinstrument.

One small run (module fixture, ~30 s) at 100 ms injected latency per upstream request, 3 boxes.
"""

from __future__ import annotations

import json

import pytest

from hivepulse.bench.runner import RunConfig, run
from hivepulse.bench.scenarios import parse_scenarios

pytestmark = [pytest.mark.slow, pytest.mark.timing]

REQUIRED = ("name", "cache", "client", "latency_ms", "requests", "p50_ms", "p90_ms", "p99_ms", "max_ms",
            "throughput_rps", "errors", "upstream_calls_per_1000", "hit_ratio", "cpu_s_per_request")
HOT_PATH_NAMES = ("fetch_box", "fetch_all_boxes", "get_snapshot", "refresh", "parse_temperature")

MATRIX = {
    "defaults": {"requests": 8, "concurrency": 1, "cold_requests": 1, "boxes": 3, "ttl_s": 60, "seed": 11},
    "latency_profiles": {"t100": {"median_ms": 100, "sigma": 0.1}},
    "scenarios": [
        {"cache": "none", "client": "naive", "latency": "t100"},
        {"cache": "none", "client": "pooled", "latency": "t100"},
        {"cache": "valkey", "client": "pooled", "latency": "t100", "requests": 200, "concurrency": 2,
         "cold_requests": 2},
        # very short TTL (50 ms, shorter than any run): refreshes happen during the run, so the TTL bound is really exercised
        {"cache": "memory", "client": "concurrent", "latency": "t100", "requests": 150, "concurrency": 3,
         "ttl_s": 0.05, "single_flight": "wait"},
    ],
}


@pytest.fixture(scope="module")
def run_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("profiling")
    results = run(RunConfig(parse_scenarios(MATRIX), output_dir=out, run_id="e2e"))
    return results, out / "e2e"


def _by_name(results):
    return {s["name"]: s for s in results["scenarios"]}


def test_results_json_contract(run_result):
    results, run_dir = run_result
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["run_id"] == "e2e" and {"cpu_model", "cores_logical", "python", "packages"} <= set(
        on_disk["machine"])
    for row in on_disk["scenarios"]:
        assert set(REQUIRED) <= set(row), set(REQUIRED) - set(row)
        assert row["errors"] == 0 and row["label"] == "warm"
        assert row["cold"]["label"] == "cold"
    samples = json.loads((run_dir / "samples.json").read_text())
    assert len(samples["valkey-pooled-t100"]) == 200
    for name in ("latency_cdf.png", "speedups.png", "upstream_calls.png", "findings.json"):
        assert (run_dir / name).stat().st_size > 0
    assert not list(run_dir.parent.glob(".*partial"))


def _expected_uncached_ms(row):
    # sequential client: boxes x per-request median, e.g. 3 x 100 ms = 300 ms
    return row["boxes"] * row["latency_ms"]


def test_uncached_sequential_latency_matches_injected_latency_pooled(run_result):
    row = _by_name(run_result[0])["none-pooled-t100"]
    assert row["p50_ms"] == pytest.approx(_expected_uncached_ms(row), rel=0.15)
    assert row["upstream_calls_per_1000"] == 3000  # 3 boxes per request, no cache: 1000 * 24 / 8


def test_uncached_sequential_latency_matches_injected_latency_naive(run_result):
    row = _by_name(run_result[0])["none-naive-t100"]
    assert row["upstream_calls_per_1000"] == 3000
    assert row["p50_ms"] == pytest.approx(_expected_uncached_ms(row), rel=0.15)


def test_valkey_warm_p50_at_least_20x_lower(run_result):
    rows = _by_name(run_result[0])
    cached, uncached = rows["valkey-pooled-t100"], rows["none-naive-t100"]
    assert cached["p50_ms"] * 20 <= uncached["p50_ms"]
    assert cached["speedup"] >= 20 and cached["speedup_ci"][0] <= cached["speedup"] <= cached["speedup_ci"][1]
    assert cached["hit_ratio"] > 0.99 and cached["hit_ratio_source"] == "metrics"
    # two cold requests, each after the cache was emptied: each one waited for the upstream
    assert cached["cold"]["n"] == 2 and min(cached["cold"]["values_ms"]) > 250


def test_upstream_calls_within_ttl_bound(run_result):
    for row in run_result[0]["scenarios"]:
        if row["cache"] != "none":
            assert row["upstream_calls_per_1000"] <= row["upstream_bound_per_1000"], row["name"]
    short = _by_name(run_result[0])["memory-concurrent-t100"]
    assert short["upstream_calls"] > 0  # the 50 ms TTL expired during the run
    assert 0 < short["hit_ratio"] < 1


def test_profilers_name_the_hot_path(run_result, require_pyspy):
    results, run_dir = run_result
    pyspy = results["profiles"]["py-spy"]
    if pyspy["ok"]:
        svg = (run_dir / "profiles" / pyspy["svg"]).read_text()
        assert (run_dir / "profiles" / pyspy["speedscope"]).stat().st_size > 0
        assert any(name in svg for name in HOT_PATH_NAMES)
    else:  # ptrace not permitted on this machine: the fallback is explained
        require_pyspy(pyspy["message"])
        assert "SYS_PTRACE" in pyspy["message"]
    hot = results["profiles"]["hot_paths"]
    html = (run_dir / "profiles" / hot["pyinstrument"]["html"]).read_text()
    assert "fetch_box" in html and "fetch_all_boxes" in html
    names = {t["name"] for t in hot["timings"]}
    assert {"fetch_one_box", "parse_and_average", "temperature_handler", "cache_get[valkey]"} <= names
    assert {t["label"] for t in hot["timings"] if t["name"] == "temperature_handler"} == {"warm", "cold"}


def test_findings_and_conclusion(run_result):
    results, _ = run_result
    metrics = {f["metric"] for f in results["findings"]}
    assert {"p50_ms", "p99_ms", "speedup_p50", "hit_ratio", "upstream_calls_per_1000"} <= metrics
    assert "p50 fell from" in results["conclusion"]

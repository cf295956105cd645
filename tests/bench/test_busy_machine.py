"""Load-aware verdicts: a comparison measured while the machine is busier than its cores is "inconclusive
(machine busy)", never "slower", and gives no finding for the retro.

The busy machine is made by the test: 2 x cores + 1 busy-loop processes, each ending by itself after 40 s at most
(and killed when the test ends), during the second of two small real runs of the reference HiveBox.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hivepulse.bench.compare import busy_reason, compare_runs
from hivepulse.bench.runner import RunConfig, run
from hivepulse.bench.scenarios import parse_scenarios

pytestmark = pytest.mark.slow
SCENARIOS = {"defaults": {"requests": 30, "concurrency": 2, "cold_requests": 0, "boxes": 3, "seed": 5},
             "latency_profiles": {"t5": {"median_ms": 5, "sigma": 0.1}},
             "scenarios": [{"cache": "memory", "client": "pooled", "latency": "t5"}]}
BUSY = "import time\nend = time.time() + 40\nwhile time.time() < end:\n    pass\n"


def _run(out, run_id, baseline=None):
    return run(RunConfig(parse_scenarios(SCENARIOS), output_dir=out, run_id=run_id, baseline=baseline, pyspy="none",
                         hot_paths=False))


def test_comparison_on_a_busy_machine_is_inconclusive(tmp_path):
    _run(tmp_path, "quiet")
    cores = len(os.sched_getaffinity(0))
    hogs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2 * cores + 1)]
    try:
        results = _run(tmp_path, "busy", baseline="quiet")
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    row = results["scenarios"][0]
    assert row["machine_load"]["busy"] is True and row["machine_load"]["runnable_mean"] > cores
    (comparison,) = results["comparison"]
    assert comparison["verdict"] == "inconclusive" and "machine busy" in comparison["reason"]
    assert not [f for f in results["findings"] if f["metric"] == "baseline_ratio"]


def test_rows_that_differ_are_not_comparable_and_busy_rows_inconclusive():
    base = {"a": [10.0] * 20, "b": [10.0] * 20}
    cur = {"a": [30.0] * 20, "b": [30.0] * 20}
    rows_b = {"a": {"model": "closed", "concurrency": 1, "client": "naive"},
              "b": {"model": "closed", "concurrency": 2, "machine_load": {"busy": False}}}
    rows_c = {"a": {"model": "closed", "concurrency": 4, "client": "naive"},
              "b": {"model": "closed", "concurrency": 2,
                    "machine_load": {"busy": True, "runnable_mean": 5.5, "cores": 2, "steal_share": 0.0}}}
    got = {c.scenario: c for c in compare_runs(base, cur, baseline_rows=rows_b, current_rows=rows_c)}
    assert got["a"].verdict == "not comparable" and got["a"].reason == "settings differ: concurrency 1 -> 4"
    assert got["b"].verdict == "inconclusive"
    assert busy_reason(rows_c["b"], "this run") == ("machine busy in this run: 5.5 runnable tasks on average on 2 "
                                                    "cores, 0% CPU steal")

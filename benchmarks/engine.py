"""Benchmark of the DORA engine: ``compute()`` on 1,000,000 changes and 50,000 deployments.

Usage: ``.venv/bin/python benchmarks/engine.py [--changes N] [--deployments N] [--runs 3] [--seed 0]``

Generates a deterministic synthetic event set (vectorized numpy; 2 years of production and staging
deployments, ~3 % failed attempts, ~5 % unplanned, rollbacks, incidents with and without deployment ids),
then times ``compute`` over one window holding all of it (the worst case: every change counted), plus one
28-day window with ``compare_previous``. Reports the median of ``--runs`` runs and the peak resident set
size of the process (``resource.getrusage``, includes the generated data). Target (issue 2): < 10 s and
< 2 GiB on a 2-core machine. Figures go to docs/performance.md, section "Engine".
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time

import numpy as np
import pandas as pd
from tqdm import tqdm

from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.model import EventSet, event_set

START = pd.Timestamp("2024-01-01T00:00:00Z")
SPAN_DAYS = 730


def generate(n_changes: int, n_deployments: int, seed: int = 0) -> EventSet:
    """A synthetic event set: ``n_deployments`` deployments, ``n_changes`` changes, ~n_deployments/20 incidents."""
    rng = np.random.default_rng(seed)
    span_s = SPAN_DAYS * 86400
    finished_s = np.sort(rng.integers(0, span_s, n_deployments))
    env = np.where(rng.random(n_deployments) < 0.8, "production", "staging")
    status = np.where(rng.random(n_deployments) < 0.03, "failure", "success")
    kind = np.where(rng.random(n_deployments) < 0.05, "unplanned", "planned")
    dep_ids = np.char.add("d", np.char.zfill(np.arange(n_deployments).astype(str), 6))
    rollback = np.full(n_deployments, None, dtype=object)
    rb_rows = np.flatnonzero(rng.random(n_deployments) < 0.01)
    rb_rows = rb_rows[rb_rows > 0]
    rollback[rb_rows] = dep_ids[rb_rows - 1]
    first = np.zeros(n_deployments, dtype=bool)
    first[0] = True
    deployments = pd.DataFrame(
        {
            "deployment_id": dep_ids,
            "environment": env,
            "finished_at": START + pd.to_timedelta(finished_s, unit="s"),
            "status": status,
            "kind": kind,
            "rollback_of": rollback,
            "first_deployment": first,
        }
    )

    # changes: each shipped by a random deployment (5 % undeployed); lead time log-normal, median ~20 h
    target = rng.integers(0, n_deployments, n_changes)
    lead_s = np.exp(rng.normal(np.log(20 * 3600), 1.3, n_changes)).astype(np.int64)
    committed_s = finished_s[target] - lead_s
    committed_s[rng.random(n_changes) < 0.001] += 10 * 86400  # a few negative lead times
    dep_of_change = dep_ids[target].astype(object)
    dep_of_change[rng.random(n_changes) < 0.05] = None
    pr_open = committed_s + rng.integers(0, 4 * 3600, n_changes)
    review = pr_open + rng.integers(0, 8 * 3600, n_changes)
    merged = review + rng.integers(0, 8 * 3600, n_changes)
    changes = pd.DataFrame(
        {
            "change_id": np.char.add("c", np.char.zfill(np.arange(n_changes).astype(str), 7)),
            "committed_at": START + pd.to_timedelta(committed_s, unit="s"),
            "deployment_id": dep_of_change,
            "pr_opened_at": START + pd.to_timedelta(pr_open, unit="s"),
            "first_review_at": START + pd.to_timedelta(review, unit="s"),
            "merged_at": START + pd.to_timedelta(merged, unit="s"),
        }
    )

    n_inc = max(1, n_deployments // 20)
    opened_s = np.sort(rng.integers(0, span_s, n_inc))
    resolved = opened_s + rng.integers(600, 48 * 3600, n_inc)
    inc_dep = np.full(n_inc, None, dtype=object)
    named = rng.random(n_inc) < 0.3
    inc_dep[named] = dep_ids[rng.integers(0, n_deployments, named.sum())]
    incidents = pd.DataFrame(
        {
            "incident_id": np.char.add("i", np.arange(n_inc).astype(str)),
            "opened_at": START + pd.to_timedelta(opened_s, unit="s"),
            "resolved_at": START + pd.to_timedelta(resolved, unit="s"),
            "deployment_id": inc_dep,
            "environment": np.where(rng.random(n_inc) < 0.9, "production", "staging"),
        }
    )
    return event_set(deployments, changes, incidents, source="benchmarks/engine.py")


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    events = generate(args.changes, args.deployments, args.seed)
    gen_s = time.perf_counter() - t0
    rss_data = peak_rss_mib()
    config = MetricsConfig(seed=args.seed)
    full = Window(START, START + pd.Timedelta(days=SPAN_DAYS + 1))
    last28 = Window(full.until - pd.Timedelta(days=28), full.until)

    full_times, small_times = [], []
    report = None
    for _ in tqdm(range(args.runs), desc="compute() runs", unit="run", file=sys.stderr):
        t = time.perf_counter()
        report = compute(events, full, config)
        full_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        compute(events, last28, config, compare_previous=True)
        small_times.append(time.perf_counter() - t)
    assert report is not None
    d = report.to_dict()
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"pandas {pd.__version__}, numpy {np.__version__}"
    )
    print(
        f"input: {len(events.changes):,} changes, {len(events.deployments):,} deployments, "
        f"{len(events.incidents):,} incidents (generated in {gen_s:.1f} s, RSS after generation "
        f"{rss_data:,.0f} MiB)"
    )
    print(
        f"full window ({full.days:g} days): counted changes n={d['lead_time']['n']:,}, "
        f"deployments n={d['deployment_frequency']['n']:,}, CFR n={d['change_fail_rate']['n']:,}"
    )
    print(
        f"compute(full window): median {statistics.median(full_times):.2f} s "
        f"(runs: {', '.join(f'{x:.2f}' for x in full_times)})"
    )
    print(
        f"compute(28 days, compare_previous): median {statistics.median(small_times):.2f} s "
        f"(runs: {', '.join(f'{x:.2f}' for x in small_times)})"
    )
    peak = peak_rss_mib()
    print(f"peak RSS: {peak:,.0f} MiB")
    ok = statistics.median(full_times) < 10 and peak < 2048
    print(f"target < 10 s and < 2 GiB: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

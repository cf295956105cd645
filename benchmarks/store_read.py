"""The store's read of 1,000,000 changes into the event model, embedded (SQLite) and PostgreSQL.

Usage: ``.venv/bin/python benchmarks/store_read.py [--changes 1000000] [--deployments 50000] [--runs 3]
[--pg-url postgresql://...] [--no-pg]``

Writes a deterministic synthetic scope (``--deployments`` deployments, ``--changes`` changes with PR fields on
half of them, ``--deployments / 10`` incidents) through the store's own writer (``save_pull``: one
transaction), then times ``hivepulse.store.read_events`` (all three tables, typed, validated by the model's
``event_set``) against the baseline measured in the same run: ``hivepulse.sources.files.read_events`` of the
same events exported as CSV files. Without ``--pg-url`` a temporary PostgreSQL server is started
(tests/pgserver.py). Reports medians of ``--runs`` runs, the ratio to the baseline, and the write time.
Figures go to docs/performance.md, section "Store read".
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hivepulse.sources.files import read_events as read_files
from hivepulse.sources.files import write_events
from hivepulse.store import open_store, read_events
from hivepulse.store.records import PullBatch, ScopeRows, save_pull

NS = 1_000_000_000
START = 1_704_067_200 * NS  # 2024-01-01


def rows(n_changes: int, n_deployments: int, seed: int = 0) -> ScopeRows:
    rng = np.random.default_rng(seed)
    finished = np.sort(rng.integers(0, 730 * 86400, n_deployments)) * NS + START
    status = np.where(rng.random(n_deployments) < 0.05, "failure", "success")
    deps = [(f"bench/r:deployment:{i}", "production", int(finished[i]), str(status[i]), int(finished[i]) - 300 * NS,
             f"{i:040x}", f"v{i}", "planned", None, 1 if i == 0 else 0) for i in range(n_deployments)]
    owner = rng.integers(0, n_deployments, n_changes)
    lag = rng.integers(600, 14 * 86400, n_changes) * NS
    committed = finished[owner] - lag
    pr = rng.random(n_changes) < 0.5
    changes = [(f"bench/r:{i:040x}", int(committed[i]), f"bench/r:deployment:{owner[i]}", int(committed[i]) - NS,
                int(i // 3) if pr[i] else None, int(committed[i]) + 3600 * NS if pr[i] else None,
                int(committed[i]) + 7200 * NS if pr[i] else None, int(committed[i]) + 9000 * NS if pr[i] else None,
                "feat" if i % 3 else "fix") for i in range(n_changes)]
    incidents = [(f"bench/r:issue:{i}", int(finished[i * 10]) + 600 * NS, int(finished[i * 10]) + 7200 * NS,
                  f"bench/r:deployment:{i * 10}", None, "production") for i in range(n_deployments // 10)]
    return ScopeRows("bench/r", "bench/r", deps, changes, incidents)


def time_reads(store: str, runs: int) -> tuple[float, int]:
    times = []
    n = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        events = read_events(store)
        times.append(time.perf_counter() - t0)
        n = len(events.changes)
    return statistics.median(times), n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    scope = rows(args.changes, args.deployments)
    print(f"machine: {platform.machine()} {platform.python_version()}; {args.changes:,} changes, "
          f"{args.deployments:,} deployments, {len(scope.incidents):,} incidents; median of {args.runs} runs")
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        stores = {"sqlite": str(Path(tmp) / "s.db")}
        if not args.no_pg:
            if args.pg_url:
                stores["postgresql"] = args.pg_url
            else:
                sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
                from pgserver import PostgresServer

                server = PostgresServer()
                stores["postgresql"] = server.start()
        try:
            for engine, store in stores.items():
                with open_store(store) as st:
                    t0 = time.perf_counter()
                    save_pull(st, PullBatch("bench", "bench", START, scopes=[scope]))
                    write_s = time.perf_counter() - t0
                read_s, n = time_reads(store, args.runs)
                if engine == "sqlite":
                    out = write_events(read_events(store), Path(tmp) / "csv")
                    base = []
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        read_files(out)
                        base.append(time.perf_counter() - t0)
                    baseline = statistics.median(base)
                    print(f"baseline: event files (CSV) read: {baseline:.2f} s")
                print(f"{engine}: write {write_s:.1f} s (one transaction); read_events {read_s:.2f} s for {n:,} changes "
                      f"= {read_s / baseline:.2f}x the event-file read")
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

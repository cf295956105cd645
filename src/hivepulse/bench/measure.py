"""One scenario end to end: cold requests, the warm load run, the counters around it, and its results row.

Steps (docs/profiling.md, "What one scenario does"):

1. the replay server's latency model is set (``PUT /_config``) to the scenario's latency profile;
2. the service is started with the scenario's settings (:func:`hivepulse.bench.infra.start_target`);
3. **cold**: ``cold_requests`` single ``GET`` requests, each after emptying the caches
   (:func:`hivepulse.bench.infra.empty_caches`), labelled cold; only 2xx answers count as cold samples;
4. **warm**: the load run (closed or open model, :mod:`hivepulse.bench.load`); one unrecorded warm-up request
   per load worker first; the counters (:mod:`hivepulse.bench.counters`) are read right after the warm-up and
   after the run;
5. py-spy records the service process during the warm run when selected;
6. the machine's load during the warm run (:class:`hivepulse.bench.machine.LoadSampler`: runnable tasks, CPU
   steal) is recorded as ``machine_load``; a busy scenario's comparison verdict is "inconclusive".

Derived figures: ``upstream_calls_per_1000 = 1000 * calls / requests``; ``hit_ratio = hits / (hits +
misses)``; ``cpu_s_per_request = cpu seconds / requests``; ``upstream_bound_per_1000 = 1000 * boxes *
(ceil(duration / ttl) + 1) * k / requests`` with ``k = 1`` when single-flight is on or there is one client,
else the number of concurrent clients; ``upstream_wait_share = upstream latency sum / sum of request
latencies``. The row is a plain dict: it is written as is to ``results.json`` (the JSON edge).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from hivepulse.bench.counters import Counters, delta, hits_misses_delta, read_counters, upstream_total
from hivepulse.bench.infra import Infra, empty_caches, start_target
from hivepulse.bench.load import LoadResult, run_load
from hivepulse.bench.machine import LoadSampler
from hivepulse.bench.profilers import ProfileOutput, PySpyRecorder
from hivepulse.bench.scenarios import Scenario
from hivepulse.bench.stats import summarize
from hivepulse.bench.targets import RunningTarget, TargetSpec
from hivepulse.errors import ServiceError
from hivepulse.opensensemap import JsonObject

Row = JsonObject
"""A ``results.json`` scenario row (JSON edge)."""


@dataclass
class ColdRequests:
    """The cold requests of a scenario: every latency (ms), which were 2xx, statuses, errors, the upstream
    calls each made (replay ``/_stats`` delta, when known) and a note (why there are none, or why a cold
    number may not be cold)."""

    values_ms: list[float] = field(default_factory=list)
    ok: list[bool] = field(default_factory=list)
    statuses: list[int | str] = field(default_factory=list)
    errors: int = 0
    upstream_calls: list[int] = field(default_factory=list)
    note: str | None = None

    @property
    def ok_values_ms(self) -> list[float]:
        return [v for v, good in zip(self.values_ms, self.ok, strict=True) if good]


def cold_requests(s: Scenario, client: httpx.Client, running: RunningTarget, infra: Infra, url: str
                  ) -> ColdRequests:
    """``s.cold_requests`` single requests, each right after emptying the caches; labelled cold.

    A request that made no upstream call was answered from a cache the harness could not empty (e.g. an
    in-process one): the note says so.
    """
    out = ColdRequests()
    for _ in range(s.cold_requests):
        if not empty_caches(client, running, infra):
            out.note = "black-box target: its cache cannot be emptied, no cold requests"
            break
        before = upstream_total(client, infra.sensemap_url)
        t0 = time.perf_counter()
        status: int | str
        try:
            status = client.get(url).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        out.values_ms.append((time.perf_counter() - t0) * 1000.0)
        good = isinstance(status, int) and 200 <= status < 300
        out.ok.append(good)
        out.statuses.append(status)
        out.errors += 0 if good else 1
        after = upstream_total(client, infra.sensemap_url)
        if before is not None and after is not None:
            out.upstream_calls.append(after - before)
    if out.upstream_calls and 0 in out.upstream_calls:
        out.note = ("some cold requests made no upstream call: the service answered from a cache the "
                    "harness could not empty (in-process?); those numbers are not cold")
    return out


def run_scenario(
    s: Scenario,
    infra: Infra,
    spec: TargetSpec,
    profiles_dir: Path,
    *,
    record_pyspy: bool,
    pyspy_command: list[str] | None = None,
    progress: bool = False,
) -> tuple[Row, np.ndarray, ProfileOutput | None]:
    """Run one scenario; returns its results row, its warm latency samples (ms) and the py-spy output."""
    if infra.sensemap_url:
        model = {**s.latency_model, "seed": float(s.seed)}
        with httpx.Client(timeout=10) as c:
            c.put(infra.sensemap_url + "/_config", json=model).raise_for_status()
    log_dir = profiles_dir.parent / "logs"
    with start_target(s, infra, spec, save_log=log_dir / f"target-{s.name}.log") as running, \
            httpx.Client(timeout=60) as client:
        url = running.url + spec.path
        cold = cold_requests(s, client, running, infra, url)
        recorder = None
        if record_pyspy and running.pid is not None:
            who = {"reference": "reference HiveBox", "command": "your service (--target-cmd)"}.get(running.kind,
                                                                                                 running.kind)
            recorder = PySpyRecorder(running.pid, profiles_dir, f"pyspy-{s.name}", command=pyspy_command,
                                     fallback="the in-process pyinstrument profile of the hot path",
                                     title=f"{who} · scenario {s.name} · {s.requests:,} warm requests")
        snapshots: list[Counters] = []

        def snapshot_before() -> None:
            snapshots.append(read_counters(client, running.url, infra.sensemap_url, running.pid,
                                           infra.valkey_url))
            if recorder is not None:
                recorder.start()

        with LoadSampler() as sampler:
            load = run_load(url, requests=s.requests, concurrency=s.concurrency, rate=s.rate,
                            max_in_flight=s.max_in_flight, before_start=snapshot_before, progress=progress,
                            description=s.name)
        after = read_counters(client, running.url, infra.sensemap_url, running.pid, infra.valkey_url)
        pyspy = recorder.stop() if recorder is not None else None
        ended = running.exit_description()
        if ended is not None:
            raise ServiceError(f"--target-cmd {ended} during scenario {s.name}; last output: "
                               f"{running.output_tail() or 'none'}")
    row = scenario_row(s, infra, spec, load, snapshots[0], after, cold, pyspy)
    row["machine_load"] = sampler.result()
    return row, load.latencies_ms, pyspy


def scenario_row(s: Scenario, infra: Infra, spec: TargetSpec, load: LoadResult, before: Counters,
                 after: Counters, cold: ColdRequests, pyspy: ProfileOutput | None) -> Row:
    """The ``results.json`` row of one scenario (fields documented in docs/profiling.md)."""
    d = load.to_dict()
    external = spec.kind != "reference"
    upstream_calls = delta(after.upstream_total, before.upstream_total)
    hits_misses, hit_source = hits_misses_delta(before, after)
    hit_ratio = None
    if hits_misses and sum(hits_misses) > 0 and (external or s.cache != "none"):
        hit_ratio = hits_misses[0] / sum(hits_misses)
    cpu = delta(after.cpu_s, before.cpu_s)
    upstream_sum = delta(after.upstream_sum_s, before.upstream_sum_s)
    lat = load.latencies_ms
    wait_share = None
    if upstream_sum is not None and lat.size and lat.sum() > 0:
        wait_share = upstream_sum / (lat.sum() / 1000.0)
    clients = s.concurrency if s.concurrency is not None else s.max_in_flight
    k = 1 if (s.single_flight != "off" or clients == 1) else clients
    bound = None
    if s.cache != "none" and spec.kind == "reference":
        bound = 1000.0 * s.boxes * (math.ceil(load.duration_s / s.ttl_s) + 1) * k / s.requests
    cold_ok = cold.ok_values_ms
    cold_summary = summarize(cold_ok)
    return {
        "name": s.name,
        "cache": s.cache if spec.kind == "reference" else "external",
        "client": s.client if spec.kind == "reference" else "external",
        "latency_profile": s.latency,
        "latency_ms": s.latency_ms if infra.sensemap_url else None,
        "label": "warm",
        "model": d["model"],
        "concurrency": s.concurrency,
        "rate": s.rate,
        "boxes": s.boxes,
        "ttl_s": None if external else s.ttl_s,
        "single_flight": None if external else s.single_flight,
        "requests": s.requests,
        "p50_ms": d["p50_ms"],
        "p90_ms": d["p90_ms"],
        "p99_ms": d["p99_ms"],
        "max_ms": d["max_ms"],
        "iqr_ms": d["iqr_ms"],
        "median_ci_ms": d["median_ci_ms"],
        "throughput_rps": d["throughput_rps"],
        "errors": d["errors"],
        "error_kinds": d["error_kinds"],
        "duration_s": d["duration_s"],
        "achieved_send_rps": d["achieved_send_rps"],
        "backlog_max": d["backlog_max"],
        "backlog_at_end": d["backlog_at_end"],
        "kept_up": d["kept_up"],
        "upstream_calls": upstream_calls,
        "upstream_calls_per_1000": None if upstream_calls is None else 1000.0 * upstream_calls / s.requests,
        "upstream_bound_per_1000": bound,
        "cache_hits": hits_misses[0] if hits_misses else None,
        "cache_misses": hits_misses[1] if hits_misses else None,
        "hit_ratio": hit_ratio,
        "hit_ratio_source": hit_source,
        "cpu_s_per_request": None if cpu is None else cpu / s.requests,
        "upstream_wait_share": wait_share,
        "cold": {"label": "cold", "n": cold_summary.count, "p50_ms": cold_summary.p50,
                 "max_ms": cold_summary.max, "values_ms": cold_ok, "errors": cold.errors,
                 "statuses": cold.statuses, "upstream_calls": cold.upstream_calls, "note": cold.note},
        "pyspy": pyspy.to_dict() if pyspy is not None else None,
    }


__all__ = ["ColdRequests", "Row", "cold_requests", "run_scenario", "scenario_row"]

"""Run scenarios end to end and write ``<output_dir>/<run_id>/``: results.json, samples.json, findings.json,
the plots (PNG) and the profiler outputs (``profiles/``).

Per scenario (reference HiveBox or a ``--target-cmd`` service; both started fresh for every scenario):

1. the replay server's latency model is set (``PUT /_config``) to the scenario's latency profile;
2. the service is started with the scenario's settings (reference: ``HIVEBOX_CACHE``, ``HIVEBOX_CLIENT``,
   ``HIVEBOX_CACHE_TTL``, ``HIVEBOX_SINGLE_FLIGHT``, ``SENSEBOX_IDS``, ``OPENSENSEMAP_API_URL``,
   ``VALKEY_URL``, ``MEMCACHED_URL``);
3. **cold**: ``cold_requests`` single ``GET /temperature``, each after emptying the cache (reference:
   ``POST /_cache/clear``; command targets: Valkey ``FLUSHALL`` if the harness started it, else ``FLUSHDB``
   of the given database / memcached ``flush_all``), labelled cold; only 2xx answers count as cold samples;
4. **warm**: the load run (closed or open model, :mod:`hivepulse.bench.load`); one unrecorded warm-up request
   per load worker first; counters are read right after the warm-up and after the run:
   replay ``/_stats`` total (upstream calls), HiveBox ``/metrics`` cache hits/misses (else Valkey ``INFO
   stats`` keyspace hits/misses), upstream latency histogram sum, and the service process's CPU time
   (``psutil``: user + system, children included);
5. py-spy records the service process during the warm run for the selected scenarios.

Derived figures (rules in ``docs/profiling.md``): ``upstream_calls_per_1000 = 1000 * calls / requests``;
``hit_ratio = hits / (hits + misses)``; ``cpu_s_per_request = cpu seconds / requests``;
``upstream_bound_per_1000 = 1000 * boxes * (ceil(duration / ttl) + 1) * k / requests`` with ``k = 1`` when
single-flight is on or there is one client, else the number of concurrent clients;
``speedup = median(baseline) / median(scenario)`` against the ``none-naive`` scenario of the same latency
profile, with a bootstrap CI; ``upstream_wait_share = upstream latency sum / sum of request latencies``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from hivepulse.bench import findings as findings_mod
from hivepulse.bench import plots
from hivepulse.bench.compare import compare_runs
from hivepulse.bench.load import run_load
from hivepulse.bench.machine import machine_info
from hivepulse.bench.profilers import ProfileOutput, PySpyRecorder
from hivepulse.bench.scenarios import Scenario
from hivepulse.bench.stats import speedup_ci, summarize
from hivepulse.bench.targets import RunningTarget, TargetSpec, check_url_target, start_command_target
from hivepulse.errors import InputError, ServiceError

RESULTS_SCHEMA = 1


@dataclass
class RunConfig:
    """Everything a run needs. ``pyspy``: ``baseline`` (the uncached naive scenarios, else the first),
    ``all`` or ``none``. ``hot_paths``: in-process timings + pyinstrument (reference target only)."""

    scenarios: list[Scenario]
    output_dir: Path = Path("profiling/results")
    run_id: str | None = None
    target: TargetSpec = field(default_factory=TargetSpec)
    baseline: str | None = None
    pyspy: str = "baseline"
    pyspy_command: list[str] | None = None
    hot_paths: bool = True
    progress: bool = False
    log: Callable[[str], None] | None = None


def new_run_id() -> str:
    """``YYYYMMDDTHHMMSSZ`` (UTC) plus ``-<pid>`` so two runs in the same second do not collide."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid() % 100000}"


# -- counters -------------------------------------------------------------------------------------------------
def parse_metrics(text: str) -> dict[str, float]:
    """Sum the samples of each metric name in a Prometheus exposition (labels summed away)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.value is None or math.isnan(sample.value):
                continue
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def _cache_counters(metrics: dict[str, float]) -> tuple[float, float] | None:
    if "hivebox_cache_hits_total" in metrics:
        return metrics["hivebox_cache_hits_total"], metrics.get("hivebox_cache_misses_total", 0.0)
    hits = [v for k, v in metrics.items() if "cache_hit" in k and k.endswith("_total")]
    misses = [v for k, v in metrics.items() if "cache_miss" in k and k.endswith("_total")]
    if hits and misses:
        return sum(hits), sum(misses)
    return None


@dataclass
class Counters:
    upstream_total: float | None = None
    cache: tuple[float, float] | None = None
    valkey: tuple[float, float] | None = None
    upstream_sum_s: float | None = None
    cpu_s: float | None = None


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            t = p.cpu_times()
            total += t.user + t.system
        return total
    except psutil.Error:
        return None


def _valkey_stats(url: str | None) -> tuple[float, float] | None:
    if not url:
        return None
    try:
        import valkey

        client = valkey.Valkey.from_url(url, socket_timeout=2)
        info = client.info("stats")
        client.close()
        return float(info.get("keyspace_hits", 0)), float(info.get("keyspace_misses", 0))
    except Exception:
        return None


def read_counters(client: httpx.Client, target_url: str, sensemap_url: str | None, pid: int | None,
                  valkey_url: str | None) -> Counters:
    c = Counters()
    if sensemap_url:
        c.upstream_total = float(client.get(sensemap_url + "/_stats").json()["total"])
    try:
        r = client.get(target_url + "/metrics")
        if r.status_code == 200 and "text/plain" in r.headers.get("content-type", ""):
            m = parse_metrics(r.text)
            c.cache = _cache_counters(m)
            c.upstream_sum_s = m.get("hivebox_upstream_request_duration_seconds_sum")
    except (httpx.HTTPError, ValueError):
        pass
    if c.cache is None:
        c.valkey = _valkey_stats(valkey_url)
    c.cpu_s = _cpu_seconds(pid)
    return c


# -- servers --------------------------------------------------------------------------------------------------
@dataclass
class Infra:
    """The servers of a run. ``values``: the command-template placeholders they fill (see targets.py);
    ``valkey_managed``: the harness started that Valkey (so it may empty every database of it)."""

    sensemap_url: str | None = None
    box_ids: list[str] = field(default_factory=list)
    valkey_url: str | None = None
    memcached_url: str | None = None
    valkey_managed: bool = False
    values: dict[str, str] = field(default_factory=dict)


def _needs(scenarios: Sequence[Scenario], target: TargetSpec) -> tuple[bool, bool, bool]:
    """(valkey, memcached, s3): Valkey for every command target (its cold reset and hit counters),
    memcached / S3 for a command target only when its template or env uses their placeholders."""
    caches = {s.cache for s in scenarios}
    used = target.used_placeholders() if target.kind == "command" else set()
    valkey = "valkey" in caches if target.kind == "reference" else target.kind == "command"
    memcached = ("memcached" in caches if target.kind == "reference"
                 else any(p.startswith("memcached_") for p in used))
    s3 = any(p.startswith("s3_") for p in used)
    return valkey, memcached, s3


def _valkey_values(url: str) -> dict[str, str]:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    db = parsed.path.strip("/") or "0"
    return {"valkey_url": url, "valkey_host": parsed.hostname or "127.0.0.1",
            "valkey_port": str(parsed.port or 6379), "valkey_db": db}


@contextmanager
def infrastructure(scenarios: Sequence[Scenario], target: TargetSpec) -> Iterator[Infra]:
    """Start the replay server and the servers the scenarios need (none for a URL target)."""
    from hivepulse import services
    from hivepulse.sensemap.boxes import box_ids

    if target.kind == "url":
        check_url_target(target)
        yield Infra()
        return
    boxes = max(s.boxes for s in scenarios)
    seed = scenarios[0].seed
    need_valkey, need_memcached, need_s3 = _needs(scenarios, target)
    with ExitStack() as stack:
        first = scenarios[0].latency_model
        sensemap = stack.enter_context(services.start_sensemap(
            boxes=boxes, seed=seed, latency_ms=first.get("median_ms", 100.0), sigma=first.get("sigma", 0.25)))
        infra = Infra(sensemap_url=sensemap.url, box_ids=box_ids(seed, boxes))
        infra.values["opensensemap_url"] = sensemap.url
        if need_valkey:
            handle = stack.enter_context(services.start_valkey())
            infra.valkey_url, infra.valkey_managed = handle.url, handle.managed
            infra.values.update(_valkey_values(handle.url))
        if need_memcached:
            handle = stack.enter_context(services.start_memcached())
            infra.memcached_url = handle.url
            infra.values.update(memcached_url=handle.url, memcached_host=handle.host,
                                memcached_port=str(handle.port))
        if need_s3:
            handle = stack.enter_context(services.start_s3())
            extra = handle.extra
            infra.values.update(s3_url=handle.url, s3_endpoint=extra["endpoint"], s3_access_key=extra["access_key"],
                                s3_secret_key=extra["secret_key"], s3_region=extra["region"])
        yield infra


def _hivebox_env(s: Scenario, infra: Infra) -> dict[str, str]:
    env = {
        "HIVEBOX_CACHE": s.cache,
        "HIVEBOX_CLIENT": s.client,
        "HIVEBOX_CACHE_TTL": str(s.ttl_s),
        "HIVEBOX_SINGLE_FLIGHT": s.single_flight,
        "SENSEBOX_IDS": ",".join(infra.box_ids[: s.boxes]),
        "OPENSENSEMAP_API_URL": infra.sensemap_url or "",
    }
    if infra.valkey_url:
        env["VALKEY_URL"] = infra.valkey_url
    if infra.memcached_url:
        env["MEMCACHED_URL"] = infra.memcached_url
    return env


@contextmanager
def start_target(s: Scenario, infra: Infra, spec: TargetSpec, save_log: Path | None = None
                 ) -> Iterator[RunningTarget]:
    """Start (or reach) the service for scenario ``s``; ``save_log``: where a command's output tail goes."""
    if spec.kind == "url":
        assert spec.url is not None
        yield RunningTarget(spec.url.rstrip("/"), None, "url")
    elif spec.kind == "command":
        values = {**infra.values, "sensebox_ids": ",".join(infra.box_ids[: s.boxes])}
        with start_command_target(spec, values, save_log=save_log) as running:
            yield running
    else:
        from hivepulse import services

        with services.start_hivebox(_hivebox_env(s, infra)) as handle:
            yield RunningTarget(handle.url, handle.pid, "reference")


def _empty_caches(client: httpx.Client, running: RunningTarget, infra: Infra) -> bool:
    """Empty every cache the service can use; ``False`` when nothing could be reset (black box).

    Reference HiveBox: ``POST /_cache/clear``. Command targets: Valkey ``FLUSHALL`` when the harness started
    that Valkey (every database is the run's), else ``FLUSHDB`` of the database in ``VALKEY_URL`` only;
    memcached ``flush_all``.
    """
    if running.kind == "reference":
        client.post(running.url + "/_cache/clear").raise_for_status()
        return True
    if running.kind == "url":
        return False
    done = False
    if infra.valkey_url:
        import valkey

        v = valkey.Valkey.from_url(infra.valkey_url, socket_timeout=2)
        if infra.valkey_managed:
            v.flushall()
        else:
            v.flushdb()
        v.close()
        done = True
    if infra.memcached_url:
        from pymemcache.client.base import Client

        from hivepulse.hivebox.config import parse_memcached_url

        Client(parse_memcached_url(infra.memcached_url), connect_timeout=2).flush_all()
        done = True
    return done


EXTERNAL_IGNORED = ("cache", "client", "ttl_s", "single_flight")
"""Scenario fields only the reference HiveBox understands; an external target ignores them."""


def external_scenarios(scenarios: Sequence[Scenario], kind: str) -> list[Scenario]:
    """The scenarios an external target really runs.

    Scenarios differing only in :data:`EXTERNAL_IGNORED` fields are the same run for an external target:
    the first of each group is kept and renamed ``external-<latency>-c<C>`` (closed model) or
    ``external-<latency>-r<R>`` (open model), with ``-2``, ``-3`` ... when two kept ones would share a name.
    A URL target runs only the first scenario (it has no replay server, so latency profiles do not apply).
    """
    from dataclasses import asdict, replace

    if kind == "reference":
        return list(scenarios)
    picked = list(scenarios[:1]) if kind == "url" else []
    if kind != "url":
        seen: set[tuple] = set()
        for s in scenarios:
            key = tuple(sorted((k, repr(v)) for k, v in asdict(s).items()
                               if k not in EXTERNAL_IGNORED and k != "name"))
            if key not in seen:
                seen.add(key)
                picked.append(s)
    out: list[Scenario] = []
    names: set[str] = set()
    for s in picked:
        load = f"c{s.concurrency}" if s.concurrency is not None else f"r{s.rate:g}"
        base = f"external-{s.latency}-{load}" if kind == "command" else f"external-{load}"
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}-{k}"
        names.add(name)
        out.append(replace(s, name=name))
    return out


# -- one scenario ---------------------------------------------------------------------------------------------
def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _cold_requests(s: Scenario, client: httpx.Client, running: RunningTarget, infra: Infra,
                   url: str) -> dict[str, Any]:
    """``s.cold_requests`` single requests, each right after emptying the caches; labelled cold.

    Returns ``values_ms`` (every request), ``ok`` (2xx), ``statuses``, ``errors``, ``upstream_calls`` (replay
    ``/_stats`` total delta per request, when known) and ``note`` (why there are none, or why a cold number
    may not be cold: a request that made no upstream call was answered from a cache the harness could not
    empty, e.g. an in-process one).
    """
    out: dict[str, Any] = {"values_ms": [], "ok": [], "statuses": [], "errors": 0, "upstream_calls": [],
                           "note": None}
    if not s.cold_requests:
        return out
    for _ in range(s.cold_requests):
        if not _empty_caches(client, running, infra):
            out["note"] = "black-box target: its cache cannot be emptied, no cold requests"
            break
        before = _upstream_total(client, infra)
        t0 = time.perf_counter()
        try:
            response = client.get(url)
            status: int | str = response.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        out["values_ms"].append((time.perf_counter() - t0) * 1000.0)
        good = isinstance(status, int) and 200 <= status < 300
        out["ok"].append(good)
        out["statuses"].append(status)
        out["errors"] += 0 if good else 1
        after = _upstream_total(client, infra)
        if before is not None and after is not None:
            out["upstream_calls"].append(after - before)
    if out["upstream_calls"] and 0 in out["upstream_calls"]:
        out["note"] = ("some cold requests made no upstream call: the service answered from a cache the "
                       "harness could not empty (in-process?); those numbers are not cold")
    return out


def _upstream_total(client: httpx.Client, infra: Infra) -> int | None:
    if not infra.sensemap_url:
        return None
    return int(client.get(infra.sensemap_url + "/_stats").json()["total"])


def run_scenario(
    s: Scenario,
    infra: Infra,
    spec: TargetSpec,
    profiles_dir: Path,
    *,
    record_pyspy: bool,
    pyspy_command: list[str] | None = None,
    progress: bool = False,
) -> tuple[dict[str, Any], np.ndarray, ProfileOutput | None]:
    """Run one scenario; returns its results row, its warm latency samples (ms) and the py-spy output."""
    if infra.sensemap_url:
        model = {**s.latency_model, "seed": float(s.seed)}
        with httpx.Client(timeout=10) as c:
            c.put(infra.sensemap_url + "/_config", json=model).raise_for_status()
    path = spec.path
    log_dir = profiles_dir.parent / "logs"
    with start_target(s, infra, spec, save_log=log_dir / f"target-{s.name}.log") as running, \
            httpx.Client(timeout=60) as client:
        url = running.url + path
        cold = _cold_requests(s, client, running, infra, url)
        recorder = None
        if record_pyspy and running.pid is not None:
            recorder = PySpyRecorder(running.pid, profiles_dir, f"pyspy-{s.name}", command=pyspy_command,
                                     fallback="the in-process pyinstrument profile of the hot path")
        box: dict[str, Counters] = {}

        def snapshot_before() -> None:
            box["before"] = read_counters(client, running.url, infra.sensemap_url, running.pid, infra.valkey_url)
            if recorder is not None:
                recorder.start()

        load = run_load(url, requests=s.requests, concurrency=s.concurrency, rate=s.rate,
                        max_in_flight=s.max_in_flight, before_start=snapshot_before, progress=progress,
                        description=s.name)
        after = read_counters(client, running.url, infra.sensemap_url, running.pid, infra.valkey_url)
        pyspy = recorder.stop() if recorder is not None else None
        ended = running.exit_description()
        if ended is not None:
            raise ServiceError(f"--target-cmd {ended} during scenario {s.name}; last output: "
                               f"{running.output_tail() or 'none'}")
    before = box["before"]
    d = load.to_dict()
    upstream_calls = _delta(after.upstream_total, before.upstream_total)
    hits_misses = None
    hit_source = None
    if after.cache and before.cache:
        hits_misses = (after.cache[0] - before.cache[0], after.cache[1] - before.cache[1])
        hit_source = "metrics"
    elif after.valkey and before.valkey:
        hits_misses = (after.valkey[0] - before.valkey[0], after.valkey[1] - before.valkey[1])
        hit_source = "valkey_info"
    hit_ratio = None
    external = spec.kind != "reference"
    if hits_misses and sum(hits_misses) > 0 and (external or s.cache != "none"):
        hit_ratio = hits_misses[0] / sum(hits_misses)
    cpu = _delta(after.cpu_s, before.cpu_s)
    upstream_sum = _delta(after.upstream_sum_s, before.upstream_sum_s)
    lat = load.latencies_ms
    wait_share = None
    if upstream_sum is not None and lat.size and lat.sum() > 0:
        wait_share = upstream_sum / (lat.sum() / 1000.0)
    clients = s.concurrency if s.concurrency is not None else s.max_in_flight
    k = 1 if (s.single_flight != "off" or clients == 1) else clients
    bound = None
    if s.cache != "none" and spec.kind == "reference":
        bound = 1000.0 * s.boxes * (math.ceil(load.duration_s / s.ttl_s) + 1) * k / s.requests
    cold_ok = [v for v, good in zip(cold["values_ms"], cold["ok"], strict=True) if good]
    cold_summary = summarize(cold_ok)
    row = {
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
                 "max_ms": cold_summary.max, "values_ms": cold_ok, "errors": cold["errors"],
                 "statuses": cold["statuses"], "upstream_calls": cold["upstream_calls"], "note": cold["note"]},
        "pyspy": pyspy.to_dict() if pyspy is not None else None,
    }
    return row, lat, pyspy


# -- the whole run --------------------------------------------------------------------------------------------
def _add_speedups(rows: list[dict[str, Any]], samples: dict[str, np.ndarray]) -> None:
    baselines = {r["latency_profile"]: r["name"] for r in rows if r["cache"] == "none" and r["client"] == "naive"}
    for r in rows:
        base = baselines.get(r["latency_profile"])
        r["baseline_scenario"] = base
        r["speedup"] = r["speedup_ci"] = None
        if base is None or base == r["name"]:
            continue
        got = speedup_ci(samples[base], samples[r["name"]])
        if got is not None:
            r["speedup"], r["speedup_ci"] = got[0], list(got[1])


def _pick_pyspy(scenarios: Sequence[Scenario], mode: str) -> set[str]:
    if mode == "none":
        return set()
    if mode == "all":
        return {s.name for s in scenarios}
    base = {s.name for s in scenarios if s.cache == "none" and s.client == "naive"}
    return base or {scenarios[0].name}


def load_run(output_dir: str | Path, run_id: str) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """``(results, samples)`` of a finished run; :class:`InputError` if it does not exist."""
    run_dir = Path(output_dir) / run_id
    try:
        results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        samples = json.loads((run_dir / "samples.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("baseline run not found", file=str(run_dir / "results.json"),
                         expected="a run id under the output directory") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"unreadable baseline run ({exc.msg})", file=str(run_dir), line=exc.lineno) from None
    return results, samples


def run(config: RunConfig) -> dict[str, Any]:
    """Run every scenario and write the run directory; returns the ``results.json`` document.

    Files are written to ``<output_dir>/.<run_id>.partial`` and renamed at the end, so an interrupted or
    failed run leaves no half-written run directory.
    """
    say = config.log or (lambda _msg: None)
    config.target.validate()
    if not config.scenarios:
        raise InputError("no scenarios to run")
    if config.pyspy not in ("baseline", "all", "none"):
        raise InputError("invalid py-spy selection", value=config.pyspy, expected="baseline, all or none")
    run_id = config.run_id or new_run_id()
    out_root = Path(config.output_dir)
    final = out_root / run_id
    if final.exists():
        raise InputError("run directory already exists", file=str(final), expected="a new --run-id")
    baseline = load_run(out_root, config.baseline) if config.baseline else None
    partial = out_root / f".{run_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    profiles_dir = partial / "profiles"
    profiles_dir.mkdir(parents=True)
    scenarios = external_scenarios(config.scenarios, config.target.kind)
    record = _pick_pyspy(scenarios, config.pyspy) if config.target.kind != "url" else set()
    rows: list[dict[str, Any]] = []
    samples: dict[str, np.ndarray] = {}
    profiles: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        with infrastructure(scenarios, config.target) as infra:
            for i, s in enumerate(scenarios, 1):
                say(f"[{i}/{len(scenarios)}] {s.name}: {s.requests} requests, "
                    + (f"{s.concurrency} clients" if s.concurrency else f"{s.rate:g} req/s"))
                row, lat, pyspy = run_scenario(s, infra, config.target, profiles_dir,
                                               record_pyspy=s.name in record,
                                               pyspy_command=config.pyspy_command, progress=config.progress)
                rows.append(row)
                samples[s.name] = lat
                if pyspy is not None and "py-spy" not in profiles:
                    profiles["py-spy"] = {**pyspy.to_dict(), "scenario": s.name}
                    if not pyspy.ok:
                        say(f"warning: {pyspy.message}")
            if config.hot_paths and config.target.kind == "reference":
                from hivepulse.bench import hotpath

                say("in-process hot paths (timing + pyinstrument)")
                base = next((s for s in scenarios if s.cache == "none" and s.client == "naive"), scenarios[0])
                profiles["hot_paths"] = hotpath.measure(infra.sensemap_url, infra.box_ids[: base.boxes],
                                                        profiles_dir, latency_model=base.latency_model,
                                                        valkey_url=infra.valkey_url)
        _add_speedups(rows, samples)
        results: dict[str, Any] = {
            "schema": RESULTS_SCHEMA,
            "run_id": run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": time.perf_counter() - started,
            "machine": machine_info(),
            "target": {"kind": config.target.kind, "url": config.target.url, "cmd": config.target.cmd,
                       "cwd": config.target.cwd, "env_keys": sorted(config.target.env),
                       "path": config.target.path, "ready_path": config.target.ready_path,
                       "ready_status": config.target.ready_status, "port": config.target.port},
            "scenarios": rows,
            "profiles": profiles,
            "baseline_run": config.baseline,
            "comparison": None,
        }
        if baseline is not None:
            results["comparison"] = [c.to_dict() for c in compare_runs(
                baseline[1], {k: v.tolist() for k, v in samples.items()})]
        results["findings"] = findings_mod.findings(results)
        results["conclusion"] = findings_mod.conclusion(results)
        _write_plots(partial, rows, samples)
        (partial / "samples.json").write_text(
            json.dumps({k: [round(x, 4) for x in v.tolist()] for k, v in samples.items()}), encoding="utf-8")
        (partial / "findings.json").write_text(json.dumps(results["findings"], indent=2), encoding="utf-8")
        (partial / "results.json").write_text(json.dumps(results, indent=2, default=_json_default),
                                              encoding="utf-8")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    say(f"wrote {final}")
    return results


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _write_plots(run_dir: Path, rows: list[dict[str, Any]], samples: dict[str, np.ndarray]) -> None:
    plots.latency_cdf(samples).savefig(run_dir / "latency_cdf.png")
    plots.speedups(rows).savefig(run_dir / "speedups.png")
    plots.upstream_calls(rows).savefig(run_dir / "upstream_calls.png")


__all__ = ["RunConfig", "run", "run_scenario", "load_run", "new_run_id", "parse_metrics", "ServiceError"]

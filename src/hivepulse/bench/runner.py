"""Run scenarios end to end and write ``<output_dir>/<run_id>/``: results.json, samples.json, findings.json,
the plots (PNG) and the profiler outputs (``profiles/``).

Per scenario (reference HiveBox or a ``--target-cmd`` service; both started fresh for every scenario) the
steps are those of :mod:`hivepulse.bench.measure`; the servers come from :mod:`hivepulse.bench.infra` and the
counters from :mod:`hivepulse.bench.counters`. Across scenarios: ``speedup = median(baseline) /
median(scenario)`` against the ``none-naive`` scenario of the same latency profile, with a bootstrap CI
(:func:`hivepulse.bench.stats.speedup_ci`); the comparison with a baseline run
(:mod:`hivepulse.bench.compare`); the findings and the conclusion (:mod:`hivepulse.bench.findings`).
Rules: ``docs/profiling.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hivepulse.bench import findings as findings_mod
from hivepulse.bench import plots
from hivepulse.bench.compare import compare_runs
from hivepulse.bench.counters import parse_metrics
from hivepulse.bench.infra import Infra, empty_caches, external_scenarios, infrastructure
from hivepulse.bench.machine import machine_info
from hivepulse.bench.measure import Row, run_scenario
from hivepulse.bench.scenarios import Scenario
from hivepulse.bench.stats import speedup_ci
from hivepulse.bench.targets import TargetSpec, target_record
from hivepulse.errors import InputError, ServiceError
from hivepulse.opensensemap import JsonObject

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
    scenarios_file: str | None = None


def new_run_id() -> str:
    """``YYYYMMDDTHHMMSSZ`` (UTC) plus ``-<pid>`` so two runs in the same second do not collide."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid() % 100000}"


# -- the whole run --------------------------------------------------------------------------------------------
def _add_speedups(rows: list[Row], samples: dict[str, np.ndarray]) -> None:
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


def load_run(output_dir: str | Path, run_id: str) -> tuple[JsonObject, dict[str, list[float]]]:
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


def run(config: RunConfig) -> JsonObject:
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
    rows: list[Row] = []
    samples: dict[str, np.ndarray] = {}
    profiles: JsonObject = {}  # results.json "profiles" (JSON edge)
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
        results: JsonObject = {
            "schema": RESULTS_SCHEMA,
            "run_id": run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": time.perf_counter() - started,
            "machine": machine_info(),
            "scenarios_file": config.scenarios_file,
            "target": target_record(config.target),
            "scenarios": rows,
            "profiles": profiles,
            "baseline_run": config.baseline,
            "comparison": None,
        }
        if baseline is not None:
            results["comparison"] = [c.to_dict() for c in compare_runs(
                baseline[1], {k: v.tolist() for k, v in samples.items()},
                baseline_rows={r["name"]: r for r in baseline[0].get("scenarios", [])},
                current_rows={r["name"]: r for r in rows})]
        results["findings"] = findings_mod.findings(results)
        results["summary"] = findings_mod.summarize_findings(results["findings"]).to_dict()
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


def _write_plots(run_dir: Path, rows: list[Row], samples: dict[str, np.ndarray]) -> None:
    plots.latency_cdf(samples).savefig(run_dir / "latency_cdf.png")
    plots.speedups(rows).savefig(run_dir / "speedups.png")
    plots.upstream_calls(rows).savefig(run_dir / "upstream_calls.png")


_empty_caches = empty_caches  # former private names, kept for callers of the split module
__all__ = ["Infra", "RunConfig", "ServiceError", "empty_caches", "external_scenarios", "load_run", "new_run_id",
           "parse_metrics", "run", "run_scenario"]

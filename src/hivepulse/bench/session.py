"""Glue shared by ``hivepulse profile`` and ``notebooks/profiling.ipynb``: options -> run config, and the
tables/displays the notebook shows (so the notebook stays a thin layer over tested code)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from hivepulse.bench.runner import RunConfig, load_run, run
from hivepulse.bench.scenarios import Scenario, load_scenarios, with_overrides
from hivepulse.bench.targets import target_spec
from hivepulse.errors import InputError
from hivepulse.paths import locate, locate_output

Results = Mapping[str, Any]
"""A ``results.json`` document (the JSON edge between a run and the notebook)."""

PROFILING_DIR = Path("profiling")
QUICK_REQUESTS = 100
"""``--quick`` caps every scenario at this many requests (and uses profiling/quick.yaml by default)."""


def default_scenarios_file(quick: bool) -> Path:
    """``profiling/quick.yaml`` or ``profiling/scenarios.yaml`` under the current directory (a workspace may
    edit its own), else the copy shipped in the package (``hivepulse/profiling/``, identical to the source
    tree's ``profiling/``)."""
    name = "quick.yaml" if quick else "scenarios.yaml"
    local = locate_output(PROFILING_DIR / name)
    if local.is_file():
        return local
    packaged = Path(str(resources.files("hivepulse").joinpath("profiling", name)))
    return packaged if packaged.is_file() else local


def build_config(
    *,
    scenarios_file: str | Path | None = None,
    quick: bool = False,
    requests: int | None = None,
    concurrency: int | None = None,
    rate: float | None = None,
    latency_profile: str | None = None,
    output_dir: str | Path = "profiling/results",
    target_url: str | None = None,
    target_cmd: str | None = None,
    target_cwd: str | None = None,
    target_env: list[str] | None = None,
    target_path: str | None = None,
    target_ready: str | None = None,
    target_ready_status: str | None = None,
    target_port: int | None = None,
    target_start_timeout: float | None = None,
    baseline: str | None = None,
    run_id: str | None = None,
    pyspy: str = "baseline",
    hot_paths: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> RunConfig:
    """Validate the documented options (docs/profiling.md) and build a :class:`RunConfig`."""
    if concurrency is not None and rate is not None:
        raise InputError("give --concurrency or --rate, not both", column="--rate")
    if requests is not None and requests < 1:
        raise InputError("invalid --requests", value=requests, expected="an integer >= 1")
    if concurrency is not None and concurrency < 1:
        raise InputError("invalid --concurrency", value=concurrency, expected="an integer >= 1")
    if rate is not None and not rate > 0:
        raise InputError("invalid --rate", value=rate, expected="requests per second > 0")
    path = locate(scenarios_file) if scenarios_file else default_scenarios_file(quick)
    output_dir = locate_output(output_dir)
    scenarios: list[Scenario] = load_scenarios(path)
    if latency_profile:
        picked = [s for s in scenarios if s.latency == latency_profile]
        if not picked:
            raise InputError("no scenario uses this latency profile", file=str(path), value=latency_profile,
                             expected=", ".join(sorted({s.latency for s in scenarios})))
        scenarios = picked
    if quick:
        scenarios = [replace(s, requests=min(s.requests, QUICK_REQUESTS), cold_requests=min(s.cold_requests, 2))
                     for s in scenarios]
    scenarios = with_overrides(scenarios, requests=requests, concurrency=concurrency, rate=rate)
    target = target_spec(target_url=target_url, target_cmd=target_cmd, target_cwd=target_cwd,
                         target_env=target_env, target_path=target_path, target_ready=target_ready,
                         target_ready_status=target_ready_status, target_port=target_port,
                         target_start_timeout=target_start_timeout)
    return RunConfig(scenarios=scenarios, output_dir=Path(output_dir), run_id=run_id or None, target=target,
                     scenarios_file=_shown(path),
                     baseline=baseline or None, pyspy=pyspy, hot_paths=hot_paths, progress=progress, log=log)


def _shown(path: Path) -> str:
    """The scenario file as the report names it: relative to the working directory when inside it (a packaged
    copy: ``hivepulse/profiling/<name> (packaged)``)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"hivepulse/profiling/{path.name} (packaged)" if "hivepulse" in path.parts else str(path)


def load_or_run(results_dir: str | Path | None = None, **options: Any
                ) -> tuple[Results, dict[str, list[float]], Path]:
    """``(results, samples, run_dir)``: read a finished run directory, or run one with ``options``."""
    if results_dir:
        run_dir = locate(results_dir)
        results, samples = load_run(run_dir.parent, run_dir.name)
        return results, samples, run_dir
    config = build_config(**options)
    results = run(config)
    run_dir = Path(config.output_dir) / results["run_id"]
    return results, json.loads((run_dir / "samples.json").read_text(encoding="utf-8")), run_dir


# -- tables for the notebook ------------------------------------------------------------------------------------
def scenario_table(results: Results) -> pd.DataFrame:
    """One row per scenario: n, p50/p90/p99/max (ms), throughput, errors, upstream calls, hit ratio, CPU."""
    cols = ["name", "cache", "client", "latency_ms", "requests", "p50_ms", "p90_ms", "p99_ms", "max_ms",
            "throughput_rps", "errors", "upstream_calls_per_1000", "hit_ratio", "cpu_s_per_request"]
    df = pd.DataFrame([{c: s.get(c) for c in cols} for s in results["scenarios"]])
    df["cold_p50_ms"] = [s["cold"]["p50_ms"] for s in results["scenarios"]]
    df["cold_n"] = [s["cold"]["n"] for s in results["scenarios"]]
    return df.set_index("name")


def speedup_table(results: Results) -> pd.DataFrame:
    """Speedup of p50 against the uncached naive baseline of the same latency profile, with the 95% CI."""
    rows = []
    by = {s["name"]: s for s in results["scenarios"]}
    for s in results["scenarios"]:
        if s.get("speedup") is None:
            continue
        base = by[s["baseline_scenario"]]
        ci = s.get("speedup_ci") or [None, None]
        rows.append({"scenario": s["name"], "baseline": base["name"], "baseline_p50_ms": base["p50_ms"],
                     "p50_ms": s["p50_ms"], "speedup_x": s["speedup"], "ci_low_x": ci[0], "ci_high_x": ci[1],
                     "n": s["requests"], "n_baseline": base["requests"]})
    return pd.DataFrame(rows)


def cache_table(results: Results) -> pd.DataFrame:
    """Per scenario: upstream calls per 1,000 requests, share saved against the baseline, TTL bound, hit ratio."""
    by = {s["name"]: s for s in results["scenarios"]}
    rows = []
    for s in results["scenarios"]:
        base = by.get(s.get("baseline_scenario") or "")
        saved = None
        if base and base.get("upstream_calls_per_1000") and s.get("upstream_calls_per_1000") is not None:
            saved = 1 - s["upstream_calls_per_1000"] / base["upstream_calls_per_1000"]
        rows.append({"scenario": s["name"], "upstream_calls_per_1000": s.get("upstream_calls_per_1000"),
                     "saved_vs_baseline": saved, "ttl_bound_per_1000": s.get("upstream_bound_per_1000"),
                     "hit_ratio": s.get("hit_ratio"), "hits": s.get("cache_hits"), "misses": s.get("cache_misses")})
    return pd.DataFrame(rows)


def timing_table(results: Results) -> pd.DataFrame:
    """In-process hot-path timings (ms per call): median, IQR, 95% CI, loops, repeats, warm/cold."""
    hot = (results.get("profiles") or {}).get("hot_paths") or {}
    rows = [{"function": t["name"], "label": t["label"], "median_ms": t["median_s"] * 1e3,
             "iqr_ms": t["iqr_s"] * 1e3, "ci_low_ms": t["ci_low_s"] * 1e3, "ci_high_ms": t["ci_high_s"] * 1e3,
             "loops": t["loops"], "n": t["n"]} for t in hot.get("timings", [])]
    return pd.DataFrame(rows)


def flamegraph_path(results: Results, run_dir: Path) -> Path | None:
    """The py-spy flame graph SVG, or ``None`` when py-spy did not run or could not attach."""
    p = (results.get("profiles") or {}).get("py-spy")
    if p and p.get("ok") and p.get("svg"):
        return run_dir / "profiles" / p["svg"]
    return None


class RawHTML:
    """HTML shown as is by IPython (``display(RawHTML(...))``), without IPython's iframe warning."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text


def pyinstrument_iframe(results: Results, run_dir: Path, height: int = 520) -> RawHTML | None:
    """An ``<iframe srcdoc>`` holding the pyinstrument HTML (self-contained inside an exported report)."""
    hot = (results.get("profiles") or {}).get("hot_paths") or {}
    p = hot.get("pyinstrument") or {}
    if not p.get("html"):
        return None
    content = (run_dir / "profiles" / p["html"]).read_text(encoding="utf-8")
    return RawHTML(f'<iframe srcdoc="{html.escape(content, quote=True)}" style="width:100%;height:{height}px;'
                   'border:1px solid #ccc"></iframe>')

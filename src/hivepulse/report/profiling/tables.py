"""The report's tables, built from a ``results.json`` document into typed :class:`Table` values (human column
names with units, formatted cells, footnotes for every dash), rendered by ``templates/table.html.j2``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hivepulse.report.profiling import fmt
from hivepulse.report.profiling.fmt import Cell

Results = Mapping[str, Any]
KIND_ORDER = {"problem": 0, "good": 1, "info": 2}
KIND_LABEL = {"problem": "Problem", "good": "Good news", "info": "Context"}
VERDICT_LABEL = {"faster": "Faster", "slower": "Slower", "unchanged": "No measurable change",
                 "inconclusive": "Inconclusive (machine busy)", "not comparable": "Not comparable",
                 "new": "New scenario", "removed": "Removed scenario"}


@dataclass(frozen=True)
class Table:
    """A table for people: a caption, column headers, rows of cells and the footnotes of its dashes."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    @property
    def notes(self) -> tuple[str, ...]:
        seen: list[str] = []
        for row in self.rows:
            for cell in row:
                if cell.note and cell.note not in seen:
                    seen.append(cell.note)
        return tuple(seen)


def _what(s: Mapping[str, Any]) -> str:
    if s.get("cache") == "external":
        return "your service"
    return f"{s.get('cache')} cache, {s.get('client')} client"


def latency(results: Results) -> Table:
    rows = []
    for s in results.get("scenarios", []):
        cold = s.get("cold") or {}
        cold_note = cold.get("note") or "no cold requests in this scenario"
        hit_note = "no cache in this scenario" if s.get("cache") == "none" else "the service exposes no hit counters"
        rows.append((fmt.text(s["name"]), fmt.text(_what(s)), fmt.count(s.get("requests")), fmt.ms(s.get("p50_ms")),
                     fmt.ms(s.get("p90_ms")), fmt.ms(s.get("p99_ms")), fmt.ms(s.get("max_ms")),
                     fmt.per_s(s.get("throughput_rps")), fmt.count(s.get("errors")),
                     fmt.ms(cold.get("p50_ms"), cold_note), fmt.share(s.get("hit_ratio"), hit_note),
                     fmt.number((s.get("cpu_s_per_request") or 0) * 1000 if s.get("cpu_s_per_request") is not None
                                else None, "CPU time not available for this target", " ms")))
    return Table("Warm requests per scenario (latency from the scheduled send time; percentiles by nearest rank)",
                 ("Scenario", "Setup", "Requests", "Median", "p90", "p99", "Max", "Throughput", "Errors",
                  "Cold median", "Hit ratio", "CPU per request"), tuple(rows))


def speedups(results: Results) -> Table:
    by = {s["name"]: s for s in results.get("scenarios", [])}
    rows = []
    for s in results.get("scenarios", []):
        if s.get("speedup") is None:
            continue
        base = by.get(s.get("baseline_scenario") or "", {})
        ci = s.get("speedup_ci") or [None, None]
        ci_text = (f"{fmt.sig(ci[0])}-{fmt.sig(ci[1])}x" if ci[0] is not None and ci[1] is not None else None)
        rows.append((fmt.text(s["name"]), fmt.ms(base.get("p50_ms")), fmt.ms(s.get("p50_ms")), fmt.times(s["speedup"]),
                     fmt.text(ci_text, "too few samples for a confidence interval"),
                     fmt.text(f"{s.get('requests')} vs {base.get('requests')}")))
    rows.sort(key=lambda r: -float(r[3].text.rstrip("x").replace(",", "")))
    return Table("Median speedup against the uncached naive baseline (95% bootstrap CI)",
                 ("Scenario", "Baseline median", "Median", "Speedup", "95% CI", "Requests (n vs baseline)"),
                 tuple(rows))


def cache(results: Results) -> Table:
    by = {s["name"]: s for s in results.get("scenarios", [])}
    rows = []
    for s in results.get("scenarios", []):
        base = by.get(s.get("baseline_scenario") or "")
        saved = None
        if base and base.get("upstream_calls_per_1000") and s.get("upstream_calls_per_1000") is not None:
            saved = 1 - s["upstream_calls_per_1000"] / base["upstream_calls_per_1000"]
        bound_note = "no TTL bound (no cache, or an external target)"
        rows.append((fmt.text(s["name"]), fmt.number(s.get("upstream_calls_per_1000"), "no replay server (URL target)"),
                     fmt.number(s.get("upstream_bound_per_1000"), bound_note),
                     fmt.share(saved, "this is the baseline, or it has no upstream count"),
                     fmt.share(s.get("hit_ratio"), "no cache in this scenario or no hit counters"),
                     fmt.count(s.get("cache_hits"), "no hit counters"), fmt.count(s.get("cache_misses"), "no hit counters")))
    return Table("Upstream calls (counted at the replay server) and cache hits",
                 ("Scenario", "Upstream calls per 1,000 requests", "TTL bound per 1,000", "Calls saved", "Hit ratio",
                  "Hits", "Misses"), tuple(rows))


def findings(results: Results) -> Table:
    found = sorted(results.get("findings", []), key=lambda f: KIND_ORDER.get(f.get("kind"), 3))
    rows = tuple((fmt.text(KIND_LABEL.get(f.get("kind"), str(f.get("kind")))), fmt.text(f.get("text")),
                  fmt.text(f.get("scenario"), "run-level finding"),
                  fmt.share(f.get("reach"), "no reach (good news or context)")) for f in found)
    return Table("Findings for the retro (problems first)", ("Kind", "Finding", "Scenario", "Reach"), rows)


def comparison(results: Results) -> Table:
    rows = tuple((fmt.text(c["scenario"]), fmt.text(VERDICT_LABEL.get(c["verdict"], c["verdict"])),
                  fmt.ms(c.get("baseline_median_ms"), "not in the baseline run"),
                  fmt.ms(c.get("current_median_ms"), "not in this run"),
                  fmt.times(c.get("ratio"), "no ratio (too few samples, or missing on one side)"),
                  fmt.text(f"{c.get('n_baseline')} vs {c.get('n_current')}"), fmt.text(c.get("reason")))
                 for c in results.get("comparison") or [])
    return Table(f"Comparison with the baseline run {results.get('baseline_run')}",
                 ("Scenario", "Verdict", "Baseline median", "Median", "Ratio", "Requests (baseline vs now)", "Why"),
                 rows)


def timings(results: Results) -> Table:
    hot = (results.get("profiles") or {}).get("hot_paths") or {}
    rows = tuple((fmt.text(t["name"]), fmt.text(t["label"]), fmt.ms(t["median_s"] * 1000),
                  fmt.ms(t["iqr_s"] * 1000), fmt.text(f"{fmt.sig(t['ci_low_s'] * 1000)}-{fmt.sig(t['ci_high_s'] * 1000)} ms"),
                  fmt.count(t.get("loops")), fmt.count(t.get("n"))) for t in hot.get("timings", []))
    return Table("In-process hot paths (replay latency 0 ms: the CPU path), time per call",
                 ("Function", "Cache state", "Median", "IQR", "95% CI of the median", "Loops per batch", "Batches"),
                 rows)


MACHINE_LABELS = (("cpu_model", "CPU"), ("cores_usable", "Usable cores"), ("cores_logical", "Logical cores"),
                  ("memory_gb", "Memory (GB)"), ("os", "Operating system"), ("python", "Python"),
                  ("load_avg_1m", "Load average (1 min) at the end"), ("recorded_at", "Recorded at (UTC)"))


def machine(results: Results) -> Table:
    m = results.get("machine") or {}
    rows = tuple((fmt.text(label), fmt.number(m.get(key)) if isinstance(m.get(key), float) else fmt.text(m.get(key)))
                 for key, label in MACHINE_LABELS)
    return Table("The machine", ("Property", "Value"), rows)


def machine_load(results: Results) -> Table:
    rows = []
    for s in results.get("scenarios", []):
        load = s.get("machine_load") or {}
        rows.append((fmt.text(s["name"]), fmt.number(load.get("runnable_mean"), "not recorded"),
                     fmt.count(load.get("cores"), "not recorded"), fmt.share(load.get("steal_share"), "not recorded"),
                     fmt.text(None if "busy" not in load else "busy: inconclusive" if load["busy"] else "quiet", "not recorded")))
    return Table("Machine load during each scenario (runnable tasks sampled every 100 ms)",
                 ("Scenario", "Runnable tasks (mean)", "Cores", "CPU steal", "Machine"), tuple(rows))


def busy_scenarios(results: Results) -> list[str]:
    return [s["name"] for s in results.get("scenarios", []) if (s.get("machine_load") or {}).get("busy")]


__all__ = ["Table", "busy_scenarios", "cache", "comparison", "findings", "latency", "machine", "machine_load",
           "speedups", "timings"]



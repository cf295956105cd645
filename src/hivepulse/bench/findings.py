"""Findings of a profiling run, for the retro, and the notebook's generated conclusion.

A finding is a plain dict ``{"metric", "value", "text", "scenario"}`` (plus ``"unit"``) so the retro can list
it as evidence and its action-item engine can match on ``metric``. Emitted, in this order:

- ``p50_ms`` and ``p99_ms`` of each uncached naive baseline ("p99 2.1 s under naive client without cache");
- ``speedup_p50`` of the fastest scenario against its baseline, with the bootstrap CI;
- ``hit_ratio`` of every cached scenario that reports one;
- ``upstream_calls_per_1000`` of every scenario, and ``upstream_calls_saved`` (share) of every cached one
  against its baseline;
- ``errors`` of every scenario with errors;
- ``regression`` for every scenario a baseline comparison marked slower (``improvement`` for faster);
- ``profiler_unavailable`` when py-spy could not attach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Finding = dict[str, Any]


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"{value / 1000:.2g} s" if value < 10_000 else f"{value / 1000:.0f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2g} ms"


def _x(value: float) -> str:
    return f"{value:.0f}x" if value >= 10 else f"{value:.1f}x"


def _what(s: Mapping[str, Any]) -> str:
    cache = "without cache" if s["cache"] == "none" else f"with {s['cache']} cache"
    if s["cache"] == "external":
        return f"on the external target ({s['name']})"
    return f"under {s['client']} client {cache}"


def _finding(metric: str, value: Any, text: str, scenario: str | None, unit: str | None = None) -> Finding:
    return {"metric": metric, "value": value, "text": text, "scenario": scenario, "unit": unit}


def findings(results: Mapping[str, Any]) -> list[Finding]:
    """Findings from a ``results.json`` document (see the module docstring)."""
    scenarios: Sequence[Mapping[str, Any]] = results.get("scenarios", [])
    by_name = {s["name"]: s for s in scenarios}
    out: list[Finding] = []
    for s in scenarios:
        if s.get("cache") == "none" and s.get("client") == "naive":
            out.append(_finding("p50_ms", s["p50_ms"], f"p50 {_ms(s['p50_ms'])} {_what(s)} "
                                f"(n={s['requests']}, {s['latency_ms']:g} ms upstream)", s["name"], "ms"))
            out.append(_finding("p99_ms", s["p99_ms"], f"p99 {_ms(s['p99_ms'])} {_what(s)}", s["name"], "ms"))
    best = best_speedup(scenarios)
    if best is not None:
        s = best
        ci = s.get("speedup_ci")
        ci_text = f", 95% CI {ci[0]:.0f}-{ci[1]:.0f}x" if ci else ""
        base = by_name.get(s.get("baseline_scenario") or "")
        base_p50 = base["p50_ms"] if base else None
        out.append(_finding("speedup_p50", s["speedup"], f"p50 fell from {_ms(base_p50)} to {_ms(s['p50_ms'])} "
                            f"{_what(s)} ({_x(s['speedup'])}{ci_text})", s["name"], "x"))
    for s in scenarios:
        if s.get("cache") not in ("none", None) and s.get("hit_ratio") is not None:
            out.append(_finding("hit_ratio", s["hit_ratio"], f"hit ratio {s['hit_ratio']:.2f} {_what(s)}",
                                s["name"]))
    for s in scenarios:
        if s.get("upstream_calls_per_1000") is not None:
            out.append(_finding("upstream_calls_per_1000", s["upstream_calls_per_1000"],
                                f"{s['upstream_calls_per_1000']:.0f} upstream calls per 1,000 requests {_what(s)}",
                                s["name"], "calls"))
            base = by_name.get(s.get("baseline_scenario") or "")
            if (s.get("cache") != "none" and base and base.get("upstream_calls_per_1000")):
                saved = 1 - s["upstream_calls_per_1000"] / base["upstream_calls_per_1000"]
                out.append(_finding("upstream_calls_saved", saved,
                                    f"{saved:.1%} of upstream calls saved {_what(s)}", s["name"], "share"))
    for s in scenarios:
        if s.get("errors"):
            out.append(_finding("errors", s["errors"], f"{s['errors']} errors in {s['requests']} requests "
                                f"{_what(s)}", s["name"], "requests"))
    for c in results.get("comparison") or []:
        if c["verdict"] in ("slower", "faster"):
            metric = "regression" if c["verdict"] == "slower" else "improvement"
            out.append(_finding(metric, c["ratio"], f"{c['scenario']} {c['verdict']} than the baseline run: "
                                f"median {_ms(c['baseline_median_ms'])} -> {_ms(c['current_median_ms'])} "
                                f"({c['reason']})", c["scenario"], "x"))
    pyspy = (results.get("profiles") or {}).get("py-spy")
    if pyspy and not pyspy.get("ok"):
        out.append(_finding("profiler_unavailable", 1, pyspy.get("message") or "py-spy unavailable", None))
    return out


def best_speedup(scenarios: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The scenario with the highest ``speedup`` (p50 against its baseline), or ``None``."""
    ranked = [s for s in scenarios if s.get("speedup") is not None and s.get("cache") != "none"]
    return max(ranked, key=lambda s: s["speedup"]) if ranked else None


def conclusion(results: Mapping[str, Any]) -> str:
    """One or two generated sentences with the run's real numbers (used by the notebook and the CLI).

    Example: "With valkey cache and pooled client, p50 fell from 412 ms to 1.9 ms (216x, 95% CI 180-240x);
    97% of uncached time is waiting on openSenseMap."
    """
    scenarios = results.get("scenarios", [])
    if not scenarios:
        return "No scenario was measured."
    by_name = {s["name"]: s for s in scenarios}
    parts: list[str] = []
    best = best_speedup(scenarios)
    if best is not None:
        base = by_name.get(best.get("baseline_scenario") or "")
        ci = best.get("speedup_ci")
        ci_text = f", 95% CI {ci[0]:.0f}-{ci[1]:.0f}x" if ci else ""
        parts.append(
            f"With {best['cache']} cache and {best['client']} client, p50 fell from "
            f"{_ms(base['p50_ms'] if base else None)} to {_ms(best['p50_ms'])} "
            f"({_x(best['speedup'])}{ci_text}; n={best['requests']} vs {base['requests'] if base else '?'})"
        )
        calls = best.get("upstream_calls_per_1000")
        if calls is not None and base and base.get("upstream_calls_per_1000"):
            parts[-1] += (f" and upstream calls fell from {base['upstream_calls_per_1000']:.0f} to {calls:.1f} "
                          "per 1,000 requests")
    waits = [s for s in scenarios if s.get("cache") == "none" and s.get("upstream_wait_share") is not None]
    if waits:
        share = max(min(s["upstream_wait_share"], 1.0) for s in waits)
        parts.append(f"{share:.0%} of uncached time is waiting on openSenseMap")
    if not parts:
        s = min(scenarios, key=lambda s: s["p50_ms"] if s.get("p50_ms") is not None else float("inf"))
        parts.append(f"Fastest scenario {s['name']}: p50 {_ms(s['p50_ms'])}, p99 {_ms(s['p99_ms'])} "
                     f"(n={s['requests']})")
    return "; ".join(parts) + "."

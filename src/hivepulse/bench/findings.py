"""Findings of a profiling run, for the retro, and the notebook's generated conclusion.

A finding is a plain dict, so the retro can list it as evidence and its action-item engine can match on
``metric``::

    {"metric", "value", "unit", "text", "scenario",
     "kind",          # "problem" (can become an action), "good" (good news: evidence only), "info" (context)
     "better",        # "higher" or "lower" (hivepulse.vocabulary)
     "threshold",     # the value that separates problem from good news (None for info)
     "n",             # requests (or cache lookups) behind the value
     "reach",         # share of requests affected (0..1), for the retro's RICE reach
     "reach_text",    # how the reach was computed, one line
     "significant"}   # the comparison behind it was significant (True/False), None when there is none

Every ``text`` states its n. Rules (thresholds are the constants below; ``docs/profiling.md`` quotes them),
emitted in this order:

- ``p50_ms`` and ``p99_ms`` of each uncached naive baseline: info (the reference the speedups are against);
- ``p99_ms`` of every cached scenario: problem above :data:`CACHED_P99_BUDGET_MS`, else good; reach: the share
  of requests above the budget, a lower bound from the recorded percentiles (0.5 when p50 is above it, 0.1
  when p90 is, else 0.01);
- ``speedup_p50`` of the fastest cached scenario against its baseline: good when the bootstrap CI lies above
  1x (significant), info otherwise;
- ``hit_ratio`` of every cached scenario that reports one: problem below :data:`HIT_RATIO_MIN`, else good;
  reach: the miss share ``1 - hit_ratio``; n: hits + misses;
- ``upstream_calls_per_1000`` of every scenario: for a cached scenario with a TTL bound, problem above the
  bound (a stampede or a cache that does not hold), else good; reach: the share of requests that made an
  extra upstream refresh, ``(calls - bound) / (1000 x boxes)``; info without a bound;
- ``upstream_calls_saved`` (share) of every cached scenario against its baseline: good when the scenario is
  within its TTL bound (or, without a bound, saves at least :data:`HIT_RATIO_MIN`), info otherwise;
- ``naive_client_overhead`` (uncached naive p50 / uncached pooled p50 of the same upstream latency): problem
  above :data:`NAIVE_OVERHEAD_MAX`, else good; significant when the two medians' 95% CIs do not overlap;
  reach: the share of requests that go upstream and pay it, ``1 - best hit ratio`` of the run's cached
  scenarios (1.0 when the run has none);
- ``upstream_wait_share`` of every uncached scenario (share of request time waiting on the upstream API):
  problem above :data:`UPSTREAM_WAIT_MAX` when no cached scenario of the run reaches a hit ratio of
  :data:`HIT_RATIO_MIN` (caching is the remedy and it is not shown to work), info otherwise; reach 1.0;
- ``errors`` of every scenario with errors: problem (threshold 0), reach ``errors / requests``; one run-level
  good finding "no errors in N requests" when no scenario has any;
- ``baseline_ratio`` (current median / baseline median, threshold 1.0) of every scenario compared with a
  baseline run: problem when *slower*, good when *faster* (both significant, p < 0.01 and at least 10%),
  info when *unchanged*;
- ``profiler_unavailable`` when py-spy could not attach: info (a tooling note, not a service problem).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from hivepulse.vocabulary import direction


class Finding(TypedDict):
    """One finding, exactly the record of docs/profiling.md ("The findings record")."""

    metric: str
    value: Any  # a number (count, share, ms or x)
    text: str
    scenario: str | None
    unit: str | None
    kind: str
    better: str | None
    threshold: float | None
    n: int | None
    reach: float | None
    reach_text: str | None
    significant: bool | None


KINDS = ("problem", "good", "info")
"""A finding's kind: only problems can become action items; good news and info are evidence."""

HIT_RATIO_MIN = 0.8
"""A cached scenario's hit ratio below this is a problem (more than one lookup in five misses)."""
CACHED_P99_BUDGET_MS = 100.0
"""A cached scenario's p99 above this (ms) is a problem: a cached answer should not take an upstream trip."""
NAIVE_OVERHEAD_MAX = 1.2
"""Uncached naive p50 / uncached pooled p50 above this is a problem (per-request client setup costs > 20%)."""
UPSTREAM_WAIT_MAX = 0.5
"""An uncached scenario spending more than this share of request time waiting upstream is a problem when
no cached scenario of the run works (hit ratio >= HIT_RATIO_MIN)."""
COMPARISON_ALPHA = 0.01
"""Significance level of the baseline comparison (``hivepulse.bench.compare.ALPHA``; a test keeps them equal)."""


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


def _count(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _finding(metric: str, value: Any, text: str, scenario: str | None, unit: str | None = None, *,
             kind: str = "info", threshold: float | None = None, n: int | None = None,
             reach: float | None = None, reach_text: str | None = None,
             significant: bool | None = None) -> Finding:
    assert kind in KINDS
    return {"metric": metric, "value": value, "text": text, "scenario": scenario, "unit": unit, "kind": kind,
            "better": direction(metric), "threshold": threshold, "n": n,
            "reach": None if reach is None else round(min(max(float(reach), 0.0), 1.0), 4),
            "reach_text": reach_text, "significant": significant}


def _cached(s: Mapping[str, Any]) -> bool:
    return s.get("cache") not in ("none", "external", None)


def _share_above(s: Mapping[str, Any], budget: float) -> tuple[float, str]:
    """Lower bound of the share of requests above ``budget`` from the nearest-rank percentiles."""
    for key, share in (("p50_ms", 0.5), ("p90_ms", 0.1), ("p99_ms", 0.01)):
        value = s.get(key)
        if value is not None and value > budget:
            return share, f"at least {share:.0%} of requests above {_ms(budget)} ({key.removesuffix('_ms')} is)"
    return 0.0, f"no recorded percentile above {_ms(budget)}"


def _latency(s: Mapping[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    n = _count(s.get("requests"))
    if s.get("cache") == "none" and s.get("client") == "naive":
        latency = f", {s['latency_ms']:g} ms upstream" if s.get("latency_ms") is not None else ""
        out.append(_finding("p50_ms", s["p50_ms"], f"p50 {_ms(s['p50_ms'])} {_what(s)} (n={n}{latency})",
                            s["name"], "ms", n=n))
        out.append(_finding("p99_ms", s["p99_ms"], f"p99 {_ms(s['p99_ms'])} {_what(s)} (n={n})", s["name"], "ms",
                            n=n))
    elif _cached(s) and s.get("p99_ms") is not None:
        p99, budget = s["p99_ms"], CACHED_P99_BUDGET_MS
        problem = p99 > budget
        reach, how = _share_above(s, budget)
        side = "above" if problem else "within"
        out.append(_finding("p99_ms", p99, f"p99 {_ms(p99)} {_what(s)} (n={n}), {side} the {_ms(budget)} budget "
                            "for cached answers", s["name"], "ms", kind="problem" if problem else "good",
                            threshold=budget, n=n, reach=reach if problem else 0.0, reach_text=how))
    return out


def findings(results: Mapping[str, Any]) -> list[Finding]:
    """Findings from a ``results.json`` document (see the module docstring)."""
    scenarios: Sequence[Mapping[str, Any]] = results.get("scenarios", [])
    by_name = {s["name"]: s for s in scenarios}
    out: list[Finding] = []
    for s in scenarios:
        out += _latency(s)
    best = best_speedup(scenarios)
    if best is not None:
        s = best
        ci = s.get("speedup_ci")
        ci_text = f", 95% CI {ci[0]:.0f}-{ci[1]:.0f}x" if ci else ""
        base = by_name.get(s.get("baseline_scenario") or "")
        base_p50 = base["p50_ms"] if base else None
        n_text = f"n={s['requests']} vs {base['requests']}" if base else f"n={s['requests']}"
        significant = (ci[0] > 1) if ci else None
        good = significant is True or (significant is None and s["speedup"] > 1)
        out.append(_finding("speedup_p50", s["speedup"], f"p50 fell from {_ms(base_p50)} to {_ms(s['p50_ms'])} "
                            f"{_what(s)} ({_x(s['speedup'])}{ci_text}; {n_text})", s["name"], "x",
                            kind="good" if good else "info", threshold=1.0, n=_count(s.get("requests")),
                            significant=significant))
    for s in scenarios:
        if s.get("cache") not in ("none", None) and s.get("hit_ratio") is not None:
            h = float(s["hit_ratio"])
            lookups = (s.get("cache_hits") or 0) + (s.get("cache_misses") or 0)
            n = int(lookups) if lookups else _count(s.get("requests"))
            problem = h < HIT_RATIO_MIN
            side = "below" if problem else "at or above"
            out.append(_finding("hit_ratio", h, f"hit ratio {h:.2f} {_what(s)} (n={n} lookups), {side} "
                                f"{HIT_RATIO_MIN:.2f}", s["name"], kind="problem" if problem else "good",
                                threshold=HIT_RATIO_MIN, n=n, reach=1 - h,
                                reach_text=f"{1 - h:.0%} of cache lookups miss"))
    for s in scenarios:
        calls = s.get("upstream_calls_per_1000")
        if calls is None:
            continue
        n = _count(s.get("requests"))
        bound = s.get("upstream_bound_per_1000") if s.get("cache") != "none" else None
        text = f"{calls:.0f} upstream calls per 1,000 requests {_what(s)} (n={n})"
        if bound is not None:
            problem = calls > bound
            boxes = s.get("boxes") or 1
            extra = max(calls - bound, 0.0) / (1000.0 * boxes)
            out.append(_finding("upstream_calls_per_1000", calls,
                                f"{text}, {'above' if problem else 'within'} the TTL bound of {bound:.0f}",
                                s["name"], "calls", kind="problem" if problem else "good", threshold=bound, n=n,
                                reach=extra, reach_text=f"{extra:.1%} of requests made an extra upstream refresh"))
        else:
            out.append(_finding("upstream_calls_per_1000", calls, text, s["name"], "calls", n=n))
        base = by_name.get(s.get("baseline_scenario") or "")
        if s.get("cache") != "none" and base and base.get("upstream_calls_per_1000"):
            saved = 1 - calls / base["upstream_calls_per_1000"]
            good = (calls <= bound) if bound is not None else saved >= HIT_RATIO_MIN
            out.append(_finding("upstream_calls_saved", saved, f"{saved:.1%} of upstream calls saved {_what(s)} "
                                f"(n={n} vs {base['requests']})", s["name"], "share",
                                kind="good" if good else "info", n=n))
    out += _client_overhead(scenarios)
    working_cache = [s for s in scenarios if _cached(s) and (s.get("hit_ratio") or 0) >= HIT_RATIO_MIN]
    for s in scenarios:
        if s.get("cache") == "none" and s.get("upstream_wait_share") is not None:
            share = min(float(s["upstream_wait_share"]), 1.0)
            n = _count(s.get("requests"))
            problem = share > UPSTREAM_WAIT_MAX and not working_cache
            if working_cache:
                top = max(working_cache, key=lambda c: c["hit_ratio"])
                why = f"; caching removes it (hit ratio {top['hit_ratio']:.2f} {_what(top)})"
            else:
                why = f"; no cached scenario reaches a hit ratio of {HIT_RATIO_MIN:.2f}" if share > UPSTREAM_WAIT_MAX \
                    else ""
            out.append(_finding("upstream_wait_share", share, f"{share:.0%} of request time waits on the upstream API "
                                f"{_what(s)} (n={n}){why}", s["name"], "share",
                                kind="problem" if problem else "info", threshold=UPSTREAM_WAIT_MAX, n=n,
                                reach=1.0 if problem else None, reach_text="every uncached request"))
    total = 0
    for s in scenarios:
        n = _count(s.get("requests")) or 0
        total += n
        if s.get("errors"):
            out.append(_finding("errors", s["errors"], f"{s['errors']} errors in {n} requests {_what(s)} (n={n})",
                                s["name"], "requests", kind="problem", threshold=0.0, n=n,
                                reach=s["errors"] / n if n else 1.0,
                                reach_text=f"{s['errors'] / n if n else 1:.1%} of requests failed"))
    if scenarios and not any(s.get("errors") for s in scenarios):
        out.append(_finding("errors", 0, f"no errors in {total} requests over {len(scenarios)} scenario(s) "
                            f"(n={total})", None, "requests", kind="good", threshold=0.0, n=total))
    for c in results.get("comparison") or []:
        if c.get("verdict") not in ("slower", "faster", "unchanged") or c.get("ratio") is None:
            continue
        kind = {"slower": "problem", "faster": "good", "unchanged": "info"}[c["verdict"]]
        p = c.get("p_value")
        significant = c["verdict"] != "unchanged" or (p is not None and p < COMPARISON_ALPHA)
        n = min(c.get("n_baseline") or 0, c.get("n_current") or 0)
        n_text = f"; n={c['n_baseline']} vs {c['n_current']}" if c.get("n_baseline") and c.get("n_current") else ""
        verb = {"slower": "was slower than the baseline run", "faster": "was faster than the baseline run",
                "unchanged": "did not change measurably against the baseline run"}[c["verdict"]]
        out.append(_finding("baseline_ratio", c["ratio"], f"{c['scenario']} {verb}: "
                            f"median {_ms(c['baseline_median_ms'])} -> {_ms(c['current_median_ms'])} "
                            f"({c['reason']}{n_text})", c["scenario"], "x",
                            kind=kind, threshold=1.0, n=n, reach=1.0 if kind == "problem" else None,
                            reach_text="every request of this scenario", significant=significant))
    pyspy = (results.get("profiles") or {}).get("py-spy")
    if pyspy and not pyspy.get("ok"):
        out.append(_finding("profiler_unavailable", 1, pyspy.get("message") or "py-spy unavailable", None))
    return out


def _client_overhead(scenarios: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """``naive_client_overhead`` per upstream latency with both an uncached naive and pooled scenario."""
    out: list[Finding] = []
    for naive in scenarios:
        if naive.get("cache") != "none" or naive.get("client") != "naive" or not naive.get("p50_ms"):
            continue
        pooled = next((s for s in scenarios if s.get("cache") == "none" and s.get("client") == "pooled"
                       and s.get("latency_ms") == naive.get("latency_ms") and s.get("p50_ms")), None)
        if pooled is None:
            continue
        ratio = naive["p50_ms"] / pooled["p50_ms"]
        ci_n, ci_p = naive.get("median_ci_ms"), pooled.get("median_ci_ms")
        significant = None
        if ci_n and ci_p:
            significant = bool(ci_n[0] > ci_p[1] or ci_n[1] < ci_p[0])
        sig_text = {True: "; median CIs do not overlap", False: "; median CIs overlap", None: ""}[significant]
        problem = ratio > NAIVE_OVERHEAD_MAX
        n = min(_count(naive.get("requests")) or 0, _count(pooled.get("requests")) or 0)
        cached = [s for s in scenarios if _cached(s) and s.get("hit_ratio") is not None]
        if cached:
            top = max(cached, key=lambda c: c["hit_ratio"])
            reach = 1 - float(top["hit_ratio"])
            how = f"{reach:.1%} of requests go upstream (best cache: hit ratio {top['hit_ratio']:.2f} {_what(top)})"
        else:
            reach, how = 1.0, "every request goes upstream (no cached scenario in the run)"
        out.append(_finding(
            "naive_client_overhead", round(ratio, 4),
            f"uncached p50 {_ms(naive['p50_ms'])} with the naive client vs {_ms(pooled['p50_ms'])} pooled "
            f"({ratio:.2f}x, n={naive['requests']} and {pooled['requests']}{sig_text}), "
            f"{'above' if problem else 'within'} {NAIVE_OVERHEAD_MAX:.1f}x",
            naive["name"], "x", kind="problem" if problem else "good", threshold=NAIVE_OVERHEAD_MAX, n=n,
            reach=reach if problem else None, reach_text=how, significant=significant))
    return out


def best_speedup(scenarios: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The scenario with the highest ``speedup`` (p50 against its baseline), or ``None``."""
    ranked = [s for s in scenarios if s.get("speedup") is not None and s.get("cache") != "none"]
    return max(ranked, key=lambda s: s["speedup"]) if ranked else None


PRACTICAL_RATIO = 1.10
PRACTICAL_MS = 1.0
"""Two scenarios differ *practically* when their speedup CIs do not overlap and their p50s differ by at least
10% (:data:`PRACTICAL_RATIO`) and at least 1 ms (:data:`PRACTICAL_MS`); the conclusion ranks only such
differences and otherwise says "no measurable difference"."""


def practically_different(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether scenarios ``a`` and ``b`` differ practically (see :data:`PRACTICAL_RATIO`)."""
    ca, cb = a.get("speedup_ci"), b.get("speedup_ci")
    if not ca or not cb or a.get("p50_ms") is None or b.get("p50_ms") is None:
        return False
    apart = ca[0] > cb[1] or cb[0] > ca[1]
    low, high = sorted((float(a["p50_ms"]), float(b["p50_ms"])))
    return bool(apart and high - low >= PRACTICAL_MS and high >= low * PRACTICAL_RATIO)


def conclusion(results: Mapping[str, Any]) -> str:
    """One or two generated sentences with the run's real numbers (used by the notebook and the CLI).

    The best cached scenario is named alone only when it is practically faster than every other cached one
    (:func:`practically_different`); otherwise the scenarios tied with it are named together with "no
    measurable difference", so two identical runs give the same conclusion. Example: "With caching, p50 fell
    from 412 ms to 1.9-2.3 ms (180-216x); memory, valkey and memcached (6 scenarios) show no measurable
    difference between them (95% CIs overlap, or the medians differ by less than 10% or 1 ms)."
    """
    scenarios = results.get("scenarios", [])
    if not scenarios:
        return "No scenario was measured."
    by_name = {s["name"]: s for s in scenarios}
    parts: list[str] = []
    best = best_speedup(scenarios)
    if best is not None:
        base = by_name.get(best.get("baseline_scenario") or "")
        cached = [s for s in scenarios if s.get("speedup") is not None and s.get("cache") != "none"]
        tied = [s for s in cached if s is best or not practically_different(best, s)]
        n_text = f"n={best['requests']} vs {base['requests'] if base else '?'}"
        if len(tied) > 1:
            p50s = sorted(float(s["p50_ms"]) for s in tied)
            speeds = sorted(float(s["speedup"]) for s in tied)
            caches = sorted({str(s["cache"]) for s in tied})
            lo, hi = _ms(p50s[0]), _ms(p50s[-1])
            if lo.endswith(" ms") and hi.endswith(" ms"):
                lo = lo.removesuffix(" ms")
            parts.append(
                f"With caching, p50 fell from {_ms(base['p50_ms'] if base else None)} to {lo}-{hi} "
                f"({_x(speeds[0]).rstrip('x')}-{_x(speeds[-1])}; {n_text}); {', '.join(caches)} "
                f"({len(tied)} scenarios) show no measurable difference between them (95% CIs overlap, or the "
                f"medians differ by less than {PRACTICAL_RATIO - 1:.0%} or {PRACTICAL_MS:g} ms)")
        else:
            ci = best.get("speedup_ci")
            ci_text = f", 95% CI {ci[0]:.0f}-{ci[1]:.0f}x" if ci else ""
            parts.append(
                f"With {best['cache']} cache and {best['client']} client, p50 fell from "
                f"{_ms(base['p50_ms'] if base else None)} to {_ms(best['p50_ms'])} "
                f"({_x(best['speedup'])}{ci_text}; {n_text})"
                + (", practically faster than every other cached scenario" if len(cached) > 1 else ""))
        calls = best.get("upstream_calls_per_1000")
        if calls is not None and base and base.get("upstream_calls_per_1000"):
            parts[-1] += (f"; upstream calls fell from {base['upstream_calls_per_1000']:.0f} to {calls:.1f} "
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


SUMMARY_ROWS = 5
"""The findings summary (``results.json`` ``summary``) lists at most this many findings."""


@dataclass(frozen=True)
class SummaryRow:
    """One row of the findings summary: kind, metric, scenario (or None) and the full text."""

    kind: str
    metric: str
    scenario: str | None
    text: str


@dataclass(frozen=True)
class FindingsSummary:
    """What a reader (the retro's profiling evidence) shows of a run: counts per kind and at most
    :data:`SUMMARY_ROWS` findings, problems first (largest reach first), then good news (significant first).
    Context (``info``) findings are counted, never listed."""

    problems: int
    good: int
    info: int
    rows: tuple[SummaryRow, ...]

    def to_dict(self) -> dict[str, object]:
        return {"problems": self.problems, "good": self.good, "info": self.info,
                "rows": [asdict(r) for r in self.rows]}


def summarize_findings(found: Sequence[Mapping[str, Any]], limit: int = SUMMARY_ROWS) -> FindingsSummary:
    """The :class:`FindingsSummary` of a findings list (stable: ties keep the findings' order)."""
    problems = [f for f in found if f.get("kind") == "problem"]
    good = [f for f in found if f.get("kind") == "good"]

    def reach(f: Mapping[str, Any]) -> float:
        value = f.get("reach")
        return float(value) if isinstance(value, int | float) else -1.0

    problems.sort(key=lambda f: -reach(f))
    good.sort(key=lambda f: 0 if f.get("significant") is True else 1)
    rows = tuple(SummaryRow(str(f["kind"]), str(f["metric"]), f.get("scenario"), str(f.get("text") or ""))
                 for f in [*problems, *good][:limit])
    return FindingsSummary(len(problems), len(good), sum(1 for f in found if f.get("kind") == "info"), rows)

"""Compare a run with a baseline run: each scenario is faster, slower or unchanged.

Rule (per scenario present in both runs, on the raw latency samples in ms):

1. two-sided Mann-Whitney U test of the current against the baseline samples
   (:func:`hivepulse.stats.mann_whitney`, i.e. ``scipy.stats.mannwhitneyu``, ``method="auto"``); significant
   when ``p < alpha`` (default 0.01);
2. effect size = ``median(current) / median(baseline)``; it counts when it is at most ``1 - min_effect``
   (faster) or at least ``1 + min_effect`` (slower), default ``min_effect = 0.10``;
3. **faster** / **slower** only when both hold, otherwise **unchanged** (significant but tiny changes and
   large but noisy ones are both "unchanged"). Fewer than ``min_n`` (default 5) samples on either side:
   **unchanged** with the reason ``"too few samples"``.

A scenario missing from one run is listed with verdict ``"new"`` or ``"removed"``.

Before the test, with both runs' scenario rows (``results.json``):

- **not comparable**: the scenario's load model, concurrency or rate, client, cache, single-flight, TTL, boxes or
  upstream latency differ between the runs (:data:`COMPARABLE`); the reason names each difference;
- **inconclusive (machine busy)**: either run measured it while the machine was busier than its cores
  (``machine_load.busy``: more runnable tasks on average than usable cores, or CPU steal above 5%); never
  "slower" (nor "faster"), and no finding for the retro.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from hivepulse.stats import mann_whitney

COMPARABLE = ("model", "concurrency", "rate", "client", "cache", "single_flight", "ttl_s", "boxes", "latency_ms")
"""Scenario fields that must be equal in both runs for a comparison (else "not comparable")."""
VERDICTS = ("faster", "slower", "unchanged", "inconclusive", "not comparable", "new", "removed")
ALPHA = 0.01
MIN_EFFECT = 0.10
MIN_N = 5


@dataclass(frozen=True)
class Comparison:
    """Verdict for one scenario. ``ratio`` = current median / baseline median (below 1 means faster)."""

    scenario: str
    verdict: str  # faster | slower | unchanged | inconclusive | not comparable | new | removed
    baseline_median_ms: float | None
    current_median_ms: float | None
    ratio: float | None
    p_value: float | None
    n_baseline: int
    n_current: int
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def compare_samples(
    scenario: str,
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
    min_n: int = MIN_N,
) -> Comparison:
    """Apply the module's rule to two latency samples (ms)."""
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(current, dtype=float)
    mb = float(np.median(b)) if b.size else None
    mc = float(np.median(c)) if c.size else None
    if b.size < min_n or c.size < min_n:
        return Comparison(scenario, "unchanged", mb, mc, None, None, int(b.size), int(c.size),
                          f"too few samples (need {min_n} on each side)")
    ratio = mc / mb if mb and mc is not None else None
    p = mann_whitney(c, b).p_value
    assert p is not None  # both samples are non-empty
    significant = p < alpha
    if ratio is None:
        verdict, reason = "unchanged", "baseline median is zero"
    elif significant and ratio <= 1 - min_effect:
        verdict, reason = "faster", f"median x{ratio:.2f}, p={p:.2g} < {alpha}"
    elif significant and ratio >= 1 + min_effect:
        verdict, reason = "slower", f"median x{ratio:.2f}, p={p:.2g} < {alpha}"
    elif significant:
        verdict, reason = "unchanged", f"significant (p={p:.2g}) but the effect x{ratio:.2f} is below {min_effect:.0%}"
    else:
        verdict, reason = "unchanged", f"not significant (p={p:.2g} >= {alpha})"
    return Comparison(scenario, verdict, mb, mc, ratio, p, int(b.size), int(c.size), reason)


def differences(baseline_row: Mapping[str, object], current_row: Mapping[str, object]) -> list[str]:
    """``["concurrency 1 -> 4", ...]``: the :data:`COMPARABLE` fields that differ between two scenario rows."""
    return [f"{k} {baseline_row.get(k)} -> {current_row.get(k)}" for k in COMPARABLE
            if k in baseline_row and k in current_row and baseline_row.get(k) != current_row.get(k)]


def busy_reason(row: Mapping[str, object] | None, which: str) -> str | None:
    """Why ``row`` was measured on a busy machine (``None`` when it was not, or nothing was recorded)."""
    load = row.get("machine_load") if row else None
    if not isinstance(load, Mapping) or not load.get("busy"):
        return None
    steal = load.get("steal_share")
    steal_text = f", {float(steal):.0%} CPU steal" if isinstance(steal, int | float) else ""
    return (f"machine busy in {which}: {load.get('runnable_mean')} runnable tasks on average on "
            f"{load.get('cores')} cores{steal_text}")


def compare_runs(
    baseline: Mapping[str, Sequence[float]],
    current: Mapping[str, Sequence[float]],
    *,
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
    baseline_rows: Mapping[str, Mapping[str, object]] | None = None,
    current_rows: Mapping[str, Mapping[str, object]] | None = None,
) -> list[Comparison]:
    """Compare per-scenario samples ``{scenario: latencies_ms}``; current scenarios first, in their order.
    ``baseline_rows`` / ``current_rows``: the runs' scenario rows by name (comparability and machine load)."""
    out = []
    for name, samples in current.items():
        if name in baseline:
            got = compare_samples(name, baseline[name], samples, alpha=alpha, min_effect=min_effect)
            b_row = (baseline_rows or {}).get(name)
            c_row = (current_rows or {}).get(name)
            diff = differences(b_row, c_row) if b_row and c_row else []
            busy = busy_reason(b_row, "the baseline run") or busy_reason(c_row, "this run")
            if diff:
                got = replace(got, verdict="not comparable", reason="settings differ: " + "; ".join(diff))
            elif busy and got.verdict in ("faster", "slower", "unchanged"):
                got = replace(got, verdict="inconclusive", reason=f"{busy} (the test said: {got.reason})")
            out.append(got)
        else:
            c = np.asarray(samples, dtype=float)
            out.append(Comparison(name, "new", None, float(np.median(c)) if c.size else None, None, None, 0,
                                  int(c.size), "not in the baseline"))
    for name, samples in baseline.items():
        if name not in current:
            b = np.asarray(samples, dtype=float)
            out.append(Comparison(name, "removed", float(np.median(b)) if b.size else None, None, None, None,
                                  int(b.size), 0, "not in this run"))
    return out

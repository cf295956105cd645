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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from hivepulse.stats import mann_whitney

ALPHA = 0.01
MIN_EFFECT = 0.10
MIN_N = 5


@dataclass(frozen=True)
class Comparison:
    """Verdict for one scenario. ``ratio`` = current median / baseline median (below 1 means faster)."""

    scenario: str
    verdict: str  # faster | slower | unchanged | new | removed
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


def compare_runs(
    baseline: Mapping[str, Sequence[float]],
    current: Mapping[str, Sequence[float]],
    *,
    alpha: float = ALPHA,
    min_effect: float = MIN_EFFECT,
) -> list[Comparison]:
    """Compare per-scenario samples ``{scenario: latencies_ms}``; current scenarios first, in their order."""
    out = []
    for name, samples in current.items():
        if name in baseline:
            out.append(compare_samples(name, baseline[name], samples, alpha=alpha, min_effect=min_effect))
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

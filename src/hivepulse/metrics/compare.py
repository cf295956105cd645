"""Comparison of a window with the previous one: one two-sided test per metric (docs/metrics.md section 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hivepulse import stats
from hivepulse.metrics.results import Change, Comparison, DoraReport, MetricChange
from hivepulse.vocabulary import METRICS, polarity


def compare(current: DoraReport, previous: DoraReport) -> Comparison:
    """Per-metric comparison of ``current`` with ``previous``.

    Each metric gets ``previous_value``, ``previous_n``, ``delta`` (current - previous), ``test``,
    ``p_value``, ``significant`` (``p < alpha`` with data on both sides) and ``direction``
    (``improved`` / ``regressed`` / ``unchanged``; the polarity of :func:`hivepulse.vocabulary.polarity`:
    deployment frequency higher is better, the others lower is better).
    """
    cfg = current.config
    c, p = current.metrics, previous.metrics
    tests = {
        "deployment_frequency": stats.poisson_rate_test(
            c.deployment_frequency.deployments, current.window.days,
            p.deployment_frequency.deployments, previous.window.days,
        ),
        "lead_time": stats.mann_whitney(
            current.lead_times["lead_time_hours"].to_numpy(), previous.lead_times["lead_time_hours"].to_numpy()
        ),
        "change_fail_rate": stats.fisher(
            c.change_fail_rate.failed, c.change_fail_rate.n, p.change_fail_rate.failed, p.change_fail_rate.n
        ),
        "recovery_time": stats.mann_whitney(recovered_hours(current.recoveries),
                                            recovered_hours(previous.recoveries)),
        "rework_rate": stats.fisher(c.rework_rate.unplanned, c.rework_rate.n, p.rework_rate.unplanned, p.rework_rate.n),
    }
    changes: dict[str, MetricChange] = {}
    for name in METRICS:
        cur, prev = c.get(name), p.get(name)
        res = tests[name]
        both = cur.n >= 1 and prev.n >= 1
        if name == "deployment_frequency":
            both = cur.n + prev.n >= 1  # a window with zero deployments is a valid observation
        delta = cur.value - prev.value if cur.value is not None and prev.value is not None else None
        significant = bool(both and res.p_value is not None and res.p_value < cfg.alpha)
        direction: Change = "unchanged"
        if significant and res.shift != 0:
            large_enough = True
            if cfg.min_effect > 0 and delta is not None and prev.value:
                large_enough = abs(delta) / abs(prev.value) >= cfg.min_effect
            if large_enough:
                direction = "improved" if res.shift * polarity(name) > 0 else "regressed"
        changes[name] = MetricChange(
            previous_value=prev.value,
            previous_n=prev.n,
            delta=delta,
            test=res.test,
            p_value=res.p_value,
            significant=significant,
            direction=direction,
        )
    return Comparison(previous_window=previous.window, tz=previous.config.tz, **changes)


def recovered_hours(recoveries: pd.DataFrame) -> np.ndarray:
    """Recovery hours of the failed deployments that recovered (``recovery_status == "recovered"``)."""
    ok = (recoveries["recovery_status"] == "recovered").fillna(False).to_numpy(dtype=bool)
    return np.asarray(recoveries["recovery_hours"].to_numpy()[ok], dtype=float)


__all__ = ["compare", "recovered_hours"]

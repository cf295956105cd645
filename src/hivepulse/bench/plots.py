"""Charts of a profiling run (matplotlib Agg canvas, no pyplot state). Each returns a ``Figure``.

Latencies in milliseconds on a log axis; speedups as ``x`` factors with their 95% bootstrap CI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 96


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def latency_cdf(samples: Mapping[str, Sequence[float] | np.ndarray], title: str = "Latency CDF per scenario") -> Figure:
    """Empirical CDF (step at each observed latency, ms) of every scenario on one log-x chart."""
    fig = _figure(9, 5)
    ax = fig.add_subplot(1, 1, 1)
    for name, values in samples.items():
        arr = np.sort(np.asarray(values, dtype=float))
        if arr.size == 0:
            continue
        y = np.arange(1, arr.size + 1) / arr.size
        ax.step(arr, y, where="post", label=f"{name} (n={arr.size})")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("share of requests at or below")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def speedups(scenarios: Sequence[Mapping[str, Any]]) -> Figure:
    """Horizontal bars: p50 speedup against the uncached naive baseline, with 95% CI whiskers (log x)."""
    rows = [s for s in scenarios if s.get("speedup") is not None]
    fig = _figure(9, max(2.5, 0.4 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        ax.text(0.5, 0.5, "no baseline scenario (cache none, client naive) in this run", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    names = [s["name"] for s in rows]
    values = np.array([s["speedup"] for s in rows])
    lo = np.array([(s.get("speedup_ci") or [v, v])[0] for s, v in zip(rows, values, strict=True)])
    hi = np.array([(s.get("speedup_ci") or [v, v])[1] for s, v in zip(rows, values, strict=True)])
    y = np.arange(len(rows))
    ax.barh(y, values, color="#2b6cb0", alpha=0.8)
    ax.errorbar(values, y, xerr=[values - lo, hi - values], fmt="none", ecolor="black", capsize=3)
    for yi, v in zip(y.tolist(), values.tolist(), strict=True):
        ax.text(v, yi, f" {v:.1f}x", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="#718096", lw=1)
    ax.set_xlabel("p50 speedup vs the uncached naive baseline (x, log scale; whiskers: 95% bootstrap CI)")
    fig.tight_layout()
    return fig


def upstream_calls(scenarios: Sequence[Mapping[str, Any]]) -> Figure:
    """Upstream calls per 1,000 requests per scenario (bars) with the TTL bound (markers) when known."""
    rows = [s for s in scenarios if s.get("upstream_calls_per_1000") is not None]
    fig = _figure(9, max(2.5, 0.4 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        ax.text(0.5, 0.5, "upstream calls unknown (black-box target)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    y = np.arange(len(rows))
    ax.barh(y, [max(s["upstream_calls_per_1000"], 0.1) for s in rows], color="#dd6b20", alpha=0.8)
    bounds = [(i, s["upstream_bound_per_1000"]) for i, s in enumerate(rows) if s.get("upstream_bound_per_1000")]
    if bounds:
        ax.plot([b for _, b in bounds], [i for i, _ in bounds], "k|", markersize=14, label="TTL bound")
        ax.legend(fontsize=8)
    for yi, s in zip(y.tolist(), rows, strict=True):
        ax.text(max(s["upstream_calls_per_1000"], 0.1), yi, f" {s['upstream_calls_per_1000']:.1f}",
                va="center", fontsize=8)
    ax.set_yticks(y, [s["name"] for s in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("upstream (openSenseMap) calls per 1,000 requests (log scale)")
    fig.tight_layout()
    return fig

"""The retro's charts: one function per chart, each returning a :class:`matplotlib.figure.Figure`.

Figures are built on matplotlib's Agg canvas directly (``FigureCanvasAgg``; no pyplot state, no GUI backend), so they render the same in
a kernel, a test or a server. :func:`png` turns a figure into PNG bytes. Units: hours for durations,
deployments per week for frequency, fractions for rates (shown as percentages).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hivepulse.metrics.tiers import next_tier_cutoff
from hivepulse.retro.facts import Iteration
from hivepulse.retro.tables import stage_summary
from hivepulse.vocabulary import DORA, METRIC_LABEL, STAGES

DPI = 96
COLORS = {
    "ok": "#2b6cb0",
    "fail": "#c53030",
    "rollback": "#6b46c1",
    "hotfix": "#dd6b20",
    "recovery": "#2f855a",
    "muted": "#718096",
}
STAGE_COLORS = {"coding": "#4299e1", "pickup": "#ed8936", "review": "#9f7aea", "deploy": "#48bb78"}
PERCENT = tuple(m for m, info in DORA.items() if info.unit == "fraction")
"""Metrics shown as percentages (fractions in the data)."""


@dataclass(frozen=True)
class TrendPoint:
    """One iteration of a trend chart: the day its window ends, the metric's value, CI and n, and whether
    the window lies inside the data (``covered`` False: no point, labelled ``no data``)."""

    until: date | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    covered: bool = True


def trend_points(iterations: Sequence[Iteration], metric: str) -> list[TrendPoint]:
    """The points of ``metric``'s trend over ``iterations`` (oldest first)."""
    out = []
    for it in iterations:
        m = it.report.metric(metric)
        out.append(TrendPoint(it.report.window.until.date(), m.value, m.ci_low, m.ci_high, m.n, it.covered))
    return out


def new_figure(width: float, height: float) -> Figure:
    """A figure with an Agg canvas attached (``width`` x ``height`` inches)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _empty(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=COLORS["muted"])
    ax.set_xticks([])
    ax.set_yticks([])


def trend(points: Sequence[TrendPoint], metric: str, *, tier_edition: str = "2024") -> Figure:
    """One metric over consecutive iterations (oldest first): value with its 95% CI as an error bar; the last
    point (this iteration) is filled. A dashed line marks the elite cut-off.

    Each x label is the iteration's end date with its ``n`` below it. A point outside the data
    (``covered`` False, see :class:`hivepulse.retro.coverage.Coverage`) is plotted as no point and labelled
    ``no data``: a zero there would be an artefact of the data's start, not a measurement.
    """
    fig = new_figure(3.4, 2.5)
    ax = fig.add_subplot()
    scale = 100.0 if metric in PERCENT else 1.0
    labels: list[str] = []
    values: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for point in points:
        day = point.until.isoformat()[5:] if point.until else str(len(labels) + 1)
        v = point.value if point.covered else None
        n_txt = "no data" if not point.covered else f"n={int(point.n)}" if point.n is not None else "n=?"
        labels.append(f"{day}\n{n_txt}")
        values.append(np.nan if v is None else v * scale)
        lo, hi = point.ci_low, point.ci_high
        lows.append(np.nan if lo is None or v is None else max(v - lo, 0) * scale)
        highs.append(np.nan if hi is None or v is None else max(hi - v, 0) * scale)
    ax.set_title(METRIC_LABEL.get(metric, metric), fontsize=10)
    if not values or np.all(np.isnan(values)):
        _empty(ax)
        return fig
    x = np.arange(len(values))
    ax.errorbar(x, values, yerr=[lows, highs], fmt="o-", color=COLORS["ok"], ecolor="#a0aec0", capsize=3,
                markerfacecolor="white", lw=1.2)
    ax.plot(x[-1:], np.asarray(values)[-1:], "o", color=COLORS["ok"])
    cut = next_tier_cutoff(metric, "high", tier_edition)
    if cut is not None:
        ax.axhline(cut[1] * scale, ls="--", lw=0.8, color=COLORS["recovery"], label="elite cut-off")
        ax.legend(fontsize=7, loc="best", frameon=False)
    ax.set_xticks(x, labels, fontsize=6)
    ax.set_xlabel("iteration ending (n per iteration)", fontsize=8)
    ax.set_ylabel(DORA[metric].axis if metric in DORA else "", fontsize=8)
    ax.tick_params(labelsize=6)
    ax.set_ylim(bottom=0)
    return fig


def lead_time_distribution(lead_times: pd.DataFrame | None) -> Figure:
    """Histogram of per-change lead time (hours, log-spaced bins) with the median and p90 marked."""
    fig = new_figure(6.0, 2.8)
    ax = fig.add_subplot()
    ax.set_title("Lead time per change", fontsize=10)
    hours = (
        pd.to_numeric(lead_times["lead_time_hours"], errors="coerce").dropna().to_numpy()
        if lead_times is not None and "lead_time_hours" in lead_times.columns
        else np.array([])
    )
    if hours.size == 0:
        _empty(ax, "no change deployed in the iteration (n=0)")
        return fig
    low = max(hours.min(), 0.05)
    bins = list(np.geomspace(low, max(hours.max(), low * 1.01), 20))
    ax.hist(np.clip(hours, low, None), bins=bins, color=COLORS["ok"], alpha=0.8)
    ax.set_xscale("log")
    med, p90 = float(np.median(hours)), float(np.percentile(hours, 90))
    ax.axvline(med, color="black", lw=1.4, label=f"median {med:.1f} h", zorder=4)
    ax.axvline(p90, color=COLORS["fail"], lw=1.4, ls="--", label=f"p90 {p90:.1f} h", zorder=4)
    ax.set_xlabel(f"hours from commit to production (log scale), n={hours.size}", fontsize=8)
    ax.set_ylabel("changes", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    ax.tick_params(labelsize=7)
    return fig


def stage_breakdown(lead_times: pd.DataFrame | None) -> Figure:
    """Where lead time goes for pull-request changes: median hours per stage (coding, pickup, review,
    deploy) with each stage's share of the summed stage time."""
    fig = new_figure(6.0, 2.4)
    ax = fig.add_subplot()
    summary = stage_summary(lead_times) if lead_times is not None else None
    ax.set_title("Lead-time breakdown (pull-request changes)", fontsize=10)
    if summary is None:
        no_changes = lead_times is None or len(lead_times) == 0
        _empty(ax, "no change deployed in the iteration" if no_changes else "no pull-request times in the data")
        return fig
    n = summary.get(STAGES[0]).n
    y = np.arange(len(STAGES))[::-1]
    medians = [summary.get(s).median_hours for s in STAGES]
    ax.barh(y, medians, color=[STAGE_COLORS[s] for s in STAGES])
    for yi, stage, med in zip(y, STAGES, medians, strict=True):
        ax.text(med, yi, f"  {med:.1f} h median, {summary.get(stage).share:.0%} of stage time", va="center",
                fontsize=8)
    ax.set_yticks(y, list(STAGES), fontsize=8)
    ax.set_xlabel(f"median hours per stage, n={n} changes", fontsize=8)
    ax.set_xlim(0, max(max(medians) * 1.9, 0.1))
    ax.tick_params(labelsize=7)
    return fig


def deployment_timeline(
    deployments: pd.DataFrame | None, since: Any = None, until: Any = None
) -> Figure:
    """Deployments of the iteration over time: successes, failures, rollbacks and hotfixes (unplanned),
    with a green bar from each failure to its recovery."""
    fig = new_figure(7.0, 2.6)
    ax = fig.add_subplot()
    ax.set_title("Deployment timeline", fontsize=10)
    if deployments is None or deployments.empty:
        _empty(ax, "no deployments in the iteration")
        return fig
    d = deployments.copy()
    t = pd.to_datetime(d["finished_at"], utc=True).dt.tz_localize(None)
    failed = d.get("failed", pd.Series(False, index=d.index)).fillna(False).astype(bool)
    rollback = d.get("rollback_of", pd.Series(pd.NA, index=d.index)).notna()
    hotfix = d.get("kind", pd.Series("planned", index=d.index)).astype(object).eq("unplanned") & ~rollback
    ok = ~failed & ~rollback & ~hotfix
    rows = {"ok": 0.0, "hotfix": 1.0, "rollback": 2.0, "fail": 3.0}
    series = [
        ("ok", ok, "o", "success"),
        ("hotfix", hotfix & ~failed, "^", "hotfix (unplanned)"),
        ("rollback", rollback & ~failed, "s", "rollback"),
        ("fail", failed, "X", "failed (caused a failure)"),
    ]
    for key, mask, marker, label in series:
        if mask.any():
            ax.scatter(t[mask], np.full(int(mask.sum()), rows[key]), marker=marker, color=COLORS[key], s=28,
                       label=f"{label} ({int(mask.sum())})", zorder=3)
    if "recovered_at" in d.columns:
        rec = pd.to_datetime(d["recovered_at"], utc=True, errors="coerce").dt.tz_localize(None)
        for start, end in zip(t[failed], rec[failed], strict=True):
            if pd.notna(end):
                ax.plot([start, end], [rows["fail"] - 0.25] * 2, color=COLORS["recovery"], lw=3, zorder=2)
        if (failed & rec.notna()).any():
            ax.plot([], [], color=COLORS["recovery"], lw=3, label="failure to recovery")
    ax.set_yticks(list(rows.values()), ["success", "hotfix", "rollback", "failed"], fontsize=8)
    ax.set_xlabel(f"finish time (UTC), n={len(d)} deployments", fontsize=8)
    ax.set_ylim(-0.7, 3.7)
    if since is not None and until is not None:
        ax.set_xlim(pd.Timestamp(since).tz_localize(None) if pd.Timestamp(since).tzinfo else pd.Timestamp(since),
                    pd.Timestamp(until).tz_localize(None) if pd.Timestamp(until).tzinfo else pd.Timestamp(until))
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.autofmt_xdate()
    return fig

"""The retro's charts: one function per chart, each returning a :class:`matplotlib.figure.Figure`.

Figures are built on matplotlib's Agg canvas directly (``FigureCanvasAgg``; no pyplot state, no GUI backend),
so they render the same in a kernel, a test or a server. :func:`png` turns a figure into PNG bytes.

Readability rules (docs/retro.md, "Charts"): the wide charts are drawn at the report's content width
(:data:`CONTENT_WIDTH_PX` at :data:`DPI`, shown 1:1, so their text is at least :data:`MIN_PT` points at the
rendered size), the trend charts at a third of it for a 3 x 2 grid; categories are told apart by marker shape
and label, never by colour alone; times read as hours, days and weeks, not powers of ten.
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
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, NullLocator

from hivepulse.metrics.tiers import next_tier_cutoff
from hivepulse.retro.facts import Iteration
from hivepulse.retro.tables import UNATTRIBUTED
from hivepulse.retro.tables import stage_breakdown as breakdown_of
from hivepulse.vocabulary import DORA, METRIC_LABEL

DPI = 96
CONTENT_WIDTH_PX = 1140
"""Width of the report's content column; wide charts are drawn at this width (shown 1:1)."""
WIDE = CONTENT_WIDTH_PX / DPI
TREND_WIDTH = (CONTENT_WIDTH_PX - 2 * 12) / 3 / DPI
"""A trend chart: a third of the content width (3 per row, 12 px gaps)."""
MIN_PT = 10
"""Smallest text in a chart, in points at the rendered size."""
COLORS = {
    "ok": "#2b6cb0",
    "fail": "#c53030",
    "rollback": "#6b46c1",
    "hotfix": "#dd6b20",
    "recovery": "#2f855a",
    "muted": "#718096",
    "band": "#fc8181",
}
STAGE_COLORS = {"coding": "#4299e1", "pickup": "#ed8936", "review": "#9f7aea", "deploy": "#48bb78",
                 UNATTRIBUTED: "#cbd5e0"}
PERCENT = tuple(m for m, info in DORA.items() if info.unit == "fraction")
"""Metrics shown as percentages (fractions in the data)."""
HOUR_TICKS: tuple[tuple[float, str], ...] = (
    (1 / 60, "1 min"), (5 / 60, "5 min"), (15 / 60, "15 min"), (0.5, "30 min"), (1, "1 h"), (2, "2 h"), (4, "4 h"),
    (8, "8 h"), (12, "12 h"), (24, "1 d"), (48, "2 d"), (72, "3 d"), (168, "1 w"), (336, "2 w"), (720, "30 d"),
    (2160, "90 d"), (4320, "180 d"), (8760, "1 y"),
)
"""Human ticks for hour axes on a log scale (minutes, hours, days, weeks)."""


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


def new_figure(width: float, height: float, margins: tuple[float, float, float, float] | None = None,
               **adjust: float) -> Figure:
    """A figure with an Agg canvas attached (``width`` x ``height`` inches). ``margins`` (left, right, top,
    bottom, in inches) place the axes with fixed margins instead of a layout engine: the charts' content is
    known, and a layout engine draws every figure twice (it doubled the retro's chart time)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout=None if margins else "constrained")
    FigureCanvasAgg(fig)
    if margins:
        left, right, top, bottom = margins
        fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                            bottom=bottom / height, **adjust)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (at :data:`DPI`: one inch is 96 CSS pixels, so the page shows it 1:1), drawn
    once on the Agg canvas (``print_png``: no ``savefig`` pipeline) without a software tag, so the bytes
    depend on the figure only."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    buf = io.BytesIO()
    canvas.print_png(buf, metadata={"Software": None})  # type: ignore[no-untyped-call]
    return buf.getvalue()


def _empty(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=COLORS["muted"],
            fontsize=MIN_PT + 1)
    ax.set_xticks([])
    ax.set_yticks([])


def human_hour_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """The :data:`HOUR_TICKS` within ``[low, high]`` (hours), thinned to at most 8, always including the
    hour, day and week marks that fall inside."""
    inside = [(v, t) for v, t in HOUR_TICKS if low <= v <= high]
    if len(inside) <= 8:
        return inside
    keep = {"1 h", "1 d", "1 w"}
    core = [(v, t) for v, t in inside if t in keep]
    others = [(v, t) for v, t in inside if t not in keep]
    step = max(1, len(others) // max(1, 8 - len(core)))
    return sorted(core + others[::step], key=lambda x: x[0])


def hours_text(hours: float) -> str:
    """``45 min``, ``5.2 h``, ``3.1 d``, ``2.0 w``: a duration in the unit people read it in."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    if hours < 24 * 14:
        return f"{hours / 24:.1f} d"
    return f"{hours / 168:.1f} w"


def trend(points: Sequence[TrendPoint], metric: str, *, tier_edition: str = "2024") -> Figure:
    """One metric over consecutive iterations (oldest first): value with its 95% CI as an error bar; the last
    point (this iteration) is filled. A dashed line marks the elite cut-off (explained in the grid's legend
    cell, :func:`hivepulse.report.html.trend_legend`).

    Each x label is the iteration's end date with its ``n`` below it. A point outside the data
    (``covered`` False, see :class:`hivepulse.retro.coverage.Coverage`) is plotted as no point and labelled
    ``no data``: a zero there would be an artefact of the data's start, not a measurement.
    """
    fig = new_figure(TREND_WIDTH, 2.9, (0.62, 0.1, 0.3, 0.55))
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
    ax.set_title(METRIC_LABEL.get(metric, metric), fontsize=MIN_PT + 2)
    if not values or np.all(np.isnan(values)):
        _empty(ax)
        return fig
    x = np.arange(len(values))
    ax.errorbar(x, values, yerr=[lows, highs], fmt="o-", color=COLORS["ok"], ecolor="#a0aec0", capsize=3,
                markerfacecolor="white", lw=1.4, ms=6)
    ax.plot(x[-1:], np.asarray(values)[-1:], "o", color=COLORS["ok"], ms=7)
    cut = next_tier_cutoff(metric, "high", tier_edition)
    if cut is not None:
        ax.axhline(cut[1] * scale, ls="--", lw=1.0, color=COLORS["recovery"])
    ax.set_xticks(x, labels, fontsize=MIN_PT)
    ax.set_ylabel(DORA[metric].axis if metric in DORA else "", fontsize=MIN_PT)
    ax.tick_params(labelsize=MIN_PT)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.grid(axis="y", color="#edf2f7", lw=0.8)
    return fig


def lead_time_distribution(lead_times: pd.DataFrame | None) -> Figure:
    """Histogram of per-change lead time on a log scale labelled in minutes, hours, days and weeks, with the
    median and p90 marked."""
    fig = new_figure(WIDE, 3.1, (0.7, 0.2, 0.32, 0.62))
    ax = fig.add_subplot()
    ax.set_title("Lead time per change (commit to production)", fontsize=MIN_PT + 2)
    hours = (
        pd.to_numeric(lead_times["lead_time_hours"], errors="coerce").dropna().to_numpy()
        if lead_times is not None and "lead_time_hours" in lead_times.columns
        else np.array([])
    )
    if hours.size == 0:
        _empty(ax, "no change deployed in the iteration (n=0)")
        fig.set_size_inches(WIDE, 1.3)
        return fig
    low = max(hours.min(), 1 / 60)
    high = max(hours.max(), low * 1.5)
    bins = np.geomspace(low, high, 24)
    counts, _ = np.histogram(np.clip(hours, low, None), bins=bins)
    ax.stairs(counts, bins, fill=True, color=COLORS["ok"], alpha=0.85)  # one artist, not 23 bars
    ax.set_xscale("log")
    ticks = human_hour_ticks(low / 1.2, high * 1.2)
    ax.xaxis.set_major_locator(FixedLocator([v for v, _ in ticks]))
    ax.set_xticklabels([t for _, t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    med, p90 = float(np.median(hours)), float(np.percentile(hours, 90))
    ax.axvline(med, color="black", lw=1.6, label=f"median {hours_text(med)}", zorder=4)
    ax.axvline(p90, color=COLORS["fail"], lw=1.6, ls="--", label=f"p90 {hours_text(p90)}", zorder=4)
    ax.set_xlabel(f"time from commit to production (log scale), n={hours.size} changes", fontsize=MIN_PT + 1)
    ax.set_ylabel("changes", fontsize=MIN_PT + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=MIN_PT + 1, frameon=False, loc="upper left")
    ax.tick_params(labelsize=MIN_PT + 1)
    return fig


def stage_breakdown(lead_times: pd.DataFrame | None) -> Figure:
    """The median lead time as one bar split into coding, pickup, review, deploy and *unattributed*
    (:func:`hivepulse.retro.tables.stage_breakdown`: time shares, so the parts add up to the median), each
    part labelled with its hours, share and the stage's own median."""
    fig = new_figure(WIDE, 2.6, (0.25, 0.2, 0.32, 1.0))
    ax = fig.add_subplot()
    ax.set_title("Where the median lead time goes (parts add up to the median)", fontsize=MIN_PT + 2)
    breakdown = breakdown_of(lead_times) if lead_times is not None else None
    if breakdown is None:
        _empty(ax, "no change deployed in the iteration")
        fig.set_size_inches(WIDE, 1.3)
        return fig
    if breakdown.n_with_stages == 0 and all(p.share == 0 for p in breakdown.parts if p.stage != UNATTRIBUTED):
        _empty(ax, "no pull-request times in the data")
        fig.set_size_inches(WIDE, 1.3)
        return fig
    left = 0.0
    handles = []
    for part in breakdown.parts:
        ax.barh([0], [part.hours], left=left, color=STAGE_COLORS[part.stage], edgecolor="white", height=0.55)
        if part.share >= 0.08:
            ax.text(left + part.hours / 2, 0, f"{part.stage}\n{part.share:.0%}", ha="center", va="center",
                    fontsize=MIN_PT + 1, color="black")
        own = f", stage median {hours_text(part.median_hours)}" if part.median_hours is not None else ""
        handles.append(Patch(facecolor=STAGE_COLORS[part.stage], edgecolor="white",
                             label=f"{part.stage}: {hours_text(part.hours)} ({part.share:.0%}){own}"))
        left += part.hours
    ax.set_yticks([])
    ax.set_xlim(0, max(left, 1e-6) * 1.02)
    ax.set_xlabel(f"hours; median lead time {hours_text(breakdown.median_hours)} of n={breakdown.n} changes "
                  f"({breakdown.n_with_stages} with all pull-request times)", fontsize=MIN_PT + 1)
    ax.tick_params(labelsize=MIN_PT + 1)
    fig.legend(handles=handles, fontsize=MIN_PT, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=3)
    return fig


def _naive(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


def deployment_timeline(
    deployments: pd.DataFrame | None, since: Any = None, until: Any = None
) -> Figure:
    """The iteration's deployments over time, full content width: deployments per day (successful and
    failed, hatched) on top; below, one row per kind with distinct markers (success ``|``, hotfix ``^``,
    rollback ``s``, failed ``X``) and a red band from each failure to its recovery (hatched to the end of the
    window when it never recovered)."""
    fig = new_figure(WIDE, 4.2, (0.85, 0.2, 0.32, 1.05), hspace=0.12)
    top, ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    top.set_title("Deployment timeline", fontsize=MIN_PT + 2)
    if deployments is None or deployments.empty:
        top.set_axis_off()
        _empty(ax, "no deployments in the iteration")
        return fig
    d = deployments.copy()
    t = pd.to_datetime(d["finished_at"], utc=True).dt.tz_localize(None)
    failed = d.get("failed", pd.Series(False, index=d.index)).fillna(False).astype(bool)
    rollback = d.get("rollback_of", pd.Series(pd.NA, index=d.index)).notna()
    hotfix = d.get("kind", pd.Series("planned", index=d.index)).astype(object).eq("unplanned") & ~rollback
    ok = ~failed & ~rollback & ~hotfix
    start = _naive(since) if since is not None else t.min().floor("D")
    end = _naive(until) if until is not None else t.max().ceil("D") + pd.Timedelta(days=1)

    # per day: counts, failed hatched
    days = t.dt.floor("D")
    per_day = pd.DataFrame({"day": days, "failed": failed}).groupby("day")["failed"].agg(["size", "sum"])
    centers = per_day.index + pd.Timedelta(hours=12)
    top.bar(centers, per_day["size"] - per_day["sum"], width=0.8, color=COLORS["ok"], label="successful")
    top.bar(centers, per_day["sum"], bottom=per_day["size"] - per_day["sum"], width=0.8, color=COLORS["fail"],
            hatch="xx", edgecolor="white", label="failed")
    top.set_ylabel("per day", fontsize=MIN_PT + 1)
    top.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
    top.tick_params(labelsize=MIN_PT)
    top.set_ylim(0, max(1, int(per_day["size"].max())) * 1.45)
    top.legend(fontsize=MIN_PT, frameon=False, loc="upper right", ncol=2)

    rows = {"ok": 0.0, "hotfix": 1.0, "rollback": 2.0, "fail": 3.0}
    series = [
        ("ok", ok, "|", "success", 220),
        ("hotfix", hotfix & ~failed, "^", "hotfix (unplanned)", 70),
        ("rollback", rollback & ~failed, "s", "rollback", 60),
        ("fail", failed, "X", "failed", 90),
    ]
    for key, mask, marker, label, size in series:
        if mask.any():
            ax.scatter(t[mask], np.full(int(mask.sum()), rows[key]), marker=marker, color=COLORS[key], s=size,
                       linewidths=1.6 if marker == "|" else 0.6, edgecolors="white" if marker != "|" else None,
                       label=f"{label} ({int(mask.sum())})", zorder=3, alpha=0.8 if marker == "|" else 1.0)
    outage = unrecovered = False
    rec = (pd.to_datetime(d["recovered_at"], utc=True, errors="coerce").dt.tz_localize(None)
           if "recovered_at" in d.columns else pd.Series(pd.NaT, index=d.index))
    for begin, stop in zip(t[failed], rec[failed], strict=True):
        if pd.notna(stop):
            for axis in (top, ax):
                axis.axvspan(begin, max(stop, begin + pd.Timedelta(minutes=20)), color=COLORS["band"], alpha=0.7,
                             zorder=1, lw=0)
            outage = True
        else:
            for axis in (top, ax):
                axis.axvspan(begin, end, facecolor=COLORS["band"], alpha=0.5, hatch="//", edgecolor=COLORS["fail"],
                             zorder=1, lw=0)
            unrecovered = True
    ax.set_yticks(list(rows.values()), ["success", "hotfix", "rollback", "failed"], fontsize=MIN_PT + 1)
    ax.set_ylim(-0.7, 3.7)
    ax.set_xlim(start, end)
    ax.set_xlabel(f"finish time (UTC), n={len(d)} deployments", fontsize=MIN_PT + 1)
    ax.tick_params(labelsize=MIN_PT)
    span_days = (end - start) / pd.Timedelta(days=1)
    step = 1 if span_days <= 16 else 2 if span_days <= 32 else 7
    ticks = pd.date_range(start.floor("D"), end, freq=f"{step}D")
    ax.set_xticks(ticks, [f"{x:%a}\n{x:%m-%d}" for x in ticks])
    ax.grid(axis="x", color="#edf2f7", lw=0.8)
    handles, labels = list(ax.get_legend_handles_labels()[0]), list(ax.get_legend_handles_labels()[1])
    if outage:
        handles.append(Patch(color=COLORS["band"], alpha=0.7))
        labels.append("failed until recovered")
    if unrecovered:
        handles.append(Patch(facecolor=COLORS["band"], hatch="//", edgecolor=COLORS["fail"]))
        labels.append("never recovered")
    fig.legend(handles, labels, fontsize=MIN_PT, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=6)
    return fig

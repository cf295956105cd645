"""HTML from templates: the retro report (``retro.html``) and the notebook's HTML sections, rendered by Jinja2
from the typed :class:`~hivepulse.retro.result.RetroResult` with autoescape on.

No text from data (notes, environment names, titles, finding texts, run ids) can become markup: every
``{{ expression }}`` is HTML-escaped (``jinja2.select_autoescape``), attribute values included. Figures are
embedded as ``data:image/png;base64`` URIs with an alt text that says what the chart shows and its key numbers,
so the page needs no network and no other file. The same fragments (``headline.html``, ``claims.html``, ...)
make the notebook's sections (:mod:`hivepulse.report.sections`) and the report, so a papermill run and a
JupyterLab run give the same ``retro.html``. The fragments style themselves with inline ``style`` attributes
only (JupyterLab drops ``<style>`` from untrusted outputs); the page's own ``<style>`` only sets the page.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from weakref import WeakKeyDictionary

import jinja2

from hivepulse.report import plots
from hivepulse.retro.drilldown import failed_deployments
from hivepulse.retro.fmt import fmt_ci, fmt_value, number
from hivepulse.retro.result import (
    OUTSIDE_TEXT,
    Movement,
    RetroResult,
    change_text,
    finding_kind_label,
    movement,
)
from hivepulse.retro.tables import stage_breakdown
from hivepulse.vocabulary import METRIC_LABEL, METRICS, SMALL_SAMPLE, STAGES

SECTIONS: tuple[tuple[str, str], ...] = (
    ("headline", "Headline"),
    ("actions", "Action items"),
    ("followup", "Follow-up of previous action items"),
    ("story", "What to improve, what went well"),
    ("trends", "Trends"),
    ("lead-time", "Lead time"),
    ("deployments", "Deployments"),
    ("shipped", "What shipped"),
    ("notes", "Team notes"),
    ("profiling", "Profiling evidence"),
    ("quality", "Data quality"),
    ("records", "Records"),
)
"""The report's sections, in order (ids and headings); README.md and the notebook follow the same order."""
TIER_COLOR = {"elite": "#2f855a", "high": "#3182ce", "medium": "#dd6b20", "low": "#c53030"}
TONE_COLOR = {"good": "#276749", "bad": "#c53030", "neutral": "#4a5568"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The HTML template environment (templates in ``hivepulse/report/templates/``), autoescape on."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("hivepulse.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclass(frozen=True)
class Card:
    """One headline card (plain text; the template escapes it)."""

    metric: str
    label: str
    value: str
    n: int
    small: bool
    ci: str
    tier: str | None
    tier_text: str
    previous: str
    change: str
    significant: bool
    moved: Movement
    quick_check: str
    tier_color: str
    tone_color: str


@dataclass(frozen=True)
class Picture:
    """An embedded figure: the metric (or figure name), its alt text and its ``data:`` URI."""

    metric: str
    label: str
    alt: str
    src: str


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def cards(result: RetroResult) -> list[Card]:
    """The headline cards: per metric value, n, 95% CI, tier, the arrow against the previous iteration
    (better / worse when significant, by the metric's polarity) and the Quick Check score."""
    out = []
    outside = not result.is_covered
    current = result.current
    rows = {row.metric: row for row in result.headline()}
    for m in METRICS:
        block = current.metric(m)
        comp = current.comparison.get(m) if current.comparison is not None else None
        n = 0 if outside else block.n
        tier = None if outside else block.tier
        prev = number(comp.previous_value) if comp is not None else None
        moved = Movement("", "", "neutral", OUTSIDE_TEXT) if outside else movement(current, m)
        out.append(Card(
            metric=m,
            label=METRIC_LABEL[m],
            value="no data" if outside else fmt_value(m, number(block.value)),
            n=n,
            small=n < SMALL_SAMPLE,
            ci="CI n/a" if outside else fmt_ci(m, block),
            tier=tier,
            tier_text=tier or ("-" if outside else "not tiered"),
            previous=f"previous {fmt_value(m, prev)}; " if prev is not None else "",
            change=OUTSIDE_TEXT if outside else change_text(current, m),
            significant=comp is not None and comp.claimed,
            moved=moved,
            quick_check="" if outside else rows[m].quick_check,
            tier_color=TIER_COLOR.get(str(tier), "#a0aec0"),
            tone_color=TONE_COLOR[moved.tone],
        ))
    return out


_FIGURES: WeakKeyDictionary[RetroResult, dict[str, list[bytes]]] = WeakKeyDictionary()
"""The PNGs of a result, drawn once for the notebook's cells and the report."""


def pngs(result: RetroResult) -> dict[str, list[bytes]]:
    """The result's figures as PNG bytes: ``trends`` (one per metric), ``lead_time`` (distribution and stage
    breakdown), ``timeline``; drawn once per result."""
    cached = _FIGURES.get(result)
    if cached is None:
        edition = str(result.params.tier_edition)
        lt = result.current.lead_times
        cached = {
            "trends": [plots.png(plots.trend(plots.trend_points(result.iterations, m), m, tier_edition=edition))
                       for m in METRICS],
            "lead_time": [plots.png(plots.lead_time_distribution(lt)), plots.png(plots.stage_breakdown(lt))],
            "timeline": [plots.png(plots.deployment_timeline(result.current.deployments,
                                                             result.current.window.since,
                                                             result.current.window.until))],
        }
        _FIGURES[result] = cached
    return cached


# ---------------------------------------------------------------------------------------------- alt texts


def trend_alt(result: RetroResult, metric: str) -> str:
    """``Trend of lead time median over 6 iterations ending 2026-03-16 to 2026-05-25: 72 h (n=56), ..., 18 h
    (n=93) now; dashed line: elite cut-off.``"""
    its = result.iterations
    values = []
    for it in its:
        b = it.report.metric(metric)
        values.append(f"{fmt_value(metric, number(b.value))} (n={b.n})" if it.covered else "no data")
    first, last = its[0].report.window.until.date(), its[-1].report.window.until.date()
    return (f"Trend of {METRIC_LABEL[metric]} over {len(its)} iterations ending {first} to {last}: "
            f"{', '.join(values)} (this iteration last); bars are 95% confidence intervals.")


def lead_time_alt(result: RetroResult) -> tuple[str, str]:
    """Alt texts of the lead-time histogram and of the stage breakdown."""
    lt = result.current.lead_times
    hours = lt["lead_time_hours"].dropna() if "lead_time_hours" in lt.columns else lt.iloc[0:0]
    if hours.empty or not result.is_covered:
        return ("Lead time per change: no change deployed in the iteration.",
                "Lead-time breakdown: no change deployed in the iteration.")
    med, p90 = float(hours.median()), float(hours.quantile(0.9))
    hist = (f"Histogram of lead time per change on a log scale from {plots.hours_text(float(hours.min()))} to "
            f"{plots.hours_text(float(hours.max()))}: median {plots.hours_text(med)}, p90 {plots.hours_text(p90)}, "
            f"n={len(hours)} changes.")
    breakdown = stage_breakdown(lt)
    if breakdown is None:
        return hist, "Lead-time breakdown: no data."
    parts = ", ".join(f"{p.stage} {plots.hours_text(p.hours)} ({p.share:.0%})" for p in breakdown.parts)
    return hist, (f"One bar of the median lead time {plots.hours_text(breakdown.median_hours)} split into {parts}; "
                  f"the parts add up to the median (time shares over n={breakdown.n} changes).")


def timeline_alt(result: RetroResult) -> str:
    """``Timeline of 72 deployments from 2026-05-11 to 2026-05-25: 64 successes, 1 hotfix, 2 rollbacks,
    5 failed (red bands until recovery, median 1.6 h; 0 never recovered).``"""
    deps = result.current.deployments
    window = result.current.window
    if deps.empty or not result.is_covered:
        return f"Deployment timeline [{window.since.date()}, {window.until.date()}): no deployments."
    failed = failed_deployments(result.current)
    never = sum(1 for f in failed if f.status == "unrecovered")
    rec = result.current.metrics.recovery_time
    rec_txt = f", median recovery {fmt_value('recovery_time', number(rec.value))}" if rec.n else ""
    kinds = deps.get("kind")
    hotfix = int((kinds.astype(object) == "unplanned").sum()) if kinds is not None else 0
    rollbacks = int(deps["rollback_of"].notna().sum()) if "rollback_of" in deps.columns else 0
    return (f"Timeline of {len(deps)} deployments from {window.since.date()} to {window.until.date()}, deployments "
            f"per day on top: {len(failed)} failed (red bands from failure to recovery{rec_txt}; {never} never "
            f"recovered), {hotfix} hotfix(es), {rollbacks} rollback(s).")


def pictures(result: RetroResult) -> dict[str, list[Picture]]:
    """:func:`pngs` as embedded pictures with alt texts that carry the key numbers."""
    figures = pngs(result)
    hist_alt, stage_alt = lead_time_alt(result)
    return {
        "trends": [Picture(m, METRIC_LABEL[m], trend_alt(result, m), data_uri(png))
                   for m, png in zip(METRICS, figures["trends"], strict=True)],
        "lead_time": [Picture("lead_time", "lead time", alt, data_uri(png)) for alt, png in
                      zip((hist_alt, stage_alt), figures["lead_time"], strict=True)],
        "timeline": [Picture("deployments", "deployments", timeline_alt(result), data_uri(png))
                     for png in figures["timeline"]],
    }


def page_title(result: RetroResult) -> str:
    """``Retro 2026-05-11_2026-05-25 · production · hivepulse`` (the HTML ``<title>``)."""
    return f"Retro {result.iteration} · {result.params.environment} · hivepulse"


def context(result: RetroResult, *, figures: bool = False) -> dict[str, object]:
    """What the templates read: the result, its headline cards, the story, the data-quality notes, counts and
    helpers (and the embedded figures when ``figures``)."""
    unmet = {f.id for f in result.followups if f.verdict == "not met"}
    chosen = {a.action_id for a in result.actions}
    out: dict[str, object] = {
        "r": result,
        "cards": cards(result),
        "story": result.story(),
        "notes": result.data_quality_notes(),
        "unmet_pending": len([a for a in result.pending if a.id in unmet]),
        "more_candidates": len([c for c in result.candidates if c.action_id not in chosen]),
        "kind_label": finding_kind_label,
        "fmt_value": fmt_value,
        "stages": STAGES,
        "sections": SECTIONS,
        "title": page_title(result),
        "profiling_link": result.profiling_report(),
    }
    if figures:
        pics = pictures(result)
        out["trends"] = pics["trends"]
        out["figures"] = pics
    return out


def fragment(name: str, result: RetroResult, **extra: object) -> str:
    """One section of the report (template ``<name>.html``) as HTML."""
    return environment().get_template(f"{name}.html").render(**{**context(result), **extra})


def section(name: str, result: RetroResult) -> str:
    """One section with the figures it shows (``lead_time``, ``deployments``, ``trends``), for the notebook."""
    return environment().get_template(f"{name}.html").render(**context(result, figures=True))


def render_report(result: RetroResult) -> str:
    """``retro.html``: the whole report, figures embedded (template ``retro.html``)."""
    return environment().get_template("retro.html").render(**context(result, figures=True))


__all__ = ["SECTIONS", "Card", "Picture", "cards", "context", "data_uri", "environment", "fragment", "page_title",
           "pictures", "pngs", "render_report", "section"]

"""HTML from templates: the retro report (``retro.html``) and the notebook's HTML sections, rendered by Jinja2
from the typed :class:`~hivepulse.retro.result.RetroResult` with autoescape on.

No text from data (notes, environment names, titles, finding texts, run ids) can become markup: every
``{{ expression }}`` is HTML-escaped (``jinja2.select_autoescape``), attribute values included. Figures are
embedded as ``data:image/png;base64`` URIs, so the page needs no network and no other file. The same
fragments (``headline.html``, ``claims.html``, ...) make the notebook's sections
(:mod:`hivepulse.report.sections`) and the report, so a papermill run and a JupyterLab run give the same
``retro.html``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from weakref import WeakKeyDictionary

import jinja2

from hivepulse.report import plots
from hivepulse.retro.fmt import fmt_ci, fmt_value, number
from hivepulse.retro.result import OUTSIDE_TEXT, RetroResult, change_text, finding_kind_label
from hivepulse.vocabulary import METRIC_LABEL, METRICS, SMALL_SAMPLE


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
    """The headline cards: per metric value, n, 95% CI, tier and the change vs the previous iteration."""
    out = []
    outside = not result.is_covered
    current = result.current
    for m in METRICS:
        block = current.metric(m)
        comp = current.comparison.get(m) if current.comparison is not None else None
        n = 0 if outside else block.n
        tier = None if outside else block.tier
        prev = number(comp.previous_value) if comp is not None else None
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


def pictures(result: RetroResult) -> dict[str, list[Picture]]:
    """:func:`pngs` as embedded pictures with alt texts."""
    figures = pngs(result)
    return {
        "trends": [Picture(m, METRIC_LABEL[m], f"{METRIC_LABEL[m]} trend", data_uri(png))
                   for m, png in zip(METRICS, figures["trends"], strict=True)],
        "lead_time": [Picture("lead_time", "lead time", alt, data_uri(png)) for alt, png in
                      zip(("lead time per change", "lead-time breakdown"), figures["lead_time"], strict=True)],
        "timeline": [Picture("deployments", "deployments", "deployment timeline", data_uri(png))
                     for png in figures["timeline"]],
    }


def context(result: RetroResult, *, figures: bool = False) -> dict[str, object]:
    """What the templates read: the result, its headline cards, the data-quality notes, counts and helpers
    (and the embedded figures when ``figures``)."""
    unmet = {f.id for f in result.followups if f.verdict == "not met"}
    chosen = {a.action_id for a in result.actions}
    out: dict[str, object] = {
        "r": result,
        "cards": cards(result),
        "notes": result.data_quality_notes(),
        "unmet_pending": len([a for a in result.pending if a.id in unmet]),
        "more_candidates": len([c for c in result.candidates if c.action_id not in chosen]),
        "kind_label": finding_kind_label,
        "fmt_value": fmt_value,
    }
    if figures:
        pics = pictures(result)
        out["trends"] = pics["trends"]
        out["figures"] = pics
    return out


def fragment(name: str, result: RetroResult, **extra: object) -> str:
    """One section of the report (template ``<name>.html``) as HTML."""
    return environment().get_template(f"{name}.html").render(**context(result), **extra)


def render_report(result: RetroResult) -> str:
    """``retro.html``: the whole report, figures embedded (template ``retro.html``)."""
    return environment().get_template("retro.html").render(**context(result, figures=True))


__all__ = ["Card", "Picture", "cards", "context", "data_uri", "environment", "fragment", "pictures", "pngs",
           "render_report"]

"""The retro notebook's sections, one function each, returning IPython display objects.

Every function takes the :class:`~hivepulse.retro.result.RetroResult` of :func:`retro` and returns an
``HTML``, ``Markdown`` or ``Image`` (PNG) object, or a list of them, so the notebook stays a list of one-line
cells. The HTML comes from the templates of :mod:`hivepulse.report.html` (autoescaped), the same fragments as
``retro.html``; the ``*_html`` helpers return those strings. :func:`records` writes the records, the ledger
and ``retro.html`` (rendered from the result by the library, not exported from the notebook).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from IPython.display import HTML, Image, Markdown

from hivepulse.report import html as report_html
from hivepulse.report import plots
from hivepulse.retro.analysis import RetroParams, analyze
from hivepulse.retro.render import code, md
from hivepulse.retro.result import RetroResult

HEADLINE_CLASS = "hp-headline"
CARD_CLASS = "hp-card"
REPORT_FILE = "retro.html"


def retro(**params: Any) -> RetroResult:
    """Analyze a retro from the notebook's parameters (the names of :class:`RetroParams`; an unknown name or a
    bad value is an InputError naming it, exit 2)."""
    return analyze(RetroParams(**params))


def _html(text: str) -> HTML:
    return HTML(text)  # type: ignore[no-untyped-call]


def _markdown(text: str) -> Markdown:
    return Markdown(text)  # type: ignore[no-untyped-call]


def _png(data: bytes) -> Image:
    return Image(data=data, format="png")  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------------------------------------- headline


def headline_html(result: RetroResult) -> str:
    """Headline cards: per metric value, n, 95% CI, tier and the change vs the previous iteration."""
    return report_html.fragment("headline", result)


def headline(result: RetroResult) -> HTML:
    return _html(headline_html(result))


# ---------------------------------------------------------------------------------------------- charts


def image(fig: Any) -> Image:
    """A figure as a PNG display object."""
    return _png(plots.png(fig))


def trend_pngs(result: RetroResult) -> list[bytes]:
    """One small chart per metric over the shown iterations (with CIs and n), as PNG bytes."""
    return list(report_html.pngs(result)["trends"])


def trends_html(result: RetroResult) -> str:
    """The five trend charts side by side (wrapping), each an ``<img>`` with the PNG embedded."""
    return report_html.fragment("trends", result, trends=report_html.pictures(result)["trends"])


def trends(result: RetroResult) -> HTML:
    """One small chart per metric over the shown iterations (with CIs and n), laid out side by side."""
    return _html(trends_html(result))


def lead_time(result: RetroResult) -> list[Image | HTML]:
    """Lead-time distribution and the coding / pickup / review / deploy breakdown (and, for ``source: store``,
    the pull-request stages of the store)."""
    out: list[Image | HTML] = [_png(data) for data in report_html.pngs(result)["lead_time"]]
    if result.pr_stages is not None:
        out.append(_html(report_html.fragment("pr_stages", result)))
    return out


def timeline(result: RetroResult) -> Image:
    """Every deployment of the iteration, failures and recoveries marked."""
    return _png(report_html.pngs(result)["timeline"][0])


# ---------------------------------------------------------------------------------------------- text


def data_quality(result: RetroResult) -> Markdown:
    """The data-quality notes (source, engine, retro), escaped for Markdown; the engine's note already names
    the small samples."""
    notes = result.data_quality_notes()
    lines = [f"- {md(n)}" for n in notes] or ["- No data-quality note."]
    return _markdown("\n".join(lines))


def went_well_html(result: RetroResult) -> str:
    return report_html.fragment("claims", result)


def went_well(result: RetroResult) -> HTML:
    """*What went well* and *What to improve*: only significant changes are claimed."""
    return _html(went_well_html(result))


def notes_html(result: RetroResult) -> str:
    return report_html.fragment("notes", result)


def team_notes(result: RetroResult) -> HTML:
    return _html(notes_html(result))


def profiling_evidence_html(result: RetroResult) -> str:
    """The findings of the profiling run that counts for this iteration (run id, recorded time, scenario,
    text with n, kind), or "No profiling run for this iteration." with the reason."""
    return report_html.fragment("profiling", result)


def profiling_evidence(result: RetroResult) -> HTML:
    """*Profiling evidence*: the findings loaded for this iteration (docs/retro.md, which run counts)."""
    return _html(profiling_evidence_html(result))


def followup_html(result: RetroResult) -> str:
    return report_html.fragment("followup", result)


def followup(result: RetroResult) -> HTML:
    """Follow-up of the previous retro's action items: then, now, target and verdict."""
    return _html(followup_html(result))


def actions_html(result: RetroResult) -> str:
    return report_html.fragment("actions", result)


def action_items(result: RetroResult) -> HTML:
    """The ranked action items (at most ``max_actions``)."""
    return _html(actions_html(result))


def records(result: RetroResult) -> Markdown:
    """Write the records, the ledger and the HTML report (``retro.html``, rendered from ``result``); say where
    they are."""
    path = result.write({REPORT_FILE: report_html.render_report(result)})
    return _markdown(
        f"Records written to {code(path)} (README.md, metrics.json, actions.json, actions.csv, {REPORT_FILE}); "
        f"ledger {code(result.ledger_path)}."
    )


def show(objects: Any) -> None:
    """Display one display object or each of a list (used for the multi-image sections)."""
    from IPython.display import display

    items: Sequence[Any] = objects if isinstance(objects, list | tuple) else [objects]
    for obj in items:
        display(obj)  # type: ignore[no-untyped-call]


__all__ = ["action_items", "actions_html", "data_quality", "followup", "followup_html", "headline",
           "headline_html", "image", "lead_time", "notes_html", "profiling_evidence", "profiling_evidence_html",
           "records", "retro", "show", "team_notes", "timeline", "trend_pngs", "trends", "trends_html",
           "went_well", "went_well_html"]

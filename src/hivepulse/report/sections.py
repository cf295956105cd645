"""The retro notebook's sections, one function each, returning IPython display objects.

Every function takes the :class:`~hivepulse.retro.analysis.RetroResult` of :func:`retro` and returns an
``HTML``, ``Markdown`` or ``Image`` (PNG) object, or a list of them, so the notebook stays a list of one-line
cells and the exported HTML shows tables and images without code. The ``*_html`` helpers return strings
(used by the tests and by the display functions).
"""

from __future__ import annotations

import base64
import html
from typing import Any

from IPython.display import HTML, Image, Markdown

from hivepulse.report import plots
from hivepulse.retro.analysis import (
    FINDING_KIND_LABEL,
    OUTSIDE_TEXT,
    RetroParams,
    RetroResult,
    analyze,
    change_text,
    finding_n_text,
)
from hivepulse.retro.signals import (
    METRIC_LABEL,
    METRICS,
    SMALL_SAMPLE,
    comparison_block,
    count,
    fmt_ci,
    fmt_value,
    metric_block,
    number,
)

HEADLINE_CLASS = "hp-headline"
CARD_CLASS = "hp-card"

_STYLE = """<style>
.hp-cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 12px}
.hp-card{border:1px solid #cbd5e0;border-radius:8px;padding:8px 12px;flex:1 1 170px;max-width:250px;
font-family:sans-serif}
.hp-card .hp-name{font-size:12px;color:#4a5568}
.hp-card .hp-value{font-size:24px;font-weight:600}
.hp-card .hp-meta{font-size:11px;color:#4a5568}
.hp-tier-elite{border-left:6px solid #2f855a}.hp-tier-high{border-left:6px solid #3182ce}
.hp-tier-medium{border-left:6px solid #dd6b20}.hp-tier-low{border-left:6px solid #c53030}
.hp-sig{font-weight:600}
.hp-table td,.hp-table th{padding:3px 8px;text-align:left !important;vertical-align:top}
</style>"""


def retro(**params: Any) -> RetroResult:
    """Analyze a retro from the notebook's parameters (names of :class:`RetroParams`)."""
    known = set(RetroParams.__dataclass_fields__)
    return analyze(RetroParams(**{k: v for k, v in params.items() if k in known}))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: tuple[str, ...], rows: str) -> str:
    """An ``hp-table`` with one header row (``headers`` are plain text) and ``rows`` (ready ``<tr>`` HTML)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f'<table class="hp-table"><tr>{head}</tr>{rows}</table>'


# ---------------------------------------------------------------------------------------------- headline


def headline_html(result: RetroResult) -> str:
    """Headline cards: per metric value, n, 95% CI, tier and the change vs the previous iteration."""
    cards = []
    outside = not result.is_covered
    for m in METRICS:
        block = {} if outside else metric_block(result.metrics, m)
        comp = comparison_block(result.metrics, m)
        tier = block.get("tier")
        change = OUTSIDE_TEXT if outside else change_text(result.metrics, m)
        sig = bool(comp.get("significant")) and comp.get("direction") in ("improved", "regressed")
        prev = number(comp.get("previous_value"))
        prev_txt = f"previous {fmt_value(m, prev)}; " if prev is not None else ""
        cards.append(
            f'<div class="{CARD_CLASS} hp-tier-{_e(tier or "none")}" data-metric="{m}">'
            f'<div class="hp-name">{_e(METRIC_LABEL[m])}</div>'
            f'<div class="hp-value">{"no data" if outside else _e(fmt_value(m, number(block.get("value"))))}</div>'
            f'<div class="hp-meta">n={count(block.get("n"))}'
            f'{" (small sample)" if count(block.get("n")) < SMALL_SAMPLE else ""}, 95% {_e(fmt_ci(m, block))}</div>'
            f'<div class="hp-meta">tier: {_e(tier or ("-" if outside else "not tiered"))}</div>'
            f'<div class="hp-meta{" hp-sig" if sig else ""}">{_e(prev_txt)}{_e(change)}'
            f'{" (significant)" if sig else ""}</div>'
            "</div>"
        )
    return (
        f'{_STYLE}<section class="{HEADLINE_CLASS}"><h2>Headline</h2>'
        f"<p>Iteration [{result.since}, {result.until}) UTC, environment <code>{_e(result.params.environment)}"
        f"</code>. Changes are claimed only when significant (95%).</p>"
        f'<div class="hp-cards">{"".join(cards)}</div></section>'
    )


def headline(result: RetroResult) -> HTML:
    return HTML(headline_html(result))


# ---------------------------------------------------------------------------------------------- charts


def image(fig: Any) -> Image:
    """A figure as a PNG display object."""
    return Image(data=plots.png(fig), format="png")


def trend_pngs(result: RetroResult) -> list[bytes]:
    """One small chart per metric over the shown iterations (with CIs and n), as PNG bytes."""
    covered = result.covered[-1] if result.covered else True
    history = [*result.history, {**result.metrics, "covered": covered}]
    return [plots.png(plots.trend(history, m, tier_edition=str(result.params.tier_edition))) for m in METRICS]


def trends_html(result: RetroResult) -> str:
    """The five trend charts side by side (wrapping), each an ``<img>`` with the PNG embedded."""
    imgs = "".join(
        f'<img class="hp-trend" data-metric="{m}" alt="{_e(METRIC_LABEL[m])} trend" '
        f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'
        for m, data in zip(METRICS, trend_pngs(result), strict=True)
    )
    return f'<div class="hp-trends" style="display:flex;flex-wrap:wrap;gap:8px">{imgs}</div>'


def trends(result: RetroResult) -> HTML:
    """One small chart per metric over the shown iterations (with CIs and n), laid out side by side."""
    return HTML(trends_html(result))


def lead_time(result: RetroResult) -> list[Image]:
    """Lead-time distribution and the coding / pickup / review / deploy breakdown."""
    lt = result.current.lead_times
    return [image(plots.lead_time_distribution(lt)), image(plots.stage_breakdown(lt))]


def timeline(result: RetroResult) -> Image:
    return image(plots.deployment_timeline(result.current.deployments, result.current.window.since,
                                           result.current.window.until))


# ---------------------------------------------------------------------------------------------- text


def data_quality(result: RetroResult) -> Markdown:
    """The data-quality notes (source, engine, retro); the engine's note already names the small samples."""
    notes = result.data_quality_notes()
    lines = [f"- {n}" for n in notes] or ["- No data-quality note."]
    return Markdown("\n".join(lines))


def went_well_html(result: RetroResult) -> str:
    def block(title: str, key: str) -> str:
        items = result.claims[key]
        body = "".join(f"<li>{_e(c.text)}</li>" for c in items) or "<li>Nothing significant to claim.</li>"
        return f'<div class="hp-claims" data-kind="{key}"><h3>{title}</h3><ul>{body}</ul></div>'

    return block("What went well", "went_well") + block("What to improve", "to_improve")


def went_well(result: RetroResult) -> HTML:
    """*What went well* and *What to improve*: only significant changes are claimed."""
    return HTML(went_well_html(result))


def notes_html(result: RetroResult) -> str:
    if not result.notes.items:
        return (f"<p>No team notes for this iteration (add <code>notes/{_e(result.iteration)}.yaml</code> in the "
                "retro workspace; format in docs/retro.md).</p>")
    parts = []
    for key, title in (("went_well", "Went well"), ("to_improve", "To improve")):
        rows = "".join(
            f"<tr><td>{_e(n.text)}</td><td>{n.votes}</td><td>{_e(n.metric or '')}</td></tr>"
            for n in result.notes.section(key)
        )
        parts.append(
            f"<h4>{title}</h4>" + _table(("note", "votes", "metric"), rows)
        )
    return "".join(parts)


def team_notes(result: RetroResult) -> HTML:
    return HTML(notes_html(result))


def profiling_evidence_html(result: RetroResult) -> str:
    """The findings of the profiling run that counts for this iteration (run id, recorded time, scenario,
    text with n, kind), or "No profiling run for this iteration." with the reason."""
    evidence = result.profiling
    notes = "".join(f"<p class=\"hp-note\">{_e(n)}</p>" for n in evidence.notes)
    run = evidence.run
    if run is None:
        return f'<section class="hp-profiling"><p>No profiling run for this iteration.</p>{notes}</section>'
    how = "named explicitly" if evidence.explicit else "the newest run recorded in this iteration"
    rows = "".join(
        f'<tr class="hp-finding" data-kind="{_e(f.get("kind") or "unknown")}"><td>'
        f"{_e(FINDING_KIND_LABEL.get(str(f.get('kind')), 'listed only'))}</td><td>{_e(f.get('scenario') or '-')}"
        f"</td><td>{_e(finding_n_text(f))}</td></tr>"
        for f in run.findings
    )
    table = _table(("kind", "scenario", "finding"), rows) if rows else "<p>The run holds no findings.</p>"
    return (
        f'<section class="hp-profiling"><p>Run <code>{_e(run.run_id)}</code>, recorded {_e(run.recorded_text)} '
        f"({_e(how)}). Only problems can become action items; good news and context are evidence.</p>{notes}"
        f"{table}</section>"
    )


def profiling_evidence(result: RetroResult) -> HTML:
    """*Profiling evidence*: the findings loaded for this iteration (docs/retro.md, which run counts)."""
    return HTML(profiling_evidence_html(result))


def followup_html(result: RetroResult) -> str:
    if not result.followups:
        return "<p>No open action items from a previous retro.</p>"
    rows = "".join(
        f'<tr class="hp-verdict" data-verdict="{_e(f.verdict)}"><td>{_e(f.title)}</td><td>{_e(f.watch)}</td>'
        f"<td>{_e(fmt_value(f.watch, f.then))}</td><td>{_e(fmt_value(f.watch, f.now))} (n={f.n_now})</td>"
        f"<td>{_e(f.target_text)}</td><td><b>{_e(f.verdict)}</b></td>"
        f"<td>{_e(f.outcome)}</td></tr>"
        for f in result.followups
    )
    pending = [a for a in result.pending if a.id in {f.id for f in result.followups if f.verdict == "not met"}]
    tail = (
        f"<p>{len(pending)} unmet item(s) did not fit in the {result.params.max_actions} action item(s) of this "
        "retro; they stay open and are followed up at the next retro.</p>" if pending else ""
    )
    return (
        f"<p>Items of retro {_e(result.previous_iteration)} (and items still open from earlier retros). "
        "<i>then</i> is the value when the item was set, <i>now</i> this iteration's.</p>"
        + _table(("item", "watch", "then", "now", "target", "verdict", "outcome"), rows) + tail
    )


def followup(result: RetroResult) -> HTML:
    """Follow-up of the previous retro's action items: then, now, target and verdict."""
    return HTML(followup_html(result))


def actions_html(result: RetroResult) -> str:
    if not result.actions:
        return "<p>No action item: no signal this iteration.</p>"
    rows = "".join(
        f'<tr class="hp-action" data-action="{_e(a.action_id)}"><td>{a.rank}</td><td><b>{_e(a.title)}</b><br>'
        f"<small>{_e(a.practice)}{' - carried over from ' + _e(a.carried_from) if a.carried_from else ''}"
        f"</small></td><td>{_e(a.evidence)}</td><td>{_e(a.target_text)}</td><td>{_e(a.due)}</td>"
        f"<td>{_e(a.owner)}</td><td>{a.score:.3f}<br><small>R {a.reach:.2f} x I {a.impact:g} x C "
        f"{a.confidence:g} / E {a.effort:g}{f' x (1+0.1x{a.votes} votes)' if a.votes else ''}</small></td></tr>"
        for a in result.actions
    )
    chosen = {a.action_id for a in result.actions}
    more = len([c for c in result.candidates if c.action_id not in chosen])
    tail = f"<p>{more} more candidate(s) ranked lower (see actions.json).</p>" if more > 0 else ""
    return (
        _table(("#", "action", "evidence", "target", "due", "owner", "RICE score"), rows) + tail
    )


def action_items(result: RetroResult) -> HTML:
    """The ranked action items (at most ``max_actions``)."""
    return HTML(actions_html(result))


def records(result: RetroResult) -> Markdown:
    """Write the records and the ledger; say where they are."""
    path = result.write()
    return Markdown(
        f"Records written to `{path}` (README.md, metrics.json, actions.json, actions.csv); "
        f"ledger `{result.ledger_path}`."
    )


def show(objects: Any) -> None:
    """Display one display object or each of a list (used for the multi-image sections)."""
    from IPython.display import display

    for obj in objects if isinstance(objects, list | tuple) else [objects]:
        display(obj)

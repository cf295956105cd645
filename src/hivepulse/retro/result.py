"""One retro, computed: :class:`RetroResult` holds everything the notebook shows and the records hold, typed;
its records (``README.md`` from a template, ``metrics.json``, ``actions.json``, ``actions.csv``) and the
ledger are written together by :meth:`RetroResult.write` (one lock, one commit:
:mod:`hivepulse.retro.workspace`)."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from hivepulse.metrics.results import DoraReport, JSONObject
from hivepulse.model import EventSet
from hivepulse.retro import actions as act
from hivepulse.retro import ledger as led
from hivepulse.retro.drilldown import FailedDeployment, SlowChange, failed_deployments, slowest_changes
from hivepulse.retro.facts import Claim, Claims, Iteration, Measurement, Signal
from hivepulse.retro.fmt import count, fmt_ci, fmt_value, number
from hivepulse.retro.notes import Notes
from hivepulse.retro.params import RetroParams
from hivepulse.retro.profiling import ProfilingEvidence
from hivepulse.retro.prstages import StageRow, StageSummary
from hivepulse.retro.record import PRODUCTION, record_name
from hivepulse.retro.render import Md, render
from hivepulse.retro.shipped import Shipped, shipped_in, to_markdown, what_shipped
from hivepulse.textsafe import short
from hivepulse.vocabulary import METRIC_LABEL, METRICS, STAGES, polarity

RETRO_SCHEMA = "hivepulse.retro/1"
REPORT_FILE = "retro.html"
KEEP_ON_REWRITE = ("retro.html", "retro.ipynb")
"""Files of a record directory that a rewrite of the records *without a report* (library use of
:meth:`RetroResult.write`) keeps; a rewrite with a report replaces the whole directory (an executed notebook
of an earlier run would not match the new records)."""
OUTSIDE_TEXT = "not measured: the iteration lies outside the data"
FINDING_KIND_LABEL = {"problem": "problem", "good": "good news", "info": "context"}


def finding_kind_label(kind: str | None) -> str:
    """``problem``, ``good news``, ``context``, or ``listed only`` for a finding of no known kind."""
    return FINDING_KIND_LABEL.get(str(kind), "listed only")


def change_text(report: DoraReport, metric: str) -> str:
    """``improved (p=0.004)``, ``regressed (p=...)``, ``no significant change (p=0.43)``, or why there is no
    test: ``no previous iteration in the data`` / ``no data now or in the previous iteration (no test)``."""
    comp = report.comparison.get(metric) if report.comparison is not None else None
    if comp is None:
        return "no previous iteration in the data"
    p = comp.p_value
    if p is None:
        side = "in the previous iteration" if comp.previous_n == 0 else "now"
        if comp.previous_n == 0 and report.metric(metric).n == 0:
            side = "now or in the previous iteration"
        return f"no data {side} (no test)"
    p_txt = f"p={p:.3f}"
    if comp.claimed:
        return f"{comp.direction} ({p_txt})"
    return f"no significant change ({p_txt})"


@dataclass(frozen=True)
class Movement:
    """A metric against the previous iteration, for the headline's arrows: ``arrow`` is the way the value
    moved (``▲`` up, ``▼`` down, ``=`` unchanged, ``""`` no comparison), ``verdict`` ``better`` / ``worse``
    (significant, by the metric's polarity) or ``no significant change`` (or why there is no test), ``tone``
    ``good`` / ``bad`` / ``neutral``, and ``text`` the whole line (``▲ worse than 0.40 h (significant,
    p=0.012)``)."""

    arrow: str
    verdict: str
    tone: str
    text: str


def movement(report: DoraReport, metric: str) -> Movement:
    """How ``metric`` moved against the previous iteration (:class:`Movement`)."""
    comp = report.comparison.get(metric) if report.comparison is not None else None
    if comp is None or comp.p_value is None:
        return Movement("", "", "neutral", change_text(report, metric))
    delta, prev = number(comp.delta), number(comp.previous_value)
    arrow = "" if delta is None else "▲" if delta > 0 else "▼" if delta < 0 else "="
    prev_txt = fmt_value(metric, prev)
    p_txt = f"p={comp.p_value:.3f}"
    if comp.claimed:
        good = comp.direction == "improved"
        verdict = "better" if good else "worse"
        return Movement(arrow, verdict, "good" if good else "bad",
                        f"{arrow} {verdict} than {prev_txt} (significant, {p_txt})".strip())
    way = "" if delta is None or delta == 0 or polarity(metric) == 0 else \
        (" (better)" if delta * polarity(metric) > 0 else " (worse)")
    start = f"= same as {prev_txt}" if arrow == "=" else f"{arrow} from {prev_txt}{way}".strip()
    return Movement(arrow, "no significant change", "neutral", f"{start}, no significant change ({p_txt})")


@dataclass(frozen=True)
class HeadlineRow:
    """One metric's row of the headline: label, value, n, CI (without ``CI``), tier, the change and how it
    moved against the previous iteration (:class:`Movement`), and its Quick Check score."""

    metric: str
    label: str
    value: str
    n: int
    ci: str
    tier: str | None
    change: str
    outside: bool = False
    moved: Movement = field(default_factory=lambda: Movement("", "", "neutral", ""))
    quick_check: str = ""


@dataclass(frozen=True, eq=False)
class RetroResult:
    """Everything one retro shows and records. ``reports`` are the shown iterations, oldest first, with
    their figures as published; the last one is this iteration (:attr:`current`)."""

    params: RetroParams
    iteration: str
    since: date
    until: date
    due: str
    events: EventSet
    reports: list[DoraReport]
    measurements: dict[str, Measurement]
    signals: list[Signal]
    claims: Claims
    followups: list[led.FollowUp]
    candidates: list[act.ActionItem]
    actions: list[act.ActionItem]
    notes: Notes
    previous_iteration: str | None = None
    pending: list[act.ActionItem] = field(default_factory=list)
    """Earlier items still open (not measurable now, or carried over but cut by ``max_actions``)."""
    coverage_notes: list[str] = field(default_factory=list)
    covered: list[bool] = field(default_factory=list)
    """Per shown report (oldest first): whether the window holds measurements (see
    :class:`~hivepulse.retro.coverage.Coverage`)."""
    profiling: ProfilingEvidence = field(default_factory=lambda: ProfilingEvidence(None))
    """The profiling run that counts for this iteration and its findings (:mod:`hivepulse.retro.profiling`)."""

    @property
    def is_covered(self) -> bool:
        """Whether this iteration lies inside the data (see :class:`~hivepulse.retro.coverage.Coverage`)."""
        return self.covered[-1] if self.covered else True

    @property
    def current(self) -> DoraReport:
        """This iteration's report (figures as published)."""
        return self.reports[-1]

    @property
    def history(self) -> list[Iteration]:
        """The shown iterations before this one, oldest first."""
        covered = self.covered or [True] * len(self.reports)
        return [Iteration(r, c) for r, c in zip(self.reports[:-1], covered[:-1], strict=True)]

    @property
    def iterations(self) -> list[Iteration]:
        """Every shown iteration, oldest first, this one last."""
        return [*self.history, Iteration(self.current, self.is_covered)]

    pr_stages: StageSummary | None = None
    """The pull-request stage breakdown of the store (``source: store``; None for other sources)."""

    @property
    def environment(self) -> str:
        return self.params.environment

    @property
    def record_name(self) -> str:
        """The record directory's name and ledger key: the iteration id, ``.<environment>`` but for
        production (:func:`hivepulse.retro.record.record_name`)."""
        return record_name(self.iteration, self.params.environment)

    @property
    def record_dir(self) -> Path:
        return Path(self.params.output_dir) / self.record_name

    @property
    def ledger_path(self) -> Path:
        return Path(self.params.output_dir) / "ledger.json"

    # ------------------------------------------------------------------------------------------ views

    def headline(self) -> list[HeadlineRow]:
        """The headline: one row per metric (``no data`` outside the data)."""
        rows = []
        for m in METRICS:
            label = METRIC_LABEL[m]
            if not self.is_covered:
                rows.append(HeadlineRow(m, label, "no data", 0, "-", None, OUTSIDE_TEXT, outside=True))
                continue
            b = self.current.metric(m)
            rows.append(HeadlineRow(m, label, fmt_value(m, number(b.value)), count(b.n),
                                    fmt_ci(m, b).removeprefix("CI "), b.tier, change_text(self.current, m),
                                    moved=movement(self.current, m), quick_check=self.quick_check_text(m)))
        return rows

    def quick_check_text(self, metric: str) -> str:
        """``8/10: Less than one day``, ``9.2/10: 7.6% of deployments`` or ``not answered (no value)``."""
        score = self.current.quick_check.get(metric)
        if score.score is None:
            return "not answered (no value)"
        return f"{score.score:.2g}/10: {score.text}" if score.score < 10 else f"10/10: {score.text}"

    def quick_check_line(self) -> str:
        """``DORA Quick Check (2025): overall 9.4/10, throughput 9.3, stability 9.4; 2025 benchmark (all
        industries, mean): 6.7, 6.0, 7.9``, or why there is none."""
        if not self.is_covered:
            return "DORA Quick Check (2025): not scored, the iteration lies outside the data."
        qc = self.current.quick_check

        def num(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f}"

        bench = qc.benchmark
        missing = f" Not answered (no value): {', '.join(METRIC_LABEL[m] for m in qc.missing)}." if qc.missing else ""
        return (f"DORA Quick Check ({qc.edition}): overall {num(qc.overall)}/10, throughput {num(qc.throughput)}, "
                f"stability {num(qc.stability)}; {qc.benchmark_name.lower()} in DORA's {qc.edition} research: "
                f"{bench['overall'].mean:.1f}, {bench['throughput'].mean:.1f}, {bench['stability'].mean:.1f} "
                f"(mean).{missing}")

    def story(self) -> Claims:
        """*What to improve* (the signal behind every action item first, then the tier drops, significant
        worsenings and metrics below high), the *watch* list and *What went well*
        (:func:`hivepulse.retro.claims.claims`)."""
        behind = [Claim("action", a.metric, f"Behind action #{a.rank} ({a.title}): {a.evidence}")
                  for a in self.actions]
        return Claims(went_well=list(self.claims.went_well), to_improve=behind + list(self.claims.to_improve),
                      watch=list(self.claims.watch))

    def trend_table(self) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """The trends as a table: the iterations' end dates (oldest first) and, per metric, its value and n in
        each (``no data`` outside the data)."""
        its = self.iterations
        heads = [it.report.window.until.date().isoformat() for it in its]
        rows = []
        for m in METRICS:
            cells = []
            for it in its:
                b = it.report.metric(m)
                cells.append(f"{fmt_value(m, number(b.value))} (n={b.n})" if it.covered else "no data")
            rows.append((METRIC_LABEL[m], cells))
        return heads, rows

    def profiling_report(self) -> str | None:
        """The profiling run's HTML report (``profiling.html`` in its run directory) relative to this record
        directory, URL-quoted, when it exists; ``None`` otherwise."""
        run = self.profiling.run
        if run is None or not self.params.findings:
            return None
        base = Path(self.params.findings)
        run_dir = base if self.profiling.explicit else base / run.run_id
        if base.name == "results.json":
            run_dir = base.parent
        page = run_dir / "profiling.html"
        if not page.is_file():
            return None
        rel = os.path.relpath(page.resolve(), self.record_dir.resolve())
        return urllib.parse.quote(Path(rel).as_posix())

    def profiling_lines(self) -> list[str]:
        """The profiling evidence in at most three lines: which run (or why none), its problems (the ones
        that become action items), and how many good-news and context findings the profiling report holds."""
        ev = self.profiling
        run = ev.run
        if run is None:
            return [short(n, 300) for n in ev.notes[:3]] or ["No profiling run for this iteration."]
        how = "named explicitly" if ev.explicit else "the newest run recorded in this iteration"
        first = f"Run {run.run_id}, recorded {run.recorded_text} ({how})."
        if ev.notes:
            first += " " + " ".join(ev.notes)
        problems = [f for f in run.findings if f.kind == "problem"]
        if problems:
            shown = "; ".join(short(f.n_text(), 120) for f in problems[:2])
            more = f" and {len(problems) - 2} more" if len(problems) > 2 else ""
            second = f"{len(problems)} problem(s), each a candidate action item: {shown}{more}."
        else:
            second = "No problem found (no profiling action item)."
        good = sum(f.kind == "good" for f in run.findings)
        rest = len(run.findings) - len(problems) - good
        where = "in the profiling report" if self.profiling_report() else "in metrics.json (profiling)"
        third = f"{good} good-news and {rest} other finding(s), listed {where}."
        return [short(first, 300), second, third]

    @cached_property
    def shipped(self) -> Shipped:
        """What this iteration shipped (:func:`hivepulse.retro.shipped.shipped_in`); nothing outside the data."""
        return shipped_in(self.current, self.events) if self.is_covered else what_shipped([])

    @cached_property
    def failed_deployments(self) -> list[FailedDeployment]:
        """The iteration's failed deployments with what failed them (:mod:`hivepulse.retro.drilldown`)."""
        return failed_deployments(self.current) if self.is_covered else []

    @cached_property
    def slowest_changes(self) -> list[SlowChange]:
        """The iteration's slowest changes (:mod:`hivepulse.retro.drilldown`)."""
        return slowest_changes(self.current, self.events) if self.is_covered else []

    def data_quality_notes(self) -> list[str]:
        """Source notes, the engine's data-quality notes and the retro's own (no stage data, etc.)."""
        out: list[str] = list(self.coverage_notes)
        for note in [*self.events.notes, *self.current.data_quality.notes, *self.notes.quality_notes()]:
            if note not in out:
                out.append(note)
        lt = self.current.lead_times
        stage_cols = [f"{s}_hours" for s in STAGES]
        if len(lt) and all(c in lt.columns for c in stage_cols):
            with_pr = int(lt[stage_cols].notna().all(axis=1).sum())
            if with_pr == 0:
                out.append("No pull-request times in the data: the coding / pickup / review / deploy breakdown "
                           "is not available.")
            elif with_pr < len(lt):
                out.append(f"Stage breakdown from {with_pr} of {len(lt)} changes (the others have no complete "
                           "pull-request times).")
        if self.current.comparison is None and not any("no change is claimed" in n for n in out):
            out.append("No previous iteration to compare with: no change is claimed.")
        return out

    # ------------------------------------------------------------------------------------------ records

    def metrics_record(self) -> JSONObject:
        """The content of ``metrics.json`` (deterministic: no wall-clock time)."""
        p = self.params
        return {
            "schema": RETRO_SCHEMA,
            "iteration": self.iteration,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "due": self.due,
            "parameters": {
                "source": p.source,
                "environment": p.environment,
                "tz": p.tz,
                "tier_edition": p.tier_edition,
                "previous_iterations": p.previous_iterations,
                "max_actions": p.max_actions,
                **({"repository": p.repository} if p.repository else {}),
            },
            "metrics": self.current.to_dict(),
            "history": [_history_entry(it) for it in self.history],
            "measurements": {name: m.to_dict() for name, m in self.measurements.items()},
            "signals": [s.to_dict() for s in self.signals],
            "claims": self.story().to_dict(),
            "followups": [f.to_dict() for f in self.followups],
            "pending": [a.to_dict() for a in self.pending],
            "previous_iteration": self.previous_iteration,
            "notes": [n.to_dict() for n in self.notes.items],
            "data_quality_notes": [note for note in self.data_quality_notes()],
            "profiling": self.profiling.to_dict(),
            "shipped": self.shipped.to_dict(),
            **({"pr_stages": self.pr_stages.to_dict()} if self.pr_stages is not None else {}),
        }

    def actions_record(self) -> JSONObject:
        return {
            "schema": RETRO_SCHEMA,
            "iteration": self.iteration,
            "due": self.due,
            "actions": [a.to_dict() for a in self.actions],
        }

    def readme(self) -> str:
        """``README.md``: the retro record in Markdown (template ``hivepulse/retro/templates/readme.md``)."""
        link = self.profiling_report()
        return render("readme.md", r=self, headline=self.headline(), kind_label=finding_kind_label,
                      story=self.story(), fmt_value=fmt_value, shipped_md=Md(to_markdown(self.shipped, level=3)),
                      profiling_link=Md(f"[profiling.html]({link})") if link else None)

    def record_files(self) -> dict[str, str]:
        """File name -> text of the iteration's record directory."""
        return {
            "README.md": self.readme(),
            "metrics.json": _json(self.metrics_record()),
            "actions.json": _json(self.actions_record()),
            "actions.csv": act.to_csv(self.actions),
        }

    def ledger_entry(self) -> led.LedgerEntry:
        """This iteration's ledger entry (for its environment)."""
        return led.LedgerEntry(self.since.isoformat(), self.until.isoformat(), self.due, tuple(self.actions),
                               tuple(self.followups), tuple(self.pending), environment=self.params.environment)

    def write(self, extra: Mapping[str, str] | None = None) -> Path:
        """Commit ``<output_dir>/<record name>/`` and this iteration's entry of ``<output_dir>/ledger.json``
        together (:func:`hivepulse.retro.workspace.commit`: the workspace lock, the ledger re-read under it,
        a staging folder, renames); returns the record dir.

        ``extra``: more files of the record directory (name -> text), e.g. ``retro.html`` rendered by
        :mod:`hivepulse.report.html`. When ``hivepulse retro`` runs the notebook (:data:`HANDOFF_ENV` names
        its run folder), the files and the entry are handed to it instead, and it commits them with the
        executed notebook.
        """
        from hivepulse.retro import workspace

        files = {**self.record_files(), **(extra or {})}
        name, entry = self.record_name, self.ledger_entry()
        led.dumps(led.merged(led.empty(), name, entry))  # fail before writing anything if it cannot be serialised
        handoff = workspace.handoff_dir()
        if handoff is not None:
            workspace.hand_over(handoff, name, files, entry)
            return self.record_dir
        return workspace.commit(self.params.output_dir, name, files, lambda ledger: led.merged(ledger, name, entry),
                                keep=() if REPORT_FILE in files else KEEP_ON_REWRITE)


def _history_entry(it: Iteration) -> JSONObject:
    d = it.report.to_dict()
    return {"window": d["window"], "covered": it.covered, **{m: d[m] for m in METRICS}}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


__all__ = ["FINDING_KIND_LABEL", "KEEP_ON_REWRITE", "OUTSIDE_TEXT", "PRODUCTION", "REPORT_FILE", "RETRO_SCHEMA",
           "HeadlineRow", "Movement", "RetroResult", "StageRow", "StageSummary", "change_text",
           "finding_kind_label", "movement"]

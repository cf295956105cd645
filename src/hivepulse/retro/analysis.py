"""One retro, computed: parameters in, everything the notebook shows and the records hold out.

:func:`analyze` is what ``notebooks/retro.ipynb`` calls after its parameters cell. It reads the source,
computes the iteration and the previous ones with the DORA engine, derives signals and claims, follows up
the ledger's open items, ranks the action items and loads the team notes. :meth:`RetroResult.write`
writes the records and the ledger (atomically; see :mod:`hivepulse.retro.record`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from hivepulse.errors import InputError
from hivepulse.metrics.dora import DoraReport, MetricsConfig, compare, iterations
from hivepulse.model import EventSet
from hivepulse.paths import locate, locate_output
from hivepulse.retro import actions as act
from hivepulse.retro import ledger as led
from hivepulse.retro.notes import Notes, load_notes
from hivepulse.retro.params import RetroParams, _notes_file, preflight, source_path
from hivepulse.retro.profiling import ProfilingEvidence, select_run
from hivepulse.retro.profiling import measurements as profiling_measurements
from hivepulse.retro.record import (
    iteration_id,
    next_retro,
    resolve_window,
    write_record_dir,
)
from hivepulse.retro.signals import (
    METRIC_LABEL,
    METRICS,
    Claim,
    Signal,
    claims,
    comparison_block,
    count,
    detect,
    evidence_line,
    measurements,
    metric_block,
)

RETRO_SCHEMA = "hivepulse.retro/1"
KEEP_ON_REWRITE = ("retro.html", "retro.ipynb")
OUTSIDE_TEXT = "not measured: the iteration lies outside the data"
"""Files of a record directory that a rewrite of the records keeps (written by ``hivepulse retro``)."""


def load_source(params: RetroParams) -> EventSet:
    """The events of ``params.source`` at ``params.path`` (event files, or a git clone)."""
    if params.source == "git":
        from hivepulse.sources.git import GitOptions, read_git

        return read_git(params.path, GitOptions(default_environment=params.environment))
    from hivepulse.sources.files import read_events

    return read_events(params.path)


def load_findings(root: str | Path, since: date, until: date) -> list[dict[str, Any]]:
    """Profiling findings (issue 6) of the run that counts for the iteration ``[since, until)``
    (:func:`hivepulse.retro.profiling.select_run`); ``[]`` when there is none."""
    return select_run(root, since, until).findings


@dataclass(frozen=True)
class Coverage:
    """The span of the source's data for one environment (UTC timestamps, ``None`` when unknown).

    ``first_deployment``: the environment's first deployment (any status); before it, deployments are not
    observed, so a zero deployment frequency there is no measurement. ``last_event``: the latest timestamp
    of any event (deployment, change, incident); after it the data may simply end.
    """

    first_deployment: pd.Timestamp | None
    last_event: pd.Timestamp | None

    def covers(self, since: pd.Timestamp, until: pd.Timestamp) -> bool:
        """Whether ``[since, until)`` holds measurements: it ends after the first deployment and starts at or
        before the last event. Always True when the source has no deployment at all (then the metrics show
        the missing data)."""
        if self.first_deployment is None:
            return True
        last = self.last_event if self.last_event is not None else self.first_deployment
        return bool(until > self.first_deployment and since <= last)


def coverage(events: EventSet, environment: str) -> Coverage:
    """The :class:`Coverage` of ``events`` for ``environment``."""
    deps = events.deployments
    env = deps[deps["environment"].astype(object) == environment] if len(deps) else deps
    first = pd.to_datetime(env["finished_at"], utc=True).min() if len(env) else None
    stamps = []
    for table, cols in (
        (events.deployments, ("finished_at", "started_at")),
        (events.changes, ("committed_at", "authored_at", "pr_opened_at", "first_review_at", "merged_at")),
        (events.incidents, ("opened_at", "resolved_at")),
    ):
        for col in cols:
            if col in table.columns and len(table):
                latest = pd.to_datetime(table[col], utc=True, errors="coerce").max()
                if pd.notna(latest):
                    stamps.append(latest)
    return Coverage(
        first_deployment=first if first is not None and pd.notna(first) else None,
        last_event=max(stamps) if stamps else None,
    )


def check_environment(events: EventSet, environment: str, where: str) -> None:
    """An environment with no deployment while the source has deployments of others is a typo: InputError."""
    deps = events.deployments
    if not len(deps):
        return
    present = sorted({str(e) for e in deps["environment"].dropna().astype(str)})
    if environment not in present:
        raise InputError("no deployment of this environment in the source", file=where, column="environment",
                         value=environment, expected=" or ".join(present))


@dataclass
class RetroResult:
    """Everything one retro shows and records. Dates are ISO strings; reports oldest first."""

    params: RetroParams
    iteration: str
    since: date
    until: date
    due: str
    events: EventSet
    reports: list[DoraReport]
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    measurements: dict[str, dict[str, Any]]
    signals: list[Signal]
    claims: dict[str, list[Claim]]
    followups: list[led.FollowUp]
    candidates: list[act.ActionItem]
    actions: list[act.ActionItem]
    notes: Notes
    previous_iteration: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    pending: list[act.ActionItem] = field(default_factory=list)
    """Earlier items still open (not measurable now, or carried over but cut by ``max_actions``)."""
    coverage_notes: list[str] = field(default_factory=list)
    covered: list[bool] = field(default_factory=list)
    """Per shown report (oldest first): whether the window holds measurements (see :class:`Coverage`)."""
    profiling: ProfilingEvidence = field(default_factory=lambda: ProfilingEvidence(None))
    """The profiling run that counts for this iteration and its findings (:mod:`hivepulse.retro.profiling`)."""

    @property
    def is_covered(self) -> bool:
        """Whether this iteration lies inside the data (see :class:`Coverage`)."""
        return self.covered[-1] if self.covered else True

    @property
    def current(self) -> DoraReport:
        return self.reports[-1]

    @property
    def record_dir(self) -> Path:
        return Path(self.params.output_dir) / self.iteration

    @property
    def ledger_path(self) -> Path:
        return Path(self.params.output_dir) / "ledger.json"

    # ------------------------------------------------------------------------------------------ records

    def metrics_record(self) -> dict[str, Any]:
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
            },
            "metrics": self.metrics,
            "history": [
                {"window": h["window"], "covered": h.get("covered", True), **{m: h[m] for m in METRICS}}
                for h in self.history
            ],
            "measurements": self.measurements,
            "signals": [s.to_dict() for s in self.signals],
            "claims": {k: [c.to_dict() for c in v] for k, v in self.claims.items()},
            "followups": [f.to_dict() for f in self.followups],
            "pending": [a.to_dict() for a in self.pending],
            "previous_iteration": self.previous_iteration,
            "notes": [n.to_dict() for n in self.notes.items],
            "data_quality_notes": self.data_quality_notes(),
            "profiling": self.profiling.to_dict(),
        }

    def actions_record(self) -> dict[str, Any]:
        return {
            "schema": RETRO_SCHEMA,
            "iteration": self.iteration,
            "due": self.due,
            "actions": [a.to_dict() for a in self.actions],
        }

    def data_quality_notes(self) -> list[str]:
        """Source notes, the engine's data-quality notes and the retro's own (no stage data, etc.)."""
        out: list[str] = list(self.coverage_notes)
        for note in list(self.events.notes) + list((self.metrics.get("data_quality") or {}).get("notes") or []):
            if note not in out:
                out.append(note)
        lt = self.current.lead_times
        stage_cols = [f"{s}_hours" for s in ("coding", "pickup", "review", "deploy")]
        if len(lt) and all(c in lt.columns for c in stage_cols):
            with_pr = int(lt[stage_cols].notna().all(axis=1).sum())
            if with_pr == 0:
                out.append("No pull-request times in the data: the coding / pickup / review / deploy breakdown "
                           "is not available.")
            elif with_pr < len(lt):
                out.append(f"Stage breakdown from {with_pr} of {len(lt)} changes (the others have no complete "
                           "pull-request times).")
        if not self.metrics.get("comparison") and not any("no change is claimed" in n for n in out):
            out.append("No previous iteration to compare with: no change is claimed.")
        return out

    def readme(self) -> str:
        """``README.md``: the retro record in Markdown."""
        lines = [
            f"# Retro {self.iteration}",
            "",
            f"Iteration [{self.since}, {self.until}) UTC, environment `{self.params.environment}`, "
            f"source `{self.params.source}`, tiers {self.params.tier_edition}. Next retro: {self.due}.",
            "",
            "## Headline",
            "",
            "| metric | value | n | 95% CI | tier | vs previous |",
            "|---|---|---|---|---|---|",
        ]
        from hivepulse.retro.signals import count, fmt_ci, fmt_value, number

        for m in METRICS:
            if not self.is_covered:
                lines.append(f"| {METRIC_LABEL[m]} | no data | 0 | - | - | {OUTSIDE_TEXT} |")
                continue
            b = metric_block(self.metrics, m)
            lines.append(
                f"| {METRIC_LABEL[m]} | {fmt_value(m, number(b.get('value')))} | {count(b.get('n'))} | "
                f"{fmt_ci(m, b).removeprefix('CI ')} | {b.get('tier') or '-'} | {change_text(self.metrics, m)} |"
            )
        lines += ["", "## What went well", ""]
        lines += [f"- {c.text}" for c in self.claims["went_well"]] or ["- Nothing significant to claim."]
        lines += ["", "## What to improve", ""]
        lines += [f"- {c.text}" for c in self.claims["to_improve"]] or ["- Nothing significant to claim."]
        lines += ["", "## Profiling evidence", ""]
        lines += profiling_lines(self.profiling)
        lines += ["", "## Follow-up of previous action items", ""]
        if self.followups:
            lines += [f"- **{f.verdict}** ({f.outcome}): {f.title} ({f.summary})" for f in self.followups]
        else:
            lines.append("- No open action items from a previous retro.")
        lines += ["", "## Action items", ""]
        if self.actions:
            lines += ["| # | action | evidence | watch | target | due | owner | score |", "|---|---|---|---|---|---|---|---|"]
            for a in self.actions:
                carried = f" (carried over from {a.carried_from})" if a.carried_from else ""
                lines.append(
                    f"| {a.rank} | {a.title}{carried} | {a.evidence} | {a.watch} | {a.target_text} | {a.due} | "
                    f"{a.owner} | {a.score:.3f} |"
                )
        else:
            lines.append("- No action item: no signal this iteration.")
        if self.notes.items:
            lines += ["", "## Team notes", ""]
            for section, title in (("went_well", "Went well"), ("to_improve", "To improve")):
                for n in self.notes.section(section):
                    metric = f" [{n.metric}]" if n.metric else ""
                    lines.append(f"- {title}: {n.text} ({n.votes} votes){metric}")
        lines += ["", "## Data quality", ""]
        lines += [f"- {n}" for n in self.data_quality_notes()] or ["- No data-quality note."]
        return "\n".join(lines) + "\n"

    def record_files(self) -> dict[str, str]:
        """File name -> text of the iteration's record directory."""
        return {
            "README.md": self.readme(),
            "metrics.json": _json(self.metrics_record()),
            "actions.json": _json(self.actions_record()),
            "actions.csv": act.to_csv(self.actions),
        }

    def write(self) -> Path:
        """Write ``<output_dir>/<iteration>/`` and update ``<output_dir>/ledger.json``; returns the record dir.

        Both writes are atomic; the ledger is written after the records, and only if its content changed.
        """
        files = self.record_files()
        ledger = led.load(self.ledger_path)
        updated = led.with_entry(
            ledger,
            self.iteration,
            since=self.since.isoformat(),
            until=self.until.isoformat(),
            due=self.due,
            actions=self.actions,
            followups=self.followups,
            pending=self.pending,
        )
        led.dumps(updated)  # fail before writing anything if the entry cannot be serialised
        out = write_record_dir(self.record_dir, files, keep=KEEP_ON_REWRITE)
        led.save(self.ledger_path, updated)
        return out


FINDING_KIND_LABEL = {"problem": "problem", "good": "good news", "info": "context"}


def finding_n_text(finding: dict[str, Any]) -> str:
    """A finding's text, with ``(n=...)`` appended when the text does not state its n."""
    text = str(finding.get("text") or f"{finding.get('metric')} {finding.get('value')}")
    n = finding.get("n")
    return text if "n=" in text or n is None else f"{text} (n={n})"


def profiling_lines(evidence: ProfilingEvidence) -> list[str]:
    """The *Profiling evidence* section of ``README.md``: the run, then one line per finding."""
    run = evidence.run
    if run is None:
        return ["- No profiling run for this iteration.", *[f"- {n}" for n in evidence.notes]]
    lines = [f"Run `{run.run_id}`, recorded {run.recorded_text}"
             f"{' (named explicitly)' if evidence.explicit else ' (the newest run recorded in this iteration)'}.",
             *[f"Note: {n}" for n in evidence.notes], ""]
    if not run.findings:
        return [*lines, "- The run holds no findings."]
    lines += ["| kind | scenario | finding |", "|---|---|---|"]
    for f in run.findings:
        kind = FINDING_KIND_LABEL.get(str(f.get("kind")), "listed only")
        lines.append(f"| {kind} | {f.get('scenario') or '-'} | {finding_n_text(f).replace('|', '/')} |")
    return lines


def change_text(metrics: dict[str, Any], metric: str) -> str:
    """``improved (p=0.004)``, ``regressed (p=...)``, ``no significant change (p=0.43)``, or why there is no
    test: ``no previous iteration in the data`` / ``no data now or in the previous iteration (no test)``."""
    comp = comparison_block(metrics, metric)
    if not comp:
        return "no previous iteration in the data"
    p = comp.get("p_value")
    if not isinstance(p, int | float):
        prev_n = comp.get("previous_n")
        side = "in the previous iteration" if prev_n == 0 else "now"
        if prev_n == 0 and count(metric_block(metrics, metric).get("n")) == 0:
            side = "now or in the previous iteration"
        return f"no data {side} (no test)"
    p_txt = f"p={p:.3f}"
    if comp.get("significant") and comp.get("direction") in ("improved", "regressed"):
        return f"{comp['direction']} ({p_txt})"
    return f"no significant change ({p_txt})"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def analyze(params: RetroParams, *, events: EventSet | None = None) -> RetroResult:
    """Compute a retro from its parameters (reads the source unless ``events`` is given).

    Relative ``path``, ``output_dir``, ``notes`` and ``findings`` resolve from the current directory or, when
    absent there, from its parents (:func:`hivepulse.paths.locate`), so the notebook runs unchanged when
    JupyterLab starts its kernel in ``notebooks/``.

    Windows outside the data (before the environment's first deployment, or after the last event of the
    source; :class:`Coverage`) are not measurements: they are shown as "no data" in the trends, end streaks,
    are never compared with (no change is claimed against them), and a retro of such a window claims
    nothing and proposes no action (its follow-ups are *not measurable*).
    """
    params.validate()
    packaged_sample = not locate(params.path).exists() and source_path(params.path) != locate(params.path)
    params = dataclasses.replace(
        params,
        path=str(source_path(params.path)),
        output_dir=str(locate_output(params.output_dir)),
        notes=str(locate(params.notes)) if params.notes else params.notes,
        findings=str(locate(params.findings)) if params.findings else params.findings,
    )
    since, until = resolve_window(params.since or None, params.until or None, params.iteration_days)
    ident = iteration_id(since, until)
    due = next_retro(since, until).isoformat()
    days = (until - since).days
    config = MetricsConfig(environment=params.environment, tz=params.tz, tier_edition=str(params.tier_edition))
    workspace = Path(params.output_dir)
    note_file = _notes_file(params, workspace, ident)
    notes = load_notes(note_file)
    catalog = act.load_catalog(workspace / "actions.yaml")
    ledger = led.load(workspace / "ledger.json")
    if events is None:
        events = load_source(params)
    check_environment(events, params.environment, params.path)
    span = coverage(events, params.environment)
    reports = iterations(events, until=until.isoformat(), days=days, count=max(1, params.previous_iterations) + 1,
                         config=config)
    covered = [span.covers(r.window.since, r.window.until) for r in reports]
    current, previous = reports[-1], reports[-2]
    cov_notes = _coverage_notes(span, current, covered[-1], covered[-2], params.environment)
    if packaged_sample:
        cov_notes.insert(0, "Source: the sample data shipped with hivepulse (data/sample was not found from the "
                            "working directory or its parents).")
    current.comparison = compare(current, previous) if covered[-1] and covered[-2] else None
    n_shown = params.previous_iterations + 1
    shown, shown_covered = reports[-n_shown:], covered[-n_shown:]
    metrics = current.to_dict()
    history = [{**r.to_dict(), "covered": c} for r, c in zip(shown[:-1], shown_covered[:-1], strict=True)]
    meas = measurements(metrics, current.lead_times, current.deployments, current.recoveries)
    if not covered[-1]:
        meas = {name: {"value": None, "n": 0, "covered": False} for name in meas}
    prev_meas = measurements(previous.to_dict(), previous.lead_times, previous.deployments, previous.recoveries)
    profiling = select_run(params.findings, since, until)
    findings = profiling.findings
    meas.update(profiling_measurements(profiling.run))
    signals = detect(
        metrics,
        lead_times=current.lead_times,
        deployments=current.deployments,
        recoveries=current.recoveries,
        findings=findings,
        tier_edition=str(params.tier_edition),
        deployments_in_source=span.first_deployment is not None,
    ) if covered[-1] else []
    prev_entry = led.previous(ledger, since.isoformat())
    followups: list[led.FollowUp] = []
    carried: list[act.ActionItem] = []
    pending: list[act.ActionItem] = []
    if prev_entry is not None:
        open_items = led.open_items(prev_entry[1])
        followups = led.follow_up(open_items, meas)
        carried = led.carry_over(open_items, followups)
        pending = led.still_open(open_items, followups)
    candidates = act.propose(
        signals,
        catalog,
        metrics=metrics,
        measurements=meas,
        previous_measurements=prev_meas,
        votes=notes.votes_by_metric(),
        iteration_id=ident,
        due=due,
        tier_edition=str(params.tier_edition),
    )
    chosen = act.select(candidates, carried, max_actions=params.max_actions, due=due,
                        votes=notes.votes_by_metric())
    chosen_ids = {a.id for a in chosen}
    pending += [replace_rank(c) for c in carried if c.id not in chosen_ids]  # carried but cut: still open
    # one open item per catalog entry: an entry in this retro's action list supersedes its older open items
    chosen_entries = {a.action_id for a in chosen}
    unique: dict[str, act.ActionItem] = {}
    for item in pending:
        if item.action_id not in chosen_entries:
            unique.setdefault(item.action_id, item)
    pending = list(unique.values())
    keep = len(shown) >= 2
    return RetroResult(
        params=params,
        iteration=ident,
        since=since,
        until=until,
        due=due,
        events=events,
        reports=shown if keep else reports,
        metrics=metrics,
        history=history,
        measurements=meas,
        signals=signals,
        claims=claims(metrics, history) if covered[-1] else {"went_well": [], "to_improve": []},
        followups=followups,
        candidates=candidates,
        actions=chosen,
        notes=notes,
        previous_iteration=prev_entry[0] if prev_entry else None,
        findings=findings,
        pending=pending,
        coverage_notes=cov_notes,
        covered=shown_covered if keep else covered,
        profiling=profiling,
    )


def replace_rank(item: act.ActionItem) -> act.ActionItem:
    return dataclasses.replace(item, rank=0)


def _day(ts: pd.Timestamp | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts is not None else "unknown"


def _coverage_notes(span: Coverage, current: DoraReport, cur_covered: bool, prev_covered: bool,
                    environment: str) -> list[str]:
    """Honest data-quality notes about where the data starts and ends relative to this iteration."""
    out: list[str] = []
    since, until = current.window.since, current.window.until
    first, last = span.first_deployment, span.last_event
    if first is None:
        return out
    if not cur_covered:
        where = (f"it ends before the first {environment} deployment in the data, {_day(first)}" if until <= first
                 else f"it starts after the last event in the data, {_day(last)}")
        out.append(
            f"Not enough data: this iteration lies outside the data ({where}). Nothing is measured, no change "
            "is claimed, no action is proposed and earlier action items are not measurable."
        )
        return out
    if since < first:
        out.append(
            f"The data starts inside this iteration: the first {environment} deployment in the data is at "
            f"{_day(first)}; deployments before it, if any, are not in the data, so deployment frequency may "
            "be underestimated."
        )
    if not prev_covered:
        out.append(
            f"The previous iteration lies before the first {environment} deployment in the data "
            f"({_day(first)}): no comparison, no change is claimed."
        )
    if int(current.deployment_frequency.get("n") or 0) == 0:
        out.append(
            f"No {environment} deployment in this iteration, while the data has deployments before or after "
            "it: deployment frequency is 0/week (a measurement, not missing data)."
        )
    return out


__all__ = [
    "Coverage",
    "RetroParams",
    "RetroResult",
    "analyze",
    "check_environment",
    "coverage",
    "evidence_line",
    "load_findings",
    "load_source",
    "preflight",
]

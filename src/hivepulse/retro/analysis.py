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

from hivepulse.errors import InputError
from hivepulse.metrics.dora import DoraReport, MetricsConfig, compare, iterations
from hivepulse.model import EventSet
from hivepulse.paths import locate, locate_output
from hivepulse.retro import actions as act
from hivepulse.retro import ledger as led
from hivepulse.retro.notes import Notes, load_notes, notes_path
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
    detect,
    evidence_line,
    measurements,
    metric_block,
)

SOURCES = ("events", "git")
RETRO_SCHEMA = "hivepulse.retro/1"
KEEP_ON_REWRITE = ("retro.html", "retro.ipynb")
"""Files of a record directory that a rewrite of the records keeps (written by ``hivepulse retro``)."""


@dataclass(frozen=True)
class RetroParams:
    """The notebook's parameters (the documented contract of ``docs/retro.md``); no secrets here."""

    source: str = "events"
    path: str = "data/sample"
    since: str = "2026-05-11"
    until: str = "2026-05-25"
    iteration_days: int = 14
    previous_iterations: int = 5
    environment: str = "production"
    tz: str = "UTC"
    tier_edition: str = "2024"
    notes: str = ""
    output_dir: str = "retro/"
    max_actions: int = 3
    findings: str = "profiling/results"

    def validate(self) -> None:
        """Raise :class:`InputError` (exit 2) for a bad parameter value."""
        if self.source not in SOURCES:
            raise InputError("unknown source", column="source", value=self.source, expected=" or ".join(SOURCES))
        if not str(self.path).strip():
            raise InputError("empty path", column="path", expected="an events directory or a git clone")
        for name in ("previous_iterations", "max_actions", "iteration_days"):
            value = getattr(self, name)
            low = 1 if name == "iteration_days" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"bad {name}", column=name, value=value, expected=f"an integer >= {low}")


def load_source(params: RetroParams) -> EventSet:
    """The events of ``params.source`` at ``params.path`` (event files, or a git clone)."""
    if params.source == "git":
        from hivepulse.sources.git import GitOptions, read_git

        return read_git(params.path, GitOptions(default_environment=params.environment))
    from hivepulse.sources.files import read_events

    return read_events(params.path)


def load_findings(root: str | Path) -> list[dict[str, Any]]:
    """Profiling findings (issue 6) from the newest ``<root>/*/results.json`` holding a ``findings`` list.

    Each finding is a dict with ``metric``, ``value`` and ``text`` (optional ``reach``, ``impact``,
    ``confidence``); they become ``finding`` signals. Returns ``[]`` when there is none.
    """
    base = Path(root) if root else None
    if base is None or not base.is_dir():
        return []
    candidates = sorted(base.glob("*/results.json"), key=lambda p: (p.stat().st_mtime, str(p)), reverse=True)
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        found = data.get("findings") if isinstance(data, dict) else None
        if isinstance(found, list):
            return [dict(f) for f in found if isinstance(f, dict) and f.get("metric")]
    return []


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
                {"window": h["window"], **{m: h[m] for m in METRICS}} for h in self.history
            ],
            "measurements": self.measurements,
            "signals": [s.to_dict() for s in self.signals],
            "claims": {k: [c.to_dict() for c in v] for k, v in self.claims.items()},
            "followups": [f.to_dict() for f in self.followups],
            "previous_iteration": self.previous_iteration,
            "notes": [n.to_dict() for n in self.notes.items],
            "data_quality_notes": self.data_quality_notes(),
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
        out: list[str] = []
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
        if not self.metrics.get("comparison"):
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
            b = metric_block(self.metrics, m)
            lines.append(
                f"| {METRIC_LABEL[m]} | {fmt_value(m, number(b.get('value')))} | {count(b.get('n'))} | "
                f"{fmt_ci(m, b).removeprefix('CI ')} | {b.get('tier') or '-'} | {change_text(self.metrics, m)} |"
            )
        lines += ["", "## What went well", ""]
        lines += [f"- {c.text}" for c in self.claims["went_well"]] or ["- Nothing significant to claim."]
        lines += ["", "## What to improve", ""]
        lines += [f"- {c.text}" for c in self.claims["to_improve"]] or ["- Nothing significant to claim."]
        lines += ["", "## Follow-up of previous action items", ""]
        if self.followups:
            lines += [f"- **{f.verdict}**: {f.title} ({f.summary})" for f in self.followups]
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
        )
        led.dumps(updated)  # fail before writing anything if the entry cannot be serialised
        out = write_record_dir(self.record_dir, files, keep=KEEP_ON_REWRITE)
        led.save(self.ledger_path, updated)
        return out


def change_text(metrics: dict[str, Any], metric: str) -> str:
    """``improved (p=0.004)``, ``regressed (p=...)`` or ``no significant change (p=0.43)``."""
    comp = comparison_block(metrics, metric)
    if not comp:
        return "no previous"
    p = comp.get("p_value")
    p_txt = f"p={p:.3f}" if isinstance(p, int | float) else "no test"
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
    """
    params.validate()
    params = dataclasses.replace(
        params,
        path=str(locate(params.path)),
        output_dir=str(locate_output(params.output_dir)),
        notes=str(locate(params.notes)) if params.notes else params.notes,
        findings=str(locate(params.findings)) if params.findings else params.findings,
    )
    since, until = resolve_window(params.since or None, params.until or None, params.iteration_days)
    ident = iteration_id(since, until)
    due = next_retro(since, until).isoformat()
    days = (until - since).days
    config = MetricsConfig(environment=params.environment, tz=params.tz, tier_edition=str(params.tier_edition))
    if events is None:
        events = load_source(params)
    reports = iterations(events, until=until.isoformat(), days=days, count=max(1, params.previous_iterations) + 1,
                         config=config)
    current, previous = reports[-1], reports[-2]
    current.comparison = compare(current, previous)
    shown = reports[-(params.previous_iterations + 1):]
    metrics = current.to_dict()
    history = [r.to_dict() for r in shown[:-1]]
    meas = measurements(metrics, current.lead_times, current.deployments, current.recoveries)
    prev_meas = measurements(previous.to_dict(), previous.lead_times, previous.deployments, previous.recoveries)
    findings = load_findings(params.findings)
    signals = detect(
        metrics,
        lead_times=current.lead_times,
        deployments=current.deployments,
        recoveries=current.recoveries,
        findings=findings,
        tier_edition=str(params.tier_edition),
    )
    workspace = Path(params.output_dir)
    if params.notes and Path(params.notes).is_dir():
        note_file: Path | None = notes_path(params.notes, ident)
    elif params.notes:
        note_file = Path(params.notes)
        if not note_file.is_file():
            raise InputError("notes file not found", file=str(note_file), expected="a YAML notes file")
    else:
        note_file = notes_path(workspace / "notes", ident)
    notes = load_notes(note_file)
    catalog = act.load_catalog(workspace / "actions.yaml")
    ledger = led.load(workspace / "ledger.json")
    prev_entry = led.previous(ledger, since.isoformat())
    followups: list[led.FollowUp] = []
    carried: list[act.ActionItem] = []
    if prev_entry is not None:
        followups = led.follow_up(prev_entry[1].get("actions", []), meas)
        carried = led.carry_over(prev_entry[1].get("actions", []), followups)
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
    chosen = act.select(candidates, carried, max_actions=params.max_actions, due=due)
    return RetroResult(
        params=params,
        iteration=ident,
        since=since,
        until=until,
        due=due,
        events=events,
        reports=shown if len(shown) >= 2 else reports,
        metrics=metrics,
        history=history,
        measurements=meas,
        signals=signals,
        claims=claims(metrics, history),
        followups=followups,
        candidates=candidates,
        actions=chosen,
        notes=notes,
        previous_iteration=prev_entry[0] if prev_entry else None,
        findings=findings,
    )


__all__ = ["RetroParams", "RetroResult", "analyze", "evidence_line", "load_findings", "load_source"]

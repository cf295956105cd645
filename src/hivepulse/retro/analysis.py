"""One retro, computed: parameters in, everything the notebook shows and the records hold out.

:func:`analyze` is what ``notebooks/retro.ipynb`` calls after its parameters cell. It reads the source,
computes the iteration and the previous ones with the DORA engine, derives signals and claims from the
engine's typed reports, follows up the ledger's open items, ranks the action items and loads the team
notes, into a :class:`~hivepulse.retro.result.RetroResult`.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from hivepulse.errors import NoDataError
from hivepulse.metrics.dora import MetricsConfig, compare, iterations
from hivepulse.model import EventSet
from hivepulse.paths import locate, locate_output
from hivepulse.retro import actions as act
from hivepulse.retro import ledger as led
from hivepulse.retro.catalog import load_catalog
from hivepulse.retro.claims import claims
from hivepulse.retro.coverage import Coverage, check_environment, coverage, coverage_notes
from hivepulse.retro.facts import Claims, Iteration
from hivepulse.retro.fmt import evidence_line
from hivepulse.retro.measure import measurements, outside
from hivepulse.retro.notes import load_notes
from hivepulse.retro.params import RetroParams, notes_file, preflight, source_path, store_target
from hivepulse.retro.profiling import Finding, select_run
from hivepulse.retro.profiling import measurements as profiling_measurements
from hivepulse.retro.prstages import StageSummary
from hivepulse.retro.prstages import load as load_pr_stages
from hivepulse.retro.record import iteration_id, next_retro
from hivepulse.retro.result import OUTSIDE_TEXT, RetroResult, change_text
from hivepulse.retro.signals import detect


def load_source(params: RetroParams) -> EventSet:
    """The events of ``params.source`` at ``params.path``: event files, a git clone, or the event store
    (``hivepulse.store.read_events``; ``path`` a store file or URL, default the project file's ``store:``,
    ``repository`` one repository or, empty, the whole project)."""
    if params.source == "git":
        from hivepulse.sources.git import GitOptions, read_git

        return read_git(params.path, GitOptions(default_environment=params.environment))
    if params.source == "store":
        from hivepulse.store import read_events as read_store

        return read_store(store_target(params), repository=params.repository or None)
    from hivepulse.sources.files import read_events

    return read_events(params.path)


def no_data(params: RetroParams, since: date, until: date) -> NoDataError:
    """The error of a window without any deployment of the environment (exit 5): a scheduled retro must
    not write an all-"no data" retro and succeed silently (``allow_empty`` writes it)."""
    return NoDataError(
        f"no deployment of {params.environment!r} in [{since}, {until}): nothing to retro "
        f"(check the source and the window; allow_empty: true / --allow-empty writes an all-'no data' retro)")


def load_findings(root: str | Path, since: date, until: date) -> list[Finding]:
    """Profiling findings of the run that counts for the iteration ``[since, until)``
    (:func:`hivepulse.retro.profiling.select_run`); ``[]`` when there is none."""
    return select_run(root, since, until).findings


def analyze(params: RetroParams, *, events: EventSet | None = None) -> RetroResult:
    """Compute a retro from its parameters (reads the source unless ``events`` is given).

    Relative ``path``, ``output_dir``, ``notes`` and ``findings`` resolve from the current directory or, when
    absent there, from its parents (:func:`hivepulse.paths.locate`), so the notebook runs unchanged when
    JupyterLab starts its kernel in ``notebooks/``.

    Windows outside the data (before the environment's first deployment, or after the last event of the
    source; :class:`~hivepulse.retro.coverage.Coverage`) are not measurements: they are shown as "no data" in
    the trends, end streaks, are never compared with (no change is claimed against them), and a retro of such
    a window claims nothing and proposes no action (its follow-ups are *not measurable*).
    """
    files = params.source != "store"
    packaged_sample = files and not locate(params.path or "data/sample").exists() \
        and source_path(params.path) != locate(params.path or "data/sample")
    params = params.replaced(
        path=str(source_path(params.path)) if files else params.path,
        output_dir=str(locate_output(params.output_dir)),
        notes=str(locate(params.notes)) if params.notes else params.notes,
        findings=str(locate(params.findings)) if params.findings else params.findings,
    )
    since, until = params.window()
    ident = iteration_id(since, until)
    due = next_retro(since, until).isoformat()
    days = (until - since).days
    config = MetricsConfig(environment=params.environment, tz=params.tz, tier_edition=str(params.tier_edition))
    workspace = Path(params.output_dir)
    notes = load_notes(notes_file(params, workspace, ident))
    catalog = load_catalog(workspace / "actions.yaml")
    ledger = led.load(workspace / "ledger.json")
    if events is None:
        events = load_source(params)
    check_environment(events, params.environment, params.path or events.source)
    span = coverage(events, params.environment)
    computed = iterations(events, until=until.isoformat(), days=days,
                          count=max(1, params.previous_iterations) + 1, config=config)
    covered = [span.covers(r.window.since, r.window.until) for r in computed]
    current, previous = computed[-1], computed[-2]
    if not params.allow_empty and len(current.deployments) == 0:
        raise no_data(params, since, until)
    cov_notes = coverage_notes(span, current, covered[-1], covered[-2], params.environment)
    if packaged_sample:
        cov_notes.insert(0, "Source: the sample data shipped with hivepulse (data/sample was not found from the "
                            "working directory or its parents).")
    comparison = compare(current, previous) if covered[-1] and covered[-2] else None
    reports = [r.published() for r in computed[:-1]] + [current.with_comparison(comparison).published()]
    current, previous = reports[-1], reports[-2]
    n_shown = params.previous_iterations + 1
    shown, shown_covered = reports[-n_shown:], covered[-n_shown:]
    history = [Iteration(r, c) for r, c in zip(shown[:-1], shown_covered[:-1], strict=True)]

    meas = measurements(current)
    if not covered[-1]:
        meas = outside(meas)
    prev_meas = measurements(previous)
    profiling = select_run(params.findings, since, until)
    meas.update(profiling_measurements(profiling.run))
    signals = detect(current, findings=profiling.findings, deployments_in_source=span.first_deployment is not None) \
        if covered[-1] else []

    prev_entry = ledger.previous(since.isoformat(), params.environment)
    followups: list[led.FollowUp] = []
    carried: list[act.ActionItem] = []
    pending: list[act.ActionItem] = []
    if prev_entry is not None:
        open_items = prev_entry[1].open_items()
        followups = led.follow_up(open_items, meas)
        carried = led.carry_over(open_items, followups)
        pending = led.still_open(open_items, followups)
    votes = notes.votes_by_metric()
    candidates = act.propose(
        signals,
        catalog,
        tiers={name: metric.tier for name, metric in current.metrics},
        measurements=meas,
        previous_measurements=prev_meas,
        votes=votes,
        iteration_id=ident,
        due=due,
        tier_edition=str(params.tier_edition),
    )
    chosen = act.select(candidates, carried, max_actions=params.max_actions, due=due, votes=votes)
    chosen_ids = {a.id for a in chosen}
    pending += [dataclasses.replace(c, rank=0) for c in carried if c.id not in chosen_ids]  # carried but cut
    # one open item per catalog entry: an entry in this retro's action list supersedes its older open items
    chosen_entries = {a.action_id for a in chosen}
    unique: dict[str, act.ActionItem] = {}
    for item in pending:
        if item.action_id not in chosen_entries:
            unique.setdefault(item.action_id, item)
    keep = len(shown) >= 2
    stages: StageSummary | None = None
    if params.source == "store":
        stages = load_pr_stages(store_target(params), repository=params.repository, since=since, until=until)
    return RetroResult(
        params=params,
        iteration=ident,
        since=since,
        until=until,
        due=due,
        events=events,
        reports=shown if keep else reports,
        measurements=meas,
        signals=signals,
        claims=claims(current, history) if covered[-1] else Claims(),
        followups=followups,
        candidates=candidates,
        actions=chosen,
        notes=notes,
        previous_iteration=prev_entry[0] if prev_entry else None,
        pending=list(unique.values()),
        coverage_notes=cov_notes,
        covered=shown_covered if keep else covered,
        profiling=profiling,
        pr_stages=stages,
    )


__all__ = [
    "OUTSIDE_TEXT",
    "Coverage",
    "RetroParams",
    "RetroResult",
    "analyze",
    "change_text",
    "check_environment",
    "coverage",
    "evidence_line",
    "load_findings",
    "load_source",
    "preflight",
]

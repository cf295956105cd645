"""The sample's records as the model's three tables, and :class:`SampleInfo` (what was planted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from hivepulse.model import EventSet, event_set
from hivepulse.model.convert import from_epoch_seconds, from_optional_epoch_seconds, timestamp_from_epoch
from hivepulse.sources.sample.calendar import ENVIRONMENTS, Phases
from hivepulse.sources.sample.records import Change
from hivepulse.sources.sample.titles import title

if TYPE_CHECKING:
    from hivepulse.sources.sample.simulation import Simulation


@dataclass
class SampleInfo:
    """What was planted, for tests and docs (ids as written in the files)."""

    seed: int
    since: pd.Timestamp
    until: pd.Timestamp
    phases: Phases
    negative_span_changes: list[str] = field(default_factory=list)
    unresolved_incidents: list[str] = field(default_factory=list)
    unattributable_incidents: list[str] = field(default_factory=list)



def build_frames(sim: Simulation) -> tuple[EventSet, SampleInfo]:
    """The simulation's records as the model's tables (ids in time order), and what was planted."""
    end = sim.end
    kept = [d for d in sim.deployments if d.finished < end]
    kept_keys = {d.key for d in kept}
    ids: dict[int, str] = {}
    prefix = {"development": "dev", "staging": "stg", "production": "prod"}
    for env in ENVIRONMENTS:
        ordered = sorted((d for d in kept if d.environment == env), key=lambda d: (d.finished, d.started, d.key))
        for n, d in enumerate(ordered, start=1):
            ids[d.key] = f"{prefix[env]}-{n:04d}"
    kept.sort(key=lambda d: (d.finished, ENVIRONMENTS.index(d.environment), ids[d.key]))

    def before_end(t: int | None) -> int | None:
        return None if t is None or t >= end else t

    deployments = pd.DataFrame({
        "deployment_id": [ids[d.key] for d in kept],
        "environment": [d.environment for d in kept],
        "finished_at": from_epoch_seconds([d.finished for d in kept]),
        "status": [d.status for d in kept],
        "started_at": from_optional_epoch_seconds([before_end(d.started) for d in kept]),
        "commit_sha": [d.commit_sha for d in kept],
        "version": [d.version or None for d in kept],
        "kind": [d.kind for d in kept],
        "rollback_of": [ids.get(d.rollback_of) if d.rollback_of is not None else None for d in kept],
        "first_deployment": [False for _ in kept],
    })  # fmt: skip

    # changes: those committed before the end; PR numbers ascending with PR opening time
    chosen = [i for i, c in enumerate(sim.changes) if c.committed < end]
    pr_order = sorted(
        (i for i in chosen if sim.changes[i].pr and (sim.changes[i].pr_opened or end) < end),
        key=lambda i: (sim.changes[i].pr_opened or end, i),
    )
    numbers: dict[int, int] = {}
    number = 117
    for i in pr_order:
        number += 1 + int(sim.rng.geometric(0.6)) - 1
        numbers[i] = number
    chosen.sort(key=lambda i: (sim.changes[i].committed, sim.changes[i].sha))

    def dep_id(c: Change) -> str | None:
        return ids[c.deployment] if c.deployment is not None and c.deployment in kept_keys else None

    def pr_times(name: str) -> pd.Series:
        return from_optional_epoch_seconds(
            [before_end(getattr(sim.changes[i], name)) if i in numbers else None for i in chosen]
        )

    changes = pd.DataFrame({
        "change_id": [sim.changes[i].sha for i in chosen],
        "committed_at": from_epoch_seconds([sim.changes[i].committed for i in chosen]),
        "deployment_id": [dep_id(sim.changes[i]) for i in chosen],
        "authored_at": from_epoch_seconds([sim.changes[i].authored for i in chosen]),
        "pr_number": pd.array([numbers.get(i) for i in chosen], dtype="Int64"),
        "pr_opened_at": pr_times("pr_opened"),
        "first_review_at": pr_times("first_review"),
        "merged_at": pr_times("merged"),
        "change_type": [sim.changes[i].change_type for i in chosen],
        "title": [title(sim.changes[i].change_type, sim.changes[i].sha) for i in chosen],
    })  # fmt: skip

    inc_order = sorted((k for k, inc in enumerate(sim.incidents) if inc.opened < end),
                       key=lambda k: (sim.incidents[k].opened, k))  # fmt: skip
    inc_ids = {k: f"inc-{n:04d}" for n, k in enumerate(inc_order, start=1)}
    incidents = pd.DataFrame({
        "incident_id": [inc_ids[k] for k in inc_order],
        "opened_at": from_epoch_seconds([sim.incidents[k].opened for k in inc_order]),
        "resolved_at": from_optional_epoch_seconds([before_end(sim.incidents[k].resolved) for k in inc_order]),
        "deployment_id": [_incident_deployment(ids, sim.incidents[k].deployment) for k in inc_order],
        "severity": [sim.incidents[k].severity for k in inc_order],
        "environment": ["production" for _ in inc_order],
    })  # fmt: skip
    events = event_set(deployments, changes, incidents, source=f"hivepulse sample seed={sim.seed}")
    info = SampleInfo(
        seed=sim.seed,
        since=timestamp_from_epoch(sim.start),
        until=timestamp_from_epoch(end),
        phases=sim.phases,
        negative_span_changes=sorted(sim.changes[i].sha for i in sim.negative),
        unresolved_incidents=[inc_ids[k] for k in inc_order if before_end(sim.incidents[k].resolved) is None],
        unattributable_incidents=[inc_ids[k] for k in sim.unattributable if k in inc_ids],
    )
    return events, info


def _incident_deployment(ids: dict[int, str], key: int | None) -> str | None:
    return ids.get(key) if key is not None else None

"""Failure and rework signals of the git source (rules: ``docs/git-source.md``, "Failure and rework signals"):
reverts (an incident on the deployment that shipped the reverted commit), and the kind rules (hotfix, revert,
fix-only) decided per environment in deployment order. Rollbacks are found while the changes are claimed
(:mod:`.read`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hivepulse.sources.git.deployments import Deployments
from hivepulse.sources.git.graph import CommitGraph
from hivepulse.sources.git.options import MERGE_SUBJECT_RE, Compiled, GitOptions


@dataclass(frozen=True)
class EnvResult:
    """The changes of one environment: deployment rows in deployment order, and per commit the row of the
    deployment that claimed it (-1: none)."""

    env: str
    order: np.ndarray
    owner: np.ndarray


@dataclass(frozen=True)
class RevertIncident:
    """An incident found by the revert signal (times in epoch seconds; ``resolved_at`` None while the revert is
    not deployed)."""

    incident_id: str
    opened_at: int
    resolved_at: int | None
    deployment_id: str
    environment: str


def revert_incidents(graph: CommitGraph, results: list[EnvResult], deps: Deployments, finished: np.ndarray,
                      times: np.ndarray, options: GitOptions, notes: list[str]
                      ) -> tuple[list[RevertIncident], dict[int, set[int]]]:  # fmt: skip
    """Revert signal, per environment: the deployment that first shipped a reverted commit gets an incident.

    Returns the incident rows and, per deployment shipping a revert (D_R), the deployments whose commits it
    reverts (D_O); :func:`rework_kinds` decides from them whether D_R is unplanned."""
    incidents: list[RevertIncident] = []
    fixes: dict[int, set[int]] = {}
    if not options.revert_signal:
        return incidents, fixes
    revert_pairs: list[tuple[int, int]] = []
    unresolved = 0
    for r, targets in graph.reverts.items():
        for t in targets:
            o = graph.resolve(t)
            if o is None:
                unresolved += 1
            elif o != r:
                revert_pairs.append((r, o))
    if unresolved:
        notes.append(f"{unresolved} revert message(s) name a commit missing from the clone; ignored")
    revert_commits = {r for r, _ in revert_pairs}
    used: set[str] = set()
    for res in results:
        for r, o in revert_pairs:
            if o in revert_commits:  # reverting a revert re-lands a change: not a production failure
                continue
            d_o, d_r = int(res.owner[o]), int(res.owner[r])
            if d_o < 0 or d_o == d_r:
                continue
            opened = max(int(times[r]), int(finished[d_o]))
            resolved = int(finished[d_r]) if d_r >= 0 else None
            if (
                resolved is not None and opened > resolved
            ):  # odd clocks: a revert tagged before it was committed
                opened = resolved
            if d_r >= 0:
                fixes.setdefault(d_r, set()).add(d_o)
            sha12 = graph.shas[r].decode("ascii")[:12]
            iid = f"revert:{sha12}" if res.env == options.default_environment else f"revert:{sha12}@{res.env}"
            if iid in used:  # one revert commit undoing several commits
                iid = f"{iid}:{graph.shas[o].decode('ascii')[:12]}"
            used.add(iid)
            incidents.append(RevertIncident(iid, opened, resolved, deps.ids[d_o], res.env))
    return incidents, fixes


def rework_kinds(graph: CommitGraph, results: list[EnvResult], deps: Deployments, comp: Compiled,
                  options: GitOptions, finished: np.ndarray, success: np.ndarray, kind: np.ndarray,
                  rollback_of: np.ndarray, incidents: list[RevertIncident], revert_fixes: dict[int, set[int]],
                  counted: np.ndarray) -> None:  # fmt: skip
    """Hotfix, revert and fix-only rules, per environment in deployment order (``kind`` updated in place).

    Walking in order, the kinds of earlier deployments are final when a deployment D is decided:

    - hotfix: a hotfix tag name or a shipped hotfix merge / ``hotfix:`` change makes D unplanned;
    - revert: D ships a revert of a commit first shipped by D_O, D_O came before D and no successful planned
      deployment lies between them (D_O is the latest planned one, or D_O is unplanned and nothing planned
      followed it): the revert directly fixes what runs, D is unplanned. Otherwise D only resolves D_O's
      incident and stays planned (the engine would otherwise blame the innocent planned deployment before D);
    - fix-only: P = the latest successful deployment before D (failed attempts skipped: they changed
      nothing) is *found failed* (an incident names it, it was rolled back, or an unplanned deployment
      followed it: the engine's rule), D finished within the window after P, and every change D ships is a
      fix: D is unplanned. After a failed attempt on a deployment that is not found failed, D is a planned
      retry (the engine's next-good-deployment rule makes it the attempt's recovery).
    """
    n, n_deps = len(graph), len(deps)
    types, is_merge = graph.types, graph.n_parents >= 2
    row_of = {d: k for k, d in enumerate(deps.ids)}
    fix_type = np.asarray([t in comp.fix_types for t in types], dtype=bool) if n else np.zeros(0, bool)
    hotfix_merge = np.zeros(n, dtype=bool)
    if options.hotfix_signal and n:
        hb = comp.hotfix_bytes
        for i, subject in graph.merge_subjects.items():
            if is_merge[i] and MERGE_SUBJECT_RE.match(subject) and hb.search(subject):
                hotfix_merge[i] = True
        hotfix_merge |= np.asarray([t == "hotfix" for t in types], dtype=bool)
    found_by_signal = {row_of[i.deployment_id] for i in incidents}
    found_by_signal |= {row_of[x] for x in rollback_of if x is not None}
    window = options.fix_window_hours * 3600.0
    for res in results:
        owned = res.owner >= 0
        n_changes = np.bincount(res.owner[owned & counted], minlength=n_deps)
        n_fixes = np.bincount(res.owner[owned & counted & fix_type], minlength=n_deps)
        n_hot = np.bincount(res.owner[owned & hotfix_merge], minlength=n_deps)
        position = {int(r): k for k, r in enumerate(res.order.tolist())}
        found_failed = set(found_by_signal)  # successful deployments later found failed
        prev_ok = -1  # latest successful deployment so far
        last_planned_ok = -1
        for r in res.order.tolist():
            if options.hotfix_signal and (deps.hotfix_name[r] or n_hot[r] > 0) and kind[r] == "planned":
                kind[r] = "unplanned"
            if kind[r] == "planned" and r in revert_fixes:
                floor = position[last_planned_ok] if last_planned_ok >= 0 else -1
                if any(floor <= position[o] < position[r] for o in revert_fixes[r]):
                    kind[r] = "unplanned"
            if (kind[r] == "planned" and window > 0 and prev_ok >= 0 and prev_ok in found_failed
                    and 0 <= finished[r] - finished[prev_ok] <= window and n_changes[r] > 0
                    and n_fixes[r] == n_changes[r]):  # fmt: skip
                kind[r] = "unplanned"
            if not success[r]:
                continue
            if kind[r] == "unplanned" and last_planned_ok >= 0:
                found_failed.add(last_planned_ok)  # mirrors the engine: an unplanned deployment fixes it
            elif kind[r] == "planned":
                last_planned_ok = r
            prev_ok = r


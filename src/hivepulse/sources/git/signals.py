"""Failure and rework signals of the git source (rules: ``docs/git-source.md``, "Failure and rework signals"):
reverts (an incident on the deployment that shipped the reverted commit), and the kind rules (hotfix, revert,
fix-only) decided per environment in deployment order. Rollbacks are found while the changes are claimed
(:mod:`.read`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hivepulse.sources.git.deployments import Deployments
from hivepulse.sources.git.graph import CommitGraph
from hivepulse.sources.git.options import MERGE_SUBJECT_RE, Compiled, GitOptions

_QUOTED = re.compile(rb"'([^']*)'")
_PR_FROM = re.compile(rb"^Merge pull request #[0-9]+ from (\S+)")
_MERGED_IN = re.compile(rb"^Merged in (\S+)")


def merged_branches(subject: bytes) -> list[bytes]:
    """The branch names a merge subject names: ``Merge branch 'x'`` / ``Merge branches 'x' and 'y'`` (the part
    before `` into ``), ``Merge remote-tracking branch 'origin/x'`` (without the remote), ``Merge pull request #9
    from owner/x`` (without the fork owner), ``Merged in x`` (Bitbucket)."""
    m = _PR_FROM.match(subject)
    if m:
        return [m.group(1).split(b"/", 1)[-1]]
    m = _MERGED_IN.match(subject)
    if m:
        return [m.group(1)]
    names = _QUOTED.findall(subject.split(b" into ", 1)[0])
    if subject.startswith(b"Merge remote-tracking branch"):
        names = [n.split(b"/", 1)[-1] for n in names]
    return names


def leading_segment(regex: re.Pattern[bytes], name: bytes) -> bool:
    """True when ``regex`` matches at the start of branch ``name`` and ends at a segment boundary (``/``, ``-``,
    ``_``, ``.`` or the end): ``hotfix/login`` and ``hotfix-1.2`` match ``hot-?fix``; ``ps/build-hotfix`` and
    ``hotfixes`` do not."""
    m = regex.match(name)
    if m is None or m.end() == 0:
        return False
    return m.end() == len(name) or name[m.end() : m.end() + 1] in (b"/", b"-", b"_", b".")


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


def incident_id(revert_sha: bytes, target_sha: bytes | None, env: str, primary: str, *, full: bool = False) -> str:
    """``revert:<sha12 of the revert>[:<sha12 of the reverted commit>][@<environment>]``: the two SHA parts are
    hex, so the first ``@`` always starts the environment, whatever its name holds (``@scope/pkg``, ``a:b``).
    ``full``: whole SHAs (when two reverts share their first 12 hex digits)."""
    width = None if full else 12
    text = f"revert:{revert_sha.decode('ascii')[:width]}"
    if target_sha is not None:
        text += f":{target_sha.decode('ascii')[:width]}"
    return text if env == primary else f"{text}@{env}"


def revert_incidents(graph: CommitGraph, results: list[EnvResult], deps: Deployments, finished: np.ndarray,
                      times: np.ndarray, comp: Compiled, options: GitOptions, carries: np.ndarray,
                      notes: list[str]) -> tuple[list[RevertIncident], dict[int, set[int]]]:  # fmt: skip
    """Revert signal, per environment: the deployment that first shipped a reverted commit gets an incident,
    when the revert commit may carry signals (``carries``: in the path scope, not imported history) and came at
    most ``comp.revert_max_seconds`` after that deployment finished.

    Returns the incident rows and, per deployment shipping a revert (D_R), the deployments whose commits it
    reverts (D_O); :func:`rework_kinds` decides from them whether D_R is unplanned."""
    incidents: list[RevertIncident] = []
    fixes: dict[int, set[int]] = {}
    if not options.revert_signal:
        return incidents, fixes
    revert_pairs: list[tuple[int, int]] = []
    unresolved = 0
    for r, targets in graph.reverts.items():
        if not carries[r]:
            continue
        for t in targets:
            o = graph.resolve(t)
            if o is None:
                unresolved += 1
            elif o != r:
                revert_pairs.append((r, o))
    if unresolved:
        notes.append(f"{unresolved} revert message(s) name a commit missing from the clone; ignored")
    revert_commits = {r for r, _ in revert_pairs}
    several = {r for r in revert_commits if sum(1 for x, _ in revert_pairs if x == r) > 1}
    late: list[str] = []
    used: set[str] = set()
    for res in results:
        for r, o in revert_pairs:
            if o in revert_commits:  # reverting a revert re-lands a change: not a production failure
                continue
            d_o, d_r = int(res.owner[o]), int(res.owner[r])
            if d_o < 0 or d_o == d_r:
                continue
            if int(times[r]) - int(finished[d_o]) > comp.revert_max_seconds:
                late.append(f"{graph.shas[r].decode('ascii')[:12]} ({deps.ids[d_o]})")
                continue
            opened = max(int(times[r]), int(finished[d_o]))
            resolved = int(finished[d_r]) if d_r >= 0 else None
            if resolved is not None and opened > resolved:  # odd clocks: a revert tagged before it was committed
                opened = resolved
            if d_r >= 0:
                fixes.setdefault(d_r, set()).add(d_o)
            iid = incident_id(graph.shas[r], graph.shas[o] if r in several else None, res.env, comp.default_env)
            if iid in used:  # two reverts sharing 12 hex digits: the full SHAs keep the ids unique
                iid = incident_id(graph.shas[r], graph.shas[o], res.env, comp.default_env, full=True)
            used.add(iid)
            incidents.append(RevertIncident(iid, opened, resolved, deps.ids[d_o], res.env))
    if late:
        days = f"{comp.revert_max_seconds / 86400:g}"
        notes.append(f"{len(late)} revert(s) came more than {days} days after the deployment that shipped the "
                     "reverted commit and mark no failure (a failed deployment requires immediate intervention; "
                     f"--revert-max-days): " + ", ".join(late[:5]) + (" ..." if len(late) > 5 else ""))  # fmt: skip
    return incidents, fixes


def hotfix_commits(graph: CommitGraph, comp: Compiled, options: GitOptions, carries: np.ndarray,
                   merge_in_scope: Callable[[int], bool]) -> np.ndarray:  # fmt: skip
    """Commits that make the deployment shipping them a hotfix: a merge of a branch whose name starts with the
    hotfix marker (``Merge branch 'hotfix/login'``, ``... from org/hotfix-x``; never a word inside a topic name
    such as ``ps/build-hotfix``) that brings in-scope commits, or a commit of Conventional Commits type
    ``hotfix``; only commits that may carry signals (``carries``)."""
    n = len(graph)
    out = np.zeros(n, dtype=bool)
    if not options.hotfix_signal or not n:
        return out
    is_merge = graph.n_parents >= 2
    search = comp.hotfix_bytes.search
    for i, subject in graph.merge_subjects.items():
        if search(subject) and is_merge[i] and carries[i] and MERGE_SUBJECT_RE.match(subject):
            if any(leading_segment(comp.hotfix_bytes, b) for b in merged_branches(subject)) and merge_in_scope(i):
                out[i] = True
    out |= (graph.types == "hotfix") & carries
    return out


def rework_kinds(graph: CommitGraph, results: list[EnvResult], deps: Deployments, comp: Compiled,
                  options: GitOptions, finished: np.ndarray, success: np.ndarray, kind: np.ndarray,
                  rollback_of: np.ndarray, incidents: list[RevertIncident], revert_fixes: dict[int, set[int]],
                  counted: np.ndarray, hotfix_merge: np.ndarray) -> None:  # fmt: skip
    """Hotfix, revert and fix-only rules, per environment in deployment order (``kind`` updated in place).

    Walking in order, the kinds of earlier deployments are final when a deployment D is decided:

    - hotfix: a hotfix tag name or a shipped hotfix commit (:func:`hotfix_commits`) makes D unplanned;
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
    types = graph.types
    row_of = {d: k for k, d in enumerate(deps.ids)}
    is_fix = {t: t in comp.fix_types for t in set(types.tolist())}
    fix_type = np.fromiter(map(is_fix.__getitem__, types.tolist()), dtype=bool, count=n)
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


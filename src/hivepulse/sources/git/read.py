"""A read of a clone -> :class:`~hivepulse.model.EventSet` (rules: ``docs/git-source.md``).

:func:`hivepulse.sources.git.launch.read_git` starts the git processes; :func:`events_from` collects them: the
graph (:mod:`.graph`), deployments from tags, branches and the deployments file (:mod:`.deployments`,
:mod:`.deployfile`), the commits that count (path scope, imported history, bots and release tools), changes
claimed per environment (:mod:`.walk`), rollbacks, the revert and kind signals (:mod:`.signals`), and the frames
(:mod:`.frames`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hivepulse.errors import InputError
from hivepulse.model import EventSet, event_set
from hivepulse.sources.git import graph as gitgraph
from hivepulse.sources.git import walk
from hivepulse.sources.git.deployfile import file_deployments
from hivepulse.sources.git.deployments import (
    Deployments,
    branch_deployments,
    describe_tag_rules,
    env_orders,
    merge_same_commit_tags,
    tag_deployments,
)
from hivepulse.sources.git.exclude import exclusion_note
from hivepulse.sources.git.frames import changes_frame, deployments_frame, incidents_frame
from hivepulse.sources.git.graph import CommitGraph
from hivepulse.sources.git.launch import Launched
from hivepulse.sources.git.launch import read_git as read_git
from hivepulse.sources.git.options import Compiled, GitOptions
from hivepulse.sources.git.repo import RepoInfo
from hivepulse.sources.git.signals import EnvResult, hotfix_commits, revert_incidents, rework_kinds
from hivepulse.textsafe import terminal

UNSHALLOW = "git fetch --unshallow --tags"
"""The command that completes a shallow clone (history and tags)."""


def events_from(run: Launched, comp: Compiled, options: GitOptions, graph: CommitGraph | None = None) -> EventSet:
    """Collect the git processes of ``run`` (the graph may be collected already) and build the events (see the
    module docstring)."""
    repo = run.repo
    notes: list[str] = list(comp.notes)
    if graph is None:
        graph = gitgraph.collect_graph(run.log, comp.exclusion)
    refs = gitgraph.parse_refs(repo.path, run.refs.output())
    in_paths: np.ndarray | None = None
    if run.paths is not None:
        in_paths = np.zeros(len(graph), dtype=bool)
        hits = [graph.index.get(sha) for sha in run.paths.output().split()]
        in_paths[[i for i in hits if i is not None]] = True

    deps = Deployments()
    n_tags, sample_tags = 0, list[str]()
    if comp.tags:
        n_tags, sample_tags = tag_deployments(graph, refs, comp, options, deps, notes)
    if comp.branches:
        branch_deployments(graph, refs, comp, deps)
    if options.deployments_file:
        file_deployments(graph, comp, options, deps, notes)
    if len(set(deps.ids)) != len(deps.ids):
        dup = next(d for d in deps.ids if deps.ids.count(d) > 1)
        raise InputError("two deployment sources produced the same deployment_id", value=dup)
    if not len(deps):
        _no_deployments(repo, graph, comp, options, n_tags, sample_tags, notes)

    generation_cache: list[np.ndarray] = []

    def generation() -> np.ndarray:
        if not generation_cache:
            generation_cache.append(walk.generations(graph))
        return generation_cache[0]

    if comp.tags and len(deps) > 1:
        deps = merge_same_commit_tags(deps, env_orders(graph, deps, generation), notes)
    return _events(repo, graph, deps, comp, options, generation, in_paths, notes)


def _no_deployments(repo: RepoInfo, graph: CommitGraph, comp: Compiled, options: GitOptions, n_tags: int,
                    sample_tags: list[str], notes: list[str]) -> None:  # fmt: skip
    """Raise the "no deployment" error (naming a shallow clone and its fix), or note it with ``allow_empty``."""
    what = []
    if comp.tags:
        shown = ", ".join(sample_tags) if sample_tags else "none"
        what.append(f"no tag matched {describe_tag_rules(options)} ({n_tags} tags in the repository: {shown})")
    if options.deployments_file:
        what.append("the deployments file lists no deployment")
    message = terminal("; ".join(what) or "no deployment found")
    if len(graph) == 0:
        message = "the repository has no commits"
    expected = ("--tag-pattern, --tag-regex, --deploy-branch or --deployments-file matching this repository "
                "(or --allow-no-deployments)")  # fmt: skip
    if repo.shallow:
        message = (f"a shallow clone (history cut at {len(repo.shallow_commits)} commit(s), {n_tags} tag(s) "
                   f"fetched): {message}")  # fmt: skip
        expected = f"the full history and its tags: run {UNSHALLOW} in the clone (or {expected})"
    if not options.allow_empty:
        raise InputError(f"{terminal(repo.path)}: {message}", expected=expected)
    notes.append(f"No deployment found: {message}.")


def _events(repo: RepoInfo, graph: CommitGraph, deps: Deployments, comp: Compiled, options: GitOptions,
            generation: Callable[[], np.ndarray], in_paths: np.ndarray | None, notes: list[str]) -> EventSet:  # fmt: skip
    """Decide which commits count, claim the changes of every environment, find rollbacks and signals, and
    build the frames."""
    n = len(graph)
    types, breaking, prs = graph.types, graph.breaking, graph.pr_numbers
    is_merge = graph.n_parents >= 2
    times = graph.author_time if options.author_date else graph.committer_time
    finished = np.asarray(deps.finished, dtype=np.int64)
    commit = np.asarray(deps.commit, dtype=np.int64)
    success = np.asarray([s == "success" for s in deps.status], dtype=bool)

    # which commits count: in the path scope, not imported history, not a bot / release tool / excluded commit
    scope = np.ones(n, dtype=bool) if in_paths is None else in_paths
    base = (~is_merge | options.include_merges) & scope
    imported = np.zeros(n, dtype=bool)
    if not options.include_imported and len(deps):
        found = walk.imported_history(graph, commit[success].tolist() or commit.tolist())
        imported = found.mask
        if (base & imported).any():
            notes.append(
                f"{int((base & imported).sum())} commit(s) of imported history are not changes: they reach the "
                f"deployments only through {found.merges} merge(s) of another root's history ({found.roots} "
                "root(s): git subtree add, --allow-unrelated-histories); --include-imported counts them."
            )
    excluded = graph.excluded > 0 if len(graph.excluded) else np.zeros(n, dtype=bool)
    if excluded.any():
        kept = base & ~imported
        counts = np.bincount(graph.excluded[kept], minlength=len(graph.exclusion_names) + 1)
        note = exclusion_note(dict(zip(graph.exclusion_names, counts[1:].tolist(), strict=True)),
                              bots_included=options.include_bots)  # fmt: skip
        if note:
            notes.append(note)
    counted = base & ~imported & ~excluded
    carries = scope & ~imported  # commits that may carry revert and hotfix signals
    if in_paths is not None:
        notes.append(f"Path scope ({', '.join(options.paths)}): {int((scope & ~is_merge).sum())} of "
                     f"{int((~is_merge).sum())} commit(s) touch the paths; only they are changes and carry revert "
                     "and hotfix signals.")  # fmt: skip

    n_deps = len(deps)
    kind = np.asarray([k or "planned" for k in deps.kind], dtype=object)
    rollback_of = np.full(n_deps, None, dtype=object)
    rollback_of[:] = deps.rollback_of  # declared by the deployments file; the rule fills the others
    first = np.zeros(n_deps, dtype=bool)
    env_names = sorted(set(deps.envs), key=lambda e: (e != comp.default_env, e))
    results: list[EnvResult] = []
    shallow_cut = [graph.index[s.encode()] for s in repo.shallow_commits if s.encode() in graph.index]
    at_risk_changes, at_risk_deps = 0, 0
    nothing_new: list[str] = []

    orders = env_orders(graph, deps, generation)
    for env in env_names:
        order = orders[env]
        starts = [int(commit[r]) if success[r] else -1 for r in order]
        owner_pos = walk.assign_owners(graph, starts)
        owner = np.where(owner_pos >= 0, order[np.maximum(owner_pos, 0)], -1) if len(order) else owner_pos
        results.append(EnvResult(env, order, owner))
        ok = [int(r) for r in order if success[r]]
        if ok:
            first[ok[0]] = True
        claimed = np.bincount(owner[owner >= 0], minlength=n_deps)
        if options.rollback_signal:
            _rollbacks(graph, deps, ok, commit, rollback_of, kind, generation)
        nothing_new += [deps.ids[r] for r in ok[1:] if not claimed[r] and rollback_of[r] is None]
        if shallow_cut:
            hit = {int(owner[c]) for c in shallow_cut if owner[c] >= 0}
            if hit:
                at_risk_deps += len(hit)
                at_risk_changes += int((np.isin(owner, list(hit)) & counted).sum())
    if nothing_new:
        notes.append(
            f"{len(nothing_new)} deployment(s) ship no new commit: everything they reach an earlier deployment of "
            "their environment shipped (a release on an older line after a newer one, a re-tag, a re-deployment); "
            "they count as deployments: " + ", ".join(nothing_new[:8]) + (" ..." if len(nothing_new) > 8 else "")
        )  # fmt: skip

    incidents, revert_fixes = revert_incidents(graph, results, deps, finished, times, comp, options, carries, notes)

    def merge_in_scope(i: int) -> bool:
        if in_paths is None:
            return True
        ptr, idx = graph.parent_ptr, graph.parent_idx
        side = walk.only_reachable(graph, generation(), idx[ptr[i] + 1 : ptr[i + 1]].tolist(), [int(idx[ptr[i]])])
        return bool(np.any(in_paths[side] & ~is_merge[side])) if side else False

    hot = hotfix_commits(graph, comp, options, carries, merge_in_scope)
    rework_kinds(graph, results, deps, comp, options, finished, success, kind, rollback_of, incidents,
                 revert_fixes, counted, hot)  # fmt: skip
    notes.extend(_graph_notes(repo, graph, at_risk_changes, at_risk_deps))
    deployments = deployments_frame(deps, finished, kind, rollback_of, first, graph, commit)
    changes = changes_frame(graph, results, deps, comp, times, types, breaking, prs, counted)
    return event_set(deployments, changes, incidents_frame(incidents), source=f"git:{repo.path}", notes=notes)


def _rollbacks(graph: CommitGraph, deps: Deployments, ok: list[int], commit: np.ndarray, rollback_of: np.ndarray,
               kind: np.ndarray, generation: Callable[[], np.ndarray]) -> None:  # fmt: skip
    """The rollback rule, for the successful deployments ``ok`` of one environment in deployment order.

    D rolls back P (the successful deployment before it) when D re-deploys the commit of an earlier successful
    deployment of the environment, that commit is not P's, and it is an ancestor of P's commit (the environment
    moves back along its line). A release of new commits on an older line is never a rollback: its commit was
    never deployed. Ancestry comes from the in-memory graph (:func:`walk.reaches`)."""
    deployed: set[int] = set()
    prev = -1
    for r in ok:
        c = int(commit[r])
        if prev >= 0 and rollback_of[r] is None and c in deployed and c != int(commit[prev]):
            if walk.reaches(graph, generation(), int(commit[prev]), c):
                rollback_of[r] = deps.ids[prev]
                kind[r] = "unplanned"
        deployed.add(c)
        prev = r


def _graph_notes(repo: RepoInfo, graph: CommitGraph, at_risk_changes: int, at_risk_deps: int) -> list[str]:
    notes = []
    if repo.shallow:
        notes.append(
            f"Shallow clone: history is cut at {len(repo.shallow_commits)} commit(s); {at_risk_changes} change(s) "
            f"in {at_risk_deps} deployment(s) reach the cut, so their deployment and lead time are at risk "
            f"(run {UNSHALLOW} in the clone for the full history and its tags)."
        )
    if graph.bad_dates:
        notes.append(
            f"{graph.bad_dates} commit(s) carry a date git cannot read (before 1970 or malformed); their other "
            "date (committer or author) was used, or 1970-01-01 when neither is readable."
        )
    if graph.missing_parents and not repo.shallow:
        notes.append(
            f"{graph.missing_parents} parent commit(s) are missing from the repository (incomplete clone?)"
        )
    return notes

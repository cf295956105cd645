"""``read_git``: a clone -> :class:`~hivepulse.model.EventSet` (rules: ``docs/git-source.md``).

One ``git log`` and one ``git for-each-ref`` (:mod:`.graph`), deployments from tags, branches and the
deployments file (:mod:`.deployments`, :mod:`.deployfile`), changes claimed per environment (:mod:`.walk`),
rollbacks, then the revert and kind signals (:mod:`.signals`), and the frames (:mod:`.frames`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
from hivepulse.sources.git.frames import changes_frame, deployments_frame, incidents_frame
from hivepulse.sources.git.graph import CommitGraph
from hivepulse.sources.git.options import Compiled, GitOptions, compile_options
from hivepulse.sources.git.repo import RepoInfo, open_repo
from hivepulse.sources.git.signals import EnvResult, revert_incidents, rework_kinds
from hivepulse.textsafe import terminal


def read_git(path: str | os.PathLike[str], options: GitOptions = GitOptions()) -> EventSet:  # noqa: B008
    """Read a clone (work tree or bare) into an :class:`EventSet` (rules: ``docs/git-source.md``).

    Raises :class:`SourceError` (exit 3) when ``path`` is not a readable repository and :class:`InputError`
    (exit 2) for bad options, a bad deployments file, or when no deployment matches (unless
    ``options.allow_empty``). Data-quality findings (shallow clone, skipped tags, ...) go to ``notes``.
    """
    comp = compile_options(options)
    repo = open_repo(path)
    notes: list[str] = list(comp.notes)
    with ThreadPoolExecutor(max_workers=1) as pool:  # refs are read while git log streams the graph
        refs_future = pool.submit(gitgraph.read_refs, repo.path)
        graph = gitgraph.read_graph(repo.path)
        refs = refs_future.result()

    deps = Deployments()
    n_tags, sample_tags = 0, list[str]()
    if comp.tags:
        n_tags, sample_tags = tag_deployments(graph, refs, comp, options, deps, notes)
    if comp.branches:
        branch_deployments(graph, refs, comp, deps)
    if options.deployments_file:
        file_deployments(graph, options, deps, notes)
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
    return _events(repo, graph, deps, comp, options, generation, notes)


def _no_deployments(repo: RepoInfo, graph: CommitGraph, comp: Compiled, options: GitOptions, n_tags: int,
                    sample_tags: list[str], notes: list[str]) -> None:  # fmt: skip
    """Raise the "no deployment" error, or note it with ``allow_empty``."""
    what = []
    if comp.tags:
        shown = ", ".join(sample_tags) if sample_tags else "none"
        what.append(f"no tag matched {describe_tag_rules(options)} ({n_tags} tags in the repository: {shown})")
    if options.deployments_file:
        what.append("the deployments file lists no deployment")
    message = terminal("; ".join(what) or "no deployment found")
    if len(graph) == 0:
        message = "the repository has no commits"
    if not options.allow_empty:
        raise InputError(f"{terminal(repo.path)}: {message}", expected="--tag-pattern, --tag-regex, --deploy-branch "
                         "or --deployments-file matching this repository (or --allow-no-deployments)")  # fmt: skip
    notes.append(f"No deployment found: {message}.")


def _events(repo: RepoInfo, graph: CommitGraph, deps: Deployments, comp: Compiled, options: GitOptions,
            generation: Callable[[], np.ndarray], notes: list[str]) -> EventSet:  # fmt: skip
    """Claim the changes of every environment, find rollbacks and signals, and build the frames."""
    types, breaking, prs = graph.types, graph.breaking, graph.pr_numbers
    is_merge = graph.n_parents >= 2
    counted = ~is_merge | options.include_merges
    times = graph.author_time if options.author_date else graph.committer_time

    finished = np.asarray(deps.finished, dtype=np.int64)
    commit = np.asarray(deps.commit, dtype=np.int64)
    success = np.asarray([s == "success" for s in deps.status], dtype=bool)
    n_deps = len(deps)
    kind = np.asarray([k or "planned" for k in deps.kind], dtype=object)
    rollback_of = np.full(n_deps, None, dtype=object)
    rollback_of[:] = deps.rollback_of  # declared by the deployments file; the rule fills the others
    first = np.zeros(n_deps, dtype=bool)
    env_names = sorted(set(deps.envs), key=lambda e: (e != options.default_environment, e))
    results: list[EnvResult] = []
    shallow_cut = [graph.index[s.encode()] for s in repo.shallow_commits if s.encode() in graph.index]
    at_risk_changes, at_risk_deps = 0, 0

    orders = env_orders(graph, deps, generation)
    for env in env_names:
        order = orders[env]
        starts = [int(commit[r]) if success[r] else -1 for r in order]
        owner_pos = walk.assign_owners(graph, starts)
        owner = np.where(owner_pos >= 0, order[np.maximum(owner_pos, 0)], -1) if len(order) else owner_pos
        results.append(EnvResult(env, order, owner))
        ok = [r for r in order if success[r]]
        if ok:
            first[ok[0]] = True
        # rollbacks: a deployment whose commit was already claimed, is not the previous one's commit, and is an
        # ancestor of it re-points the environment at an older version
        if options.rollback_signal:
            prev = -1
            for r in ok:
                c = int(commit[r])
                if prev >= 0 and rollback_of[r] is None and owner[c] != r and c != int(commit[prev]):
                    if walk.is_ancestor(repo.path, graph.shas[c], graph.shas[int(commit[prev])]):
                        rollback_of[r] = deps.ids[prev]
                        kind[r] = "unplanned"
                prev = r
        if shallow_cut:
            hit = {int(owner[c]) for c in shallow_cut if owner[c] >= 0}
            if hit:
                at_risk_deps += len(hit)
                at_risk_changes += int((np.isin(owner, list(hit)) & counted).sum())

    incidents, revert_fixes = revert_incidents(graph, results, deps, finished, times, options, notes)
    rework_kinds(graph, results, deps, comp, options, finished, success, kind, rollback_of, incidents,
                 revert_fixes, counted)  # fmt: skip
    notes.extend(_graph_notes(repo, graph, at_risk_changes, at_risk_deps))
    deployments = deployments_frame(deps, finished, kind, rollback_of, first, graph, commit)
    changes = changes_frame(graph, results, deps, options, times, types, breaking, prs, counted)
    return event_set(deployments, changes, incidents_frame(incidents), source=f"git:{repo.path}", notes=notes)


def _graph_notes(repo: RepoInfo, graph: CommitGraph, at_risk_changes: int, at_risk_deps: int) -> list[str]:
    notes = []
    if repo.shallow:
        notes.append(
            f"Shallow clone: history is cut at {len(repo.shallow_commits)} commit(s); {at_risk_changes} change(s) "
            f"in {at_risk_deps} deployment(s) reach the cut, so their deployment and lead time are at risk "
            "(run git fetch --unshallow for full history)."
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

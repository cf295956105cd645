"""Deployments of the git source: from tags, deploy branches (and, in :mod:`.deployfile`, a deployments
file) into one :class:`Deployments` table under construction; the per-environment deployment order; tags on
one commit merged into one deployment (rules: ``docs/git-source.md``, "Deployments")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hivepulse.errors import InputError, SourceError
from hivepulse.sources.git import walk
from hivepulse.sources.git.graph import CommitGraph, Refs
from hivepulse.sources.git.options import Compiled, GitOptions, normalize_environment
from hivepulse.sources.git.tagrules import classify, left_out_note


@dataclass
class Deployments:
    """Deployment rows under construction (parallel lists)."""

    ids: list[str] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)  # epoch seconds (what the rules compare)
    commit: list[int] = field(default_factory=list)  # graph index
    status: list[str] = field(default_factory=list)
    version: list[str | None] = field(default_factory=list)
    started: list[pd.Timestamp | None] = field(default_factory=list)
    kind: list[str | None] = field(default_factory=list)
    hotfix_name: list[bool] = field(default_factory=list)
    order_key: list[int] = field(default_factory=list)  # epoch seconds that order the environment
    source: list[str] = field(default_factory=list)  # "tag", "branch" or "file"
    finished_exact: list[pd.Timestamp | None] = field(default_factory=list)
    """The deployments file's ``finished_at`` to the nanosecond (None: ``finished`` is exact)."""
    rollback_of: list[str | None] = field(default_factory=list)
    """``rollback_of`` given by the deployments file (None: the rollback rule decides)."""

    def add(self, did: str, env: str, finished: int, commit: int, *, status: str = "success",
            version: str | None = None, started: pd.Timestamp | None = None, kind: str | None = None,
            hotfix: bool = False, order_key: int | None = None, source: str = "tag",
            finished_exact: pd.Timestamp | None = None, rollback_of: str | None = None) -> None:  # fmt: skip
        self.order_key.append(finished if order_key is None else order_key)
        self.source.append(source)
        self.ids.append(did)
        self.envs.append(env)
        self.finished.append(finished)
        self.commit.append(commit)
        self.status.append(status)
        self.version.append(version)
        self.started.append(started)
        self.kind.append(kind)
        self.hotfix_name.append(hotfix)
        self.finished_exact.append(finished_exact)
        self.rollback_of.append(rollback_of)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: list[int]) -> Deployments:
        """The deployments at ``rows`` (in that order)."""
        out = Deployments()
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            setattr(out, name, [values[r] for r in rows])
        return out


def tag_deployments(graph: CommitGraph, refs: Refs, comp: Compiled, options: GitOptions,
                     deps: Deployments, notes: list[str]) -> tuple[int, list[str]]:  # fmt: skip
    """Add the tags matching a tag rule; pre-releases (unless ``include_prereleases``) and branch-like tags are
    left out of globs and regexes too, and a note names the version-like tags that are no deployment."""
    skipped_type: list[str] = []
    no_tagger: list[str] = []
    not_in_graph: list[str] = []
    seen_names: list[str] = []
    prereleases: list[str] = []
    branch_like: list[str] = []
    others: list[str] = []
    for tag in sorted(refs.tags, key=lambda t: t.name):
        seen_names.append(tag.name)
        env: str | None = None
        for m in comp.tags:
            hit = m.regex.fullmatch(tag.name)
            if hit:
                env = m.environment or hit.groupdict().get("env") or comp.default_env
                break
        kind = classify(tag.name)
        if env is None:  # the default rule names the near misses: version-like tags it does not accept
            if comp.default_rule and kind is not None:
                {"prerelease": prereleases, "branch": branch_like, "final": others}[kind].append(tag.name)
            continue
        if kind == "branch" or (kind == "prerelease" and not options.include_prereleases):
            (branch_like if kind == "branch" else prereleases).append(tag.name)
            continue
        if tag.target_type != "commit":
            skipped_type.append(f"{tag.name} ({tag.target_type})")
            continue
        c = graph.index.get(tag.target.encode("ascii"))
        if c is None:
            not_in_graph.append(tag.name)
            continue
        finished = tag.tagger_time
        if finished is None:
            finished = int(graph.committer_time[c])
            if tag.annotated:
                no_tagger.append(tag.name)
        hot = bool(options.hotfix_signal and comp.hotfix.search(tag.name))
        deps.add(tag.name, normalize_environment(env), finished, c, version=tag.name, hotfix=hot)
    note = left_out_note(prereleases, branch_like, others, include_prereleases=options.include_prereleases)
    if note:
        notes.append(note)
    if skipped_type:
        notes.append(
            f"{len(skipped_type)} matching tag(s) point at a tree or blob, not a commit, and were skipped: "
            + ", ".join(skipped_type[:5])
            + (" ..." if len(skipped_type) > 5 else "")
        )
    if no_tagger:
        notes.append(
            f"{len(no_tagger)} annotated tag(s) have no tagger date; the tagged commit's committer date was used: "
            + ", ".join(no_tagger[:5])
            + (" ..." if len(no_tagger) > 5 else "")
        )
    if not_in_graph:
        notes.append(
            f"{len(not_in_graph)} matching tag(s) point at commits missing from the clone and were skipped"
        )
    return len(seen_names), seen_names[:5]


def branch_deployments(graph: CommitGraph, refs: Refs, comp: Compiled, deps: Deployments) -> None:
    for name, env in comp.branches:
        tip = refs.branches.get(name) or refs.branches.get(f"refs/heads/{name}")
        if tip is None:
            tip = next((sha for ref, sha in refs.branches.items() if ref.endswith("/" + name)), None)
        if tip is None:
            raise InputError("--deploy-branch: no such branch in the repository", value=name)
        c = graph.index.get(tip.encode("ascii"))
        if c is None:  # pragma: no cover - every branch tip is in the graph
            raise SourceError(f"branch {name!r} points at a commit missing from the graph")
        latest: int | None = None
        for i in reversed(walk.first_parent_chain(graph, c)):
            sha = graph.shas[i].decode("ascii")
            ct = int(graph.committer_time[i])
            latest = ct if latest is None else max(latest, ct)  # the branch order wins over skewed dates
            deps.add(f"{name}@{sha[:12]}", env, ct, i, version=sha[:12], order_key=latest, source="branch")



def env_orders(graph: CommitGraph, deps: Deployments, generation: Callable[[], np.ndarray]
                ) -> dict[str, np.ndarray]:  # fmt: skip
    """Per environment, the deployment row numbers in deployment order: order key (finish time; a deploy
    branch's running latest date), then ancestors first among ties (generation number, computed only when two
    deployments of different commits share a second), then the commit's committer date, then the id."""
    commit = np.asarray(deps.commit, dtype=np.int64)
    envs = np.asarray(deps.envs, dtype=object)
    order_key = np.asarray(deps.order_key, dtype=np.int64)
    ct_of_commit = graph.committer_time[commit] if len(deps) else np.zeros(0, np.int64)
    env_names = sorted(set(deps.envs))
    gen = np.zeros(len(deps), dtype=np.int64)
    if any(_has_ties(order_key[envs == env], commit[envs == env]) for env in env_names):
        gen = generation()[commit]  # same-second deployments: ancestors first
    id_text = np.asarray(deps.ids, dtype=object).astype(str)
    out: dict[str, np.ndarray] = {}
    for env in env_names:
        rows = np.flatnonzero(envs == env)
        out[env] = rows[np.lexsort((id_text[rows], ct_of_commit[rows], gen[rows], order_key[rows]))]
    return out


def merge_same_commit_tags(
    deps: Deployments, orders: dict[str, np.ndarray], notes: list[str]
) -> Deployments:
    """One deployment per run of tags on the same commit, consecutive in an environment's order.

    ``v1.2.3`` and ``1.2.3`` (or an alias ``v1.2``) on one commit are one deployment: the first tag in the
    order (the earliest; ties by name) keeps its id, version and finish time; the others are dropped and named
    in a note. A hotfix name on any of them makes the deployment a hotfix. A tag on a commit deployed earlier
    with another deployment in between is not merged (a rollback, or a re-deployment)."""
    drop: set[int] = set()
    merged: list[str] = []
    for order in orders.values():
        prev = head = -1
        for r in order.tolist():
            if (prev >= 0 and deps.source[r] == "tag" and deps.source[prev] == "tag"
                    and deps.commit[r] == deps.commit[prev]):  # fmt: skip
                drop.add(r)
                deps.hotfix_name[head] = deps.hotfix_name[head] or deps.hotfix_name[r]
                merged.append(f"{deps.ids[r]} -> {deps.ids[head]}")
            else:
                head = r
            prev = r
    if not drop:
        return deps
    notes.append(
        f"{len(drop)} tag(s) name the same commit as the tag deployed just before them in their environment and "
        "were merged into it (one deployment, finished at the earliest tag): " + ", ".join(merged[:10])
        + (" ..." if len(merged) > 10 else "")
    )  # fmt: skip
    return deps.subset([r for r in range(len(deps)) if r not in drop])


def _has_ties(keys: np.ndarray, commits: np.ndarray) -> bool:
    """True when two deployments of different commits share an order key (finished in the same second)."""
    if len(keys) < 2:
        return False
    pairs = np.unique(np.stack([keys, commits]), axis=1)
    return len(np.unique(pairs[0])) < pairs.shape[1]


def describe_tag_rules(options: GitOptions) -> str:
    rules = [*(f"glob {g!r}" for g in options.tag_patterns), *(f"regex {r!r}" for r in options.tag_regexes)]
    if not rules:
        rules = ["the default release rule (v1.2, 1.2.3, v1.2.3.4, PEP 440 finals)"]
    return " or ".join(rules)


"""From stored source records to the event model of one scope (a repository, or an Argo CD app on its own).

Pure: no I/O. The pull layer asks :func:`plan_pairs` which comparisons it needs, fetches the missing ones,
then :func:`derive` computes every deployment, change, incident and pull-request row of the scope again
from all records (so a pull is idempotent: the same records always give the same rows). Rules, in the order
applied, are in ``docs/pull.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hivepulse.project import RepositorySource
from hivepulse.sources.argocd import FAILED_PHASES, HistoryEntry, Operation
from hivepulse.sources.github.payloads import HOTFIX
from hivepulse.sources.github.records import (
    Commit,
    Comparison,
    Deployment,
    Issue,
    PullCommit,
    PullRequest,
    Release,
    Run,
)
from hivepulse.store.records import ScopeRows

PRODUCTION = "production"
RUN_SUCCESS = ("success",)
RUN_FAILURE = ("failure", "timed_out", "startup_failure")


@dataclass
class RepoData:
    """Every stored (and newly pulled) source record of one scope."""

    repository: str | None
    deployments: dict[int, Deployment] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    runs: dict[tuple[int, int], Run] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    pull_commits: dict[tuple[int, str], PullCommit] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    compares: dict[tuple[str, str], Comparison] = field(default_factory=dict)
    argo_history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    argo_operations: dict[str, list[Operation]] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    """A deployment attempt from whichever source counts as deployments."""

    deployment_id: str
    environment: str
    status: str
    finished_at: int
    started_at: int | None
    commit_sha: str | None
    version: str | None
    source: str
    source_id: str
    hotfix: bool = False
    argo_app: str | None = None


def environment_name(name: str, production: str) -> str:
    """The model's environment: the chosen production environment becomes ``production``; another one that
    is literally called ``production`` becomes ``production-unselected``; others keep their names."""
    if name == production:
        return PRODUCTION
    return "production-unselected" if name == PRODUCTION else name


def _iso(value: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value // 1_000_000_000))


# ---------------------------------------------------------------------------------------------- attempts


def attempts(cfg: RepositorySource, data: RepoData, notes: list[str]) -> list[Attempt]:
    """The deployment attempts of ``cfg.deploy`` (``deployments``, ``releases``, ``workflow``, ``argocd``)."""
    repo = data.repository or ""
    out: list[Attempt] = []
    if cfg.deploy == "deployments":
        pending = 0
        for d in data.deployments.values():
            env = environment_name(d.environment, cfg.production_environment)
            if d.transient or (cfg.environments and env not in cfg.environments and d.environment
                               not in cfg.environments):
                continue
            if d.state not in ("success", "failure", "error") or d.finished_at is None:
                pending += 1
                continue
            out.append(Attempt(f"{repo}:deployment:{d.id}", env, "success" if d.state == "success" else "failure",
                               d.finished_at, d.started_at, d.sha, d.ref or None, "github-deployments", str(d.id)))
        if pending:
            notes.append(f"{repo}: {pending} deployment(s) have no success, failure or error status yet "
                         "(queued, in progress or only inactive) and are not counted")
    elif cfg.deploy == "releases":
        no_tag = 0
        for r in data.releases.values():
            if r.draft or r.published_at is None or (r.prerelease and not cfg.include_prereleases):
                continue
            sha = data.tags.get(r.tag)
            no_tag += sha is None
            out.append(Attempt(f"{repo}:release:{r.tag}", PRODUCTION, "success", r.published_at, None, sha, r.tag,
                               "github-releases", str(r.id), hotfix=bool(HOTFIX.search(r.tag))))
        if no_tag:
            notes.append(f"{repo}: {no_tag} release(s) name a tag the repository does not list; they ship no "
                         "known changes")
    elif cfg.deploy == "workflow":
        for run in data.runs.values():
            if run.status != "completed" or (cfg.branch and run.head_branch != cfg.branch):
                continue
            if run.conclusion in RUN_SUCCESS:
                status = "success"
            elif run.conclusion in RUN_FAILURE:
                status = "failure"
            else:  # cancelled, skipped, neutral, action_required, stale: not a deployment attempt
                continue
            suffix = f".{run.attempt}" if run.attempt > 1 else ""
            out.append(Attempt(f"{repo}:run:{run.id}{suffix}", cfg.workflow_environment, status, run.updated_at,
                               run.run_started_at, run.head_sha, f"run {run.run_number}{suffix}",
                               "github-workflow", f"{run.id}{suffix}"))
    for app in cfg.argocd_apps if cfg.deploy == "argocd" else ():
        out.extend(argo_attempts(app.name, app.environment, data))
    return out


def argo_attempts(app: str, environment: str, data: RepoData) -> list[Attempt]:
    """Every history entry of ``app`` ever seen is a successful deployment; a finished operation in phase
    Failed or Error is a failed attempt."""
    out: list[Attempt] = []
    for h in data.argo_history.get(app, []):
        out.append(Attempt(f"argocd:{app}:{h.history_id}@{_iso(h.deployed_at)}", environment, "success",
                           h.deployed_at, h.deploy_started_at, h.revision or None,
                           h.revision[:12] if h.revision else None, "argocd", str(h.history_id), argo_app=app))
    for op in data.argo_operations.get(app, []):
        if op.phase in FAILED_PHASES:
            out.append(Attempt(f"argocd:{app}:op@{_iso(op.started_at)}", environment, "failure",
                               op.finished_at or op.started_at, op.started_at, op.revision,
                               op.revision[:12] if op.revision else None, "argocd", f"op@{op.started_at}",
                               argo_app=app))
    return out


def _by_env(items: Iterable[Attempt]) -> dict[str, list[Attempt]]:
    out: dict[str, list[Attempt]] = {}
    for a in sorted(items, key=lambda a: (a.finished_at, a.deployment_id)):
        out.setdefault(a.environment, []).append(a)
    return out


def _argo_rollback(a: Attempt, prev: Attempt, revisions: dict[str, set[str]]) -> bool:
    """Argo CD: an entry re-deploying a revision an earlier entry of the app deployed (and not the revision
    deployed just before it) is a rollback."""
    return (a.argo_app is not None and a.commit_sha is not None and a.commit_sha != prev.commit_sha
            and a.commit_sha in revisions.get(a.argo_app, set()))


def plan_pairs(items: list[Attempt]) -> list[tuple[str, str]]:
    """The comparisons ``(previous successful sha, sha)`` the change sets need, in deployment order."""
    pairs: list[tuple[str, str]] = []
    for env_items in _by_env(items).values():
        prev: Attempt | None = None
        revisions: dict[str, set[str]] = {}
        for a in env_items:
            if a.status != "success":
                continue
            if (prev is not None and prev.commit_sha and a.commit_sha and a.commit_sha != prev.commit_sha
                    and not _argo_rollback(a, prev, revisions)):
                pairs.append((prev.commit_sha, a.commit_sha))
            if a.argo_app and a.commit_sha:
                revisions.setdefault(a.argo_app, set()).add(a.commit_sha)
            prev = a
    return list(dict.fromkeys(pairs))


# ---------------------------------------------------------------------------------------------- derive


class _PrIndex:
    """sha -> pull request: by merge commit, by the pull request's own commits, by rebase fingerprint."""

    def __init__(self, data: RepoData) -> None:
        self.by_sha: dict[str, PullRequest] = {}
        self.by_fp: dict[str, PullRequest | None] = {}
        for pc in data.pull_commits.values():
            pr = data.pulls.get(pc.number)
            if pr is None:
                continue
            self.by_sha.setdefault(pc.sha, pr)
            self.by_fp[pc.fingerprint] = pr if self.by_fp.get(pc.fingerprint, pr) is pr else None
        for pr in data.pulls.values():
            if pr.merge_commit_sha:
                self.by_sha[pr.merge_commit_sha] = pr

    def find(self, commit: Commit) -> PullRequest | None:
        return self.by_sha.get(commit.sha) or self.by_fp.get(commit.fingerprint)


def derive(cfg: RepositorySource, data: RepoData, items: list[Attempt], notes: list[str]) -> ScopeRows:
    """All model rows of the scope (the repository, or ``argocd:<app>`` for an application alone), as the store
    saves them. ``items`` come from :func:`attempts`; comparisons from ``data``."""
    repo = data.repository
    prefix = repo or (f"argocd:{cfg.argocd_apps[0].name}" if cfg.argocd_apps else "")
    out = ScopeRows(prefix, repo, notes=notes)
    prs = _PrIndex(data)
    dep_rows: dict[str, list[object]] = {}
    claims: dict[str, dict[str, Attempt]] = {}
    order: dict[str, list[Attempt]] = {}
    missing = 0
    for env, env_items in _by_env(items).items():
        claimed = claims.setdefault(env, {})
        prev: Attempt | None = None
        revisions: dict[str, set[str]] = {}
        for a in env_items:
            row: list[object] = [a.deployment_id, env, a.finished_at, a.status, a.started_at, a.commit_sha,
                                 a.version, "unplanned" if a.hotfix else "planned", None, 0]
            dep_rows[a.deployment_id] = row
            out.sources[a.deployment_id] = (a.source, a.source_id)
            if a.status != "success":
                continue
            order.setdefault(env, []).append(a)
            if prev is None:
                row[9] = 1
                if a.commit_sha:
                    claimed.setdefault(a.commit_sha, a)
                notes.append(f"{prefix}: the first {env} deployment ({a.deployment_id}, {_iso(a.finished_at)}) "
                             "ships history that is not read; its changes are unknown (and excluded from lead "
                             "time by default)")
            elif not a.commit_sha or not prev.commit_sha or a.commit_sha == prev.commit_sha:
                pass  # a re-deployment of the same commit (or an unknown one) ships nothing new
            elif _argo_rollback(a, prev, revisions):
                row[7], row[8] = "unplanned", prev.deployment_id
            else:
                cmp = data.compares.get((prev.commit_sha, a.commit_sha))
                if cmp is None or cmp.status == "missing":
                    missing += repo is not None
                elif cmp.status == "behind":
                    row[7], row[8] = "unplanned", prev.deployment_id
                else:
                    for sha in cmp.shas:
                        if sha in claimed:
                            continue
                        claimed[sha] = a
                        commit = data.commits.get(sha)
                        if commit is None or commit.parents >= 2:
                            continue  # merge commits are walked, not changes (as in the git source)
                        out.changes.append(_change(repo or "", env, commit, a, prs.find(commit)))
            if a.argo_app and a.commit_sha:
                revisions.setdefault(a.argo_app, set()).add(a.commit_sha)
            prev = a
    if missing:
        notes.append(f"{prefix}: {missing} comparison(s) between deployed revisions could not be made (a commit "
                     "GitHub does not know after a force-push, or a revision that is not a commit SHA); those "
                     "deployments' changes are unknown")
    prod_claims = claims.get(PRODUCTION, {})
    _hotfix_kinds(dep_rows, out.changes, data)
    index = _commits_by_pr(data)
    out.incidents.extend(_revert_incidents(repo or "", data, index, prod_claims, order.get(PRODUCTION, []),
                                           dep_rows))
    out.incidents.extend(_issue_incidents(repo or "", data, prod_claims, dep_rows, items, notes))
    out.changes.extend(_undeployed(repo or "", data, index, prod_claims, order.get(PRODUCTION, [])))
    out.pull_requests.extend(_pr_rows(repo or "", data, index, prod_claims))
    out.deployments = [tuple(r) for r in dep_rows.values()]
    return out


def _change(repo: str, env: str, commit: Commit, a: Attempt, pr: PullRequest | None) -> tuple[object, ...]:
    change_id = f"{repo}:{commit.sha}" if env == PRODUCTION else f"{repo}:{commit.sha}@{env}"
    return (change_id, commit.committed_at, a.deployment_id, commit.authored_at,
            pr.number if pr else None, pr.created_at if pr else None, pr.first_review_at if pr else None,
            pr.merged_at if pr else None, commit.change_type)


def _hotfix_kinds(dep_rows: dict[str, list[object]], changes: list[tuple[object, ...]], data: RepoData) -> None:
    """A successful deployment shipping a change of a hotfix pull request is unplanned (rework)."""
    hot = {pr.number for pr in data.pulls.values() if pr.hotfix}
    if not hot:
        return
    for ch in changes:
        if ch[4] in hot:
            row = dep_rows.get(str(ch[2]))
            if row is not None:
                row[7] = "unplanned"


Index = dict[int, list[str]]
"""Pull request number -> the SHAs of its commits."""


def _commits_by_pr(data: RepoData) -> Index:
    index: Index = {}
    for (number, sha) in data.pull_commits:
        index.setdefault(number, []).append(sha)
    return index


def _claim_of(pr: PullRequest, index: Index, claims: dict[str, Attempt]) -> Attempt | None:
    """The first production deployment that shipped the pull request's merge commit (or one of its commits)."""
    if pr.merge_commit_sha and pr.merge_commit_sha in claims:
        return claims[pr.merge_commit_sha]
    found = [claims[sha] for sha in index.get(pr.number, ()) if sha in claims]
    return min(found, key=lambda a: (a.finished_at, a.deployment_id)) if found else None


def _revert_incidents(repo: str, data: RepoData, index: Index, claims: dict[str, Attempt], order: list[Attempt],
                      dep_rows: dict[str, list[object]]) -> list[tuple[object, ...]]:
    """A merged revert pull request R of pull request N fails the deployment D_O that first shipped N; it is
    resolved when D_R (the deployment shipping R) finishes; D_R is rework when no successful planned
    deployment lies between D_O and D_R (the git source's revert rule)."""
    rank = {a.deployment_id: i for i, a in enumerate(order)}
    out: list[tuple[object, ...]] = []
    for rev in sorted(data.pulls.values(), key=lambda p: p.number):
        original = data.pulls.get(rev.reverts_pr) if rev.reverts_pr is not None else None
        if original is None or original.reverts_pr is not None:
            continue  # unknown original, or reverting a revert (re-landing a change)
        d_o = _claim_of(original, index, claims)
        if d_o is None:
            continue
        d_r = _claim_of(rev, index, claims)
        if d_r is not None and d_r.deployment_id == d_o.deployment_id:
            continue  # the bad change never reached production
        opened = max(rev.created_at, d_o.finished_at)
        resolved = d_r.finished_at if d_r is not None else None
        if resolved is not None and resolved < opened:
            opened = resolved
        out.append((f"{repo}:revert:{rev.number}", opened, resolved, d_o.deployment_id, None, PRODUCTION))
        if d_r is not None and rank.get(d_r.deployment_id, -1) > rank.get(d_o.deployment_id, -1):
            between = order[rank[d_o.deployment_id] + 1:rank[d_r.deployment_id]]
            if all(dep_rows[b.deployment_id][7] == "unplanned" for b in between):
                dep_rows[d_r.deployment_id][7] = "unplanned"
    return out


def _issue_incidents(repo: str, data: RepoData, claims: dict[str, Attempt], dep_rows: dict[str, list[object]],
                     items: list[Attempt], notes: list[str]) -> list[tuple[object, ...]]:
    """Incident issues: opened = created, resolved = closed (closed as not planned: not an incident);
    linked by ``root cause: <sha>`` (the production deployment that first shipped it) or a deployment
    reference (deployment id, run, release tag, or a deployment id / version of the store)."""
    by_version = {a.version: a.deployment_id for a in items if a.version and a.environment == PRODUCTION}
    out: list[tuple[object, ...]] = []
    not_planned = 0
    for issue in sorted(data.issues.values(), key=lambda i: i.number):
        if issue.state == "closed" and issue.state_reason == "not_planned":
            not_planned += 1
            continue
        dep: str | None = None
        if issue.root_cause:
            hits = {a.deployment_id for sha, a in claims.items() if sha.startswith(issue.root_cause)}
            dep = hits.pop() if len(hits) == 1 else None
        if dep is None and issue.deployment_ref:
            ref = issue.deployment_ref
            kind, _, value = ref.partition(":")
            candidates = {"id": f"{repo}:deployment:{value}", "run": f"{repo}:run:{value}",
                          "release": f"{repo}:release:{value}"}
            dep = candidates.get(kind) if kind in candidates else (ref if ref in dep_rows else by_version.get(ref))
        if dep is not None and dep not in dep_rows:
            dep = None
        resolved = issue.closed_at if issue.state == "closed" else None
        if resolved is not None and resolved < issue.created_at:
            resolved = issue.created_at
        out.append((f"{repo}:issue:{issue.number}", issue.created_at, resolved, dep, None, PRODUCTION))
    if not_planned:
        notes.append(f"{repo}: {not_planned} incident issue(s) closed as not planned are not incidents")
    return out


def _undeployed(repo: str, data: RepoData, index: Index, claims: dict[str, Attempt],
                order: list[Attempt]) -> list[tuple[object, ...]]:
    """Merged pull requests after the first production deployment whose merge commit no production
    deployment shipped yet: one undeployed change each (committed = merged)."""
    if order:
        first = order[0].finished_at
    else:
        first = -1
    out: list[tuple[object, ...]] = []
    for pr in sorted(data.pulls.values(), key=lambda p: p.number):
        if not pr.merge_commit_sha or pr.merged_at is None or pr.merged_at <= first:
            continue
        if _claim_of(pr, index, claims) is not None:
            continue
        out.append((f"{repo}:{pr.merge_commit_sha}", pr.merged_at, None, None, pr.number, pr.created_at,
                    pr.first_review_at, pr.merged_at, None))
    return out


def _pr_rows(repo: str, data: RepoData, index: Index, claims: dict[str, Attempt]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for pr in sorted(data.pulls.values(), key=lambda p: p.number):
        if pr.merged_at is None:
            continue
        dep = _claim_of(pr, index, claims)
        out.append((f"{repo}#{pr.number}", pr.number, pr.first_commit_at, pr.created_at, pr.first_review_at,
                    pr.merged_at, pr.merge_commit_sha, dep.deployment_id if dep else None,
                    dep.finished_at if dep else None))
    return out


__all__ = ["Attempt", "PRODUCTION", "RepoData", "argo_attempts", "attempts", "derive",
           "environment_name", "plan_pairs"]

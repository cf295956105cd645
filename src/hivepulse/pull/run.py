"""Pulling: read cursors and ETags from the store, call the source readers, derive the events, and write it
all in one transaction.

One :func:`pull` call is one pull: it holds the store's pull lock, makes every request first (nothing is
written while requests are made), then saves every source it pulled in **one** transaction (``PullBatch``).
Killed at any moment, the store is as it was before; run again, it ends with exactly the events of a pull
that was never interrupted (the same records give the same rows). Rules: ``docs/pull.md``.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hivepulse.errors import InputError
from hivepulse.project import ArgoApp, RepositorySource
from hivepulse.pull.derive import RepoData, attempts, derive, plan_pairs
from hivepulse.sources import argocd as argo_source
from hivepulse.sources.github.client import CallStats, ClientOptions, GitHubClient
from hivepulse.sources.github.payloads import Problems
from hivepulse.sources.github.pulls import (
    ApiCompare,
    CommitSource,
    LocalGitCompare,
    read_incident_issues,
    read_pulls,
)
from hivepulse.sources.github.readers import (
    DAY_NS,
    NoProgress,
    Progress,
    check_repository,
    iso,
    read_deployments,
    read_releases,
    read_repo,
    read_runs,
    read_tags,
)
from hivepulse.sources.github.records import (
    Commit,
    Deployment,
    Issue,
    PullCommit,
    PullRequest,
    Record,
    Release,
    RepoInfo,
    Run,
)
from hivepulse.store import records as rec
from hivepulse.store.engine import Store, StoreLocation, open_store

REPOLL_DAYS = 7.0
"""Deployments without a success status (and runs not completed) are re-polled for this many days."""


@dataclass(frozen=True)
class PullOptions:
    """How to reach the sources: GitHub client settings, the Argo CD token and TLS, the clock."""

    github: ClientOptions = field(default_factory=ClientOptions)
    argocd_token: str | None = None
    argocd_insecure: bool = False
    now_ns: int | None = None
    repoll_days: float = REPOLL_DAYS


@dataclass
class PullSummary:
    """What a pull did: sources pulled, events new/updated/unchanged/removed, API calls, 304s, quota left."""

    store: str
    sources: list[str]
    counts: rec.Counts
    calls: CallStats
    notes: list[str]
    skipped_items: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        c, s = self.counts, self.calls
        return {"store": self.store, "sources": self.sources,
                "events": {"new": c.new, "updated": c.updated, "unchanged": c.unchanged, "removed": c.removed},
                "api_calls": s.calls, "not_modified": s.not_modified, "retries": s.retries,
                "rate_limit_waits": s.rate_limit_waits, "quota_left": s.quota_remaining,
                "quota_limit": s.quota_limit, "quota_reset": s.quota_reset,
                "skipped_items": self.skipped_items, "notes": self.notes}


@dataclass
class _Run:
    store: Store
    options: PullOptions
    progress: Progress
    batch: rec.PullBatch
    now_ns: int
    calls: CallStats = field(default_factory=CallStats)
    problems: Problems = field(default_factory=Problems)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def absorb(self, client: GitHubClient) -> None:
        s = client.stats
        self.calls.calls += s.calls
        self.calls.not_modified += s.not_modified
        self.calls.retries += s.retries
        self.calls.rate_limit_waits += s.rate_limit_waits
        self.calls.waited_s += s.waited_s
        if s.quota_remaining is not None:
            self.calls.quota_remaining, self.calls.quota_limit, self.calls.quota_reset = \
                s.quota_remaining, s.quota_limit, s.quota_reset
        self.batch.etags.update(client.etags_out)

    def add(self, name: str, records: Sequence[Record]) -> None:
        self.batch.records.setdefault(name, []).extend(records)


def pull(store: str | os.PathLike[str] | StoreLocation | None, *, repositories: Sequence[RepositorySource] = (),
         apps: Sequence[ArgoApp] = (), options: PullOptions | None = None, progress: Progress | None = None,
         command: str = "pull", before_commit: Callable[[], None] | None = None) -> PullSummary:
    """Pull ``apps`` (Argo CD) and ``repositories`` (GitHub) into ``store`` in one transaction.

    ``before_commit`` (tests) runs inside the write transaction, after every row is written and before the
    commit."""
    opts = options or PullOptions()
    repos = [replace(r, repository=check_repository(r.repository or "")) for r in repositories]
    target = store if isinstance(store, StoreLocation) or store is None else str(store)
    with open_store(target) as st, st.exclusive():
        now = opts.now_ns if opts.now_ns is not None else time.time_ns()
        batch = rec.PullBatch(f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}", command,
                              time.time_ns())
        run = _Run(st, opts, progress or NoProgress(), batch, now)
        linked = {a.name for r in repos if r.deploy == "argocd" for a in r.argocd_apps}
        argo_data = RepoData(None)
        for app in apps:
            _pull_app(run, app, argo_data, derive_alone=app.name not in linked)
        for cfg in repos:
            for app in cfg.argocd_apps if cfg.deploy == "argocd" else ():
                if app.name not in {a.name for a in apps}:
                    _pull_app(run, app, argo_data, derive_alone=False)
            _pull_repo(run, cfg, argo_data)
        batch.api_calls, batch.not_modified, batch.quota_left = (run.calls.calls, run.calls.not_modified,
                                                                 run.calls.quota_remaining)
        counts = rec.save_pull(st, batch, before_commit=before_commit)
        return PullSummary(st.location.display, run.sources, counts, run.calls, run.notes, run.problems.count,
                           run.problems.examples)


# ---------------------------------------------------------------------------------------------- Argo CD


def _pull_app(run: _Run, app: ArgoApp, data: RepoData, *, derive_alone: bool) -> None:
    st = run.store
    history = {(h.history_id, h.deployed_at): h
               for h in rec.load(st, argo_source.HistoryEntry, "argo_history", "app = ?", (app.name,))}
    operations = {o.started_at: o
                  for o in rec.load(st, argo_source.Operation, "argo_operations", "app = ?", (app.name,))}
    if app.from_file:
        read = argo_source.load_application_file(app.from_file, app.name)
    else:
        if not app.server:
            raise InputError(f"no Argo CD server for application {app.name!r}",
                             expected="--server URL, --from-file app.json, or argocd.server in the project file")
        options = ClientOptions(api_url=app.server, token=run.options.argocd_token,
                                timeout_s=run.options.github.timeout_s, retries=run.options.github.retries,
                                backoff_base_s=run.options.github.backoff_base_s, service="Argo CD",
                                verify_tls=not run.options.argocd_insecure, token_hint="ARGOCD_AUTH_TOKEN")
        with GitHubClient(options) as client:
            read = argo_source.read_application(client, app.name, app.namespace)
            run.absorb(client)
    run.progress.step("argocd applications")
    stored_ids = [h.history_id for h in history.values()]
    fresh = [h for h in read.history if (h.history_id, h.deployed_at) not in history]
    if stored_ids and fresh and min(h.history_id for h in fresh) > max(stored_ids) + 1:
        missed = min(h.history_id for h in fresh) - max(stored_ids) - 1
        run.notes.append(f"argocd {app.name}: {missed} history entr(ies) were replaced before this pull saw them "
                         "(Argo CD keeps only the last revisionHistoryLimit, default 10): pull more often")
    for h in read.history:
        history[(h.history_id, h.deployed_at)] = h
    if read.operation is not None:
        operations[read.operation.started_at] = read.operation
    run.add("argo_history", fresh)
    run.add("argo_operations", [read.operation] if read.operation is not None else [])
    if read.skipped:
        run.notes.append(f"argocd {app.name}: {read.skipped} history entr(ies) without id or deployedAt skipped")
    data.argo_history[app.name] = sorted(history.values(), key=lambda h: (h.deployed_at, h.history_id))
    data.argo_operations[app.name] = sorted(operations.values(), key=lambda o: o.started_at)
    run.sources.append(f"argocd {app.name}")
    if derive_alone:
        cfg = RepositorySource(None, "argocd", argocd_apps=(app,))
        notes: list[str] = []
        items = attempts(cfg, data, notes)
        run.batch.scopes.append(derive(cfg, data, items, notes))


# ---------------------------------------------------------------------------------------------- GitHub


def _load_repo(st: Store, repo: str, argo: RepoData) -> RepoData:
    where, p = "repository = ?", (repo,)
    data = RepoData(repo)
    data.deployments = {d.id: d for d in rec.load(st, Deployment, "gh_deployments", where, p)}
    data.releases = {r.id: r for r in rec.load(st, Release, "gh_releases", where, p)}
    data.tags = rec.load_tags(st, repo)
    data.runs = {(r.id, r.attempt): r for r in rec.load(st, Run, "gh_runs", where, p)}
    data.pulls = {x.number: x for x in rec.load(st, PullRequest, "gh_pulls", where, p)}
    data.pull_commits = {(c.number, c.sha): c for c in rec.load(st, PullCommit, "gh_pull_commits", where, p)}
    data.issues = {i.number: i for i in rec.load(st, Issue, "gh_issues", where, p)}
    data.commits = {c.sha: c for c in rec.load(st, Commit, "gh_commits", where, p)}
    data.compares = rec.load_comparisons(st, repo)
    data.argo_history, data.argo_operations = argo.argo_history, argo.argo_operations
    return data


def _pull_repo(run: _Run, cfg: RepositorySource, argo: RepoData) -> None:
    repo = cfg.repository or ""
    st = run.store
    data = _load_repo(st, repo, argo)
    cursors = rec.load_cursors(st, repo)
    opts = run.options.github
    client = GitHubClient(opts, etags_in=rec.load_etags(st, opts.api_url.rstrip("/") + f"/repos/{repo}"))
    problems, progress, now = run.problems, run.progress, run.now_ns
    try:
        known_info = rec.load(st, RepoInfo, "gh_repos", "repository = ?", (repo,))
        info = read_repo(client, repo, known_info[0] if known_info else None)
        run.add("gh_repos", [info])
        if cfg.deploy == "deployments":
            fresh = read_deployments(client, repo, data.deployments, since_ns=cfg.since_ns, now_ns=now,
                                     repoll_ns=int(run.options.repoll_days * DAY_NS), progress=progress,
                                     problems=problems)
            data.deployments.update({d.id: d for d in fresh})
            run.add("gh_deployments", fresh)
        elif cfg.deploy == "releases":
            releases = read_releases(client, repo, problems)
            if releases is not None:
                data.releases = {r.id: r for r in releases}
                run.batch.replace[("gh_releases", repo)] = list(releases)
            tags = read_tags(client, repo, problems)
            if tags is not None:
                data.tags = {t.name: t.sha for t in tags}
                run.batch.replace[("gh_tags", repo)] = list(tags)
        elif cfg.deploy == "workflow":
            start = cursors.get("runs_open_from") or (iso(cfg.since_ns / 1e9) if cfg.since_ns else None)
            runs = read_runs(client, repo, cfg.workflow or "", branch=cfg.branch, open_from=start,
                             known=data.runs, now_ns=now, progress=progress, problems=problems)
            data.runs.update({(r.id, r.attempt): r for r in runs.runs})
            run.add("gh_runs", runs.runs)
            run.batch.cursors[(repo, "runs_open_from")] = runs.open_from
        pulls = read_pulls(client, repo, cfg.branch or info.default_branch,
                           known_updated={n: p.updated_at for n, p in data.pulls.items()},
                           cursor=_int(cursors.get("pulls_updated")), since_ns=cfg.since_ns, progress=progress,
                           problems=problems)
        data.pulls.update({p.number: p for p in pulls.pulls})
        data.pull_commits.update({(c.number, c.sha): c for c in pulls.commits})
        run.add("gh_pulls", pulls.pulls)
        run.add("gh_pull_commits", pulls.commits)
        if pulls.cursor is not None:
            run.batch.cursors[(repo, "pulls_updated")] = str(pulls.cursor)
        issues = read_incident_issues(client, repo, cfg.incident_label, cursor=_int(cursors.get("issues_updated")),
                                      since_ns=cfg.since_ns, progress=progress, problems=problems)
        data.issues.update({i.number: i for i in issues.issues})
        run.add("gh_issues", issues.issues)
        if issues.cursor is not None:
            run.batch.cursors[(repo, "issues_updated")] = str(issues.cursor)
        notes: list[str] = []
        items = attempts(cfg, data, notes)
        source: CommitSource = ApiCompare(client, repo, problems)
        local = LocalGitCompare(cfg.git, repo, source) if cfg.git else None
        pairs = [p for p in plan_pairs(items) if p not in data.compares]
        for base, head in pairs:
            comparison, commits = (local or source).compare(base, head)
            data.compares[(base, head)] = comparison
            fresh_commits = [c for c in commits if c.sha not in data.commits]
            data.commits.update({c.sha: c for c in commits})
            run.batch.comparisons.append(comparison)
            run.add("gh_commits", fresh_commits)
            progress.step("comparisons", total=len(pairs))
        if local is not None and local.fallbacks:
            notes.append(f"{repo}: {local.fallbacks} comparison(s) used the API: the clone {cfg.git} lacks a "
                         "deployed commit (git fetch)")
        run.batch.scopes.append(derive(cfg, data, items, notes))
        run.notes.extend(notes)
        if pulls.bots:
            run.notes.append(f"{repo}: {pulls.bots} merged pull request(s) opened by bots were not read")
        run.sources.append(f"github {repo}")
    finally:
        run.absorb(client)
        client.close()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


__all__ = ["PullOptions", "PullSummary", "REPOLL_DAYS", "pull"]

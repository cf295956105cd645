"""A local GitHub REST API for the tests and the benchmark: a real HTTP server on 127.0.0.1 speaking GitHub's
wire format, over a repository built in Python.

Shapes (field names, nesting, timestamp formats ``2026-05-04T09:30:00Z``, commit dates with offsets) follow the
GitHub REST API reference, https://docs.github.com/en/rest :

- ``GET /repos/{o}/{r}`` (repos#get), ``/deployments`` and ``/deployments/{id}/statuses``
  (deployments/deployments, deployments/statuses; newest first; ``inactive`` added to older successes),
  ``/releases`` (releases/releases), ``/tags`` (repos#list-repository-tags),
  ``/actions/workflows/{file}/runs`` (actions/workflow-runs, ``{total_count, workflow_runs}``, ``created``
  ranges, at most 1,000 results per filtered query), ``/actions/runs/{id}/attempts/{n}``,
  ``/pulls?state=closed&sort=updated`` (pulls#list), ``/issues/{n}/timeline`` (issues/timeline:
  ``committed``, ``reviewed``, ``labeled``, ``merged`` events), ``/issues?labels=&state=all`` (issues#list,
  pull requests included with ``pull_request.html_url``), ``/compare/{base}...{head}`` (commits#compare,
  paginated commits, ``status`` ahead/behind/identical);
- pagination by ``Link`` headers whose later pages use ``/repositories/{id}/...`` as GitHub's do
  (PyGithub's recorded ``ReplayData`` shows the same), ``per_page`` up to 100;
- ``ETag``/``If-None-Match`` -> ``304`` that does not consume quota; ``X-RateLimit-Limit/-Remaining/-Used/-Reset/
  -Resource`` on every answer (rate-limits-for-the-rest-api);
- injected faults: ``403``/``429`` rate-limit answers with ``Retry-After`` or ``X-RateLimit-Remaining: 0``,
  ``502``, a connection dropped in the middle of a body, answers slower than the client's timeout.

Every person field is filled with planted values (``PLANTED_*``) so tests can assert none reaches the store.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from hivepulse.net import LOOPBACK, free_port

PLANTED_LOGINS = ("planted-alice-7f3", "planted-bob-9c1", "planted-carol-2d8")
PLANTED_NAMES = ("Planted Alice Person", "Planted Bob Person", "Planted Carol Person")
PLANTED_EMAILS = ("planted.alice@example.invalid", "planted.bob@example.invalid", "planted.carol@example.invalid")
PLANTED_TOKEN = "ghp_PlantedTokenDoNotLeak0123456789abcd"
BOT = "dependabot[bot]"
BASE_TIME = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


@dataclass
class FakeCommit:
    sha: str
    parents: list[str]
    authored: datetime
    committed: datetime
    message: str
    person: int = 0
    offset_hours: int = 0


@dataclass
class FakePR:
    number: int
    title: str
    body: str | None
    login: str
    user_type: str
    created_at: datetime
    updated_at: datetime
    merged_at: datetime | None
    closed_at: datetime | None
    merge_commit_sha: str | None
    head_ref: str
    base_ref: str
    labels: list[str]
    commits: list[FakeCommit]
    reviews: list[tuple[str, str, str, datetime]]  # login, type, state, submitted_at


@dataclass
class FakeDeployment:
    id: int
    sha: str
    ref: str
    environment: str
    created_at: datetime
    transient: bool
    statuses: list[tuple[str, datetime]]  # chronological


@dataclass
class FakeRelease:
    id: int
    tag: str
    sha: str
    created_at: datetime
    published_at: datetime | None
    draft: bool = False
    prerelease: bool = False


@dataclass
class FakeRun:
    id: int
    run_number: int
    attempt: int
    head_sha: str
    head_branch: str
    conclusion: str | None
    status: str
    created_at: datetime
    run_started_at: datetime
    updated_at: datetime
    earlier: list[tuple[str, datetime, datetime]] = field(default_factory=list)  # conclusion, started, updated


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str | None
    labels: list[str]
    state: str
    state_reason: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    login: str = PLANTED_LOGINS[0]
    pr_html_url: str | None = None


class FakeRepo:
    """A repository built step by step: a first-parent main line, pull requests merged into it (squash,
    merge commit or rebase), deployments, releases, workflow runs and issues."""

    def __init__(self, owner: str = "hive-team", name: str = "hivebox", repo_id: int = 4242) -> None:
        self.owner, self.name, self.repo_id = owner, name, repo_id
        self.commits: dict[str, FakeCommit] = {}
        self.main: list[str] = []
        self.introduced: dict[str, list[str]] = {}
        self.pulls: list[FakePR] = []
        self.deployments: list[FakeDeployment] = []
        self.releases: list[FakeRelease] = []
        self.runs: list[FakeRun] = []
        self.issues: list[FakeIssue] = []
        self.workflow_file, self.workflow_id = "deploy.yml", 777
        self._n = 0
        self.root = self.push("chore: initial commit", BASE_TIME - timedelta(days=30))

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def _commit(self, message: str, at: datetime, parents: list[str], *, authored: datetime | None = None,
                person: int = 0, offset: int = 0) -> FakeCommit:
        self._n += 1
        c = FakeCommit(_sha(self.full_name, self._n, message), parents, authored or at, at, message, person, offset)
        self.commits[c.sha] = c
        return c

    def push(self, message: str, at: datetime, **kw: object) -> str:
        parent = [self.main[-1]] if self.main else []
        c = self._commit(message, at, parent, **kw)  # type: ignore[arg-type]
        self.main.append(c.sha)
        self.introduced[c.sha] = [c.sha]
        return c.sha

    @property
    def head(self) -> str:
        return self.main[-1]

    def add_pr(self, title: str, opened: datetime, merged: datetime | None, *,
               commits: list[tuple[str, datetime]] | None = None, strategy: str = "squash",
               reviews: list[tuple[int | str, datetime, str]] | None = None, person: int = 0,
               bot: bool = False, labels: list[str] | None = None, head_ref: str | None = None,
               body: str | None = None, updated: datetime | None = None) -> FakePR:
        number = len(self.pulls) + len(self.issues) + 1
        login = BOT if bot else PLANTED_LOGINS[person]
        branch_base = self.head
        branch: list[FakeCommit] = []
        for msg, at in commits or [(f"feat: {title.lower()}", opened - timedelta(hours=5))]:
            parent = [branch[-1].sha] if branch else [branch_base]
            branch.append(self._commit(msg, at, parent, person=person, offset=-7))
        merge_sha = None
        if merged is not None:
            if strategy == "squash":
                merge_sha = self.push(f"{title} (#{number})", merged, authored=merged, person=person)
            elif strategy == "merge":
                m = self._commit(f"Merge pull request #{number} from {self.owner}/{head_ref or 'b'}", merged,
                                 [self.head, branch[-1].sha], person=person)
                self.main.append(m.sha)
                self.introduced[m.sha] = [c.sha for c in branch] + [m.sha]
                merge_sha = m.sha
            else:  # rebase: copies with new SHAs, same author dates and messages
                for b in branch:
                    merge_sha = self.push(b.message, merged, authored=b.authored, person=person, offset=-7)
        review_rows = []
        for who, at, state in reviews or []:
            rlogin = who if isinstance(who, str) else PLANTED_LOGINS[who]
            review_rows.append((rlogin, "Bot" if rlogin.endswith("[bot]") else "User", state, at))
        pr = FakePR(number, title, body, login, "Bot" if bot else "User", opened,
                    updated or (merged or opened) + timedelta(minutes=1), merged, merged, merge_sha,
                    head_ref or f"feature/{number}", "main", labels or [], branch, review_rows)
        self.pulls.append(pr)
        return pr

    def deploy(self, environment: str, at: datetime, states: list[tuple[str, float]], *, sha: str | None = None,
               transient: bool = False) -> FakeDeployment:
        """``states``: (state, hours after ``at``) in time order."""
        d = FakeDeployment(1000 + len(self.deployments), sha or self.head, "main", environment, at, transient,
                           [(s, at + timedelta(hours=h)) for s, h in states])
        self.deployments.append(d)
        return d

    def release(self, tag: str, at: datetime, *, sha: str | None = None, draft: bool = False,
                prerelease: bool = False) -> FakeRelease:
        r = FakeRelease(5000 + len(self.releases), tag, sha or self.head, at - timedelta(minutes=5),
                        None if draft else at, draft, prerelease)
        self.releases.append(r)
        return r

    def run(self, at: datetime, conclusion: str | None, *, sha: str | None = None, branch: str = "main",
            minutes: float = 4, earlier: list[str] | None = None, status: str = "completed") -> FakeRun:
        attempts = earlier or []
        r = FakeRun(9000 + len(self.runs), len(self.runs) + 1, len(attempts) + 1, sha or self.head, branch,
                    conclusion, status, at, at + timedelta(minutes=len(attempts) * 10),
                    at + timedelta(minutes=len(attempts) * 10 + minutes),
                    [(c, at + timedelta(minutes=i * 10), at + timedelta(minutes=i * 10 + minutes))
                     for i, c in enumerate(attempts)])
        self.runs.append(r)
        return r

    def issue(self, title: str, opened: datetime, closed: datetime | None, *, body: str | None = None,
              labels: list[str] | None = None, state_reason: str | None = None, pr: bool = False) -> FakeIssue:
        number = len(self.pulls) + len(self.issues) + 1
        i = FakeIssue(number, title, body, labels if labels is not None else ["incident"],
                      "closed" if closed else "open", state_reason or ("completed" if closed else None), opened,
                      (closed or opened) + timedelta(minutes=2), closed,
                      pr_html_url=f"https://github.com/{self.full_name}/pull/{number}" if pr else None)
        self.issues.append(i)
        return i


# ---------------------------------------------------------------------------------------------- JSON shapes


def _user(login: str, kind: str = "User") -> dict:
    uid = int(_sha(login)[:6], 16)
    return {"login": login, "id": uid, "node_id": f"MDQ6VXNlcj{uid}", "avatar_url":
            f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}",
            "type": kind, "site_admin": False}


def _person(c: FakeCommit, when: datetime) -> dict:
    offset = timezone(timedelta(hours=c.offset_hours))
    date = when.astimezone(offset).isoformat() if c.offset_hours else ts(when)
    return {"name": PLANTED_NAMES[c.person], "email": PLANTED_EMAILS[c.person], "date": date}


class Api:
    """Renders the repository's resources as GitHub's JSON."""

    def __init__(self, repo: FakeRepo, base: str) -> None:
        self.repo, self.base = repo, base

    @property
    def rbase(self) -> str:
        return f"{self.base}/repos/{self.repo.full_name}"

    def repository(self) -> dict:
        r = self.repo
        return {"id": r.repo_id, "node_id": "R_kgDOfake", "name": r.name, "full_name": r.full_name,
                "private": False, "owner": _user(r.owner, "Organization"), "html_url": f"https://github.com/{r.full_name}",
                "description": "HiveBox", "fork": False, "url": self.rbase, "created_at": ts(BASE_TIME - timedelta(days=60)),
                "updated_at": ts(BASE_TIME), "pushed_at": ts(BASE_TIME), "default_branch": "main",
                "visibility": "public", "forks_count": 0, "stargazers_count": 3}

    def deployment(self, d: FakeDeployment) -> dict:
        url = f"{self.rbase}/deployments/{d.id}"
        return {"url": url, "id": d.id, "node_id": f"DE_{d.id}", "sha": d.sha, "ref": d.ref, "task": "deploy",
                "payload": {}, "original_environment": d.environment, "environment": d.environment,
                "description": None, "creator": _user(PLANTED_LOGINS[1]), "created_at": ts(d.created_at),
                "updated_at": ts(d.statuses[-1][1] if d.statuses else d.created_at), "statuses_url": url + "/statuses",
                "repository_url": self.rbase, "transient_environment": d.transient,
                "production_environment": d.environment == "production"}

    def statuses(self, d: FakeDeployment) -> list[dict]:
        out = []
        for i, (state, at) in enumerate(d.statuses):
            out.append({"url": f"{self.rbase}/deployments/{d.id}/statuses/{d.id * 10 + i}", "id": d.id * 10 + i,
                        "node_id": f"DES_{d.id}_{i}", "state": state, "creator": _user(PLANTED_LOGINS[2]),
                        "description": f"Deployment {state}", "environment": d.environment, "target_url": "",
                        "created_at": ts(at), "updated_at": ts(at), "deployment_url": f"{self.rbase}/deployments/{d.id}",
                        "repository_url": self.rbase, "environment_url": "", "log_url": ""})
        return out[::-1]  # newest first

    def release(self, r: FakeRelease) -> dict:
        return {"url": f"{self.rbase}/releases/{r.id}", "html_url": f"https://github.com/{self.repo.full_name}/releases/tag/{r.tag}",
                "id": r.id, "node_id": f"RE_{r.id}", "tag_name": r.tag, "target_commitish": "main", "name": r.tag,
                "body": f"Released by @{PLANTED_LOGINS[0]}", "draft": r.draft, "prerelease": r.prerelease,
                "created_at": ts(r.created_at), "published_at": ts(r.published_at) if r.published_at else None,
                "author": _user(PLANTED_LOGINS[0]), "assets": []}

    def tag(self, r: FakeRelease) -> dict:
        return {"name": r.tag, "commit": {"sha": r.sha, "url": f"{self.rbase}/commits/{r.sha}"},
                "zipball_url": f"{self.rbase}/zipball/refs/tags/{r.tag}",
                "tarball_url": f"{self.rbase}/tarball/refs/tags/{r.tag}", "node_id": f"REF_{r.tag}"}

    def run(self, r: FakeRun, attempt: int | None = None) -> dict:
        n = attempt or r.attempt
        if n == r.attempt:
            conclusion, started, updated, status = r.conclusion, r.run_started_at, r.updated_at, r.status
        else:
            conclusion, started, updated = r.earlier[n - 1]
            status = "completed"
        c = self.repo.commits.get(r.head_sha)
        return {"id": r.id, "name": "deploy", "node_id": f"WFR_{r.id}", "head_branch": r.head_branch,
                "head_sha": r.head_sha, "path": f".github/workflows/{self.repo.workflow_file}",
                "display_title": c.message.split("\n")[0] if c else "deploy", "run_number": r.run_number,
                "event": "push", "status": status, "conclusion": conclusion if status == "completed" else None,
                "workflow_id": self.repo.workflow_id, "check_suite_id": r.id * 3, "url": f"{self.rbase}/actions/runs/{r.id}",
                "html_url": f"https://github.com/{self.repo.full_name}/actions/runs/{r.id}", "pull_requests": [],
                "created_at": ts(r.created_at), "updated_at": ts(updated), "actor": _user(PLANTED_LOGINS[0]),
                "run_attempt": n, "referenced_workflows": [], "run_started_at": ts(started),
                "triggering_actor": _user(PLANTED_LOGINS[1]),
                "head_commit": {"id": r.head_sha, "tree_id": _sha("tree", r.head_sha), "message": c.message if c else "",
                                "timestamp": ts(c.committed) if c else ts(r.created_at),
                                "author": {"name": PLANTED_NAMES[0], "email": PLANTED_EMAILS[0]},
                                "committer": {"name": PLANTED_NAMES[1], "email": PLANTED_EMAILS[1]}}}

    def pull(self, p: FakePR) -> dict:
        return {"url": f"{self.rbase}/pulls/{p.number}", "id": 70000 + p.number, "node_id": f"PR_{p.number}",
                "html_url": f"https://github.com/{self.repo.full_name}/pull/{p.number}", "number": p.number,
                "state": "closed" if p.closed_at else "open", "locked": False, "title": p.title,
                "user": _user(p.login, p.user_type), "body": p.body, "created_at": ts(p.created_at),
                "updated_at": ts(p.updated_at), "closed_at": ts(p.closed_at) if p.closed_at else None,
                "merged_at": ts(p.merged_at) if p.merged_at else None, "merge_commit_sha": p.merge_commit_sha,
                "assignee": None, "assignees": [], "requested_reviewers": [_user(PLANTED_LOGINS[2])],
                "labels": [{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(p.labels)],
                "head": {"label": f"{self.repo.owner}:{p.head_ref}", "ref": p.head_ref,
                         "sha": p.commits[-1].sha if p.commits else "", "user": _user(p.login, p.user_type)},
                "base": {"label": f"{self.repo.owner}:{p.base_ref}", "ref": p.base_ref, "sha": self.repo.root},
                "author_association": "MEMBER", "auto_merge": None, "draft": False}

    def commit_obj(self, c: FakeCommit) -> dict:
        return {"sha": c.sha, "node_id": f"C_{c.sha[:8]}", "commit": {
            "author": _person(c, c.authored), "committer": _person(c, c.committed), "message": c.message,
            "tree": {"sha": _sha("tree", c.sha), "url": ""}, "url": f"{self.rbase}/git/commits/{c.sha}",
            "comment_count": 0, "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                                 "payload": None}},
            "url": f"{self.rbase}/commits/{c.sha}", "html_url": f"https://github.com/{self.repo.full_name}/commit/{c.sha}",
            "comments_url": f"{self.rbase}/commits/{c.sha}/comments", "author": _user(PLANTED_LOGINS[c.person]),
            "committer": _user(PLANTED_LOGINS[c.person]),
            "parents": [{"sha": p, "url": f"{self.rbase}/commits/{p}", "html_url": ""} for p in c.parents]}

    def timeline(self, p: FakePR) -> list[dict]:
        events: list[tuple[datetime, dict]] = []
        for c in p.commits:
            events.append((c.authored, {"sha": c.sha, "node_id": f"C_{c.sha[:8]}", "url": "", "html_url": "",
                                        "author": _person(c, c.authored), "committer": _person(c, c.committed),
                                        "tree": {"sha": _sha("tree", c.sha), "url": ""}, "message": c.message,
                                        "parents": [{"sha": x, "url": "", "html_url": ""} for x in c.parents],
                                        "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                                         "payload": None}, "event": "committed"}))
        events.append((p.created_at, {"id": 1, "node_id": "LE_1", "url": "", "actor": _user(p.login, p.user_type),
                                      "event": "labeled", "commit_id": None, "commit_url": None,
                                      "created_at": ts(p.created_at), "label": {"name": "feature", "color": "a2eeef"},
                                      "performed_via_github_app": None}))
        for i, (login, kind, state, at) in enumerate(p.reviews):
            events.append((at, {"id": 900 + i, "node_id": f"PRR_{i}", "user": _user(login, kind),
                                "body": f"looks good, {PLANTED_NAMES[1]}", "commit_id": p.commits[-1].sha,
                                "submitted_at": ts(at), "state": state,
                                "html_url": "", "pull_request_url": f"{self.rbase}/pulls/{p.number}",
                                "author_association": "MEMBER", "_links": {}, "event": "reviewed"}))
        if p.merged_at:
            events.append((p.merged_at, {"id": 2, "node_id": "ME_2", "url": "", "actor": _user(p.login, p.user_type),
                                         "event": "merged", "commit_id": p.merge_commit_sha, "commit_url": "",
                                         "created_at": ts(p.merged_at), "performed_via_github_app": None}))
        return [e for _, e in sorted(events, key=lambda x: x[0])]

    def issue(self, i: FakeIssue) -> dict:
        out = {"url": f"{self.rbase}/issues/{i.number}", "repository_url": self.rbase, "id": 80000 + i.number,
               "node_id": f"I_{i.number}", "number": i.number, "title": i.title, "user": _user(i.login),
               "labels": [{"id": k, "name": n, "color": "d73a4a", "default": False} for k, n in enumerate(i.labels)],
               "state": i.state, "locked": False, "assignee": _user(PLANTED_LOGINS[1]), "assignees": [],
               "milestone": None, "comments": 1, "created_at": ts(i.created_at), "updated_at": ts(i.updated_at),
               "closed_at": ts(i.closed_at) if i.closed_at else None, "author_association": "MEMBER",
               "active_lock_reason": None, "body": i.body, "state_reason": i.state_reason,
               "html_url": f"https://github.com/{self.repo.full_name}/issues/{i.number}",
               "performed_via_github_app": None}
        if i.pr_html_url:
            out["pull_request"] = {"url": f"{self.rbase}/pulls/{i.number}", "html_url": i.pr_html_url,
                                   "diff_url": i.pr_html_url + ".diff", "patch_url": i.pr_html_url + ".patch",
                                   "merged_at": None}
            out["draft"] = False
        return out

    # ------------------------------------------------------------------------------------------ graph

    def reach_index(self, sha: str) -> int | None:
        if getattr(self, "_index_len", -1) != len(self.repo.main):
            self._index = {s: i for i, s in enumerate(self.repo.main)}
            self._index_len = len(self.repo.main)
        return self._index.get(sha)


# ---------------------------------------------------------------------------------------------- server


@dataclass
class Fault:
    """A scripted answer: for requests whose path matches ``pattern``, the next ``times`` answers are
    ``kind``: ``429``, ``403-retry`` (secondary, Retry-After), ``403-primary`` (remaining 0 + reset),
    ``403-secondary`` (no headers), ``502``, ``drop`` (connection closed mid-body), ``slow``."""

    pattern: str
    kind: str
    times: int = 1
    retry_after: int = 1


class FakeGitHub:
    """The server. ``requests`` logs ``(path_with_query, status)``; ``faults`` are scripted; ``random_faults``
    (a rate from 0 to 1) injects 502s, dropped connections and slow answers with a seeded RNG."""

    def __init__(self, repo: FakeRepo | list[FakeRepo], *, token: str | None = PLANTED_TOKEN, quota: int = 5000,
                 random_faults: float = 0.0, seed: int = 0, slow_s: float = 1.5) -> None:
        self.all_repos = repo if isinstance(repo, list) else [repo]
        self.repo = self.all_repos[0]
        self.token = token
        self.quota_limit = quota
        self.remaining = quota
        self.reset_at = int(time.time()) + 3600
        self.requests: list[tuple[str, int]] = []
        self.faults: list[Fault] = []
        self.random_faults = random_faults
        self.rng = random.Random(seed)
        self.slow_s = slow_s
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.apis = {r.full_name: Api(r, self.url) for r in self.all_repos}
        self.api = self.apis[self.repo.full_name]
        self._server = ThreadingHTTPServer((LOOPBACK, self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, pattern: str = "") -> int:
        return sum(1 for p, _ in self.requests if re.search(pattern, p))

    def statuses(self) -> list[int]:
        return [s for _, s in self.requests]

    # ------------------------------------------------------------------------------------------ routing

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, object, dict[str, str]]:
        for candidate in self.all_repos:  # the repository a path names (called under the lock)
            if any(path == p or path.startswith(p + "/")
                   for p in (f"/repos/{candidate.full_name}", f"/repositories/{candidate.repo_id}")):
                self.repo, self.api = candidate, self.apis[candidate.full_name]
        r, api = self.repo, self.api
        prefix = f"/repos/{r.full_name}"
        alt = f"/repositories/{r.repo_id}"
        if path.startswith(alt):
            path = prefix + path[len(alt):]
        if path == prefix:
            return 200, api.repository(), {}
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
        rest = path[len(prefix):]
        q = {k: v[-1] for k, v in query.items()}
        if rest == "/deployments":
            items = sorted(r.deployments, key=lambda d: (d.created_at, d.id), reverse=True)
            return self._page(rest, q, items, render=api.deployment)
        if m := re.fullmatch(r"/deployments/(\d+)/statuses", rest):
            dep = next((d for d in r.deployments if d.id == int(m.group(1))), None)
            if dep is None:
                return 404, {"message": "Not Found"}, {}
            return self._page(rest, q, api.statuses(dep))
        if rest == "/releases":
            items = sorted(r.releases, key=lambda x: x.created_at, reverse=True)
            return self._page(rest, q, [api.release(x) for x in items])
        if rest == "/tags":
            items = sorted((x for x in r.releases if not x.draft), key=lambda x: x.tag, reverse=True)
            return self._page(rest, q, [api.tag(x) for x in items])
        if rest == f"/actions/workflows/{r.workflow_file}/runs":
            return self._runs(rest, q)
        if m := re.fullmatch(r"/actions/runs/(\d+)/attempts/(\d+)", rest):
            run = next((x for x in r.runs if x.id == int(m.group(1))), None)
            if run is None or not 1 <= int(m.group(2)) <= run.attempt:
                return 404, {"message": "Not Found"}, {}
            return 200, api.run(run, int(m.group(2))), {}
        if rest == "/pulls":
            items = [p for p in r.pulls if (q.get("state", "open") == "closed") == (p.closed_at is not None)
                     and p.base_ref == q.get("base", p.base_ref)]
            items.sort(key=lambda p: (p.updated_at, p.number), reverse=q.get("direction", "desc") == "desc")
            return self._page(rest, q, items, render=api.pull)
        if m := re.fullmatch(r"/issues/(\d+)/timeline", rest):
            pr = next((p for p in r.pulls if p.number == int(m.group(1))), None)
            if pr is None:
                return 404, {"message": "Not Found"}, {}
            return self._page(rest, q, api.timeline(pr))
        if rest == "/issues":
            label = q.get("labels")
            items = [i for i in r.issues if label is None or label in i.labels]
            if q.get("state", "open") != "all":
                items = [i for i in items if i.state == q.get("state", "open")]
            items.sort(key=lambda i: (i.updated_at, i.number), reverse=True)
            return self._page(rest, q, items, render=api.issue)
        if m := re.fullmatch(r"/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", rest):
            return self._compare(rest, q, m.group(1), m.group(2))
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}

    def _page(self, rest: str, q: dict[str, str], items: list, *, wrap: str | None = None,
              total: int | None = None, render=None) -> tuple[int, object, dict[str, str]]:
        per = max(1, min(100, int(q.get("per_page", "30"))))
        page = max(1, int(q.get("page", "1")))
        chunk = items[(page - 1) * per:page * per]
        if render is not None:
            chunk = [render(x) for x in chunk]
        headers: dict[str, str] = {}
        last = max(1, -(-len(items) // per))
        if page < last:
            def link(n: int) -> str:
                params = {**q, "page": str(n)}
                query = urlencode(sorted(params.items()))
                return f"<{self.url}/repositories/{self.repo.repo_id}{rest}?{query}>"
            headers["Link"] = f'{link(page + 1)}; rel="next", {link(last)}; rel="last"'
        body: object = chunk if wrap is None else {"total_count": total if total is not None else len(items),
                                                   wrap: chunk}
        return 200, body, headers

    def _runs(self, rest: str, q: dict[str, str]) -> tuple[int, object, dict[str, str]]:
        runs = [x for x in self.repo.runs if q.get("branch") in (None, x.head_branch)]
        created = q.get("created")
        if created:
            lo, hi = _created_range(created)
            runs = [x for x in runs if lo <= x.created_at <= hi]
        runs.sort(key=lambda x: (x.created_at, x.id), reverse=True)
        total = len(runs)
        if created or "branch" in q:
            runs = runs[:1000]  # GitHub's cap for filtered queries
        return self._page(rest, q, runs, wrap="workflow_runs", total=total, render=self.api.run)

    def _compare(self, rest: str, q: dict[str, str], base: str, head: str) -> tuple[int, object, dict[str, str]]:
        bi, hi = self.api.reach_index(base), self.api.reach_index(head)
        if bi is None or hi is None:
            return 404, {"message": "Not Found"}, {}
        main = self.repo.main
        if hi > bi:
            shas = [s for m in main[bi + 1:hi + 1] for s in self.repo.introduced[m]]
            status, ahead, behind = "ahead", len(shas), 0
        elif hi < bi:
            shas, status, ahead = [], "behind", 0
            behind = sum(len(self.repo.introduced[m]) for m in main[hi + 1:bi + 1])
        else:
            shas, status, ahead, behind = [], "identical", 0, 0
        per = max(1, min(100, int(q.get("per_page", "30"))))
        page = max(1, int(q.get("page", "1")))
        chunk = [self.api.commit_obj(self.repo.commits[s]) for s in shas[(page - 1) * per:page * per]]
        code, _, headers = self._page(rest, q, shas)
        base_c = self.api.commit_obj(self.repo.commits[base])
        body = {"url": f"{self.api.rbase}/compare/{base}...{head}", "html_url": "", "permalink_url": "",
                "diff_url": "", "patch_url": "", "base_commit": base_c, "merge_base_commit": base_c,
                "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
                "commits": chunk, "files": [{"filename": "app/main.py", "status": "modified", "additions": 1,
                                             "deletions": 0, "changes": 1}] if page == 1 else []}
        return code, body, headers


def _created_range(text: str) -> tuple[datetime, datetime]:
    def parse(s: str) -> datetime:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    far_past, far_future = datetime(1970, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)
    if text.startswith(">="):
        return parse(text[2:]), far_future
    if ".." in text:
        a, b = text.split("..", 1)
        return (far_past if a == "*" else parse(a)), (far_future if b == "*" else parse(b))
    return parse(text), parse(text) + timedelta(days=1)


class WireHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive and no Nagle stalls, quiet, and ``_send`` (``drop``: half the body, then the
    connection is cut, as a connection dropped mid-page): the base of the stand-ins' handlers."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stalls

    def log_message(self, *args: object) -> None:
        return None

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, drop: bool = False) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(WireHandler):
        def _rate(self, consume: bool) -> dict[str, str]:
            with fake.lock:
                if consume and fake.remaining > 0:
                    fake.remaining -= 1
                return {"X-RateLimit-Limit": str(fake.quota_limit), "X-RateLimit-Remaining": str(fake.remaining),
                        "X-RateLimit-Used": str(fake.quota_limit - fake.remaining),
                        "X-RateLimit-Reset": str(fake.reset_at), "X-RateLimit-Resource": "core"}

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            full = parts.path + (f"?{parts.query}" if parts.query else "")
            json_headers = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Api-Version-Selected": "2022-11-28"}
            if fake.token is not None and self.headers.get("Authorization") != f"Bearer {fake.token}":
                fake.requests.append((full, 401))
                self._send(401, b'{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}',
                           {**json_headers, **self._rate(False)})
                return
            fault = self._fault(full)
            if fault is not None:
                return
            with fake.lock:
                status, data, headers = fake.route(parts.path, query)
            body = json.dumps(data, separators=(",", ":")).encode()
            etag = 'W/"' + hashlib.sha1(body).hexdigest() + '"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                fake.requests.append((full, 304))
                self._send(304, b"", {"ETag": etag, **self._rate(False)})
                return
            fake.requests.append((full, status))
            self._send(status, body, {**json_headers, "ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60",
                                      **headers, **self._rate(True)})

        def _fault(self, full: str) -> bool | None:
            kind = None
            with fake.lock:
                for f in fake.faults:
                    if f.times > 0 and re.search(f.pattern, full):
                        f.times -= 1
                        kind, after = f.kind, f.retry_after
                        break
                if kind is None and fake.random_faults and fake.rng.random() < fake.random_faults:
                    kind, after = fake.rng.choice(["502", "502", "drop", "slow", "503"]), 1
            if kind is None:
                return None
            fake.requests.append((full, {"drop": 200, "slow": 200}.get(kind, int(kind[:3]))))
            jh = {"Content-Type": "application/json; charset=utf-8"}
            if kind == "429":
                self._send(429, b'{"message":"API rate limit exceeded"}', {**jh, "Retry-After": str(after),
                                                                          **self._rate(False)})
            elif kind == "403-retry":
                self._send(403, b'{"message":"You have exceeded a secondary rate limit. Please wait a few minutes '
                                b'before you try again."}', {**jh, "Retry-After": str(after), **self._rate(False)})
            elif kind == "403-primary":
                rate = self._rate(False)
                rate["X-RateLimit-Remaining"] = "0"
                rate["X-RateLimit-Reset"] = str(int(time.time()) + after)
                self._send(403, b'{"message":"API rate limit exceeded for user ID 1."}', {**jh, **rate})
            elif kind == "403-secondary":
                self._send(403, b'{"message":"You have exceeded a secondary rate limit."}', {**jh, **self._rate(False)})
            elif kind in ("502", "503"):
                self._send(int(kind), b'{"message":"Server Error"}', jh)
            elif kind == "drop":
                body = json.dumps([{"id": i, "padding": "x" * 200} for i in range(50)]).encode()
                self._send(200, body, jh, drop=True)
            elif kind == "slow":
                time.sleep(fake.slow_s)
                self._send(502, b'{"message":"too slow"}', jh)
            return True

    return Handler


__all__ = ["BASE_TIME", "BOT", "FakeGitHub", "FakeRepo", "Fault", "PLANTED_EMAILS", "PLANTED_LOGINS", "PLANTED_NAMES",
           "PLANTED_TOKEN", "ts"]


# ---------------------------------------------------------------------------------------------- scenarios


def h(hours: float) -> datetime:
    return BASE_TIME + timedelta(hours=hours)


def hand_scenario() -> tuple[FakeRepo, dict[str, object]]:
    """The small repository whose events ``tests/test_pull_github.py`` checks by hand (see that file)."""
    r = FakeRepo()
    refs: dict[str, object] = {"c0": r.head}
    r.deploy("production", h(0), [("queued", 0), ("in_progress", 0.1), ("success", 0.2), ("inactive", 30)])
    p1 = r.add_pr("Add temperature endpoint", h(2), h(5), commits=[("feat: temperature", h(-1)),
                                                                   ("test: temperature", h(1))],
                  reviews=[(0, h(2.5), "commented"), (1, h(3), "commented")], person=0)
    p2 = r.add_pr("Cache readings", h(6), h(8), strategy="merge", head_ref="feature/cache",
                  commits=[("feat: cache", h(4)), ("fix: cache ttl", h(6.5))],
                  reviews=[("github-actions[bot]", h(6.2), "approved"), (2, h(7), "approved")], person=1)
    r.deploy("production", h(10), [("queued", 0), ("success", 0.5), ("inactive", 5)])
    r.add_pr("chore(deps): bump httpx", h(10.8), h(11), bot=True, commits=[("chore(deps): bump httpx", h(10.7))])
    refs["typo"] = r.push("fix: typo in /version", h(12), person=2)
    r.deploy("production", h(13), [("pending", 0), ("failure", 0.3)])
    r.deploy("staging", h(13.5), [("success", 0.1)])
    p4 = r.add_pr("Rebase me", h(13.2), h(14), strategy="rebase",
                  commits=[("feat: rebase a", h(12.5)), ("feat: rebase b", h(13))], reviews=[(1, h(13.6), "approved")])
    d4 = r.deploy("production", h(15), [("in_progress", 0.1), ("success", 0.5)])
    p5 = r.add_pr('Revert "Cache readings"', h(16), h(16.5), head_ref="revert-2-feature/cache",
                  body="Reverts hive-team/hivebox#2", commits=[('Revert "Cache readings"', h(15.9))])
    d5 = r.deploy("production", h(17), [("success", 0.2)])
    r.deploy("production", h(18), [("success", 0.1)], sha=d4.sha)
    r.deploy("pr-9-preview", h(18.5), [("success", 0.1)], transient=True)
    p6 = r.add_pr("Add metrics", h(20), h(21), commits=[("feat: metrics", h(19))])
    b2b = p2.commits[1].sha
    r.issue("Readings stale", h(17.5), h(19), body=f"Root cause: {b2b[:12]}\n\nSeen by @{PLANTED_LOGINS[2]}")
    r.issue("False alarm", h(18.2), h(18.4), state_reason="not_planned")
    r.issue("Incident PR", h(18.3), None, pr=True)
    r.issue("Latency", h(20), None, body=f"deployment: {d5.id}")
    refs.update(p1=p1, p2=p2, p4=p4, p5=p5, p6=p6, d4=d4, d5=d5)
    return r, refs


def generate_repo(n_prs: int, n_deployments: int, *, seed: int = 0, n_incidents: int = 0,
                  staging: bool = False, owner: str = "hive-team", name: str = "hivebox") -> FakeRepo:
    """A larger repository: ``n_prs`` merged pull requests (squash 60 %, merge commit 25 %, rebase 15 %; 1-3
    commits; 0-2 reviews; 5 % by a bot) and ``n_deployments`` production deployments spread over them (about
    90 % success with ``inactive`` added to the previous success, 10 % failure or error), optional staging
    deployments and incident issues naming a root-cause commit."""
    rng = random.Random(seed)
    r = FakeRepo(owner, name)
    start = BASE_TIME - timedelta(hours=2 * n_prs + 24)
    t = start
    per = max(1, n_prs // max(1, n_deployments))
    deployed = 0
    last_success: FakeDeployment | None = None
    shipped: list[str] = []
    for i in range(n_prs):
        t += timedelta(hours=2)
        k = rng.randint(1, 3)
        commits = [(f"{rng.choice(['feat', 'fix', 'chore', 'docs'])}: change {i}.{j}", t - timedelta(hours=k - j + 1))
                   for j in range(k)]
        strategy = rng.choices(["squash", "merge", "rebase"], [60, 25, 15])[0]
        author = rng.randrange(3)
        reviews = [((author + 1 + j) % 3, t + timedelta(minutes=20 + 10 * j), "approved") for j in range(rng.randint(0, 2))]
        pr = r.add_pr(f"Change {i}", t, t + timedelta(hours=1), commits=commits, strategy=strategy, reviews=reviews,
                      person=author, bot=rng.random() < 0.05)
        if pr.merge_commit_sha:
            shipped.append(pr.merge_commit_sha)
        if (i + 1) % per == 0 and deployed < n_deployments:
            at = t + timedelta(hours=1.5)
            roll = rng.random()
            states = [("queued", 0.0), ("in_progress", 0.05)]
            if roll < 0.9:
                states.append(("success", 0.1 + rng.random() * 0.2))
                if last_success is not None:
                    last_success.statuses.append(("inactive", at + timedelta(minutes=20)))
            else:
                states.append((rng.choice(["failure", "error"]), 0.2))
            d = r.deploy("production", at, states)
            if roll < 0.9:
                last_success = d
            deployed += 1
            if staging and rng.random() < 0.5:
                r.deploy("staging", at - timedelta(minutes=30), [("success", 0.1)])
    while deployed < n_deployments:
        t += timedelta(hours=1)
        r.deploy("production", t, [("success", 0.1)])
        deployed += 1
    for j in range(n_incidents):
        sha = rng.choice(shipped) if shipped else r.head
        opened = start + timedelta(hours=2 * rng.randrange(n_prs) + 3)
        r.issue(f"Incident {j}", opened, opened + timedelta(hours=rng.randint(1, 6)), body=f"root cause: {sha[:10]}")
    return r

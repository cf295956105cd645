"""Merged pull requests (with their commits and first review, from one timeline call each), incident issues,
and comparisons between two deployed commits (GitHub's compare API, or a local clone with ``--git``).

Blameless: the author's and reviewers' logins are compared in memory (a review counts only when someone
other than the author submitted it, and no bot) and never kept; commit messages are reduced to a
Conventional Commits type and a fingerprint; issue bodies to a root-cause SHA and a deployment reference.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from hivepulse.errors import SourceError
from hivepulse.sources.github.client import GitHubClient, NotFound
from hivepulse.sources.github.payloads import (
    CommitPayload,
    ComparePayload,
    IssuePayload,
    Problems,
    PullPayload,
    TimelineEvent,
    change_type,
    fingerprint,
    incident_links,
    is_hotfix,
    ns,
    parse_items,
    parse_one,
    reverted_pr,
)
from hivepulse.sources.github.readers import Progress
from hivepulse.sources.github.records import Commit, Comparison, Issue, PullCommit, PullRequest

# ---------------------------------------------------------------------------------------------- pull requests

Updated = TypeVar("Updated", PullPayload, IssuePayload)


class _RecentFirst:
    """The items of a list sorted by ``updated`` (newest first), read down to ``cursor``: a page whose items
    reach an older update is the last one read. ``newest`` is the latest ``updated_at`` seen (the next cursor)."""

    def __init__(self, cursor: int | None) -> None:
        self.cursor = cursor
        self.newest = cursor

    def items(self, client: GitHubClient, path: str, params: Mapping[str, object], model: type[Updated],
              problems: Problems, progress: Progress, step: str) -> Iterator[tuple[Updated, int]]:
        """``(item, updated_at)`` of each item updated at or after the cursor; ``progress.step(step)`` per page."""
        for page in client.paginate(path, params, conditional=True):
            if page.not_modified:
                break
            stop = False
            for item in parse_items(model, page.data, f"GET {path}", problems):
                updated = ns(item.updated_at) or 0
                self.newest = max(self.newest or updated, updated)
                if self.cursor is not None and updated < self.cursor:
                    stop = True
                    continue
                yield item, updated
            progress.step(step)
            if stop:
                break


@dataclass(frozen=True)
class PullsRead:
    pulls: list[PullRequest]
    commits: list[PullCommit]
    cursor: int | None
    """Latest ``updated_at`` seen: the next pull stops at pull requests updated before it."""
    bots: int
    """Merged pull requests skipped because a bot opened them."""


def read_pulls(
    client: GitHubClient, repo: str, base: str | None, *, known_updated: Mapping[int, int], cursor: int | None,
    since_ns: int | None, progress: Progress, problems: Problems,
) -> PullsRead:
    """Closed pull requests into ``base``, most recently updated first, down to ``cursor``; each merged one
    by a person that is new or changed gets one timeline read (its commits and reviews)."""
    params: dict[str, object] = {"state": "closed", "sort": "updated", "direction": "desc"}
    if base:
        params["base"] = base
    todo: list[PullPayload] = []
    recent = _RecentFirst(cursor)
    bots = 0
    for item, updated in recent.items(client, f"/repos/{repo}/pulls", params, PullPayload, problems, progress,
                                      "pull request pages"):
        merged = ns(item.merged_at)
        if merged is None or (since_ns is not None and merged < since_ns):
            continue
        if item.user is not None and item.user.is_bot:
            bots += 1
            continue
        if known_updated.get(item.number) == updated:
            continue
        todo.append(item)
    pulls: list[PullRequest] = []
    commits: list[PullCommit] = []
    for item in todo:
        first_commit, first_review, pr_commits = _timeline(client, repo, item, problems)
        progress.step("pull request timelines", total=len(todo))
        reverts = reverted_pr(item.head.ref, item.title, item.body)
        pulls.append(PullRequest(repo, item.number, ns(item.created_at) or 0, ns(item.updated_at) or 0,
                                 ns(item.merged_at), item.merge_commit_sha, item.base.ref, first_commit,
                                 first_review, reverts, is_hotfix(item.head.ref, [x.name for x in item.labels])))
        commits.extend(pr_commits)
    return PullsRead(pulls, commits, recent.newest, bots)


def _timeline(client: GitHubClient, repo: str, pr: PullPayload,
              problems: Problems) -> tuple[int | None, int | None, list[PullCommit]]:
    path = f"/repos/{repo}/issues/{pr.number}/timeline"
    author = pr.user.login if pr.user is not None else None
    first_commit: int | None = None
    first_review: int | None = None
    commits: dict[str, PullCommit] = {}
    for page in client.paginate(path):
        for ev in parse_items(TimelineEvent, page.data, f"GET {path}", problems):
            if ev.event == "committed" and ev.sha and ev.author is not None:
                authored = ns(ev.author.date)
                if authored is not None:
                    first_commit = authored if first_commit is None else min(first_commit, authored)
                commits[ev.sha] = PullCommit(repo, pr.number, ev.sha, fingerprint(authored, ev.message))
            elif ev.event == "reviewed" and ev.submitted_at is not None and ev.state != "pending":
                reviewer = ev.user
                if reviewer is None or reviewer.is_bot or (author is not None and reviewer.login == author):
                    continue
                at = ns(ev.submitted_at)
                if at is not None:
                    first_review = at if first_review is None else min(first_review, at)
    return first_commit, first_review, list(commits.values())


# ---------------------------------------------------------------------------------------------- incidents


@dataclass(frozen=True)
class IssuesRead:
    issues: list[Issue]
    cursor: int | None
    pull_requests_skipped: int


def read_incident_issues(
    client: GitHubClient, repo: str, label: str, *, cursor: int | None, since_ns: int | None,
    progress: Progress, problems: Problems,
) -> IssuesRead:
    """Issues labelled ``label`` (``state=all``), most recently updated first, down to ``cursor``.
    Pull requests the issues endpoint also returns (``pull_request.html_url`` set) are not incidents."""
    params = {"state": "all", "labels": label, "sort": "updated", "direction": "desc"}
    out: list[Issue] = []
    recent = _RecentFirst(cursor)
    skipped = 0
    for item, updated in recent.items(client, f"/repos/{repo}/issues", params, IssuePayload, problems, progress,
                                      "incident pages"):
        if item.is_pull_request:
            skipped += 1
            continue
        created = ns(item.created_at) or 0
        if since_ns is not None and created < since_ns:
            continue
        root, ref = incident_links(item.body)
        out.append(Issue(repo, item.number, created, updated, ns(item.closed_at), item.state,
                         item.state_reason, root, ref))
    return IssuesRead(out, recent.newest, skipped)


# ---------------------------------------------------------------------------------------------- comparisons


_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
"""A commit SHA: only these are compared (an Argo CD revision may be a chart version)."""


class CommitSource(Protocol):
    """Where the commits between two deployed SHAs come from."""

    def compare(self, base: str, head: str) -> tuple[Comparison, list[Commit]]: ...


class ApiCompare:
    """``GET /repos/{repo}/compare/{base}...{head}`` (paginated, 100 commits a page)."""

    def __init__(self, client: GitHubClient, repo: str, problems: Problems) -> None:
        self.client, self.repo, self.problems = client, repo, problems

    def compare(self, base: str, head: str) -> tuple[Comparison, list[Commit]]:
        if not (_HEX.match(base) and _HEX.match(head)):  # e.g. a Helm chart version as an Argo CD revision
            return Comparison(self.repo, base, head, "missing", 0, 0, 0), []
        path = f"/repos/{self.repo}/compare/{base}...{head}"
        commits: list[Commit] = []
        head_info: ComparePayload | None = None
        try:
            for page in self.client.paginate(path):
                body = parse_one(ComparePayload, page.data, f"GET {path}")
                head_info = head_info or body
                for c in parse_items(CommitPayload, body.commits, f"GET {path}", self.problems):
                    commits.append(commit_record(self.repo, c))
        except NotFound:
            return Comparison(self.repo, base, head, "missing", 0, 0, 0), []
        assert head_info is not None
        return (Comparison(self.repo, base, head, head_info.status, head_info.ahead_by, head_info.behind_by,
                           head_info.total_commits, tuple(c.sha for c in commits)), commits)


def commit_record(repo: str, c: CommitPayload) -> Commit:
    authored = ns(c.commit.author.date) or 0
    return Commit(repo, c.sha, ns(c.commit.committer.date) or 0, authored, len(c.parents),
                  change_type(c.commit.message), fingerprint(authored, c.commit.message))


class LocalGitCompare:
    """Comparisons from a local clone (``--git PATH``): no API call; a commit the clone lacks falls back to
    the API for that pair (and is counted)."""

    def __init__(self, path: str | Path, repo: str, fallback: CommitSource) -> None:
        self.path, self.repo, self.fallback = str(path), repo, fallback
        self.fallbacks = 0
        if self._git("rev-parse", "--git-dir", check=False) is None:
            raise SourceError(f"{self.path}: not a git repository (--git)")

    def _git(self, *args: str, check: bool = True) -> bytes | None:
        try:
            done = subprocess.run(["git", "-C", self.path, *args], capture_output=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SourceError(f"git failed in {self.path}: {type(err).__name__}") from None
        if done.returncode != 0:
            if check:
                raise SourceError(f"git {args[0]} failed in {self.path}")
            return None
        return done.stdout

    def compare(self, base: str, head: str) -> tuple[Comparison, list[Commit]]:
        if not (_HEX.match(base) and _HEX.match(head)):
            return Comparison(self.repo, base, head, "missing", 0, 0, 0), []
        for sha in (base, head):
            if self._git("cat-file", "-e", f"{sha}^{{commit}}", check=False) is None:
                self.fallbacks += 1
                return self.fallback.compare(base, head)
        if self._git("rev-parse", base) == self._git("rev-parse", head):
            return Comparison(self.repo, base, head, "identical", 0, 0, 0), []
        out = self._git("log", "-z", "--format=%H%x1f%P%x1f%ct%x1f%at%x1f%B", f"{base}..{head}") or b""
        behind = int((self._git("rev-list", "--count", f"{head}..{base}") or b"0").strip() or 0)
        commits: list[Commit] = []
        for record in out.split(b"\0"):
            if not record.strip():
                continue
            sha, parents, ct, at, message = record.decode("utf-8", "replace").lstrip("\n").split("\x1f", 4)
            authored = int(at) * 1_000_000_000
            commits.append(Commit(self.repo, sha, int(ct) * 1_000_000_000, authored, len(parents.split()),
                                  change_type(message), fingerprint(authored, message)))
        commits.reverse()  # oldest first, as the compare API lists them
        ahead = len(commits)
        status = "ahead" if ahead and not behind else "behind" if behind and not ahead else \
            "diverged" if ahead else "identical"
        return (Comparison(self.repo, base, head, status, ahead, behind, ahead, tuple(c.sha for c in commits)),
                commits)


__all__ = ["ApiCompare", "CommitSource", "IssuesRead", "LocalGitCompare", "PullsRead", "commit_record",
           "read_incident_issues", "read_pulls"]

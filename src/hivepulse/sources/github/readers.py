"""GitHub resources that can count as deployments: the repository, deployments with their statuses, releases
with the tags they name, and workflow runs of a deploy workflow (split by ``created`` ranges).

Every reader fetches only what changed since the last pull: the first page of a list is a conditional
request (a 304 ends it), lists sorted newest first stop at the first page holding an object already stored,
and single objects that can still change (deployments without a success, runs not completed) are re-polled
conditionally. Rules: ``docs/pull.md``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from hivepulse.errors import InputError
from hivepulse.sources.github.client import GitHubClient
from hivepulse.sources.github.payloads import (
    DeploymentPayload,
    Problems,
    ReleasePayload,
    RepoPayload,
    RunPayload,
    RunsPayload,
    StatusPayload,
    TagPayload,
    ns,
    parse_items,
    parse_one,
)
from hivepulse.sources.github.records import Deployment, Release, RepoInfo, Run, Tag

NS = 1_000_000_000
DAY_NS = 86400 * NS
RUNS_CAP = 1000
"""GitHub returns at most 1,000 workflow runs per filtered query."""
RUNS_SLICE = 800
"""Target runs per ``created`` range when a range holds more than :data:`RUNS_CAP`."""
EARLIEST = "2008-01-01T00:00:00+00:00"
"""Start of the first ``created`` range when no ``since`` is given (GitHub's launch)."""

_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
SUCCESS, TERMINAL_FAILED = "success", ("failure", "error")


class Progress(Protocol):
    """Where readers report work done (the pull layer draws tqdm bars from it)."""

    def step(self, what: str, n: int = 1, total: int | None = None) -> None: ...


class NoProgress:
    def step(self, what: str, n: int = 1, total: int | None = None) -> None:
        return None


def check_repository(name: str) -> str:
    """``OWNER/REPO`` validated (letters, digits, ``-``, ``_``, ``.``), else :class:`InputError`."""
    text = name.strip()
    if not _REPO.match(text) or ".." in text:
        raise InputError("invalid repository", value=name, expected="OWNER/REPO, e.g. hive-team/hivebox")
    return text


def read_repo(client: GitHubClient, repo: str, known: RepoInfo | None) -> RepoInfo:
    """``GET /repos/{repo}`` (conditional when known): its id and default branch."""
    page = client.get(f"/repos/{repo}", conditional=True)
    if page.not_modified and known is not None:
        return known
    if page.not_modified:  # validators stored without the record (a damaged store): ask without them
        page = client.get(f"/repos/{repo}")
    data = parse_one(RepoPayload, page.data, f"GET /repos/{repo}")
    return RepoInfo(repo, data.id, data.default_branch)


# ---------------------------------------------------------------------------------------------- deployments


def read_deployments(
    client: GitHubClient, repo: str, known: Mapping[int, Deployment], *, since_ns: int | None, now_ns: int,
    repoll_ns: int, progress: Progress, problems: Problems,
) -> list[Deployment]:
    """New deployments (newest first until one already stored) and re-polled unfinished ones, each with
    the summary of its statuses. Unfinished ones older than ``repoll_ns`` are no longer polled."""
    where = f"GET /repos/{repo}/deployments"
    fresh: list[DeploymentPayload] = []
    for page in client.paginate(f"/repos/{repo}/deployments", conditional=True):
        if page.not_modified:
            break
        seen_known = False
        for item in parse_items(DeploymentPayload, page.data, where, problems):
            created = ns(item.created_at)
            if item.id in known or (since_ns is not None and created is not None and created < since_ns):
                seen_known = True
                continue
            fresh.append(item)
        progress.step("deployment pages")
        if seen_known:
            break
    out: list[Deployment] = []
    polls = [(d, None) for d in fresh] + [
        (None, k) for k in known.values() if not k.final and now_ns - k.created_at <= repoll_ns]
    for payload, old in polls:
        dep_id = payload.id if payload is not None else old.id  # type: ignore[union-attr]
        statuses = _statuses(client, repo, dep_id, problems=problems)
        progress.step("deployment statuses", total=len(polls))
        if statuses is None:  # 304: unchanged
            continue
        if payload is not None:
            base = Deployment(repo, payload.id, payload.sha, payload.ref, payload.environment,
                              payload.transient_environment, ns(payload.created_at) or 0, "pending", None, None,
                              False)
        else:
            assert old is not None
            base = old
        out.append(_summarize(base, statuses))
    return out


def _statuses(client: GitHubClient, repo: str, dep_id: int, *, problems: Problems) -> list[StatusPayload] | None:
    """All statuses of a deployment (conditional: a re-poll of an unchanged one answers 304 -> None)."""
    path = f"/repos/{repo}/deployments/{dep_id}/statuses"
    items: list[StatusPayload] = []
    for page in client.paginate(path, conditional=True):
        if page.not_modified:
            return None
        items.extend(parse_items(StatusPayload, page.data, f"GET {path}", problems))
    return items


def _summarize(dep: Deployment, statuses: list[StatusPayload]) -> Deployment:
    times = [(s.state.lower(), ns(s.created_at) or 0) for s in statuses]
    success = [t for s, t in times if s == SUCCESS]
    failed = sorted(((t, s) for s, t in times if s in TERMINAL_FAILED), reverse=True)
    running = [t for s, t in times if s == "in_progress"]
    started = min(running) if running else dep.created_at
    if success:
        return _replace(dep, "success", min(success), started, True)
    if failed:
        return _replace(dep, failed[0][1], failed[0][0], started, False)
    state = "inactive" if any(s == "inactive" for s, _ in times) else "pending"
    return _replace(dep, state, None, started, False)


def _replace(dep: Deployment, state: str, finished: int | None, started: int | None, final: bool) -> Deployment:
    return Deployment(dep.repository, dep.id, dep.sha, dep.ref, dep.environment, dep.transient, dep.created_at,
                      state, finished, started, final)


# ---------------------------------------------------------------------------------------------- releases


def read_releases(client: GitHubClient, repo: str, problems: Problems) -> list[Release] | None:
    """Every release (all pages) when the first page changed; None when it answered 304."""
    out: list[Release] = []
    for page in client.paginate(f"/repos/{repo}/releases", conditional=True):
        if page.not_modified:
            return None
        for r in parse_items(ReleasePayload, page.data, f"GET /repos/{repo}/releases", problems):
            out.append(Release(repo, r.id, r.tag_name, ns(r.published_at), r.draft, r.prerelease))
    return out


def read_tags(client: GitHubClient, repo: str, problems: Problems) -> list[Tag] | None:
    """Every tag with its commit when the first page changed; None when it answered 304."""
    out: list[Tag] = []
    for page in client.paginate(f"/repos/{repo}/tags", conditional=True):
        if page.not_modified:
            return None
        for t in parse_items(TagPayload, page.data, f"GET /repos/{repo}/tags", problems):
            out.append(Tag(repo, t.name, t.commit.sha))
    return out


# ---------------------------------------------------------------------------------------------- workflow runs


@dataclass(frozen=True)
class RunsRead:
    runs: list[Run]
    open_from: str
    """Start of the ``created`` range the next pull asks for (runs created before it are complete)."""


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


def parse_iso(text: str) -> int:
    """Seconds since the epoch of an ``iso()`` string."""
    import calendar

    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))


def read_runs(
    client: GitHubClient, repo: str, workflow: str, *, branch: str | None, open_from: str | None,
    known: Mapping[tuple[int, int], Run], now_ns: int, progress: Progress, problems: Problems,
) -> RunsRead:
    """Runs of ``workflow`` (file name or id) created since ``open_from`` (all history the first time).

    A range holding more than 1,000 runs is split into ``created`` sub-ranges of about 800 runs. Earlier
    attempts of re-run runs are fetched once. The next pull's range starts at the UTC day of the oldest
    run not completed (else today); when that differs from this pull's range, its first page is requested
    once so the next pull can ask it conditionally."""
    path = f"/repos/{repo}/actions/workflows/{quote(workflow, safe='')}/runs"
    start = open_from or EARLIEST
    lo = parse_iso(start)
    now_s = now_ns // NS
    extra = {"branch": branch} if branch else {}
    payloads: list[RunPayload] = []
    unchanged = _runs_range(client, path, lo, None, extra, now_s, payloads, True, progress, problems)
    runs = {(p.id, p.run_attempt): p for p in payloads}
    pending = [ns(p.created_at) or 0 for p in payloads if p.status != "completed"]
    if unchanged:  # nothing new since the last pull: same range next time
        return RunsRead([], start)
    out = [_run(repo, p) for p in runs.values()]
    for p in runs.values():
        for attempt in range(1, p.run_attempt):
            if (p.id, attempt) in known or (p.id, attempt) in runs:
                continue
            apath = f"/repos/{repo}/actions/runs/{p.id}/attempts/{attempt}"
            page = client.get(apath)
            out.append(_run(repo, parse_one(RunPayload, page.data, f"GET {apath}")))
            progress.step("run attempts")
    floor = min(pending) // NS if pending else now_s
    next_lo = max(lo, floor - floor % 86400)
    if next_lo != lo:
        primed: list[RunPayload] = []
        _runs_range(client, path, next_lo, None, extra, now_s, primed, True, progress, problems, first_only=True)
        for p in primed:
            if (p.id, p.run_attempt) not in runs:
                out.append(_run(repo, p))
    return RunsRead(out, iso(next_lo))


def _runs_range(client: GitHubClient, path: str, lo: int, hi: int | None, extra: dict[str, str], now_s: int,
                out: list[RunPayload], conditional: bool, progress: Progress, problems: Problems, *,
                first_only: bool = False) -> bool:
    """Append the runs created in [lo, hi] (hi None = open) to ``out``; True when the first page was 304."""
    created = f">={iso(lo)}" if hi is None else f"{iso(lo)}..{iso(hi)}"
    where = f"GET {path}?created={created}"
    pages = client.paginate(path, {"created": created, **extra}, conditional=conditional)
    first = next(pages)
    progress.step("run pages")
    if first.not_modified:
        return True
    body = parse_one(RunsPayload, first.data, where)
    end = hi if hi is not None else now_s
    if body.total_count > RUNS_CAP and end > lo and not first_only:
        parts = max(2, math.ceil(body.total_count / RUNS_SLICE))
        step = max(1, (end - lo + 1) // parts)
        bounds = list(range(lo, end + 1, step))[:parts] + [end + 1]
        for i in range(len(bounds) - 1):
            sub_hi = bounds[i + 1] - 1 if (hi is not None or i < len(bounds) - 2) else None
            _runs_range(client, path, bounds[i], sub_hi, extra, now_s, out, False, progress, problems)
        return False
    out.extend(parse_items(RunPayload, body.workflow_runs, where, problems))
    if first_only:
        return False
    for page in pages:
        body = parse_one(RunsPayload, page.data, where)
        out.extend(parse_items(RunPayload, body.workflow_runs, where, problems))
        progress.step("run pages")
    return False


def _run(repo: str, p: RunPayload) -> Run:
    return Run(repo, p.id, p.run_attempt, p.workflow_id, p.run_number, p.head_sha, p.head_branch, p.event,
               p.status or "", p.conclusion, ns(p.created_at) or 0, ns(p.run_started_at), ns(p.updated_at) or 0)


__all__ = ["DAY_NS", "NS", "NoProgress", "Progress", "RunsRead", "check_repository", "read_deployments",
           "read_releases", "read_repo", "read_runs", "read_tags"]

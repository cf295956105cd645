"""What the GitHub source keeps of each API object: frozen records without any person field.

Timestamps are int nanoseconds since the epoch (UTC) or None. Field order is the column order of the store
table of the same name (``hivepulse.store.schema``), so a record is a row. Logins, names, e-mails, titles
and bodies are read only to derive what is kept here (bot flags, "reviewed by someone else", revert and root
cause references) and then dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


class Record:
    """Base of the source records: :meth:`row` gives the values in field (= column) order, bools as 0/1."""

    def row(self) -> tuple[object, ...]:
        return tuple(_cell(getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Any:
        values = []
        for f, v in zip(fields(cls), row, strict=True):  # type: ignore[arg-type]
            values.append(bool(v) if f.type == "bool" and v is not None else v)
        return cls(*values)


def _cell(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


@dataclass(frozen=True)
class RepoInfo(Record):
    repository: str
    repo_id: int
    default_branch: str


@dataclass(frozen=True)
class Deployment(Record):
    """A GitHub deployment with the summary of its statuses.

    ``state``: ``success`` if any status was success; else the latest terminal one (``failure``/``error``);
    else ``inactive`` (only inactive statuses); else ``pending`` (queued/pending/in_progress or none).
    ``finished_at``: the first success status's time, else the latest terminal status's time.
    ``started_at``: the first in_progress status, else the deployment's creation."""

    repository: str
    id: int
    sha: str
    ref: str
    environment: str
    transient: bool
    created_at: int
    state: str
    finished_at: int | None
    started_at: int | None
    final: bool


@dataclass(frozen=True)
class Release(Record):
    repository: str
    id: int
    tag: str
    published_at: int | None
    draft: bool
    prerelease: bool


@dataclass(frozen=True)
class Tag(Record):
    repository: str
    name: str
    sha: str


@dataclass(frozen=True)
class Run(Record):
    """One attempt of a workflow run (``attempt`` = ``run_attempt``)."""

    repository: str
    id: int
    attempt: int
    workflow_id: int
    run_number: int
    head_sha: str
    head_branch: str | None
    event: str
    status: str
    conclusion: str | None
    created_at: int
    run_started_at: int | None
    updated_at: int


@dataclass(frozen=True)
class PullRequest(Record):
    """A merged pull request by a person (bot-authored ones are not kept).

    ``first_commit_at``: earliest author date of its commits; ``first_review_at``: first submitted review by
    someone other than the author and not a bot; ``reverts_pr``: the number of the pull request it reverts
    (from the ``revert-N-...`` branch GitHub's revert button creates, or ``Reverts #N`` / ``(#N)`` in a
    ``Revert "..."`` title or body); ``hotfix``: its branch or a label matches the hotfix pattern."""

    repository: str
    number: int
    created_at: int
    updated_at: int
    merged_at: int | None
    merge_commit_sha: str | None
    base_ref: str
    first_commit_at: int | None
    first_review_at: int | None
    reverts_pr: int | None
    hotfix: bool


@dataclass(frozen=True)
class PullCommit(Record):
    """A commit of a pull request; ``fingerprint`` hashes its author date and message (kept across rebases)."""

    repository: str
    number: int
    sha: str
    fingerprint: str


@dataclass(frozen=True)
class Issue(Record):
    """An issue with the incident label. ``root_cause``: the SHA of a ``root cause: <sha>`` line;
    ``deployment_ref``: a deployment named in the body (``id:N``, ``run:N``, ``release:TAG`` or text)."""

    repository: str
    number: int
    created_at: int
    updated_at: int
    closed_at: int | None
    state: str
    state_reason: str | None
    root_cause: str | None
    deployment_ref: str | None


@dataclass(frozen=True)
class Commit(Record):
    """A commit seen in a comparison (or a local clone): times, parent count and the Conventional Commits
    type of its subject; the message itself is not kept."""

    repository: str
    sha: str
    committed_at: int
    authored_at: int
    parents: int
    change_type: str | None
    fingerprint: str


@dataclass(frozen=True)
class Comparison:
    """``base...head``: GitHub's ``status`` (``ahead``, ``behind``, ``diverged``, ``identical``, or
    ``missing`` when GitHub does not know one of the commits) and the commits reachable from head only."""

    repository: str
    base: str
    head: str
    status: str
    ahead_by: int
    behind_by: int
    total_commits: int
    shas: tuple[str, ...] = ()

    def row(self) -> tuple[object, ...]:
        return (self.repository, self.base, self.head, self.status, self.ahead_by, self.behind_by,
                self.total_commits)


__all__ = ["Commit", "Comparison", "Deployment", "Issue", "PullCommit", "PullRequest", "Record", "Release",
           "RepoInfo", "Run", "Tag"]

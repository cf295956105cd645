"""The GitHub REST answers hivepulse reads, as pydantic models of exactly the fields it uses.

Shapes follow the GitHub REST API reference (https://docs.github.com/en/rest): field names, nesting and
timestamp formats (``2026-05-04T09:30:00Z``; commit dates may carry offsets such as ``-07:00``). Unknown fields
are ignored; an item missing a used field or with a wrong type is skipped and counted (the pull goes on and
says how many were skipped). Person fields (``login``, ``name``, ``email``) are read only where a rule needs
them (bot or not, author or not) and never leave this module's callers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from hivepulse.errors import SourceError
from hivepulse.textsafe import short

M = TypeVar("M", bound=BaseModel)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def ns(value: datetime | None) -> int | None:
    """A tz-aware datetime as int nanoseconds since the epoch (UTC)."""
    if value is None:
        return None
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class User(_Model):
    login: str = ""
    type: str = "User"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.lower().endswith("[bot]")


class RepoPayload(_Model):
    id: int
    default_branch: str


class DeploymentPayload(_Model):
    id: int
    sha: str
    ref: str = ""
    environment: str
    transient_environment: bool = False
    created_at: AwareDatetime


class StatusPayload(_Model):
    state: str
    created_at: AwareDatetime


class ReleasePayload(_Model):
    id: int
    tag_name: str
    draft: bool = False
    prerelease: bool = False
    published_at: AwareDatetime | None = None


class _TagCommit(_Model):
    sha: str


class TagPayload(_Model):
    name: str
    commit: _TagCommit


class RunPayload(_Model):
    id: int
    workflow_id: int
    run_number: int
    run_attempt: int = 1
    head_sha: str
    head_branch: str | None = None
    event: str = ""
    status: str | None = None
    conclusion: str | None = None
    created_at: AwareDatetime
    run_started_at: AwareDatetime | None = None
    updated_at: AwareDatetime


class RunsPayload(_Model):
    total_count: int
    workflow_runs: list[dict[str, Any]]


class _Ref(_Model):
    ref: str = ""


class _Label(_Model):
    name: str = ""


class PullPayload(_Model):
    number: int
    user: User | None = None
    title: str = ""
    body: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    merged_at: AwareDatetime | None = None
    merge_commit_sha: str | None = None
    head: _Ref = _Ref()
    base: _Ref = _Ref()
    labels: list[_Label] = []


class _GitPerson(_Model):
    date: AwareDatetime


class TimelineEvent(_Model):
    """An event of ``GET /repos/{o}/{r}/issues/{n}/timeline``: ``committed`` events carry ``sha``,
    ``author.date`` and ``message``; ``reviewed`` events ``user``, ``state`` and ``submitted_at``."""

    event: str = ""
    sha: str | None = None
    author: _GitPerson | None = None
    message: str = ""
    user: User | None = None
    state: str | None = None
    submitted_at: AwareDatetime | None = None


class _PullRef(_Model):
    html_url: str | None = None


class IssuePayload(_Model):
    number: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    state: str
    state_reason: str | None = None
    body: str | None = None
    pull_request: _PullRef | None = None

    @property
    def is_pull_request(self) -> bool:
        return bool(self.pull_request is not None and self.pull_request.html_url)


class _CommitMeta(_Model):
    author: _GitPerson
    committer: _GitPerson
    message: str = ""


class _Parent(_Model):
    sha: str


class CommitPayload(_Model):
    sha: str
    commit: _CommitMeta
    parents: list[_Parent] = []


class ComparePayload(_Model):
    status: str
    ahead_by: int = 0
    behind_by: int = 0
    total_commits: int = 0
    commits: list[dict[str, Any]] = []


# ---------------------------------------------------------------------------------------------- parsing


class Problems:
    """Items skipped because their shape was unexpected: a count and the first few descriptions."""

    def __init__(self) -> None:
        self.count = 0
        self.examples: list[str] = []

    def add(self, where: str, err: ValidationError) -> None:
        self.count += 1
        if len(self.examples) < 3:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            self.examples.append(f"{where}: field {loc!r}: {short(first.get('msg', 'invalid'), 80)}")


def parse_one(model: type[M], data: Any, where: str) -> M:
    """``data`` as ``model``; an unexpected top-level shape is a :class:`SourceError`."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise SourceError(f"GitHub answered {where} with an unexpected shape (field {loc!r}: "
                          f"{short(first.get('msg', 'invalid'), 80)})") from None


def parse_items(model: type[M], data: Any, where: str, problems: Problems) -> Iterator[M]:
    """The items of a JSON list as ``model``; a non-list is a :class:`SourceError`, a bad item is skipped."""
    if not isinstance(data, list):
        raise SourceError(f"GitHub answered {where} with {type(data).__name__}; expected a JSON array")
    for i, item in enumerate(data):
        try:
            yield model.model_validate(item)
        except ValidationError as err:
            problems.add(f"{where} item {i}", err)


# ---------------------------------------------------------------------------------------------- text rules

_CC = re.compile(r"^(?P<type>[A-Za-z]+)(?:\([^)\n]*\))?(?P<bang>!)?:\s")
_BREAKING = re.compile(r"^BREAKING[ -]CHANGE:", re.MULTILINE)
_REVERT_SUBJECT = re.compile(r'^Revert "')
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")
_REVERTS_BODY = re.compile(r"\bReverts\s+(?:[\w.-]+/[\w.-]+)?#(\d+)\b")
_TITLE_NUMBER = re.compile(r"\(#(\d+)\)")
_ROOT_CAUSE = re.compile(r"root[ _-]?cause\s*:\s*`?([0-9a-fA-F]{7,40})\b", re.IGNORECASE)
_DEPLOYMENT_REF = re.compile(r"\bdeployment\s*:\s*`?([^\s`]+)", re.IGNORECASE)
_RUN_URL = re.compile(r"/actions/runs/(\d+)")
_RELEASE_URL = re.compile(r"/releases/tag/([^\s/?#)]+)")
HOTFIX = re.compile(r"(?i)hot-?fix")


def change_type(message: str) -> str | None:
    """The Conventional Commits type of a commit message (``revert`` for git's ``Revert "..."``; a breaking
    change keeps its type with ``!``), as the git source reads it."""
    subject = message.split("\n", 1)[0]
    if _REVERT_SUBJECT.match(subject):
        return "revert"
    m = _CC.match(subject)
    if not m:
        return None
    breaking = bool(m.group("bang")) or bool(_BREAKING.search(message))
    return m.group("type").lower() + ("!" if breaking else "")


def fingerprint(author_date_ns: int | None, message: str) -> str:
    """A short hash of a commit's author date and message: equal for a commit and its rebased copy."""
    text = f"{author_date_ns}\n{message.rstrip()}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def reverted_pr(head_ref: str, title: str, body: str | None) -> int | None:
    """The pull request a revert pull request reverts, or None."""
    if m := _REVERT_BRANCH.match(head_ref):
        return int(m.group(1))
    if not _REVERT_SUBJECT.match(title):
        return None
    if body and (m := _REVERTS_BODY.search(body)):
        return int(m.group(1))
    if m := _TITLE_NUMBER.search(title):
        return int(m.group(1))
    return None


def is_hotfix(head_ref: str, labels: Iterable[str]) -> bool:
    return bool(HOTFIX.search(head_ref)) or any(HOTFIX.search(label) for label in labels)


def incident_links(body: str | None) -> tuple[str | None, str | None]:
    """``(root_cause_sha, deployment_ref)`` from an incident issue's body."""
    if not body:
        return None, None
    text = body[:100_000]
    root = m.group(1).lower() if (m := _ROOT_CAUSE.search(text)) else None
    ref: str | None = None
    if m := _RUN_URL.search(text):
        ref = f"run:{m.group(1)}"
    elif m := _RELEASE_URL.search(text):
        ref = f"release:{m.group(1)}"
    elif m := _DEPLOYMENT_REF.search(text):
        token = m.group(1).rstrip(".,;)")
        ref = f"id:{token}" if token.isdigit() else token[:200]
    return root, ref


__all__ = ["ComparePayload", "CommitPayload", "DeploymentPayload", "IssuePayload", "Problems", "PullPayload",
           "ReleasePayload", "RepoPayload", "RunPayload", "RunsPayload", "StatusPayload", "TagPayload",
           "TimelineEvent", "User", "change_type", "fingerprint", "incident_links", "is_hotfix", "ns",
           "parse_items", "parse_one", "reverted_pr"]

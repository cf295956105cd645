"""GitHub issues as a team's board (``hivepulse actions sync``): list a label's issues, read, create and edit
one, make sure a label exists. Requests go through :class:`~.client.GitHubClient` (waits, retries, redaction).

Shapes follow the GitHub REST API reference (API version 2022-11-28), https://docs.github.com/en/rest :

- **List repository issues** (issues/issues#list-repository-issues):
  ``GET /repos/{o}/{r}/issues?labels=L&state=all&per_page=100``, ``Link`` pagination; an array of issue
  objects. Pull requests are issues too: they come with a ``pull_request`` object and are skipped.
- **Get an issue** (#get-an-issue): ``GET /repos/{o}/{r}/issues/{n}``: 200; 404; ``410 Gone`` for a deleted
  issue; a transferred one redirects (301) to its new place.
- **Create an issue** (#create-an-issue): ``POST /repos/{o}/{r}/issues`` with ``title``, ``body``, ``labels``:
  ``201 Created`` with the issue; ``410`` when the repository has issues turned off; ``422 Validation Failed``
  ``{"message", "errors": [{"resource", "code", "field", "message"?}], "documentation_url"}`` (e.g. ``body is
  too long (maximum is 65536 characters)``). Labels are set only with push access (else silently dropped).
- **Update an issue** (#update-an-issue): ``PATCH /repos/{o}/{r}/issues/{n}`` with the changed fields: 200.
- **Labels** (issues/labels): ``GET /repos/{o}/{r}/labels/{name}`` 200 or 404; ``POST /repos/{o}/{r}/labels``
  with ``name``, ``color`` (6 hex digits, no ``#``), ``description``: 201, or 422 ``already_exists``.

Read from an issue: ``number``, ``html_url``, ``title``, ``body``, ``state``, ``state_reason``, ``closed_at``,
label names and **how many** ``assignees`` it has. Person fields (``user``, ``assignee(s)``' logins,
``closed_by``) are never copied out. GitHub's error messages are shown bounded, on one line, with URL
credentials and the token masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from hivepulse.errors import SourceError
from hivepulse.redact import redact_text
from hivepulse.sources.github.client import GitHubClient
from hivepulse.sources.github.payloads import Problems, parse_items
from hivepulse.textsafe import short, terminal

MAX_PAGES = 100
"""At most this many pages (10,000 issues) of one label are listed."""


class Rejected(SourceError):
    """GitHub refused a write with ``422 Validation Failed`` (its message and field errors are in the text)."""


class Gone(SourceError):
    """``410 Gone``: issues are turned off in the repository."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Label(_Model):
    name: str = ""


class _PullRef(_Model):
    url: str | None = None


class IssuePayload(_Model):
    number: int
    html_url: str = ""
    title: str = ""
    body: str | None = None
    state: str
    state_reason: str | None = None
    closed_at: AwareDatetime | None = None
    labels: list[_Label | str] = []
    assignees: list[Any] | None = None
    assignee: Any = None
    pull_request: _PullRef | None = None


@dataclass(frozen=True)
class IssueState:
    """An issue as the board reads it (no person): ``closed_at`` as ``2026-05-20T10:00:00Z``; ``assignees``
    is a count."""

    number: int
    url: str
    title: str
    body: str
    state: str
    state_reason: str | None
    closed_at: str | None
    assignees: int
    labels: tuple[str, ...]

    @classmethod
    def of(cls, p: IssuePayload) -> IssueState:
        closed = p.closed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if p.closed_at else None
        count = len(p.assignees) if p.assignees else (1 if p.assignee else 0)
        labels = tuple(label if isinstance(label, str) else label.name for label in p.labels)
        return cls(p.number, p.html_url, p.title, p.body or "", "closed" if p.state == "closed" else "open",
                   p.state_reason, closed if p.state == "closed" else None, count, labels)


@dataclass(frozen=True)
class Listed:
    """The issues of a label (pull requests left out and counted) and the items skipped for their shape."""

    issues: list[IssueState]
    pull_requests: int
    problems: Problems


def _message(client: GitHubClient, data: object, limit: int = 300) -> str:
    """GitHub's ``message`` and up to three field errors, one bounded line (credentials and token masked)."""
    if not isinstance(data, Mapping):
        return "no details"
    parts = [short(data.get("message"), 120) if isinstance(data.get("message"), str) else "no message"]
    errors = data.get("errors")
    if isinstance(errors, list):
        for err in errors[:3]:
            if isinstance(err, Mapping):
                what = [short(err.get(k), 60) for k in ("field", "code") if isinstance(err.get(k), str)]
                text = f"{' '.join(what)}: {short(err.get('message'), 120)}" if isinstance(err.get("message"), str) \
                    else " ".join(what)
                parts.append(text)
            elif isinstance(err, str):
                parts.append(short(err, 120))
    text = terminal(redact_text("; ".join(p for p in parts if p)))
    token = client.options.token
    if token:
        text = text.replace(token, "***")
    return short(text, limit)


def _issue(data: Any, where: str) -> IssueState:
    try:
        return IssueState.of(IssuePayload.model_validate(data))
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise SourceError(f"GitHub answered {where} with an unexpected shape (field {loc!r}: "
                          f"{short(first.get('msg', 'invalid'), 80)})") from None


def list_issues(client: GitHubClient, repo: str, label: str, *, max_pages: int = MAX_PAGES) -> Listed:
    """Every issue labelled ``label``, open or closed (``state=all``), in the API's order (newest first);
    pull requests are counted, not returned; an item of unexpected shape is skipped and counted."""
    where = f"GET /repos/{repo}/issues"
    problems = Problems()
    out: list[IssueState] = []
    prs = 0
    for i, page in enumerate(client.paginate(f"/repos/{repo}/issues", {"labels": label, "state": "all"})):
        if i >= max_pages:
            raise SourceError(f"more than {max_pages * 100:,} issues are labelled {short(label, 50)!r} in {repo}; "
                              "use a label of their own for the retro's action items")
        for item in parse_items(IssuePayload, page.data, where, problems):
            if item.pull_request is not None:
                prs += 1
                continue
            out.append(IssueState.of(item))
    return Listed(out, prs, problems)


def get_issue(client: GitHubClient, repo: str, number: int) -> IssueState | None:
    """One issue, or None when it is missing (404), deleted (410) or a pull request."""
    path = f"/repos/{repo}/issues/{int(number)}"
    status, data = client.send_json("GET", path, accept=(404, 410))
    if status != 200:
        return None
    if isinstance(data, Mapping) and data.get("pull_request") is not None:
        return None
    return _issue(data, f"GET {path}")


def ensure_label(client: GitHubClient, repo: str, name: str, *, color: str, description: str) -> bool:
    """Create the label ``name`` unless it exists; True when this call created it."""
    path = f"/repos/{repo}/labels/{quote(name, safe='')}"
    status, _ = client.send_json("GET", path, accept=(404,))
    if status == 200:
        return False
    payload = {"name": name, "color": color, "description": description}
    status, data = client.send_json("POST", f"/repos/{repo}/labels", payload, replay=True, accept=(403, 404, 422))
    if status in (403, 404):
        raise SourceError(f"GitHub answered POST /repos/{repo}/labels with {status} ({_message(client, data)}): the "
                          f"token cannot create the label {short(name, 50)!r} (that needs push access); create it "
                          "once in the repository's labels, or use a token that can")
    if status == 422:
        errors = data.get("errors") if isinstance(data, Mapping) else None
        if isinstance(errors, list) and any(isinstance(e, Mapping) and e.get("code") == "already_exists"
                                            for e in errors):
            return False  # created meanwhile (or by an earlier attempt whose answer was lost)
        raise Rejected(f"GitHub refused to create the label {short(name, 50)!r} in {repo} (422 "
                       f"{_message(client, data)})")
    return True


def _write_error(client: GitHubClient, status: int, data: object, what: str, repo: str) -> SourceError:
    if status == 410:
        return Gone(f"GitHub answered {what} with 410 Gone: issues are turned off in {repo} (or the issue was "
                    f"deleted): {_message(client, data)}")
    if status == 422:
        return Rejected(f"GitHub refused {what} (422 {_message(client, data)})")
    return SourceError(f"GitHub answered {what} with HTTP {status}: {_message(client, data)}")


def create_issue(client: GitHubClient, repo: str, *, title: str, body: str,
                 labels: Sequence[str]) -> IssueState:
    """``POST /repos/{repo}/issues``. Never sent twice blindly: an answer leaving the outcome unknown raises
    :class:`~.client.Unconfirmed` (the caller looks for the issue before trying again)."""
    what = f"POST /repos/{repo}/issues"
    status, data = client.send_json("POST", f"/repos/{repo}/issues",
                                    {"title": title, "body": body, "labels": list(labels)},
                                    replay=False, accept=(404, 410, 422))
    if status not in (200, 201):
        raise _write_error(client, status, data, what, repo)
    return _issue(data, what)


def update_issue(client: GitHubClient, repo: str, number: int, fields: Mapping[str, str]) -> IssueState:
    """``PATCH /repos/{repo}/issues/{number}`` with ``fields`` (``title``, ``body``): the same request twice
    has the same effect, so it is retried like a read."""
    what = f"PATCH /repos/{repo}/issues/{int(number)}"
    status, data = client.send_json("PATCH", f"/repos/{repo}/issues/{int(number)}", dict(fields), replay=True,
                                    accept=(404, 410, 422))
    if status not in (200, 201):
        raise _write_error(client, status, data, what, repo)
    return _issue(data, what)


__all__ = ["Gone", "IssuePayload", "IssueState", "Listed", "MAX_PAGES", "Rejected", "create_issue",
           "ensure_label", "get_issue", "list_issues", "update_issue"]

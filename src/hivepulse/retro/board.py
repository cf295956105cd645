"""Action items on the team's board: ``hivepulse actions sync --github OWNER/REPO``.

One GitHub issue per open action item of the workspace's ledger, found again by a hidden marker
(``<!-- hivepulse:action-item id=... -->``) on every run, so a re-run (or a run after an interrupted one)
never creates a second issue for an item; the issue's state is read back into the ledger
(:class:`~hivepulse.retro.boardlink.BoardLink`) for the next retro's follow-up. Rules in ``docs/retro.md``
(*Action items on the board*):

- **Open items**: those the next retro follows up, i.e. the ``actions`` and ``pending`` items of the latest
  ledger entry (latest ``until``; per ``environment`` when entries name one).
- **Finding an item's issue**: the issues labelled ``retro-action`` (``state=all``, every page; pull requests
  skipped) whose body carries the item's marker (the lowest number when several do); else the issue the
  ledger links (same repository), read directly when it is no longer labelled. None: the issue is created.
- **Body**: evidence, target, due date, origin, and the marker, written by :func:`issue_body`
  (deterministic: no clock). An existing issue is edited (``PATCH`` with the changed fields only) when its
  title or body differs from what would be written now **and** that differs from what the last sync wrote
  (``content_sha256``): evidence that changed reaches the issue; an edit made on GitHub to unchanged
  evidence is left alone. Sync never closes, reopens, labels or assigns an existing issue: the board's state
  is the team's, and it is only read.
- **Read back**: number, URL, state, ``closed_at``, ``state_reason`` and the number of assignees (never who)
  of every item's issue, written to every occurrence of the item (by id) in the ledger, under the
  workspace lock, re-reading the ledger first (a retro may have written it meanwhile).
- **Safety**: creating an issue is never repeated blindly; when GitHub's answer leaves it unknown whether
  the issue was created (a 5xx, a timeout, a connection lost), the label is listed again and the marker
  decides. What was done before a failure is still written to the ledger.

:func:`plan` is pure (ledger items + listed issues -> steps); :func:`sync` does the requests through
:class:`~hivepulse.sources.github.client.GitHubClient` and writes the ledger.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote

from hivepulse.errors import InputError, SourceError
from hivepulse.metrics.results import JSONObject
from hivepulse.retro import ledger as led
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.boardlink import BoardLink
from hivepulse.retro.fmt import fmt_value
from hivepulse.retro.render import code, md
from hivepulse.sources.github.client import GitHubClient, Unconfirmed
from hivepulse.sources.github.issues import (
    IssueState,
    create_issue,
    ensure_label,
    get_issue,
    list_issues,
    update_issue,
)
from hivepulse.textsafe import short, terminal

LABEL = "retro-action"
LABEL_COLOR = "1d76db"
LABEL_DESCRIPTION = "An action item of a hivepulse retro (hivepulse actions sync)"
MAX_TITLE = 200
"""Characters of an issue title (GitHub allows 256)."""
MAX_EVIDENCE = 1500
MAX_FIELD = 300
CREATE_ATTEMPTS = 3
"""A create whose outcome stays unknown after this many attempts (each followed by a listing) fails."""
MAX_MARKED_ID = 1000
"""Longest item id (percent-encoded) a marker holds; an item with a longer id is not synced (a note says so)."""
_MARKER = re.compile(r"<!--\s*hivepulse:action-item\s+id=([A-Za-z0-9%._~/-]{1,1000})\s*-->")
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
Action = Literal["create", "update", "unchanged"]


# ---------------------------------------------------------------------------------------------- issue text


def marker(item_id: str) -> str:
    """The hidden marker of an item: ``<!-- hivepulse:action-item id=2026-05-11_2026-05-25/review-sla -->``
    (the id percent-encoded except letters, digits, ``_.-~/``, so it can never end the comment)."""
    return f"<!-- hivepulse:action-item id={quote(item_id, safe='/')} -->"


def marker_ids(body: str) -> list[str]:
    """The item ids whose markers ``body`` carries (its first 100,000 characters)."""
    return [unquote(m.group(1)) for m in _MARKER.finditer(body[:100_000])]


def _text(value: object, limit: int = MAX_FIELD) -> str:
    """A value as Markdown that renders as that text, without notifying anyone (``@name`` is broken by a
    word joiner, so a catalog title can never mention a person)."""
    return _MENTION.sub("@\u2060", md(short(terminal("" if value is None else str(value)), limit)))


def issue_title(item: ActionItem) -> str:
    """The issue's title: the item's title (one line, at most :data:`MAX_TITLE` characters)."""
    title = short(terminal(item.title).strip(), MAX_TITLE)
    return title or f"Retro action item {short(item.action_id, 80)}"


@dataclass(frozen=True)
class OpenItem:
    """An item the next retro follows up, with the ledger entry it is open in."""

    item: ActionItem
    iteration: str
    environment: str | None = None


def issue_body(open_item: OpenItem) -> str:
    """The issue's body (Markdown): what to do, why (evidence), how it is judged (watch, target, due), where
    it comes from, how to take it (assign) and close it, and the marker. Every value is escaped
    (:func:`hivepulse.retro.render.md`)."""
    item = open_item.item
    origin = item.carried_from or item.id.split("/", 1)[0]
    env = f" ({_text(open_item.environment, 60)})" if open_item.environment else ""
    carried = f", carried over {item.carry_count} time(s)" if item.carry_count else ""
    rows = [
        ("Evidence", _text(item.evidence, MAX_EVIDENCE)),
        ("Watch", f"{_text(item.watch)}: {_text(fmt_value(item.watch, item.baseline))} when the item was set"),
        ("Target", _text(item.target_text)),
        ("Due", f"{_text(item.due, 40)} (the next retro)"),
        ("Practice", _text(item.practice)),
        ("Set at", f"the retro {_text(origin, 80)}{carried}" + (
            f"; open at the retro {_text(open_item.iteration, 80)}{env}" if origin != open_item.iteration else "")),
        ("Item", code(short(item.id, MAX_FIELD))),
    ]
    lines = [
        marker(item.id),
        f"An action item of the retro {_text(open_item.iteration, 80)}{env}. The next retro checks it against "
        "the numbers.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "**Owner**: assign this issue. The retro records only that it is assigned, never who (blameless).",
        "",
        f"**Done?** Close this issue. Closing it does not close the item: the next retro shows *closed on GitHub* "
        f"beside whether {_text(item.watch)} met its target.",
        "",
        "<sub>Written by <code>hivepulse actions sync</code> from the retro's ledger. This text is rewritten when "
        "the evidence changes: discuss in comments.</sub>",
        "",
    ]
    return "\n".join(lines)


def content_hash(title: str, body: str) -> str:
    """SHA-256 of the title and body written (stored as ``content_sha256``)."""
    return hashlib.sha256(f"{title}\n\0\n{body}".encode()).hexdigest()


def _same(current: str, wanted: str) -> bool:
    return current.replace("\r\n", "\n").strip() == wanted.replace("\r\n", "\n").strip()


# ---------------------------------------------------------------------------------------------- ledger side


def _environment(entry: led.LedgerEntry) -> str | None:
    raw = entry.raw
    value = raw.get("environment") if raw is not None else None
    return value if isinstance(value, str) and value else None


def open_items(ledger: led.Ledger) -> list[OpenItem]:
    """The items the next retro follows up: the open items (``actions``, then ``pending``) of the latest entry
    (latest ``until``, then id), one latest entry per ``environment`` when entries name one; each id once."""
    latest: dict[str | None, tuple[str, str, led.LedgerEntry]] = {}
    for ident, entry in ledger.entries.items():
        env = _environment(entry)
        if env not in latest or (entry.until, ident) > latest[env][:2]:
            latest[env] = (entry.until, ident, entry)
    out: list[OpenItem] = []
    seen: set[str] = set()
    for env in sorted(latest, key=lambda e: (e is not None, e or "")):
        _, ident, entry = latest[env]
        for item in entry.open_items():
            if item.id not in seen:
                seen.add(item.id)
                out.append(OpenItem(item, ident, env))
    return out


def _with_links(items: Sequence[ActionItem], links: Mapping[str, BoardLink]) -> tuple[ActionItem, ...]:
    return tuple(replace(i, board=links[i.id]) if i.id in links else i for i in items)


def _raw_with_links(raw: object, links: Mapping[str, BoardLink]) -> object:
    if not isinstance(raw, list):
        return raw
    return [{**d, "board": links[d["id"]].to_dict()} if isinstance(d, dict) and d.get("id") in links else d
            for d in raw]


def apply_links(ledger: led.Ledger, links: Mapping[str, BoardLink]) -> led.Ledger:
    """``ledger`` with each item whose id is in ``links`` linked to its issue, in every entry (``actions`` and
    ``pending``; the follow-ups made at earlier retros stay as they were shown). Everything else is kept as
    read."""
    entries: dict[str, led.LedgerEntry] = {}
    for ident, entry in ledger.entries.items():
        if not any(i.id in links for i in (*entry.actions, *entry.pending)):
            entries[ident] = entry
            continue
        raw: dict[str, Any] | None = None
        if entry.raw is not None:
            raw = dict(entry.raw)
            for key in ("actions", "pending"):
                if key in raw:
                    raw[key] = _raw_with_links(raw[key], links)
        entries[ident] = replace(entry, actions=_with_links(entry.actions, links),
                                 pending=_with_links(entry.pending, links), raw=raw)
    return led.Ledger(entries, ledger.version)


# ---------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Step:
    """What to do for one item: ``create`` its issue, ``update`` it (``fields``: the changed title/body), or
    nothing (``unchanged``); ``issue`` is the issue found (None for create)."""

    action: Action
    open_item: OpenItem
    title: str
    body: str
    digest: str
    issue: IssueState | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def item_id(self) -> str:
        return self.open_item.item.id


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()


def _linked(item: ActionItem, repo: str) -> BoardLink | None:
    link = item.board
    return link if link is not None and link.repository.lower() == repo.lower() else None


def plan(items: Sequence[OpenItem], issues: Sequence[IssueState], repo: str) -> Plan:
    """The steps that bring the board in line with ``items``, given the ``issues`` found (pure)."""
    by_marker: dict[str, list[IssueState]] = {}
    for listed in issues:
        for ident in dict.fromkeys(marker_ids(listed.body)):
            by_marker.setdefault(ident, []).append(listed)
    by_number = {i.number: i for i in issues}
    steps: list[Step] = []
    notes: list[str] = []
    for oi in items:
        item = oi.item
        if len(quote(item.id, safe="/")) > MAX_MARKED_ID:
            notes.append(f"{short(item.id, 80)}: its id is too long to be marked ({len(item.id):,} characters); "
                         "not synced")
            continue
        title, body = issue_title(item), issue_body(oi)
        digest = content_hash(title, body)
        found = sorted(by_marker.get(item.id, []), key=lambda i: i.number)
        link = _linked(item, repo)
        issue = found[0] if found else (by_number.get(link.number) if link is not None else None)
        if len(found) > 1:
            others = ", ".join(f"#{i.number}" for i in found[1:6])
            notes.append(f"{short(item.id, 80)}: {others} also carry its marker; #{found[0].number} is used, the "
                         "others are left alone")
        if issue is None:
            steps.append(Step("create", oi, title, body, digest))
            continue
        stored = link.content_sha256 if link is not None and link.number == issue.number else ""
        fields: dict[str, str] = {}
        if digest != stored:
            if not _same(issue.title, title):
                fields["title"] = title
            if not _same(issue.body, body):
                fields["body"] = body
        steps.append(Step("update" if fields else "unchanged", oi, title, body, digest, issue, fields))
    return Plan(tuple(steps), tuple(notes))


def link_of(issue: IssueState, repo: str, digest: str) -> BoardLink:
    """The ledger's record of ``issue`` (no person: only the number of assignees)."""
    url = issue.url if issue.url.startswith(("https://", "http://")) and len(issue.url) <= 500 else ""
    return BoardLink(repository=repo, number=issue.number, url=url, state=issue.state,
                     closed_at=issue.closed_at if issue.state == "closed" else None,
                     state_reason=issue.state_reason if issue.state == "closed" else None,
                     assignees=min(issue.assignees, 100), content_sha256=digest)


# ---------------------------------------------------------------------------------------------- sync


@dataclass(frozen=True)
class SyncOptions:
    """``repository`` (``OWNER/REPO``); ``dry_run``: list and plan only (no write to GitHub or the ledger);
    ``write_interval_s``: pause between two writes (GitHub asks for at least one second between
    content-creating requests)."""

    repository: str
    label: str = LABEL
    dry_run: bool = False
    write_interval_s: float = 1.0


@dataclass(frozen=True)
class Outcome:
    """What happened to one item: ``created``, ``updated``, ``unchanged`` (``would create`` / ``would update``
    in a dry run) and its issue as read back (None for a dry run's create)."""

    action: str
    item_id: str
    title: str
    link: BoardLink | None

    def to_dict(self) -> JSONObject:
        link = self.link
        return {"action": self.action, "item": self.item_id, "title": self.title,
                "issue": link.number if link else None, "url": link.url if link else None,
                "state": link.state if link else None, "closed_at": link.closed_at if link else None,
                "state_reason": link.state_reason if link else None,
                "assignees": link.assignees if link else None}


@dataclass
class SyncReport:
    repository: str
    ledger: str
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    label_created: bool = False
    ledger_written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    def to_dict(self) -> JSONObject:
        return {"repository": self.repository, "ledger": self.ledger, "dry_run": self.dry_run,
                "label_created": self.label_created, "ledger_written": self.ledger_written,
                "items": [o.to_dict() for o in self.outcomes], "notes": list(self.notes)}


def ledger_path(workspace: str | Path) -> Path:
    return Path(workspace) / "ledger.json"


def save_links(workspace: str | Path, links: Mapping[str, BoardLink]) -> bool:
    """Write ``links`` into the workspace's ledger through :func:`hivepulse.retro.workspace.update_ledger` (the
    retro's own lock and commit rules, the ledger re-read under the lock); False when nothing changed (the file
    is not rewritten)."""
    from hivepulse.retro.workspace import update_ledger

    return update_ledger(workspace, lambda fresh: apply_links(fresh, links))


def _find_marked(client: GitHubClient, repo: str, label: str, item_id: str) -> IssueState | None:
    found = [i for i in list_issues(client, repo, label).issues if item_id in marker_ids(i.body)]
    return min(found, key=lambda i: i.number) if found else None


class _Writer:
    """Writes one step at a time, pausing between writes."""

    def __init__(self, client: GitHubClient, options: SyncOptions, report: SyncReport) -> None:
        self.client, self.options, self.report = client, options, report
        self.writes = 0
        self.label_checked = False

    def _pause(self) -> None:
        if self.writes and self.options.write_interval_s > 0:
            self.client.sleep(self.options.write_interval_s)
        self.writes += 1

    def create(self, step: Step) -> IssueState:
        repo, label = self.options.repository, self.options.label
        if not self.label_checked:
            self.report.label_created = ensure_label(self.client, repo, label, color=LABEL_COLOR,
                                                     description=LABEL_DESCRIPTION)
            self.label_checked = True
            self.writes += self.report.label_created
        for _ in range(CREATE_ATTEMPTS):
            self._pause()
            try:
                issue = create_issue(self.client, repo, title=step.title, body=step.body, labels=[label])
            except Unconfirmed:
                found = _find_marked(self.client, repo, label, step.item_id)
                if found is not None:
                    return found
                continue
            if label not in issue.labels:
                self.report.notes.append(
                    f"#{issue.number} was created without the label {label!r} (the token cannot set labels: "
                    "that needs push access); later syncs find it through the ledger")
            return issue
        raise SourceError(f"GitHub never confirmed creating the issue of {short(step.item_id, 80)} in {repo} "
                          f"({CREATE_ATTEMPTS} attempts); run hivepulse actions sync again: it finds the issue by "
                          "its marker if it was created")

    def update(self, step: Step) -> IssueState:
        assert step.issue is not None
        self._pause()
        return update_issue(self.client, self.options.repository, step.issue.number, step.fields)


def _gather(client: GitHubClient, items: Sequence[OpenItem], options: SyncOptions,
            report: SyncReport) -> list[IssueState]:
    """The labelled issues, plus the issues the ledger links that are no longer labelled (read one by one)."""
    repo = options.repository
    listed = list_issues(client, repo, options.label)
    if listed.problems.count:
        report.notes.append(f"skipped {listed.problems.count} issue(s) with an unexpected shape, e.g. "
                            + "; ".join(listed.problems.examples))
    pool = list(listed.issues)
    marked = {ident for issue in pool for ident in marker_ids(issue.body)}
    numbers = {i.number for i in pool}
    for oi in items:
        link = _linked(oi.item, repo)
        if link is None or oi.item.id in marked or link.number in numbers:
            continue
        issue = get_issue(client, repo, link.number)
        if issue is None:
            report.notes.append(f"#{link.number} of {short(oi.item.id, 80)} is gone (deleted, moved or not "
                                "readable); a new issue is created")
            continue
        pool.append(issue)
        numbers.add(issue.number)
    return pool


def sync(client: GitHubClient, workspace: str | Path, options: SyncOptions, *,
         progress: Callable[[Outcome], None] | None = None) -> SyncReport:
    """Bring the board of ``options.repository`` in line with the open items of ``workspace``'s ledger and read
    every item's issue back into the ledger (module docstring)."""
    path = ledger_path(workspace)
    if not path.is_file():
        raise InputError("no ledger in the workspace", file=str(path),
                         expected="a retro workspace (--output-dir); run hivepulse retro first")
    repo = options.repository
    items = open_items(led.load(path))
    report = SyncReport(repo, str(path), options.dry_run)
    if not items:
        report.notes.append("no open action item in the ledger: nothing to sync")
        return report
    steps = plan(items, _gather(client, items, options, report), repo)
    report.notes.extend(steps.notes)
    done = progress or (lambda outcome: None)
    links: dict[str, BoardLink] = {}
    for step in steps.steps:  # read-back first: it is written even if a write below fails
        if step.action != "create" and step.issue is not None:
            links[step.item_id] = link_of(step.issue, repo, step.digest)
    if options.dry_run:
        for step in steps.steps:
            action = {"create": "would create", "update": "would update"}.get(step.action, step.action)
            outcome = Outcome(action, step.item_id, step.title, links.get(step.item_id))
            report.outcomes.append(outcome)
            done(outcome)
        return report
    writer = _Writer(client, options, report)
    try:
        for step in steps.steps:
            if step.action == "create":
                issue, action = writer.create(step), "created"
            elif step.action == "update":
                issue, action = writer.update(step), "updated"
            else:
                assert step.issue is not None
                issue, action = step.issue, "unchanged"
            links[step.item_id] = link_of(issue, repo, step.digest)
            outcome = Outcome(action, step.item_id, step.title, links[step.item_id])
            report.outcomes.append(outcome)
            done(outcome)
    except BaseException:
        with contextlib.suppress(Exception):  # keep what was done; the original error is the one to report
            save_links(workspace, links)
        raise
    report.ledger_written = save_links(workspace, links)
    return report


__all__ = ["CREATE_ATTEMPTS", "LABEL", "OpenItem", "Outcome", "Plan", "Step", "SyncOptions", "SyncReport",
           "apply_links", "content_hash", "issue_body", "issue_title", "link_of", "marker", "marker_ids",
           "open_items", "plan", "save_links", "sync"]

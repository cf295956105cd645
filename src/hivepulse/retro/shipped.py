"""What shipped: changes grouped by Conventional Commits type, release-notes style (no author anywhere).

:func:`what_shipped` is a pure, reusable function: the retro's *What shipped* section calls it with the
iteration's changes (:func:`shipped_in`), and ``make release-notes`` can call it with the commits since the last
tag to write a CHANGELOG section (:func:`to_markdown`). Input is a changes table of the event model (or rows
with the same keys): ``change_id``, and any of ``change_type``, ``title``, ``pr_number``, ``committed_at``.

Rules (docs/retro.md, "What shipped"):

- the **type** is ``change_type`` (lower case; a trailing ``!`` marks a breaking change), else the type of a
  Conventional Commits title ``type(scope)!: description``; git's ``Revert "..."`` subjects are ``revert``;
- **breaking**: ``change_type`` ending in ``!`` or a title with ``!`` before the colon, whatever the type; a
  ``BREAKING CHANGE:`` footer is seen by the git source, which writes ``feat!``;
- the **line** is the title without its ``type(scope)!:`` prefix, the scope in bold, and the pull-request
  number (``pr_number``, else a trailing ``(#123)`` of the title); a change without a title reads ``change
  <short id>``; identical lines of one group are merged, with every PR number and a count;
- **order**: breaking changes first, then features (``feat``), fixes (``fix``), then the others in
  :data:`GROUPS` order, unknown types and untyped changes last (*Other changes*); lines in order of first
  appearance (commit time when known);
- merge commits without a type (``Merge pull request #12``, ``Merge branch 'x'``) are not changes of their own
  and are skipped (counted in ``merges``);
- titles pass through :func:`hivepulse.redact.redact_people` (e-mail addresses, ``@login`` mentions) and lose
  control characters, so no person can be named; there is no author column to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from hivepulse.metrics.results import DoraReport, JSONObject
from hivepulse.model import EventSet
from hivepulse.redact import redact_people
from hivepulse.retro.render import md
from hivepulse.textsafe import terminal

GROUPS: tuple[tuple[str, str], ...] = (
    ("breaking", "Breaking changes"),
    ("feat", "Features"),
    ("fix", "Bug fixes"),
    ("perf", "Performance"),
    ("revert", "Reverts"),
    ("refactor", "Refactoring"),
    ("docs", "Documentation"),
    ("test", "Tests"),
    ("build", "Build"),
    ("ci", "Continuous integration"),
    ("style", "Style"),
    ("chore", "Chores"),
    ("other", "Other changes"),
)
"""Group keys and titles, in the order they are shown."""
HEADLINE_GROUPS = ("breaking", "feat", "fix")
"""The groups a short view lists in full (the others are folded)."""
TITLE_CHARS = 300

_CONVENTIONAL = re.compile(
    r"^\s*(?P<type>[A-Za-z][A-Za-z0-9_-]{0,19})(?:\((?P<scope>[^)\n]{0,60})\))?(?P<bang>!)?:\s+(?P<desc>.*\S)\s*$")
_REVERT = re.compile(r'^\s*Revert "')
_MERGE = re.compile(r"^\s*Merge (?:branch|pull request|remote-tracking branch|tag|commit)\b")
_PR_SUFFIX = re.compile(r"\s*\(#(?P<n>\d{1,9})\)\s*$")


@dataclass(frozen=True)
class ShippedLine:
    """One line of release notes: the description (title without its type prefix), its scope, whether it is
    breaking, the PR numbers and the change ids behind it (several when identical lines were merged)."""

    description: str
    scope: str | None
    breaking: bool
    type: str | None
    pr_numbers: tuple[int, ...] = ()
    change_ids: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.change_ids)

    def text(self) -> str:
        """Plain text: ``api: drop /v1 (#12, #14; 2 changes)``."""
        scope = f"{self.scope}: " if self.scope else ""
        return f"{scope}{self.description}{self.suffix()}"

    def suffix(self) -> str:
        """`` (#12, #14; 2 changes)``, `` (#12)`` or ``""``."""
        prs = ", ".join(f"#{n}" for n in self.pr_numbers)
        many = f"{self.count} changes" if self.count > 1 else ""
        inner = "; ".join(x for x in (prs, many) if x)
        return f" ({inner})" if inner else ""

    def to_dict(self) -> JSONObject:
        return {"description": self.description, "scope": self.scope, "breaking": self.breaking,
                "type": self.type, "pr_numbers": list(self.pr_numbers), "change_ids": list(self.change_ids)}


@dataclass(frozen=True)
class ShippedGroup:
    """The lines of one group (``key`` of :data:`GROUPS`) and its title."""

    key: str
    title: str
    lines: tuple[ShippedLine, ...]

    @property
    def changes(self) -> int:
        return sum(line.count for line in self.lines)

    def to_dict(self) -> JSONObject:
        return {"key": self.key, "title": self.title, "changes": self.changes,
                "lines": [line.to_dict() for line in self.lines]}


@dataclass(frozen=True)
class Shipped:
    """What shipped: the non-empty groups in :data:`GROUPS` order, the number of changes, how many had a
    Conventional Commits type and a title, and the merge commits skipped."""

    groups: tuple[ShippedGroup, ...] = ()
    changes: int = 0
    typed: int = 0
    titled: int = 0
    merges: int = 0
    types: Mapping[str, int] = field(default_factory=dict)
    """Changes per type (bare, lower case; ``other`` for untyped), breaking ones under their type too."""

    def group(self, key: str) -> ShippedGroup | None:
        return next((g for g in self.groups if g.key == key), None)

    @property
    def headline(self) -> tuple[ShippedGroup, ...]:
        """Breaking changes, features and fixes (:data:`HEADLINE_GROUPS`)."""
        return tuple(g for g in self.groups if g.key in HEADLINE_GROUPS)

    @property
    def folded(self) -> tuple[ShippedGroup, ...]:
        """Every other group."""
        return tuple(g for g in self.groups if g.key not in HEADLINE_GROUPS)

    def summary(self) -> str:
        """``42 changes: 2 breaking, 12 features, 9 fixes, 19 other`` (or ``No change shipped.``)."""
        if not self.changes:
            return "No change shipped."
        counts = {g.key: g.changes for g in self.groups}
        parts = [f"{counts['breaking']} breaking"] if counts.get("breaking") else []
        parts += [f"{counts.get('feat', 0)} feature(s)", f"{counts.get('fix', 0)} fix(es)"]
        rest = sum(v for k, v in counts.items() if k not in HEADLINE_GROUPS)
        parts.append(f"{rest} other")
        return f"{self.changes} change(s): {', '.join(parts)}"

    def to_dict(self) -> JSONObject:
        return {"changes": self.changes, "typed": self.typed, "titled": self.titled, "merges": self.merges,
                "types": dict(self.types), "groups": [g.to_dict() for g in self.groups]}


# ---------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Parsed:
    type: str | None
    scope: str | None
    breaking: bool
    description: str
    pr: int | None
    merge: bool


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = terminal(str(value)).strip()
    return text or None


def _int(value: object) -> int | None:
    try:
        if value is None or value is pd.NA or pd.isna(value):
            return None
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def parse(change_id: str, change_type: object = None, title: object = None, pr_number: object = None) -> _Parsed:
    """Type, scope, breaking mark, description and PR number of one change (module docstring)."""
    raw_type = _text(change_type)
    text = _text(title)
    text = redact_people(text[:TITLE_CHARS]) if text else None
    pr = _int(pr_number)
    ctype, breaking = None, False
    if raw_type:
        breaking = raw_type.endswith("!")
        ctype = raw_type.rstrip("!").strip().lower() or None
    scope: str | None = None
    description = text or ""
    if text:
        if (suffix := _PR_SUFFIX.search(text)) is not None:
            pr = pr or int(suffix["n"])
            description = text[: suffix.start()].strip() or text
        match = _CONVENTIONAL.match(description)
        if match is not None:
            title_type = match["type"].lower()
            if ctype is None or ctype == title_type:
                ctype = title_type
                scope = match["scope"].strip() or None if match["scope"] else None
                breaking = breaking or match["bang"] is not None
                description = match["desc"]
        elif ctype is None and _REVERT.match(description):
            ctype = "revert"
    merge = ctype is None and text is not None and _MERGE.match(text) is not None
    if not description:
        description = f"change {change_id[:12]}"
    return _Parsed(ctype, scope, breaking, description, pr, merge)


def _rows(changes: pd.DataFrame | Iterable[Mapping[str, object]]) -> list[Mapping[str, object]]:
    if isinstance(changes, pd.DataFrame):
        frame = changes
        if "committed_at" in frame.columns and len(frame):
            frame = frame.sort_values("committed_at", kind="stable", na_position="last")
        return frame.to_dict("records")
    return list(changes)


def what_shipped(changes: pd.DataFrame | Iterable[Mapping[str, object]]) -> Shipped:
    """The changes grouped by Conventional Commits type, release-notes style (module docstring).

    ``changes``: a changes table of the event model (``hivepulse.model``; rows ordered by ``committed_at``
    when it has one) or an iterable of mappings with the same keys; only ``change_id`` is required. Pure: the
    same input gives the same :class:`Shipped`.
    """
    known = {key for key, _ in GROUPS}
    buckets: dict[str, dict[tuple[str | None, str, bool], ShippedLine]] = {key: {} for key, _ in GROUPS}
    total = typed = titled = merges = 0
    types: dict[str, int] = {}
    for row in _rows(changes):
        change_id = _text(row.get("change_id")) or "?"
        parsed = parse(change_id, row.get("change_type"), row.get("title"), row.get("pr_number"))
        if parsed.merge:
            merges += 1
            continue
        total += 1
        typed += parsed.type is not None
        titled += _text(row.get("title")) is not None
        type_key = parsed.type if parsed.type else "other"
        types[type_key] = types.get(type_key, 0) + 1
        key = "breaking" if parsed.breaking else (type_key if type_key in known else "other")
        line_key = (parsed.scope, parsed.description, parsed.breaking)
        line = buckets[key].get(line_key)
        prs = (parsed.pr,) if parsed.pr is not None else ()
        if line is None:
            line = ShippedLine(parsed.description, parsed.scope, parsed.breaking, parsed.type, prs, (change_id,))
        else:
            merged_prs = line.pr_numbers + tuple(p for p in prs if p not in line.pr_numbers)
            line = ShippedLine(line.description, line.scope, line.breaking, line.type, merged_prs,
                               (*line.change_ids, change_id))
        buckets[key][line_key] = line
    groups = tuple(ShippedGroup(key, title, tuple(buckets[key].values())) for key, title in GROUPS if buckets[key])
    return Shipped(groups, total, typed, titled, merges, dict(sorted(types.items())))


def shipped_in(report: DoraReport, events: EventSet) -> Shipped:
    """What the iteration of ``report`` shipped: the changes of ``events`` whose deployment is a counted
    (successful) deployment of the report's environment in its window."""
    deployments = report.deployments
    if deployments.empty or events.changes.empty:
        return what_shipped([])
    counted = deployments.loc[deployments["counted"].fillna(False).astype(bool), "deployment_id"]
    changes = events.changes
    return what_shipped(changes[changes["deployment_id"].isin(set(counted.astype(str)))])


def to_markdown(shipped: Shipped, *, level: int = 3, groups: Iterable[str] | None = None) -> str:
    """Release notes in Markdown: one heading per group (``#`` x ``level``), one bullet per line,
    ``- **scope:** description (#12)``; every value escaped (:func:`hivepulse.retro.render.md`).
    ``groups``: only these group keys (default: all). Empty when nothing shipped."""
    wanted = set(groups) if groups is not None else None
    out: list[str] = []
    for group in shipped.groups:
        if wanted is not None and group.key not in wanted:
            continue
        out += [f"{'#' * level} {group.title}", ""]
        for line in group.lines:
            scope = f"**{md(line.scope)}:** " if line.scope else ""
            out.append(f"- {scope}{md(line.description)}{md(line.suffix())}")
        out.append("")
    return "\n".join(out)


__all__ = ["GROUPS", "HEADLINE_GROUPS", "Shipped", "ShippedGroup", "ShippedLine", "parse", "shipped_in",
           "to_markdown", "what_shipped"]

"""Release notes from commits: the next CHANGELOG section from the Conventional Commits since the last release
tag, written by hivepulse's own *What shipped* code (``hivepulse release-notes``, ``make release-notes``).

Rules (docs/deploy.md, "Release notes from commits"):

- **last release**: among the tags reachable from HEAD (``git for-each-ref --merged``) whose whole name matches
  the release-tag regex (default: the git source's deployment tags, :data:`DEFAULT_TAG_REGEX`: ``v1.2.3``,
  ``1.2.3``, ``v1.2.3-hotfix``), the one with the highest version (its first ``X.Y.Z``; equal versions: the
  descendant). None: the whole history of HEAD.
- **commits**: ``git log HEAD ^<tag>`` read by the git source (:func:`~hivepulse.sources.git.graph.read_graph`,
  :func:`~hivepulse.sources.git.frames.commits_frame`: types, ``!`` and ``BREAKING CHANGE:`` marks, PR numbers,
  subjects without people); merge commits are left out (counted); never an author or e-mail.
- **grouping and lines**: :func:`hivepulse.retro.shipped.what_shipped` and :func:`~hivepulse.retro.shipped.to_markdown`
  (breaking changes, features, fixes, then the other types, untyped changes last).
- **suggested version** (semver): a breaking change bumps the major version, a feature the minor, anything else
  the patch; below 1.0.0 a breaking change bumps the minor (0.y.z is initial development); from 0.0.0 without a
  tag; none when nothing changed.
- **section**: ``## [Unreleased]``, or ``## [X.Y.Z] - YYYY-MM-DD`` with a version, then a marker comment
  (:data:`MARKER`) and the groups as ``###`` headings.
- **writing** (:func:`update_changelog`): a section for the same version already there -> unchanged (idempotent);
  a generated ``[Unreleased]`` section (its marker follows the heading) is replaced; a hand-written
  ``[Unreleased]`` section is never touched: a release section goes below it, an ``[Unreleased]`` one is refused.
  Otherwise the section goes above the first release section (or at the end, before link references). The file
  is replaced atomically (:func:`hivepulse.fsio.atomic_write_text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from hivepulse.errors import InputError, SourceError
from hivepulse.fsio import atomic_write_text, read_text_limited
from hivepulse.retro.shipped import Shipped, to_markdown, what_shipped
from hivepulse.sources.git.frames import commits_frame
from hivepulse.sources.git.graph import read_graph, read_refs
from hivepulse.sources.git.repo import git, open_repo
from hivepulse.sources.git.tagrules import DEFAULT_TAG_REGEX
from hivepulse.textsafe import terminal

MARKER = "<!-- hivepulse release-notes"
"""Start of the comment line under a generated section's heading."""
CHANGELOG_BYTES = 8 << 20
"""Largest CHANGELOG read (8 MiB; real ones are tens to hundreds of KiB)."""
NEW_CHANGELOG = ("# Changelog\n\nAll notable changes to this project are documented here. The format follows\n"
                 "[Keep a Changelog](https://keepachangelog.com/en/1.1.0/); versions follow semantic versioning.\n")
"""Head of a CHANGELOG that did not exist yet."""

_NUM = r"(?:0|[1-9]\d*)"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION = re.compile(rf"v?(?P<core>{_NUM}\.{_NUM}\.{_NUM})(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
                      rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?")  # fmt: skip
_CORE = re.compile(r"(?<![0-9])(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?![0-9])")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_RELEASE_HEADING = re.compile(rf"^\[?v?(?P<v>{_NUM}\.{_NUM}\.{_NUM}(?:-{_IDENT}(?:\.{_IDENT})*)?)"
                              r"(?:\+[0-9A-Za-z.-]*)?(?:\]|(?![0-9A-Za-z.+-]))")  # fmt: skip
_UNRELEASED = re.compile(r"^\[?unreleased\]?(?!\w)", re.IGNORECASE)
_LINK_REF = re.compile(r"^\[[^\]\n]+\]:\s")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._/@+-]")


# ---------------------------------------------------------------------------------------------- versions


@dataclass(frozen=True)
class Version:
    """A semantic version ``MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]``, ordered by semver precedence."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    def __str__(self) -> str:
        pre = f"-{self.prerelease}" if self.prerelease else ""
        build = f"+{self.build}" if self.build else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}{build}"

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Semver precedence (build metadata ignored; a pre-release sorts before its release)."""
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")) \
            if self.prerelease else ()  # fmt: skip
        return self.major, self.minor, self.patch, 0 if self.prerelease else 1, ids

    def same(self, other: Version) -> bool:
        """Same release (build metadata ignored)."""
        return self.key() == other.key()

    def bump(self, part: str) -> Version:
        """The next ``major``, ``minor`` or ``patch`` version (pre-release and build dropped)."""
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)


def parse_version(text: str, *, what: str = "--version") -> Version:
    """``X.Y.Z`` (an optional ``v``, semver pre-release and build parts); anything else is an InputError."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise InputError(f"{what}: not a semantic version", value=text,
                         expected="MAJOR.MINOR.PATCH such as 1.3.0 (or 1.3.0-rc.1), or next")  # fmt: skip
    major, minor, patch = (int(x) for x in match["core"].split("."))
    return Version(major, minor, patch, match["pre"] or "", match["build"] or "")


def bump_for(shipped: Shipped, last: Version | None = None) -> str:
    """``major``, ``minor``, ``patch`` or ``none`` for what shipped since ``last`` (module docstring)."""
    if not shipped.changes:
        return "none"
    if shipped.group("breaking") is not None:
        return "major" if last is not None and last.major >= 1 else "minor"
    return "minor" if shipped.group("feat") is not None else "patch"


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReleaseTag:
    """The last release: the tag's name, its commit and its version (the name's first ``X.Y.Z``)."""

    name: str
    sha: str
    version: Version

    @property
    def label(self) -> str:
        """The name, safe inside Markdown and an HTML comment (other characters as ``?``)."""
        return _SAFE_NAME.sub("?", self.name)[:100]


@dataclass(frozen=True)
class ReleaseNotes:
    """What shipped since the last release tag, and the version it suggests."""

    head: str
    """The commit the notes run up to (full SHA)."""
    since: ReleaseTag | None
    shipped: Shipped
    merges: int
    """Merge commits left out."""
    bump: str
    suggested: Version | None
    notes: tuple[str, ...] = ()
    """Data-quality notes (a shallow clone)."""

    @property
    def span(self) -> str:
        """``since v1.2.0`` or ``in the whole history (no release tag)``."""
        return f"since {self.since.label}" if self.since is not None else "in the whole history (no release tag)"

    def summary(self) -> str:
        """``since v1.2.0: 5 change(s): ...; 1 merge commit(s) left out; suggested version 2.0.0 (major)``."""
        text = f"{self.span}: {self.shipped.summary() if self.shipped.changes else 'no change'}"
        if self.merges:
            text += f"; {self.merges} merge commit(s) left out"
        if self.suggested is not None:
            text += f"; suggested version {self.suggested} ({self.bump})"
        return text


def _head(path: str, rev: str) -> str:
    try:
        out = git(path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except SourceError:
        raise SourceError(f"{path}: {rev} names no commit (an empty repository?)") from None
    return out.decode("ascii", "replace").strip()


def last_release_tag(path: str, head: str, tag_regex: str | None = None) -> ReleaseTag | None:
    """The last release tag reachable from ``head`` (a full SHA), by the rule of the module docstring."""
    try:
        pattern = re.compile(tag_regex if tag_regex is not None else DEFAULT_TAG_REGEX)
    except re.error as exc:
        raise InputError(f"--tag-regex: invalid regular expression ({exc})", value=tag_regex) from None
    merged = set(git(path, "for-each-ref", "--merged", head, "--format=%(refname)", "refs/tags")
                 .decode("utf-8", "surrogateescape").splitlines())  # fmt: skip
    best: list[ReleaseTag] = []
    for tag in read_refs(path).tags:
        core = _CORE.search(tag.name)
        if (f"refs/tags/{tag.name}" not in merged or tag.target_type != "commit" or core is None
                or pattern.fullmatch(tag.name) is None):  # fmt: skip
            continue
        found = ReleaseTag(tag.name, tag.target, Version(int(core[1]), int(core[2]), int(core[3])))
        if not best or found.version.key() > best[0].version.key():
            best = [found]
        elif found.version.key() == best[0].version.key():
            best.append(found)
    if not best:
        return None
    best.sort(key=lambda t: t.name)
    winner = best[0]
    for other in best[1:]:  # equal versions on other commits: the one nearest HEAD (a descendant)
        if other.sha != winner.sha and _is_ancestor(path, winner.sha, other.sha):
            winner = other
    return winner


def _is_ancestor(path: str, ancestor: str, descendant: str) -> bool:
    """``ancestor`` is reachable from ``descendant`` (full SHAs): their merge base is ``ancestor`` itself."""
    return git(path, "merge-base", ancestor, descendant, check=False).strip().decode("ascii", "replace") == ancestor


def release_notes(path: str | Path, *, tag_regex: str | None = None, rev: str = "HEAD") -> ReleaseNotes:
    """What shipped between the last release tag and ``rev`` (module docstring). SourceError (exit 3) when
    ``path`` is no repository or ``rev`` no commit; InputError (exit 2) for a bad ``tag_regex``."""
    repo = open_repo(path)
    head = _head(repo.path, rev)
    since = last_release_tag(repo.path, head, tag_regex)
    graph = read_graph(repo.path, revs=(head, f"^{since.sha}") if since is not None else (head,))
    merge = graph.n_parents >= 2
    shipped = what_shipped(commits_frame(graph, np.flatnonzero(~merge)[::-1]))  # oldest first: same-second ties
    last = since.version if since is not None else None
    bump = bump_for(shipped, last)
    suggested = None if bump == "none" else (last or Version(0, 0, 0)).bump(bump)
    notes: tuple[str, ...] = ()
    if repo.shallow:
        notes = ("shallow clone: the history is cut, so the last release tag may be missing and older commits "
                 "counted (git fetch --unshallow --tags)",)  # fmt: skip
    return ReleaseNotes(head, since, shipped, int(merge.sum()), bump, suggested, notes)


# ---------------------------------------------------------------------------------------------- the section


def today() -> date:
    """Today's date in UTC (the default date of a release section)."""
    return datetime.now(UTC).date()


def render_section(notes: ReleaseNotes, version: Version | None = None, day: date | None = None) -> str:
    """The CHANGELOG section: heading, marker comment, the groups (``###``); ends with one newline."""
    heading = f"## [{version}] - {(day or today()).isoformat()}" if version is not None else "## [Unreleased]"
    suggested = f", suggested version {notes.suggested}" if notes.suggested is not None else ""
    marker = f"{MARKER}: {notes.shipped.changes} change(s) {notes.span}{suggested} -->"
    body = to_markdown(notes.shipped, level=3) if notes.shipped.changes else f"_No change {notes.span}._\n"
    return f"{heading}\n\n{marker}\n\n{body}"


def check_version(notes: ReleaseNotes, version: Version | None) -> None:
    """A version for the section must come after the last release (InputError, exit 2)."""
    if version is not None and notes.since is not None and version.key() <= notes.since.version.key():
        example = notes.suggested or notes.since.version.bump("patch")
        raise InputError(f"--version {version} is not after the last release {notes.since.label}",
                         expected=f"a version after {notes.since.version}, such as {example}")


@dataclass(frozen=True)
class _Heading:
    line: int
    level: int
    kind: str  # "release", "unreleased" or "other"
    version: Version | None
    generated: bool


def _headings(lines: list[str]) -> list[_Heading]:
    out: list[_Heading] = []
    fence: str | None = None
    for i, line in enumerate(lines):
        if (m := _FENCE.match(line)) is not None:
            fence = None if fence == m.group(1) else (fence or m.group(1))
            continue
        if fence is not None or (h := _HEADING.match(line.rstrip("\r\n"))) is None:
            continue
        level, title = len(h.group(1)), h.group(2)
        following = next((x.strip() for x in lines[i + 1 : i + 4] if x.strip()), "")
        generated = following.startswith(MARKER)
        if level <= 3 and (r := _RELEASE_HEADING.match(title)) is not None:
            out.append(_Heading(i, level, "release", parse_version(r["v"]), generated))
        elif level <= 2 and _UNRELEASED.match(title):
            out.append(_Heading(i, level, "unreleased", None, generated))
        elif level <= 2:
            out.append(_Heading(i, level, "other", None, generated))
    return out


def _section_end(lines: list[str], heads: list[_Heading], start: _Heading) -> int:
    """First line after the section that starts at ``start`` (next level-1/2 or release heading, trailing link
    references, or the end)."""
    later = [h.line for h in heads if h.line > start.line and (h.level <= start.level or h.kind == "release")]
    return later[0] if later else _tail(lines)


def _tail(lines: list[str]) -> int:
    """Where trailing link reference definitions (``[1.2.0]: https://...``) start (the end if none)."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    cut = end
    while cut and (_LINK_REF.match(lines[cut - 1]) or not lines[cut - 1].strip()):
        cut -= 1
    while cut < end and not lines[cut].strip():
        cut += 1
    return cut if cut < end else len(lines)


@dataclass(frozen=True)
class ChangelogUpdate:
    """The CHANGELOG after the update: ``action`` is ``inserted``, ``replaced``, ``unchanged`` (the same
    generated section was there), ``exists`` (a section for the version was there) or ``nothing`` (no change
    since the last release: nothing written)."""

    text: str
    action: str
    line: int | None = None
    """1-based line of the section's heading."""


def insert_section(text: str, section: str, version: Version | None, *, file: str = "CHANGELOG.md") -> ChangelogUpdate:
    """``text`` with ``section`` placed by the rules of the module docstring (pure; no I/O)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    heads = _headings(lines)
    block = [x + newline for x in section.rstrip("\n").split("\n")] + [newline]
    unreleased = next((h for h in heads if h.kind == "unreleased"), None)
    same = _existing(heads, version)
    if same is not None:
        return ChangelogUpdate(text, "exists", same + 1)
    if unreleased is not None and unreleased.generated:
        end = _section_end(lines, heads, unreleased)
        if lines[unreleased.line : end] == block:
            return ChangelogUpdate(text, "unchanged", unreleased.line + 1)
        return ChangelogUpdate("".join(lines[: unreleased.line] + block + lines[end:]), "replaced",
                               unreleased.line + 1)  # fmt: skip
    if unreleased is not None and version is None:
        raise InputError(f"{file}: has a hand-written [Unreleased] section (line {unreleased.line + 1}), left as "
                         "it is", expected="--version X.Y.Z (or next) to add the release section below it, or "
                         "no --write to print the section")  # fmt: skip
    first = next((h for h in heads if h.kind == "release"), None)
    if first is not None:
        at = first.line
    elif unreleased is not None:
        at = _section_end(lines, heads, unreleased)
    else:
        at = _tail(lines)
    before = lines[:at]
    if before and before[-1].strip():
        before.append(newline)
    return ChangelogUpdate("".join(before + block + lines[at:]).rstrip("\r\n") + newline, "inserted",
                           len(before) + 1)  # fmt: skip


def update_changelog(path: str | Path, notes: ReleaseNotes, version: Version | None,
                     day: date | None = None) -> ChangelogUpdate:  # fmt: skip
    """Insert the section for ``notes`` into the CHANGELOG at ``path`` (created when missing), atomically.

    Idempotent: a section for ``version`` already there is left as it is (``exists``, checked before the
    version is compared with the last release, so a rerun after tagging is no error). InputError (exit 2) for
    a file that cannot be read (not UTF-8, too large, a directory), a version not after the last release, or
    an ``[Unreleased]`` section over a hand-written one."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory", file=str(p), expected="a CHANGELOG file")
    try:
        text = read_text_limited(p, CHANGELOG_BYTES, what="CHANGELOG") if p.exists() else NEW_CHANGELOG
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or type(exc).__name__})", file=str(p)) from None
    same = _existing(_headings(text.splitlines(keepends=True)), version)
    if same is not None:
        return ChangelogUpdate(text, "exists", same + 1)
    check_version(notes, version)
    if not notes.shipped.changes:
        return ChangelogUpdate(text, "nothing")
    update = insert_section(text, render_section(notes, version, day), version, file=str(p))
    if update.action in ("inserted", "replaced"):
        try:
            atomic_write_text(p, update.text)
        except OSError as exc:
            raise InputError(f"cannot write ({exc.strerror or type(exc).__name__})", file=str(p)) from None
    return update


def _existing(heads: list[_Heading], version: Version | None) -> int | None:
    """0-based line of the release heading for ``version``, if there is one."""
    if version is None:
        return None
    return next((h.line for h in heads if h.kind == "release" and h.version is not None and h.version.same(version)),
                None)  # fmt: skip


def describe(update: ChangelogUpdate, path: str | Path, version: Version | None) -> str:
    """One line for the terminal: what :func:`update_changelog` did."""
    name = terminal(str(path))
    what = f"[{version}]" if version is not None else "[Unreleased]"
    return {
        "inserted": f"wrote {name}: section {what} inserted at line {update.line}",
        "replaced": f"wrote {name}: generated [Unreleased] section replaced by {what} at line {update.line}",
        "unchanged": f"{name} unchanged: its generated {what} section is up to date (line {update.line})",
        "exists": f"{name} unchanged: it already has a section for {version} (line {update.line})",
        "nothing": f"{name} unchanged: no change since the last release",
    }[update.action]


__all__ = ["CHANGELOG_BYTES", "MARKER", "ChangelogUpdate", "ReleaseNotes", "ReleaseTag", "Version", "bump_for",
           "check_version", "describe", "insert_section", "last_release_tag", "parse_version", "release_notes",
           "render_section", "update_changelog"]

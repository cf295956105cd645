"""Git source: a local clone (work tree or bare) -> :class:`hivepulse.model.EventSet`.

Rules (full text with examples: ``docs/git-source.md``):

- **Deployments** come from tags matching globs/regexes (default: ``v1.2.3`` / ``1.2.3`` semantic-version tags,
  plus ``v1.2.3-hotfix...`` variants), from the first-parent commits of deploy branches, and/or from a
  deployments CSV (``finished_at, environment, commit_sha``). Finish time: tagger date (annotated tag),
  committer date of the commit (lightweight tag, branch commit), or the file's ``finished_at``. Without
  ``{env}`` / ``:ENV``, a literal path segment of the pattern or branch name that is an environment alias
  (``deploy/staging/*``, branch ``staging``) names the environment. Tags on the commit of the tag deployed just
  before them in the environment are one deployment (the earliest tag).
- **Changes**: per environment, deployments in finish order each claim the commits reachable from their commit
  and not already claimed by an earlier deployment of the same environment (``git rev-list this ^prev...``);
  same-second deployments go ancestor first, a deploy branch's commits in branch order.
  Merge commits are walked but not emitted unless ``include_merges``. ``committed_at`` is the committer date
  (author date with ``author_date``). The primary environment's rows use the bare SHA as ``change_id``; other
  environments use ``<sha>@<environment>``.
- **Signals**: reverts (incident on the deployment that shipped the reverted commit; the shipping deployment is
  unplanned when no successful planned deployment lies between the two), hotfix tags/branches (unplanned),
  rollbacks (``rollback_of``; unplanned), and fix-only deployments shortly after a successful deployment found
  failed (unplanned, the recovery; after a failed attempt they are a planned retry).

The graph is read with one ``git log`` (parsed while git still writes it) and one ``git for-each-ref`` (in a
thread), then walked in Python over integer arrays (:mod:`hivepulse.sources.gitgraph`); author names and e-mails
are never requested. ``git merge-base --is-ancestor`` runs only for rollback candidates.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from hivepulse.errors import InputError, SourceError
from hivepulse.model import EventSet, event_set
from hivepulse.sources import gitgraph
from hivepulse.sources.gitgraph import CommitGraph, Refs

DEFAULT_TAG_REGEX = r"v?(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:[-_.+]?hotfix[0-9A-Za-z._-]*)?"
"""Default deployment tags: strict ``MAJOR.MINOR.PATCH`` with an optional ``v`` and an optional hotfix suffix.
Pre-releases (``-rc1``, ``-beta``) are not deployments by default."""
DEFAULT_HOTFIX_REGEX = r"(?i)hot-?fix"
DEFAULT_FIX_TYPES = ("fix", "revert", "hotfix", "bugfix")
MERGE_SUBJECT_RE = re.compile(rb"^Merge (?:branch|pull request|remote-tracking branch|tag)\b")


@dataclass(frozen=True)
class GitOptions:
    """How to read deployments and signals from a repository. All fields have documented defaults.

    Times are hours; patterns are Python regexes (``tag_regexes``) or globs (``tag_patterns``).
    """

    tag_patterns: tuple[str, ...] = ()
    """Globs over tag names (``*`` matches anything, ``{env}`` one path segment naming the environment);
    ``GLOB:ENV`` sets the environment explicitly; otherwise a literal segment in ``ENVIRONMENT_ALIASES`` names
    it. Empty with no other source -> ``DEFAULT_TAG_REGEX``."""
    tag_regexes: tuple[str, ...] = ()
    """Regexes that must match the whole tag name; a named group ``env`` gives the environment, else an alias
    among the complete path segments of the regex's literal prefix."""
    deploy_branches: tuple[str, ...] = ()
    """``NAME`` or ``NAME:ENV``: every first-parent commit of the branch is a deployment; without ``:ENV`` an
    alias among the path segments of ``NAME`` names the environment."""
    deployments_file: str | None = None
    """CSV with ``finished_at, environment, commit_sha`` (optional ``deployment_id, status, version,
    started_at, kind``)."""
    default_environment: str = "production"
    """Environment of deployments whose pattern names none; its changes use the bare SHA as change_id."""
    author_date: bool = False
    """Use the author date as ``committed_at`` (default: committer date)."""
    include_merges: bool = False
    """Emit merge commits as changes (they are always walked)."""
    revert_signal: bool = True
    hotfix_signal: bool = True
    rollback_signal: bool = True
    hotfix_regex: str = DEFAULT_HOTFIX_REGEX
    """Searched in tag names and merge subjects (``Merge branch 'hotfix/x'``)."""
    fix_window_hours: float = 24.0
    """A deployment at most this long after a failed one whose changes are all fixes is unplanned (0: off)."""
    fix_types: tuple[str, ...] = DEFAULT_FIX_TYPES
    allow_empty: bool = False
    """Return an empty deployments table instead of raising when nothing matches."""


# ------------------------------------------------------------------------------------------- CLI glue


def add_git_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the git-source flags (not ``--git PATH`` itself) to ``parser`` in a "git source" group."""
    g = parser.add_argument_group("git source (with --git PATH; rules: docs/git-source.md)")
    g.add_argument(
        "--tag-pattern", action="append", default=[], metavar="GLOB[:ENV]",
        help="deployment tags by glob; {env} in the glob names the environment, e.g. 'deploy/{env}/*', else "
        ":ENV, else a literal segment such as staging/prod in 'deploy/staging/*' "
        "(repeatable; default: semantic-version tags v1.2.3 / 1.2.3)",
    )  # fmt: skip
    g.add_argument(
        "--tag-regex", action="append", default=[], metavar="RE",
        help="deployment tags by regex over the whole name; a group (?P<env>...) names the environment",
    )  # fmt: skip
    g.add_argument(
        "--deploy-branch", action="append", default=[], metavar="NAME[:ENV]",
        help="every first-parent commit of this branch is a deployment (repeatable); a branch named like an "
        "environment (staging, prod, qa, ...) deploys there unless :ENV is given",
    )  # fmt: skip
    g.add_argument(
        "--deployments-file", metavar="CSV",
        help="deployments as CSV: finished_at, environment, commit_sha (the graph supplies the changes)",
    )  # fmt: skip
    g.add_argument(
        "--deploy-env", default="production", metavar="NAME",
        help="environment of deployments whose pattern names none (default: production)",
    )  # fmt: skip
    g.add_argument("--author-date", action="store_true", help="lead time starts at the author date")
    g.add_argument("--include-merges", action="store_true", help="count merge commits as changes")
    g.add_argument("--no-revert-signal", action="store_true", help="ignore 'This reverts commit' messages")
    g.add_argument("--no-hotfix-signal", action="store_true", help="ignore hotfix tag and branch names")
    g.add_argument("--no-rollback-signal", action="store_true", help="do not detect rollbacks")
    g.add_argument(
        "--hotfix-regex", default=DEFAULT_HOTFIX_REGEX, metavar="RE",
        help=f"hotfix marker in tag names and merge subjects (default: {DEFAULT_HOTFIX_REGEX})",
    )  # fmt: skip
    g.add_argument(
        "--fix-window-hours", type=float, default=24.0, metavar="H",
        help="a fix-only deployment at most H hours after a failed one is unplanned (default 24; 0 = off)",
    )  # fmt: skip
    g.add_argument(
        "--fix-types", default=",".join(DEFAULT_FIX_TYPES), metavar="LIST",
        help=f"Conventional Commits types that count as fixes (default: {','.join(DEFAULT_FIX_TYPES)})",
    )  # fmt: skip
    g.add_argument(
        "--allow-no-deployments", action="store_true",
        help="return an empty result instead of an error when no deployment matches",
    )  # fmt: skip


def options_from_args(args: argparse.Namespace) -> GitOptions:
    """The :class:`GitOptions` described by the flags of :func:`add_git_arguments` (validated)."""
    options = GitOptions(
        tag_patterns=tuple(getattr(args, "tag_pattern", None) or ()),
        tag_regexes=tuple(getattr(args, "tag_regex", None) or ()),
        deploy_branches=tuple(getattr(args, "deploy_branch", None) or ()),
        deployments_file=getattr(args, "deployments_file", None),
        default_environment=getattr(args, "deploy_env", "production"),
        author_date=bool(getattr(args, "author_date", False)),
        include_merges=bool(getattr(args, "include_merges", False)),
        revert_signal=not getattr(args, "no_revert_signal", False),
        hotfix_signal=not getattr(args, "no_hotfix_signal", False),
        rollback_signal=not getattr(args, "no_rollback_signal", False),
        hotfix_regex=getattr(args, "hotfix_regex", DEFAULT_HOTFIX_REGEX),
        fix_window_hours=float(getattr(args, "fix_window_hours", 24.0)),
        fix_types=tuple(
            t.strip().lower() for t in str(getattr(args, "fix_types", "")).split(",") if t.strip()
        ),
        allow_empty=bool(getattr(args, "allow_no_deployments", False)),
    )
    _compile(options)
    return options


# ------------------------------------------------------------------------------------------ patterns


ENVIRONMENT_ALIASES: dict[str, str | None] = {
    "production": "production", "prod": "production", "prd": "production", "live": "production",
    "staging": "staging", "stage": "staging", "stg": "staging",
    "development": "development", "dev": "development",
    "test": None, "testing": None, "qa": None, "uat": None,
}  # fmt: skip
"""Path segments that name an environment when a tag pattern or deploy branch names none (compared without
case). The value is the environment; ``None`` keeps the segment as written (``qa`` -> ``qa``)."""


@dataclass(frozen=True)
class _Matcher:
    regex: re.Pattern[str]
    environment: str | None  # fixed environment, or None: use group "env" or the default


def _alias_environment(segments: list[str], flag: str, text: str) -> tuple[str, str] | None:
    """(environment, segment) named by the literal path ``segments``, None when none is an alias.

    Raises :class:`InputError` when two segments name different environments."""
    found: dict[str, str] = {}
    for seg in segments:
        if seg.lower() in ENVIRONMENT_ALIASES:
            found.setdefault(ENVIRONMENT_ALIASES[seg.lower()] or seg, seg)
    if len(found) > 1:
        raise InputError(f"{flag}: the pattern names several environments ({', '.join(found)}); add :ENV",
                         value=text, expected=f"{text}:ENV")  # fmt: skip
    return next(iter(found.items()), None)


def _glob_literal_segments(glob: str) -> list[str]:
    """Path segments of a glob that hold no wildcard, class or ``{env}``."""
    return [seg for seg in glob.split("/") if seg and not any(ch in seg for ch in "*?[{")]


_REGEX_META = set(".^$*+?{}[]|()")


def _regex_literal_segments(text: str) -> list[str]:
    """Complete path segments of the literal prefix every match of ``text`` starts with.

    ``deploy/staging/\\d+`` -> ``["deploy", "staging"]``. Empty when the regex starts with a non-literal, has
    a top-level alternation (``a/x|b/y``: no common prefix) or the prefix holds no ``/``."""
    depth, i, in_class = 0, 0, False
    while i < len(text):  # a top-level '|' means the literal prefix does not cover every match
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i += 1 + (text[i + 1 : i + 2] == "]")
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return []
        i += 1
    out: list[str] = []
    i = 1 if text.startswith("^") else 0
    whole = True
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if not nxt or nxt.isalnum():  # \d, \w, \b ...: not a literal
                whole = False
                break
            lit, step = nxt, 2
        elif ch in _REGEX_META:
            whole = ch == "$" and i == len(text) - 1
            break
        else:
            lit, step = ch, 1
        if text[i + step : i + step + 1] in ("*", "?", "{", "+"):  # quantified: optional or repeated
            whole = False
            break
        out.append(lit)
        i += step
    prefix = "".join(out)
    segments = prefix.split("/")
    return [s for s in (segments if whole else segments[:-1]) if s]


def _glob_to_regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("{env}", i):
            out.append(r"(?P<env>[^/]+)")
            i += 5
            continue
        ch = glob[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            j = glob.find("]", i + 2)
            if j < 0:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : j]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Compiled:
    tags: tuple[_Matcher, ...]
    branches: tuple[tuple[str, str], ...]
    hotfix: re.Pattern[str]
    hotfix_bytes: re.Pattern[bytes]
    fix_types: frozenset[str]
    notes: tuple[str, ...] = ()
    """Environments inferred from patterns and branch names (for ``EventSet.notes``)."""


def _compile(options: GitOptions) -> _Compiled:
    matchers: list[_Matcher] = []
    notes: list[str] = []

    def inferred(kind: str, text: str, hit: tuple[str, str] | None) -> str | None:
        if hit is None:
            return None
        notes.append(f"Environment {hit[0]!r} inferred from {kind} {text!r} (path segment {hit[1]!r}); "
                     "add ':ENV' to choose another.")  # fmt: skip
        return hit[0]

    for spec in options.tag_patterns:
        glob, env = spec, None
        if ":" in glob:
            glob, env = glob.rsplit(":", 1)
            if not env:
                raise InputError("--tag-pattern: empty environment after ':'", value=glob + ":")
        if glob.count("{env}") > 1 or (env and "{env}" in glob):
            raise InputError("--tag-pattern: a tag pattern may name the environment once", value=glob)
        if env is None and "{env}" not in glob:
            env = inferred("tag pattern", glob, _alias_environment(_glob_literal_segments(glob), "--tag-pattern",
                                                                   glob))  # fmt: skip
        matchers.append(_Matcher(re.compile(_glob_to_regex(glob)), env))
    for text in options.tag_regexes:
        try:
            compiled = re.compile(text)
        except re.error as exc:
            raise InputError(f"--tag-regex: invalid regular expression ({exc})", value=text) from None
        env = None
        if "env" not in compiled.groupindex:
            env = inferred("tag regex", text, _alias_environment(_regex_literal_segments(text), "--tag-regex",
                                                                 text))  # fmt: skip
        matchers.append(_Matcher(compiled, env))
    branches: list[tuple[str, str]] = []
    for spec in options.deploy_branches:
        name, _, env = spec.partition(":")
        if not name:
            raise InputError("--deploy-branch: empty branch name", value=spec, expected="NAME[:ENV]")
        if not env:
            segments = [seg for seg in name.split("/") if seg]
            env = inferred("deploy branch", name, _alias_environment(segments, "--deploy-branch", name)) or ""
        branches.append((name, env or options.default_environment))
    if not matchers and not branches and not options.deployments_file:
        matchers.append(_Matcher(re.compile(DEFAULT_TAG_REGEX), None))
    try:
        hotfix = re.compile(options.hotfix_regex)
        hotfix_bytes = re.compile(options.hotfix_regex.encode("utf-8"))
    except re.error as exc:
        raise InputError(
            f"--hotfix-regex: invalid regular expression ({exc})", value=options.hotfix_regex
        ) from None
    if not (options.fix_window_hours >= 0):
        raise InputError("--fix-window-hours: must be a number of hours >= 0", value=options.fix_window_hours)
    if not options.default_environment:
        raise InputError("--deploy-env: must not be empty", value="")
    return _Compiled(tuple(matchers), tuple(branches), hotfix, hotfix_bytes, frozenset(options.fix_types),
                     tuple(notes))  # fmt: skip


# --------------------------------------------------------------------------------------- deployments


@dataclass
class _Deployments:
    """Deployment rows under construction (parallel lists)."""

    ids: list[str] = field(default_factory=list)
    envs: list[str] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)  # epoch seconds
    commit: list[int] = field(default_factory=list)  # graph index
    status: list[str] = field(default_factory=list)
    version: list[str | None] = field(default_factory=list)
    started: list[int | None] = field(default_factory=list)
    kind: list[str | None] = field(default_factory=list)
    hotfix_name: list[bool] = field(default_factory=list)
    order_key: list[int] = field(default_factory=list)  # epoch seconds that order the environment
    source: list[str] = field(default_factory=list)  # "tag", "branch" or "file"

    def add(self, did: str, env: str, finished: int, commit: int, *, status: str = "success",
            version: str | None = None, started: int | None = None, kind: str | None = None,
            hotfix: bool = False, order_key: int | None = None, source: str = "tag") -> None:  # fmt: skip
        self.order_key.append(finished if order_key is None else order_key)
        self.source.append(source)
        self.ids.append(did)
        self.envs.append(env)
        self.finished.append(finished)
        self.commit.append(commit)
        self.status.append(status)
        self.version.append(version)
        self.started.append(started)
        self.kind.append(kind)
        self.hotfix_name.append(hotfix)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: list[int]) -> _Deployments:
        """The deployments at ``rows`` (in that order)."""
        out = _Deployments()
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            setattr(out, name, [values[r] for r in rows])
        return out


def _tag_deployments(graph: CommitGraph, refs: Refs, comp: _Compiled, options: GitOptions,
                     deps: _Deployments, notes: list[str]) -> tuple[int, list[str]]:  # fmt: skip
    skipped_type: list[str] = []
    no_tagger: list[str] = []
    not_in_graph: list[str] = []
    seen_names: list[str] = []
    for tag in sorted(refs.tags, key=lambda t: t.name):
        seen_names.append(tag.name)
        env: str | None = None
        for m in comp.tags:
            hit = m.regex.fullmatch(tag.name)
            if hit:
                env = m.environment or hit.groupdict().get("env") or options.default_environment
                break
        if env is None:
            continue
        if tag.target_type != "commit":
            skipped_type.append(f"{tag.name} ({tag.target_type})")
            continue
        c = graph.index.get(tag.target.encode("ascii"))
        if c is None:
            not_in_graph.append(tag.name)
            continue
        finished = tag.tagger_time
        if finished is None:
            finished = int(graph.committer_time[c])
            if tag.annotated:
                no_tagger.append(tag.name)
        hot = bool(options.hotfix_signal and comp.hotfix.search(tag.name))
        deps.add(tag.name, env, finished, c, version=tag.name, hotfix=hot)
    if skipped_type:
        notes.append(
            f"{len(skipped_type)} matching tag(s) point at a tree or blob, not a commit, and were skipped: "
            + ", ".join(skipped_type[:5])
            + (" ..." if len(skipped_type) > 5 else "")
        )
    if no_tagger:
        notes.append(
            f"{len(no_tagger)} annotated tag(s) have no tagger date; the tagged commit's committer date was used: "
            + ", ".join(no_tagger[:5])
            + (" ..." if len(no_tagger) > 5 else "")
        )
    if not_in_graph:
        notes.append(
            f"{len(not_in_graph)} matching tag(s) point at commits missing from the clone and were skipped"
        )
    return len(seen_names), seen_names[:5]


def _branch_deployments(graph: CommitGraph, refs: Refs, comp: _Compiled, deps: _Deployments) -> None:
    for name, env in comp.branches:
        tip = refs.branches.get(name) or refs.branches.get(f"refs/heads/{name}")
        if tip is None:
            tip = next((sha for ref, sha in refs.branches.items() if ref.endswith("/" + name)), None)
        if tip is None:
            raise InputError("--deploy-branch: no such branch in the repository", value=name)
        c = graph.index.get(tip.encode("ascii"))
        if c is None:  # pragma: no cover - every branch tip is in the graph
            raise SourceError(f"branch {name!r} points at a commit missing from the graph")
        latest: int | None = None
        for i in reversed(gitgraph.first_parent_chain(graph, c)):
            sha = graph.shas[i].decode("ascii")
            ct = int(graph.committer_time[i])
            latest = ct if latest is None else max(latest, ct)  # the branch order wins over skewed dates
            deps.add(f"{name}@{sha[:12]}", env, ct, i, version=sha[:12], order_key=latest, source="branch")


FILE_COLUMNS = ("finished_at", "environment", "commit_sha")
FILE_OPTIONAL = ("deployment_id", "status", "version", "started_at", "kind")


def _parse_ts(text: str, file: str, line: int, column: str) -> int:
    value = text.strip()
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise InputError("unparsable timestamp", file=file, line=line, column=column, value=text,
                         expected="ISO 8601 with offset, e.g. 2024-05-01T10:00:00+02:00") from None  # fmt: skip
    if ts.tzinfo is None:
        raise InputError("timestamp without offset", file=file, line=line, column=column, value=text,
                         expected="an explicit offset or Z, e.g. 2024-05-01T10:00:00Z")  # fmt: skip
    return int(ts.timestamp())


def _file_deployments(graph: CommitGraph, options: GitOptions, deps: _Deployments) -> None:
    path = options.deployments_file
    assert path is not None
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", file=path, expected="a UTF-8 CSV file") from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", file=path) from None
    if not rows:
        raise InputError("empty file", file=path, expected=f"a header with {', '.join(FILE_COLUMNS)}")
    header = [h.strip() for h in rows[0]]
    for col in FILE_COLUMNS:
        if col not in header:
            raise InputError(f"missing column {col!r}", file=path, line=1, expected=", ".join(FILE_COLUMNS))
    pos = {name: header.index(name) for name in (*FILE_COLUMNS, *FILE_OPTIONAL) if name in header}
    seen: set[str] = set()
    for k, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(
                f"{len(row)} fields", file=path, line=k, expected=f"{len(header)} fields as in the header"
            )

        def cell(name: str, row: list[str] = row) -> str:
            return row[pos[name]].strip() if name in pos else ""

        finished = _parse_ts(cell("finished_at"), path, k, "finished_at")
        started = _parse_ts(cell("started_at"), path, k, "started_at") if cell("started_at") else None
        env = cell("environment") or options.default_environment
        sha = cell("commit_sha")
        if not re.fullmatch(r"[0-9a-fA-F]{7,64}", sha):
            raise InputError("not a commit SHA", file=path, line=k, column="commit_sha", value=sha,
                             expected="7 to 64 hex digits")  # fmt: skip
        c = graph.resolve(sha)
        if c is None:
            raise InputError("commit not found in the repository (or ambiguous)", file=path, line=k,
                             column="commit_sha", value=sha, expected="a commit reachable from a branch or tag")  # fmt: skip
        status = cell("status") or "success"
        if status not in ("success", "failure"):
            raise InputError(
                "bad status", file=path, line=k, column="status", value=status, expected="success or failure"
            )
        kind = cell("kind") or None
        if kind not in (None, "planned", "unplanned"):
            raise InputError(
                "bad kind", file=path, line=k, column="kind", value=kind, expected="planned or unplanned"
            )
        full = graph.shas[c].decode("ascii")
        did = cell("deployment_id") or f"{env}@{full[:12]}@{finished}"
        if did in seen:
            raise InputError("duplicate deployment_id", file=path, line=k, column="deployment_id", value=did,
                             expected="unique ids")  # fmt: skip
        seen.add(did)
        deps.add(
            did,
            env,
            finished,
            c,
            status=status,
            version=cell("version") or full[:12],
            started=started,
            kind=kind,
            source="file",
        )


# ------------------------------------------------------------------------------------------- changes


@dataclass
class _EnvResult:
    env: str
    order: np.ndarray  # deployment row numbers in finish order
    owner: np.ndarray  # per commit: row number of the owning deployment, -1 if none


def read_git(path: str | os.PathLike[str], options: GitOptions = GitOptions()) -> EventSet:  # noqa: B008
    """Read a clone (work tree or bare) into an :class:`EventSet` (rules: ``docs/git-source.md``).

    Raises :class:`SourceError` (exit 3) when ``path`` is not a readable repository and :class:`InputError`
    (exit 2) for bad options, a bad deployments file, or when no deployment matches (unless
    ``options.allow_empty``). Data-quality findings (shallow clone, skipped tags, ...) go to ``notes``.
    """
    comp = _compile(options)
    repo = gitgraph.open_repo(path)
    notes: list[str] = list(comp.notes)
    with ThreadPoolExecutor(max_workers=1) as pool:  # refs are read while git log streams the graph
        refs_future = pool.submit(gitgraph.read_refs, repo.path)
        graph = gitgraph.read_graph(repo.path)
        refs = refs_future.result()
    n = len(graph)

    deps = _Deployments()
    n_tags, sample_tags = 0, []
    if comp.tags:
        n_tags, sample_tags = _tag_deployments(graph, refs, comp, options, deps, notes)
    if comp.branches:
        _branch_deployments(graph, refs, comp, deps)
    if options.deployments_file:
        _file_deployments(graph, options, deps)
    if len(set(deps.ids)) != len(deps.ids):
        dup = next(d for d in deps.ids if deps.ids.count(d) > 1)
        raise InputError("two deployment sources produced the same deployment_id", value=dup)
    if not len(deps):
        what = []
        if comp.tags:
            shown = ", ".join(sample_tags) if sample_tags else "none"
            what.append(
                f"no tag matched {_describe_tag_rules(options)} ({n_tags} tags in the repository: {shown})"
            )
        if options.deployments_file:
            what.append("the deployments file lists no deployment")
        message = "; ".join(what) or "no deployment found"
        if n == 0:
            message = "the repository has no commits"
        if not options.allow_empty:
            raise InputError(f"{repo.path}: {message}", expected="--tag-pattern, --tag-regex, --deploy-branch or "
                             "--deployments-file matching this repository (or --allow-no-deployments)")  # fmt: skip
        notes.append(f"No deployment found: {message}.")

    generation_cache: list[np.ndarray] = []

    def generation() -> np.ndarray:
        if not generation_cache:
            generation_cache.append(gitgraph.generations(graph))
        return generation_cache[0]

    if comp.tags and len(deps) > 1:
        deps = _merge_same_commit_tags(deps, _env_orders(graph, deps, generation), notes)

    types, breaking, prs = graph.types, graph.breaking, graph.pr_numbers
    is_merge = graph.n_parents >= 2
    counted = ~is_merge | options.include_merges
    times = graph.author_time if options.author_date else graph.committer_time

    finished = np.asarray(deps.finished, dtype=np.int64)
    commit = np.asarray(deps.commit, dtype=np.int64)
    success = np.asarray([s == "success" for s in deps.status], dtype=bool)
    n_deps = len(deps)
    kind = np.asarray([k or "planned" for k in deps.kind], dtype=object)
    rollback_of = np.full(n_deps, None, dtype=object)
    first = np.zeros(n_deps, dtype=bool)
    env_names = sorted(set(deps.envs), key=lambda e: (e != options.default_environment, e))
    results: list[_EnvResult] = []
    shallow_cut = [graph.index[s.encode()] for s in repo.shallow_commits if s.encode() in graph.index]
    at_risk_changes, at_risk_deps = 0, 0

    orders = _env_orders(graph, deps, generation)
    for env in env_names:
        order = orders[env]
        starts = [int(commit[r]) if success[r] else -1 for r in order]
        owner_pos = gitgraph.assign_owners(graph, starts)
        owner = np.where(owner_pos >= 0, order[np.maximum(owner_pos, 0)], -1) if len(order) else owner_pos
        results.append(_EnvResult(env, order, owner))
        ok = [r for r in order if success[r]]
        if ok:
            first[ok[0]] = True
        # rollbacks: a deployment whose commit was already claimed, is not the previous one's commit, and is an
        # ancestor of it re-points the environment at an older version
        if options.rollback_signal:
            prev = -1
            for r in ok:
                c = int(commit[r])
                if prev >= 0 and owner[c] != r and c != int(commit[prev]):
                    if gitgraph.is_ancestor(repo.path, graph.shas[c], graph.shas[int(commit[prev])]):
                        rollback_of[r] = deps.ids[prev]
                        kind[r] = "unplanned"
                prev = r
        if shallow_cut:
            hit = {int(owner[c]) for c in shallow_cut if owner[c] >= 0}
            if hit:
                at_risk_deps += len(hit)
                at_risk_changes += int((np.isin(owner, list(hit)) & counted).sum())

    incidents, revert_fixes = _revert_incidents(graph, results, deps, finished, times, options, notes)
    _rework_kinds(graph, results, deps, comp, options, finished, success, kind, rollback_of, incidents,
                  revert_fixes, counted)  # fmt: skip

    if repo.shallow:
        notes.append(
            f"Shallow clone: history is cut at {len(repo.shallow_commits)} commit(s); {at_risk_changes} change(s) "
            f"in {at_risk_deps} deployment(s) reach the cut, so their deployment and lead time are at risk "
            "(run git fetch --unshallow for full history)."
        )
    if graph.bad_dates:
        notes.append(
            f"{graph.bad_dates} commit(s) carry a date git cannot read (before 1970 or malformed); their other "
            "date (committer or author) was used, or 1970-01-01 when neither is readable."
        )
    if graph.missing_parents and not repo.shallow:
        notes.append(
            f"{graph.missing_parents} parent commit(s) are missing from the repository (incomplete clone?)"
        )

    deployments = _deployments_frame(deps, finished, kind, rollback_of, first, graph, commit)
    changes = _changes_frame(graph, results, deps, options, times, types, breaking, prs, counted)
    incidents_frame = _incidents_frame(incidents)
    return event_set(deployments, changes, incidents_frame, source=f"git:{repo.path}", notes=notes)


def _env_orders(graph: CommitGraph, deps: _Deployments, generation: Callable[[], np.ndarray]
                ) -> dict[str, np.ndarray]:  # fmt: skip
    """Per environment, the deployment row numbers in deployment order: order key (finish time; a deploy
    branch's running latest date), then ancestors first among ties (generation number, computed only when two
    deployments of different commits share a second), then the commit's committer date, then the id."""
    commit = np.asarray(deps.commit, dtype=np.int64)
    envs = np.asarray(deps.envs, dtype=object)
    order_key = np.asarray(deps.order_key, dtype=np.int64)
    ct_of_commit = graph.committer_time[commit] if len(deps) else np.zeros(0, np.int64)
    env_names = sorted(set(deps.envs))
    gen = np.zeros(len(deps), dtype=np.int64)
    if any(_has_ties(order_key[envs == env], commit[envs == env]) for env in env_names):
        gen = generation()[commit]  # same-second deployments: ancestors first
    id_text = np.asarray(deps.ids, dtype=object).astype(str)
    out: dict[str, np.ndarray] = {}
    for env in env_names:
        rows = np.flatnonzero(envs == env)
        out[env] = rows[np.lexsort((id_text[rows], ct_of_commit[rows], gen[rows], order_key[rows]))]
    return out


def _merge_same_commit_tags(
    deps: _Deployments, orders: dict[str, np.ndarray], notes: list[str]
) -> _Deployments:
    """One deployment per run of tags on the same commit, consecutive in an environment's order.

    ``v1.2.3`` and ``1.2.3`` (or an alias ``v1.2``) on one commit are one deployment: the first tag in the
    order (the earliest; ties by name) keeps its id, version and finish time; the others are dropped and named
    in a note. A hotfix name on any of them makes the deployment a hotfix. A tag on a commit deployed earlier
    with another deployment in between is not merged (a rollback, or a re-deployment)."""
    drop: set[int] = set()
    merged: list[str] = []
    for order in orders.values():
        prev = head = -1
        for r in order.tolist():
            if (prev >= 0 and deps.source[r] == "tag" and deps.source[prev] == "tag"
                    and deps.commit[r] == deps.commit[prev]):  # fmt: skip
                drop.add(r)
                deps.hotfix_name[head] = deps.hotfix_name[head] or deps.hotfix_name[r]
                merged.append(f"{deps.ids[r]} -> {deps.ids[head]}")
            else:
                head = r
            prev = r
    if not drop:
        return deps
    notes.append(
        f"{len(drop)} tag(s) name the same commit as the tag deployed just before them in their environment and "
        "were merged into it (one deployment, finished at the earliest tag): " + ", ".join(merged[:10])
        + (" ..." if len(merged) > 10 else "")
    )  # fmt: skip
    return deps.subset([r for r in range(len(deps)) if r not in drop])


def _has_ties(keys: np.ndarray, commits: np.ndarray) -> bool:
    """True when two deployments of different commits share an order key (finished in the same second)."""
    if len(keys) < 2:
        return False
    pairs = np.unique(np.stack([keys, commits]), axis=1)
    return len(np.unique(pairs[0])) < pairs.shape[1]


def _revert_incidents(graph: CommitGraph, results: list[_EnvResult], deps: _Deployments, finished: np.ndarray,
                      times: np.ndarray, options: GitOptions, notes: list[str]
                      ) -> tuple[list[dict], dict[int, set[int]]]:  # fmt: skip
    """Revert signal, per environment: the deployment that first shipped a reverted commit gets an incident.

    Returns the incident rows and, per deployment shipping a revert (D_R), the deployments whose commits it
    reverts (D_O); :func:`_rework_kinds` decides from them whether D_R is unplanned."""
    incidents: list[dict] = []
    fixes: dict[int, set[int]] = {}
    if not options.revert_signal:
        return incidents, fixes
    revert_pairs: list[tuple[int, int]] = []
    unresolved = 0
    for r, targets in graph.reverts.items():
        for t in targets:
            o = graph.resolve(t)
            if o is None:
                unresolved += 1
            elif o != r:
                revert_pairs.append((r, o))
    if unresolved:
        notes.append(f"{unresolved} revert message(s) name a commit missing from the clone; ignored")
    revert_commits = {r for r, _ in revert_pairs}
    used: set[str] = set()
    for res in results:
        for r, o in revert_pairs:
            if o in revert_commits:  # reverting a revert re-lands a change: not a production failure
                continue
            d_o, d_r = int(res.owner[o]), int(res.owner[r])
            if d_o < 0 or d_o == d_r:
                continue
            opened = max(int(times[r]), int(finished[d_o]))
            resolved = int(finished[d_r]) if d_r >= 0 else None
            if (
                resolved is not None and opened > resolved
            ):  # odd clocks: a revert tagged before it was committed
                opened = resolved
            if d_r >= 0:
                fixes.setdefault(d_r, set()).add(d_o)
            sha12 = graph.shas[r].decode("ascii")[:12]
            iid = f"revert:{sha12}" if res.env == options.default_environment else f"revert:{sha12}@{res.env}"
            if iid in used:  # one revert commit undoing several commits
                iid = f"{iid}:{graph.shas[o].decode('ascii')[:12]}"
            used.add(iid)
            incidents.append({"incident_id": iid, "opened_at": opened, "resolved_at": resolved,
                              "deployment_id": deps.ids[d_o], "environment": res.env})  # fmt: skip
    return incidents, fixes


def _rework_kinds(graph: CommitGraph, results: list[_EnvResult], deps: _Deployments, comp: _Compiled,
                  options: GitOptions, finished: np.ndarray, success: np.ndarray, kind: np.ndarray,
                  rollback_of: np.ndarray, incidents: list[dict], revert_fixes: dict[int, set[int]],
                  counted: np.ndarray) -> None:  # fmt: skip
    """Hotfix, revert and fix-only rules, per environment in deployment order (``kind`` updated in place).

    Walking in order, the kinds of earlier deployments are final when a deployment D is decided:

    - hotfix: a hotfix tag name or a shipped hotfix merge / ``hotfix:`` change makes D unplanned;
    - revert: D ships a revert of a commit first shipped by D_O, D_O came before D and no successful planned
      deployment lies between them (D_O is the latest planned one, or D_O is unplanned and nothing planned
      followed it): the revert directly fixes what runs, D is unplanned. Otherwise D only resolves D_O's
      incident and stays planned (the engine would otherwise blame the innocent planned deployment before D);
    - fix-only: P = the latest successful deployment before D (failed attempts skipped: they changed
      nothing) is *found failed* (an incident names it, it was rolled back, or an unplanned deployment
      followed it: the engine's rule), D finished within the window after P, and every change D ships is a
      fix: D is unplanned. After a failed attempt on a deployment that is not found failed, D is a planned
      retry (the engine's next-good-deployment rule makes it the attempt's recovery).
    """
    n, n_deps = len(graph), len(deps)
    types, is_merge = graph.types, graph.n_parents >= 2
    row_of = {d: k for k, d in enumerate(deps.ids)}
    fix_type = np.asarray([t in comp.fix_types for t in types], dtype=bool) if n else np.zeros(0, bool)
    hotfix_merge = np.zeros(n, dtype=bool)
    if options.hotfix_signal and n:
        hb = comp.hotfix_bytes
        for i, subject in graph.merge_subjects.items():
            if is_merge[i] and MERGE_SUBJECT_RE.match(subject) and hb.search(subject):
                hotfix_merge[i] = True
        hotfix_merge |= np.asarray([t == "hotfix" for t in types], dtype=bool)
    found_by_signal = {row_of[i["deployment_id"]] for i in incidents}
    found_by_signal |= {row_of[x] for x in rollback_of if x is not None}
    window = options.fix_window_hours * 3600.0
    for res in results:
        owned = res.owner >= 0
        n_changes = np.bincount(res.owner[owned & counted], minlength=n_deps)
        n_fixes = np.bincount(res.owner[owned & counted & fix_type], minlength=n_deps)
        n_hot = np.bincount(res.owner[owned & hotfix_merge], minlength=n_deps)
        position = {int(r): k for k, r in enumerate(res.order.tolist())}
        found_failed = set(found_by_signal)  # successful deployments later found failed
        prev_ok = -1  # latest successful deployment so far
        last_planned_ok = -1
        for r in res.order.tolist():
            if options.hotfix_signal and (deps.hotfix_name[r] or n_hot[r] > 0) and kind[r] == "planned":
                kind[r] = "unplanned"
            if kind[r] == "planned" and r in revert_fixes:
                floor = position[last_planned_ok] if last_planned_ok >= 0 else -1
                if any(floor <= position[o] < position[r] for o in revert_fixes[r]):
                    kind[r] = "unplanned"
            if (kind[r] == "planned" and window > 0 and prev_ok >= 0 and prev_ok in found_failed
                    and 0 <= finished[r] - finished[prev_ok] <= window and n_changes[r] > 0
                    and n_fixes[r] == n_changes[r]):  # fmt: skip
                kind[r] = "unplanned"
            if not success[r]:
                continue
            if kind[r] == "unplanned" and last_planned_ok >= 0:
                found_failed.add(last_planned_ok)  # mirrors the engine: an unplanned deployment fixes it
            elif kind[r] == "planned":
                last_planned_ok = r
            prev_ok = r


def _describe_tag_rules(options: GitOptions) -> str:
    rules = [*(f"glob {g!r}" for g in options.tag_patterns), *(f"regex {r!r}" for r in options.tag_regexes)]
    if not rules:
        rules = ["the default semantic-version pattern (v1.2.3 or 1.2.3)"]
    return " or ".join(rules)


def _utc(seconds: np.ndarray | list) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(seconds, dtype="int64"), unit="s", utc=True))


def _deployments_frame(deps: _Deployments, finished: np.ndarray, kind: np.ndarray, rollback_of: np.ndarray,
                       first: np.ndarray, graph: CommitGraph, commit: np.ndarray) -> pd.DataFrame:  # fmt: skip
    started = pd.Series([pd.NA if s is None else pd.Timestamp(s, unit="s", tz="UTC") for s in deps.started],
                        dtype="datetime64[ns, UTC]")  # fmt: skip
    return pd.DataFrame({
        "deployment_id": deps.ids,
        "environment": deps.envs,
        "finished_at": _utc(finished),
        "status": deps.status,
        "started_at": started,
        "commit_sha": [graph.shas[int(c)].decode("ascii") for c in commit],
        "version": deps.version,
        "kind": list(kind),
        "rollback_of": list(rollback_of),
        "first_deployment": first,
    })  # fmt: skip


def _changes_frame(graph: CommitGraph, results: list[_EnvResult], deps: _Deployments, options: GitOptions,
                   times: np.ndarray, types: np.ndarray, breaking: np.ndarray, prs: np.ndarray,
                   counted: np.ndarray) -> pd.DataFrame:  # fmt: skip
    n = len(graph)
    if not n:
        return pd.DataFrame({"change_id": [], "committed_at": [], "deployment_id": []})
    hexes = np.asarray(graph.hex(), dtype=object)
    ctype = types.copy()
    marked = np.flatnonzero(breaking & np.fromiter((t is not None for t in types), dtype=bool, count=n))
    ctype[marked] = [f"{t}!" for t in types[marked]]
    dep_ids = np.asarray([*deps.ids, None], dtype=object)  # index -1 -> None
    parts: list[pd.DataFrame] = []
    primary = next((r for r in results if r.env == options.default_environment), None)
    rows = np.flatnonzero(counted)
    # primary environment: every commit, deployed or not (empty deployment_id while undeployed)
    owner = primary.owner[rows] if primary is not None else np.full(len(rows), -1)
    parts.append(_change_part(hexes[rows], owner, rows, dep_ids, times, graph, ctype, prs))
    for res in results:
        if res is primary:
            continue
        sel = rows[res.owner[rows] >= 0]
        ids = np.asarray([f"{h}@{res.env}" for h in hexes[sel]], dtype=object)
        parts.append(_change_part(ids, res.owner[sel], sel, dep_ids, times, graph, ctype, prs))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _change_part(ids: np.ndarray, owner: np.ndarray, rows: np.ndarray, dep_ids: np.ndarray, times: np.ndarray,
                 graph: CommitGraph, ctype: np.ndarray, prs: np.ndarray) -> pd.DataFrame:  # fmt: skip
    pr = pd.array(prs[rows], dtype="Int64")
    pr[prs[rows] < 0] = pd.NA
    return pd.DataFrame({
        "change_id": ids.astype(object),
        "committed_at": _utc(times[rows]),
        "deployment_id": dep_ids[owner],
        "authored_at": _utc(graph.author_time[rows]),
        "pr_number": pr,
        "change_type": ctype[rows],
    })  # fmt: skip


def _incidents_frame(incidents: list[dict]) -> pd.DataFrame:
    if not incidents:
        return pd.DataFrame({"incident_id": [], "opened_at": pd.Series([], dtype="datetime64[ns, UTC]")})
    frame = pd.DataFrame(incidents)
    frame["opened_at"] = _utc(frame["opened_at"].to_numpy(dtype=np.int64))
    resolved = frame["resolved_at"]
    frame["resolved_at"] = pd.Series([pd.NaT if pd.isna(v) else pd.Timestamp(int(v), unit="s", tz="UTC")
                                      for v in resolved], dtype="datetime64[ns, UTC]")  # fmt: skip
    return frame

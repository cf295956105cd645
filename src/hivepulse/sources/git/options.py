"""Options of the git source: :class:`GitOptions` (what to read as deployments and signals), their defaults,
and their validation into compiled matchers (:func:`compile_options`).

No argparse here: the command-line flags that fill :class:`GitOptions` are in
:mod:`hivepulse.commands.gitflags`. This module imports neither numpy nor pandas, so building the command line
stays cheap.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hivepulse.errors import InputError
from hivepulse.sources.git.exclude import NO_EXCLUSION, ExclusionRules, RuleError, compile_rules
from hivepulse.sources.git.tagrules import DEFAULT_TAG_REGEX

DEFAULT_HOTFIX_REGEX = r"(?i)hot-?fix"
DEFAULT_FIX_TYPES = ("fix", "revert", "hotfix", "bugfix")
DEFAULT_REVERT_MAX_DAYS = 30.0
"""A revert marks a deployment failed only this long after it (docs/git-source.md argues the value from DORA's
"requires immediate intervention": the slowest cluster of the 2024 report recovers within a month)."""
MERGE_SUBJECT_RE = re.compile(rb"^Merge (?:branch|branches|pull request|remote-tracking branch|tag)\b|^Merged in ")


def normalize_environment(name: str) -> str:
    """An environment name compared without letter case: stripped, lower case (the model's
    :func:`hivepulse.model.convert.normalize_name`, repeated here so that the command line needs no pandas)."""
    return name.strip().lower()


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
    """A deployments table (CSV, or JSON / JSONL by extension) with ``finished_at, environment, commit_sha`` and
    any other deployments column of the event model, read by the event-file contract (``docs/git-source.md``)."""
    assume_utc: bool = False
    """Read timestamps without UTC offset in the deployments file as UTC (as ``--assume-utc`` for event files)."""
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
    include_prereleases: bool = False
    """Let globs and regexes match pre-release tags (``-rc1``, ``b2``, ``.dev1``); branch-like tags (``1.0.x``)
    are never deployments."""
    include_bots: bool = False
    """Count commits of bot identities and release tools as changes (excluded by default, ``exclude.py``)."""
    exclude_authors: tuple[str, ...] = ()
    """Regexes over ``Name <e-mail>`` of the author: matching commits are not changes (names are never stored)."""
    exclude_messages: tuple[str, ...] = ()
    """Regexes searched in the commit message (multi-line): matching commits are not changes."""
    include_imported: bool = False
    """Count imported history (reached only through a merge whose other parent has another root) as changes."""
    paths: tuple[str, ...] = ()
    """Path scope (monorepos): only commits touching one of these paths (git pathspecs from the repository root)
    are changes and carry revert and hotfix signals. Empty: the whole repository."""
    revert_max_days: float = DEFAULT_REVERT_MAX_DAYS
    """A revert marks the deployment that shipped the reverted commit failed only when committed at most this
    many days after that deployment finished (``inf``: no limit)."""


# ------------------------------------------------------------------------------------------ patterns


ENVIRONMENT_ALIASES: dict[str, str | None] = {
    "production": "production", "prod": "production", "prd": "production", "live": "production",
    "staging": "staging", "stage": "staging", "stg": "staging",
    "development": "development", "dev": "development",
    "test": None, "testing": None, "qa": None, "uat": None,
}  # fmt: skip
"""Path segments that name an environment when a tag pattern or deploy branch names none (compared without
case). The value is the environment; ``None`` keeps the segment, in lower case (``QA`` -> ``qa``)."""


@dataclass(frozen=True)
class Matcher:
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


def regex_literal_segments(text: str) -> list[str]:
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
class Compiled:
    tags: tuple[Matcher, ...]
    branches: tuple[tuple[str, str], ...]
    hotfix: re.Pattern[str]
    hotfix_bytes: re.Pattern[bytes]
    fix_types: frozenset[str]
    notes: tuple[str, ...] = ()
    """Environments inferred from patterns and branch names (for ``EventSet.notes``)."""
    default_env: str = "production"
    """``default_environment`` normalised (lower case)."""
    default_rule: bool = False
    """No tag rule, branch or file was given: the default release rule applies."""
    exclusion: ExclusionRules = NO_EXCLUSION
    pathspecs: tuple[str, ...] = ()
    """``paths`` as git pathspecs relative to the repository root (``:(top)PATH``)."""
    revert_max_seconds: float = math.inf


def compile_options(options: GitOptions) -> Compiled:
    matchers: list[Matcher] = []
    notes: list[str] = []

    def inferred(kind: str, text: str, hit: tuple[str, str] | None) -> str | None:
        if hit is None:
            return None
        env = normalize_environment(hit[0])
        notes.append(f"Environment {env!r} inferred from {kind} {text!r} (path segment {hit[1]!r}); "
                     "add ':ENV' to choose another.")  # fmt: skip
        return env

    def explicit(env: str, flag: str) -> str:
        low = normalize_environment(env)
        if low != env:
            notes.append(f"Environment {env!r} ({flag}) is compared without letter case and written {low!r}.")
        return low

    default_env = explicit(options.default_environment, "--deploy-env")

    for spec in options.tag_patterns:
        glob, env = spec, None
        if ":" in glob:
            glob, env = glob.rsplit(":", 1)
            if not env.strip():
                raise InputError("--tag-pattern: empty environment after ':'", value=glob + ":")
            env = explicit(env, "--tag-pattern")
        if glob.count("{env}") > 1 or (env and "{env}" in glob):
            raise InputError("--tag-pattern: a tag pattern may name the environment once", value=glob)
        if env is None and "{env}" not in glob:
            env = inferred("tag pattern", glob, _alias_environment(_glob_literal_segments(glob), "--tag-pattern",
                                                                   glob))  # fmt: skip
        matchers.append(Matcher(re.compile(_glob_to_regex(glob)), env))
    for text in options.tag_regexes:
        try:
            compiled = re.compile(text)
        except re.error as exc:
            raise InputError(f"--tag-regex: invalid regular expression ({exc})", value=text) from None
        env = None
        if "env" not in compiled.groupindex:
            env = inferred("tag regex", text, _alias_environment(regex_literal_segments(text), "--tag-regex",
                                                                 text))  # fmt: skip
        matchers.append(Matcher(compiled, env))
    branches: list[tuple[str, str]] = []
    for spec in options.deploy_branches:
        name, _, env = spec.partition(":")
        if not name:
            raise InputError("--deploy-branch: empty branch name", value=spec, expected="NAME[:ENV]")
        if env.strip():
            env = explicit(env, "--deploy-branch")
        else:
            segments = [seg for seg in name.split("/") if seg]
            env = inferred("deploy branch", name, _alias_environment(segments, "--deploy-branch", name)) or ""
        branches.append((name, env or default_env))
    default_rule = not matchers and not branches and not options.deployments_file
    if default_rule:
        matchers.append(Matcher(re.compile(DEFAULT_TAG_REGEX), None))
    try:
        hotfix = re.compile(options.hotfix_regex)
        hotfix_bytes = re.compile(options.hotfix_regex.encode("utf-8"))
    except re.error as exc:
        raise InputError(
            f"--hotfix-regex: invalid regular expression ({exc})", value=options.hotfix_regex
        ) from None
    if not (options.fix_window_hours >= 0):
        raise InputError("--fix-window-hours: must be a number of hours >= 0", value=options.fix_window_hours)
    if not (options.revert_max_days >= 0):  # also rejects nan
        raise InputError("--revert-max-days: must be a number of days >= 0 (inf: no limit)",
                         value=options.revert_max_days)  # fmt: skip
    if not default_env:
        raise InputError("--deploy-env: must not be empty", value="")
    try:
        exclusion = compile_rules(options.include_bots, options.exclude_authors, options.exclude_messages)
    except RuleError as exc:
        raise InputError(str(exc), value=exc.text) from None
    return Compiled(tuple(matchers), tuple(branches), hotfix, hotfix_bytes, frozenset(options.fix_types),
                    tuple(notes), default_env, default_rule, exclusion, _pathspecs(options.paths),
                    options.revert_max_days * 86400.0)  # fmt: skip


def _pathspecs(paths: tuple[str, ...]) -> tuple[str, ...]:
    """``--path`` values as git pathspecs from the repository root; a value starting with ``:`` is taken as a
    pathspec with magic (``:(glob)src/**/*.py``, ``:!docs``) and passed as it is."""
    out = []
    for path in paths:
        text = path.strip()
        if not text or "\0" in text or "\n" in text:
            raise InputError("--path: expected a path inside the repository", value=path)
        out.append(text if text.startswith(":") else f":(top){text.removeprefix('./')}")
    return tuple(out)


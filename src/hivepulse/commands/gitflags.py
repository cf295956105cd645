"""The git source's command-line flags (``--tag-pattern``, ``--deploy-branch``, ``--deployments-file``, ...):
:func:`add_git_arguments` adds them to a parser, :func:`options_from_args` turns them into a validated
:class:`~hivepulse.sources.git.GitOptions`. Shared by ``hivepulse metrics`` and ``hivepulse events export``.
Registering them imports neither numpy nor pandas (only :mod:`hivepulse.sources.git.options`)."""

from __future__ import annotations

import argparse

from hivepulse.sources.git.options import (
    DEFAULT_FIX_TYPES,
    DEFAULT_HOTFIX_REGEX,
    DEFAULT_REVERT_MAX_DAYS,
    GitOptions,
    compile_options,
)


def add_git_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the git-source flags (not ``--git PATH`` itself) to ``parser`` in a "git source" group."""
    g = parser.add_argument_group("git source (with --git PATH; rules: docs/git-source.md)")
    g.add_argument(
        "--tag-pattern", action="append", default=[], metavar="GLOB[:ENV]",
        help="deployment tags by glob; {env} in the glob names the environment, e.g. 'deploy/{env}/*', else "
        ":ENV, else a literal segment such as staging/prod in 'deploy/staging/*' "
        "(repeatable; default: release tags 1.2, v1.2.3, 1.2.3.4 and PEP 440 finals; pre-releases and "
        "branch-like tags such as 1.0.x are left out of every pattern)",
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
        "--deployments-file", metavar="FILE",
        help="deployments as CSV (or .json/.jsonl): finished_at, environment, commit_sha, read by the event-file "
        "rules (docs/data-model.md); the graph supplies the changes",
    )  # fmt: skip
    g.add_argument(
        "--deploy-env", default="production", metavar="NAME",
        help="environment of deployments whose pattern names none (default: production)",
    )  # fmt: skip
    g.add_argument(
        "--include-prereleases", action="store_true",
        help="let --tag-pattern/--tag-regex match pre-release tags (-rc1, b2, .dev1, -beta.1)",
    )  # fmt: skip
    g.add_argument(
        "--path", action="append", default=[], metavar="PATH",
        help="monorepo scope (repeatable): only commits touching PATH (a git pathspec from the repository root) "
        "are changes and carry revert and hotfix signals",
    )  # fmt: skip
    g.add_argument(
        "--include-bots", action="store_true",
        help="count commits of bots ([bot] accounts, GitHub Actions, Dependabot, Renovate, pre-commit.ci) and "
        "release tools (release-please, changesets, semantic-release) as changes (excluded by default)",
    )  # fmt: skip
    g.add_argument(
        "--exclude-author", action="append", default=[], metavar="REGEX",
        help="commits whose author 'Name <e-mail>' matches are not changes (repeatable; names are never stored)",
    )  # fmt: skip
    g.add_argument(
        "--exclude-message", action="append", default=[], metavar="REGEX",
        help="commits whose message matches (multi-line regex) are not changes (repeatable)",
    )  # fmt: skip
    g.add_argument(
        "--include-imported", action="store_true",
        help="count imported history (another root's commits merged in: git subtree add, unrelated histories)",
    )  # fmt: skip
    g.add_argument("--author-date", action="store_true", help="lead time starts at the author date")
    g.add_argument("--include-merges", action="store_true", help="count merge commits as changes")
    g.add_argument("--no-revert-signal", action="store_true", help="ignore 'This reverts commit' messages")
    g.add_argument("--no-hotfix-signal", action="store_true", help="ignore hotfix tag and branch names")
    g.add_argument("--no-rollback-signal", action="store_true", help="do not detect rollbacks")
    g.add_argument(
        "--hotfix-regex", default=DEFAULT_HOTFIX_REGEX, metavar="RE",
        help="hotfix marker: searched in tag names, matched at the start of a merged branch's name "
        f"(hotfix/x, hotfix-x; default: {DEFAULT_HOTFIX_REGEX})",
    )  # fmt: skip
    g.add_argument(
        "--revert-max-days", type=float, default=DEFAULT_REVERT_MAX_DAYS, metavar="DAYS",
        help="a revert marks the deployment of the reverted commit failed only within DAYS of it "
        f"(default {DEFAULT_REVERT_MAX_DAYS:g}; inf = no limit)",
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
    """The :class:`GitOptions` described by the flags of :func:`add_git_arguments` (validated; ``--assume-utc``
    of the source group applies to the deployments file)."""
    options = GitOptions(
        tag_patterns=tuple(getattr(args, "tag_pattern", None) or ()),
        tag_regexes=tuple(getattr(args, "tag_regex", None) or ()),
        deploy_branches=tuple(getattr(args, "deploy_branch", None) or ()),
        deployments_file=getattr(args, "deployments_file", None),
        assume_utc=bool(getattr(args, "assume_utc", False)),
        default_environment=str(getattr(args, "deploy_env", "production")),
        author_date=bool(getattr(args, "author_date", False)),
        include_merges=bool(getattr(args, "include_merges", False)),
        revert_signal=not getattr(args, "no_revert_signal", False),
        hotfix_signal=not getattr(args, "no_hotfix_signal", False),
        rollback_signal=not getattr(args, "no_rollback_signal", False),
        hotfix_regex=getattr(args, "hotfix_regex", DEFAULT_HOTFIX_REGEX),
        fix_window_hours=float(getattr(args, "fix_window_hours", 24.0)),
        fix_types=tuple(t.strip().lower() for t in str(getattr(args, "fix_types", "")).split(",") if t.strip()),
        allow_empty=bool(getattr(args, "allow_no_deployments", False)),
        include_prereleases=bool(getattr(args, "include_prereleases", False)),
        include_bots=bool(getattr(args, "include_bots", False)),
        exclude_authors=tuple(getattr(args, "exclude_author", None) or ()),
        exclude_messages=tuple(getattr(args, "exclude_message", None) or ()),
        include_imported=bool(getattr(args, "include_imported", False)),
        paths=tuple(getattr(args, "path", None) or ()),
        revert_max_days=float(getattr(args, "revert_max_days", DEFAULT_REVERT_MAX_DAYS)),
    )
    compile_options(options)
    return options

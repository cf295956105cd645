"""Git source: a local clone (work tree or bare) -> :class:`hivepulse.model.EventSet`.

Rules (full text with examples: ``docs/git-source.md``):

- **Deployments** come from tags matching globs/regexes (default: ``v1.2.3`` / ``1.2.3`` semantic-version tags,
  plus ``v1.2.3-hotfix...`` variants), from the first-parent commits of deploy branches, and/or from a
  deployments file (``finished_at, environment, commit_sha``, read by the event files' contract). Finish time:
  tagger date (annotated tag), committer date of the commit (lightweight tag, branch commit), or the file's
  ``finished_at``. Without ``{env}`` / ``:ENV``, a literal path segment of the pattern or branch name that is
  an environment alias (``deploy/staging/*``, branch ``staging``) names the environment. Tags on the commit of
  the tag deployed just before them in the environment are one deployment (the earliest tag).
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

Modules by role: :mod:`.options` (:class:`GitOptions`, validation; no numpy), :mod:`.repo` (running git),
:mod:`.graph` (one ``git log``,
one ``git for-each-ref``), :mod:`.walk` (graph walks), :mod:`.deployments`, :mod:`.deployfile`,
:mod:`.signals`, :mod:`.frames`, :mod:`.read` (:func:`read_git`). Importing this package is cheap:
:func:`read_git` (numpy, pandas) is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hivepulse.sources.git.options import (
    DEFAULT_FIX_TYPES,
    DEFAULT_HOTFIX_REGEX,
    DEFAULT_REVERT_MAX_DAYS,
    ENVIRONMENT_ALIASES,
    GitOptions,
    compile_options,
)
from hivepulse.sources.git.tagrules import DEFAULT_TAG_REGEX

if TYPE_CHECKING:
    from hivepulse.sources.git.launch import read_git

__all__ = [
    "DEFAULT_FIX_TYPES",
    "DEFAULT_HOTFIX_REGEX",
    "DEFAULT_REVERT_MAX_DAYS",
    "DEFAULT_TAG_REGEX",
    "ENVIRONMENT_ALIASES",
    "GitOptions",
    "compile_options",
    "read_git",
]


def __getattr__(name: str) -> object:
    if name == "read_git":
        from hivepulse.sources.git.launch import read_git

        return read_git
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

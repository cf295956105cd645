"""Git source: a local clone (work tree or bare) -> :class:`hivepulse.model.EventSet`.

Rules (full text with examples: ``docs/git-source.md``):

- **Deployments** come from tags matching globs/regexes (default: release tags ``1.2``, ``v1.2.3``,
  ``1.2.3.4``, PEP 440 finals, plus ``-hotfix`` variants; pre-releases and branch-like tags such as ``1.0.x``
  are left out of every rule unless ``include_prereleases``), from the first-parent commits of deploy branches,
  and/or from a deployments file (``finished_at, environment, commit_sha``, read by the event files' contract).
  Finish time: tagger date (annotated tag), committer date of the commit (lightweight tag, branch commit), or
  the file's ``finished_at``. Environments come from ``{env}`` / ``:ENV`` / an alias segment of the pattern
  and are compared without letter case (stored lower case). Tags on the commit of the tag deployed just before
  them in the environment are one deployment (the earliest tag).
- **Changes**: per environment, deployments in finish order (all release lines together) each claim the commits
  reachable from their commit and not already claimed by an earlier deployment of the same environment
  (``git rev-list this ^prev...``). A claimed commit is a change unless it is a merge (``include_merges``),
  outside the path scope (``paths``), imported history (another root merged in; ``include_imported``), or a
  bot / release-tool / excluded commit (``include_bots``, ``exclude_authors``, ``exclude_messages``); each
  exclusion is noted. ``committed_at`` is the committer date (author date with ``author_date``). The primary
  environment's rows use the bare SHA as ``change_id``; other environments use ``<sha>@<environment>``.
- **Signals** (carried only by in-scope, non-imported commits): reverts within ``revert_max_days`` (incident on
  the deployment that shipped the reverted commit; the shipping deployment is unplanned when no successful
  planned deployment lies between the two), hotfix tag names and merged branches whose name starts with the
  marker (unplanned), rollbacks (re-deploying an earlier deployment's commit that is an ancestor of the current
  one: ``rollback_of``, unplanned; a release on an older line never is), and fix-only deployments shortly after
  a successful deployment found failed (unplanned, the recovery; after a failed attempt they are a planned
  retry).

Modules by role: :mod:`.options` (:class:`GitOptions`, validation), :mod:`.tagrules`, :mod:`.exclude` (these
three import no numpy), :mod:`.repo` (running git), :mod:`.launch` (:func:`read_git`: git started before numpy
and pandas import), :mod:`.graph` (the ``git log`` parser), :mod:`.walk` (graph walks), :mod:`.deployments`,
:mod:`.deployfile`, :mod:`.signals`, :mod:`.frames`, :mod:`.read` (which commits count, rollbacks, notes).
Importing this package is cheap: :func:`read_git` is loaded on first use.
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

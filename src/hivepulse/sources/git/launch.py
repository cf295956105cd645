"""Starting a read: options checked, the repository opened and the git processes running, before numpy and
pandas are imported (:func:`read_git`).

git's walk of the history is the longest step of a read; starting ``git log``, ``git for-each-ref`` and (with
``--path``) the path-limited ``git log`` first lets the interpreter import numpy and pandas while git works on
another core. This module imports neither.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hivepulse.sources.git.options import Compiled, GitOptions, compile_options
from hivepulse.sources.git.repo import RepoInfo, Running, open_repo, start_log, start_path_log, start_refs

if TYPE_CHECKING:
    from hivepulse.model import EventSet


@dataclass
class Launched:
    """A read in progress: the repository and the running git processes (closed by whoever collects them)."""

    repo: RepoInfo
    log: Running
    refs: Running
    paths: Running | None

    def close(self) -> None:
        for run in (self.log, self.refs, self.paths):
            if run is not None:
                run.close()


def launch(path: str | os.PathLike[str], comp: Compiled) -> Launched:
    """Open the repository and start its git processes."""
    repo = open_repo(path)
    log = start_log(repo.path, comp.exclusion.needs_authors)
    refs = paths = None
    try:
        refs = start_refs(repo.path)
        paths = start_path_log(repo.path, comp.pathspecs) if comp.pathspecs else None
    except BaseException:
        for run in (log, refs):
            if run is not None:
                run.close()
        raise
    return Launched(repo, log, refs, paths)


def read_git(path: str | os.PathLike[str], options: GitOptions = GitOptions()) -> EventSet:  # noqa: B008
    """Read a clone (work tree or bare) into an :class:`~hivepulse.model.EventSet` (rules: ``docs/git-source.md``).

    Raises :class:`~hivepulse.errors.SourceError` (exit 3) when ``path`` is not a readable repository and
    :class:`~hivepulse.errors.InputError` (exit 2) for bad options, a bad deployments file, or when no deployment
    matches (unless ``options.allow_empty``). Data-quality findings (shallow clone, excluded bots, imported
    history, left-out tags, ...) go to ``notes``.
    """
    comp = compile_options(options)
    running = launch(path, comp)
    try:
        # pandas imports in a thread while this one parses git's output as it arrives (the parser waits for
        # git most of the time, and those waits run the import): both hide behind git's walk
        warm = threading.Thread(target=_import_quietly, args=("hivepulse.model",), daemon=True)
        warm.start()
        from hivepulse.sources.git import graph as gitgraph

        graph = gitgraph.collect_graph(running.log, comp.exclusion)
        warm.join()
        from hivepulse.sources.git.read import events_from

        return events_from(running, comp, options, graph)
    finally:
        running.close()


def _import_quietly(name: str) -> None:
    """Import ``name`` (a failure surfaces again, with its traceback, where the module is really imported)."""
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - re-raised by the real import
        return

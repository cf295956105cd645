"""The git source's deployments file (``--deployments-file``): a deployments table read through the one event
contract of :mod:`hivepulse.model` (the reader of :func:`hivepulse.sources.files.read_table`), then matched
to the commit graph.

What differs from an event directory's ``deployments`` file is only which columns must be there:
``finished_at``, ``environment`` and ``commit_sha`` (7 to 64 hex digits, resolved in the repository); an empty
``environment`` is ``--deploy-env``, an empty ``status`` is ``success``, a missing or empty ``deployment_id`` is
``<env>@<sha12>@<epoch seconds>`` (parsed from the right: the last two parts are hex and digits, so any
environment name is unambiguous). Environment names are compared without letter case and stored in lower case
(the model's rule, with a note). Every value, converter, case rule and integrity rule (duplicate ids,
``started_at`` after ``finished_at``, ``rollback_of``) is the event files', with the same messages. The file may
be CSV, or JSON / JSONL by its extension. ``first_deployment`` is computed by the git source (a note says so when
the file has the column).
"""

from __future__ import annotations

import pandas as pd

from hivepulse.model import STRING, TableSpec, ValueRule
from hivepulse.model.convert import epoch_seconds
from hivepulse.model.integrity import duplicate_id, rollback_problem
from hivepulse.sources.files import read_table
from hivepulse.sources.git.deployments import Deployments
from hivepulse.sources.git.graph import CommitGraph
from hivepulse.sources.git.options import Compiled, GitOptions
from hivepulse.textsafe import terminal

DEPLOYMENTS_FILE = TableSpec(
    "deployments",
    header=("finished_at", "environment", "commit_sha"),
    non_empty=("finished_at", "commit_sha"),
    rules=(ValueRule("commit_sha", r"[0-9a-fA-F]{7,64}", "not a commit SHA", "7 to 64 hex digits"),),
    what="deployments file",
)
"""What ``--deployments-file`` accepts (the schema's deployments columns, with these required)."""


def file_deployments(graph: CommitGraph, comp: Compiled, options: GitOptions, deps: Deployments,
                     notes: list[str]) -> None:
    """Add the deployments of ``options.deployments_file`` to ``deps``; every problem is an ``InputError``
    naming the file, line, column and value (exit 2)."""
    path = options.deployments_file
    assert path is not None
    table = read_table(path, DEPLOYMENTS_FILE, assume_utc=options.assume_utc)
    notes.extend(table.notes)
    if "first_deployment" in table.columns:
        notes.append(f"{terminal(path)}: first_deployment is computed by the git source; the file's values are ignored")
    frame = table.frame()
    given = frame["deployment_id"]
    problem = rollback_problem(frame, known=given.dropna(), listed_in=terminal(table.raw.path.name))
    if problem is not None:
        raise table.raw.report(problem)
    ids: list[str] = []
    rows: list[tuple[int, str, int, pd.Timestamp]] = []
    for k in range(table.n):
        sha = str(frame.at[k, "commit_sha"])
        c = graph.resolve(sha)
        if c is None:
            raise table.error(k, "commit_sha", "commit not found in the repository (or ambiguous)", value=sha,
                              expected="a commit reachable from a branch or tag")  # fmt: skip
        env = _text(frame.at[k, "environment"]) or comp.default_env  # the model stores names in lower case
        finished: pd.Timestamp = frame.at[k, "finished_at"]
        did = _text(given.iloc[k]) or f"{env}@{graph.shas[c].decode('ascii')[:12]}@{epoch_seconds(finished)}"
        ids.append(did)
        rows.append((c, env, epoch_seconds(finished), finished))
    problem = duplicate_id("deployments", pd.Series(ids, dtype=STRING))  # generated ids included
    if problem is not None:
        raise table.raw.report(problem)
    for k, (c, env, seconds, finished) in enumerate(rows):
        full = graph.shas[c].decode("ascii")
        started = frame.at[k, "started_at"]
        deps.add(ids[k], env, seconds, c, status=_text(frame.at[k, "status"]) or "success",
                 version=_text(frame.at[k, "version"]) or full[:12], started=None if pd.isna(started) else started,
                 kind=_text(frame.at[k, "kind"]) or None, source="file", finished_exact=finished,
                 rollback_of=_text(frame.at[k, "rollback_of"]) or None)  # fmt: skip


def _text(value: object) -> str:
    """A string cell of the frame ('' for a missing one)."""
    return "" if value is None or value is pd.NA else str(value)

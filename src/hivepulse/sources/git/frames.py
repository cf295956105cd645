"""The git source's results as the model's tables (deployments, changes, incidents frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hivepulse.model import UTC_DTYPE
from hivepulse.model.convert import from_epoch_seconds, from_optional_epoch_seconds
from hivepulse.redact import redact_people
from hivepulse.sources.git.deployments import Deployments
from hivepulse.sources.git.graph import CommitGraph
from hivepulse.sources.git.options import Compiled
from hivepulse.sources.git.signals import EnvResult, RevertIncident


def _exact(seconds: np.ndarray, exact: list[pd.Timestamp | None]) -> pd.Series:
    """Timestamps from epoch seconds, replaced by the exact value where one is known (deployments file)."""
    out = from_epoch_seconds(seconds)
    for i, value in enumerate(exact):
        if value is not None:
            out.iloc[i] = value
    return out


def deployments_frame(deps: Deployments, finished: np.ndarray, kind: np.ndarray, rollback_of: np.ndarray,
                      first: np.ndarray, graph: CommitGraph, commit: np.ndarray) -> pd.DataFrame:  # fmt: skip
    started = pd.Series([pd.NaT if s is None else s for s in deps.started], dtype=UTC_DTYPE)
    return pd.DataFrame({
        "deployment_id": deps.ids,
        "environment": deps.envs,
        "finished_at": _exact(finished, deps.finished_exact),
        "status": deps.status,
        "started_at": started,
        "commit_sha": [graph.shas[int(c)].decode("ascii") for c in commit],
        "version": deps.version,
        "kind": list(kind),
        "rollback_of": list(rollback_of),
        "first_deployment": first,
    })  # fmt: skip


def changes_frame(graph: CommitGraph, results: list[EnvResult], deps: Deployments, comp: Compiled,
                  times: np.ndarray, types: np.ndarray, breaking: np.ndarray, prs: np.ndarray,
                  counted: np.ndarray) -> pd.DataFrame:  # fmt: skip
    n = len(graph)
    if not n:
        return pd.DataFrame({"change_id": [], "committed_at": [], "deployment_id": []})
    hexes = np.asarray(graph.hex(), dtype=object)
    ctype = change_types(types, breaking)
    dep_ids = np.asarray([*deps.ids, None], dtype=object)  # index -1 -> None
    parts: list[pd.DataFrame] = []
    primary = next((r for r in results if r.env == comp.default_env), None)
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


def change_types(types: np.ndarray, breaking: np.ndarray) -> np.ndarray:
    """``change_type`` of every commit: its Conventional Commits type, with ``!`` when breaking (``type!:`` or a
    ``BREAKING CHANGE:`` footer); None when the subject has no type (a footer alone marks nothing)."""
    ctype = types.copy()
    marked = np.flatnonzero(breaking & np.fromiter((t is not None for t in types), dtype=bool, count=len(types)))
    ctype[marked] = [f"{t}!" for t in types[marked]]
    return ctype


def commits_frame(graph: CommitGraph, rows: np.ndarray, *, author_date: bool = False) -> pd.DataFrame:
    """The changes columns of the commits at ``rows`` with no deployment (``deployment_id`` empty), read by the
    same rules as :func:`changes_frame` (``change_id`` = the SHA, ``change_type`` with its breaking mark,
    ``title`` without people, ``pr_number``): what ``hivepulse release-notes`` reads between two tags."""
    rows = np.asarray(rows, dtype=np.int64)
    ids = np.asarray([graph.shas[r].decode("ascii") for r in rows.tolist()], dtype=object)
    times = graph.author_time if author_date else graph.committer_time
    return _change_part(ids, np.full(len(rows), -1, dtype=np.int64), rows, np.asarray([None], dtype=object),
                        times, graph, change_types(graph.types, graph.breaking), graph.pr_numbers)  # fmt: skip


def _change_part(ids: np.ndarray, owner: np.ndarray, rows: np.ndarray, dep_ids: np.ndarray, times: np.ndarray,
                 graph: CommitGraph, ctype: np.ndarray, prs: np.ndarray) -> pd.DataFrame:  # fmt: skip
    pr = pd.array(prs[rows], dtype="Int64")
    pr[prs[rows] < 0] = pd.NA
    return pd.DataFrame({
        "change_id": ids.astype(object),
        "committed_at": from_epoch_seconds(times[rows]),
        "deployment_id": dep_ids[owner],
        "authored_at": from_epoch_seconds(graph.author_time[rows]),
        "pr_number": pr,
        "change_type": ctype[rows],
        "title": _titles(graph, rows),
    })  # fmt: skip


TITLE_CHARS = 300
"""Longest title kept (a subject is one line, usually under 72 characters)."""


def _titles(graph: CommitGraph, rows: np.ndarray) -> list[str | None]:
    """The commit subjects of ``rows`` as titles: decoded (UTF-8, bad bytes replaced), stripped, cut at
    :data:`TITLE_CHARS`, with what could name a person removed (:func:`hivepulse.redact.redact_people`);
    ``None`` when unknown or empty."""
    if len(graph.subjects) != len(graph):
        return [None] * len(rows)
    out: list[str | None] = []
    for r in rows.tolist():
        text = graph.subjects[r].decode("utf-8", "replace").strip()[:TITLE_CHARS]
        out.append(redact_people(text) if text else None)
    return out


def incidents_frame(incidents: list[RevertIncident]) -> pd.DataFrame:
    return pd.DataFrame({
        "incident_id": pd.Series([i.incident_id for i in incidents], dtype=object),
        "opened_at": from_epoch_seconds([i.opened_at for i in incidents]),
        "resolved_at": from_optional_epoch_seconds([i.resolved_at for i in incidents]),
        "deployment_id": pd.Series([i.deployment_id for i in incidents], dtype=object),
        "environment": pd.Series([i.environment for i in incidents], dtype=object),
    })  # fmt: skip

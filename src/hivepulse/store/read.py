"""Reading a store: the event model (:func:`read_events`), pull-request stages (:func:`pr_stages`), a
summary of what it holds (:func:`store_info`) and event files (:func:`export_events`).

These are the functions the CLI (``hivepulse metrics --store``, ``hivepulse store export``) and the retro
(``source: store``) call. ``repository`` selects one repository (or a list); ``None`` reads the whole
project (every repository and every Argo CD application). Ids are unique across repositories (they carry
the repository), so several repositories' events live in one :class:`~hivepulse.model.EventSet`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hivepulse import stats
from hivepulse.model import EventSet, columns, event_set
from hivepulse.store.engine import Kind, Store, StoreLocation, open_store
from hivepulse.store.schema import SCHEMA_VERSION, table

StoreRef = str | os.PathLike[str] | Store | StoreLocation | None
STAGES = ("coding", "pickup", "review", "deploy")
_KIND: dict[str, Kind] = {"str": "text", "enum": "text", "datetime": "ts", "bool": "bool", "int": "int"}


@contextmanager
def _opened(store: StoreRef) -> Iterator[Store]:
    if isinstance(store, Store):
        yield store
        return
    target = store if isinstance(store, StoreLocation) or store is None else str(store)
    with open_store(target, must_exist=True) as opened:
        yield opened


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _filter(repository: str | Sequence[str] | None) -> tuple[str, list[object]]:
    if repository is None:
        return "", []
    names = [repository] if isinstance(repository, str) else list(repository)
    if not names:
        return "1 = 0", []
    return f"repository IN ({', '.join('?' for _ in names)})", list(names)


def read_events(store: StoreRef = None, *, repository: str | Sequence[str] | None = None) -> EventSet:
    """The events in ``store`` (path, URL, open :class:`Store`, or None for the default embedded store):
    one repository, several, or all (``None``). ``EventSet.notes`` holds the data-quality notes of the pulls
    that produced them."""
    where, params = _filter(repository)
    frames: dict[str, pd.DataFrame] = {}
    with _opened(store) as st:
        for name in ("deployments", "changes", "incidents"):
            stored = set(table(name).names)  # a model column the store does not keep (changes.title) reads empty
            cols = [(c.name, _KIND[c.type]) for c in columns(name) if c.name in stored]
            frames[name] = st.frame(name, cols, where, params)
        notes = _notes(st, repository)
        source = f"store {st.location.display}" + (f" ({', '.join(params)})" if params else "")  # type: ignore[arg-type]
    return event_set(frames["deployments"], frames["changes"], frames["incidents"], source=source, notes=notes)


def _notes(st: Store, repository: str | Sequence[str] | None) -> list[str]:
    names = None if repository is None else ([repository] if isinstance(repository, str) else list(repository))
    out: list[str] = []
    for scope, value in st.rows("SELECT scope, value FROM cursors WHERE name = ? ORDER BY scope", ("notes",)):
        if names is not None and scope not in names:
            continue
        try:
            items = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            continue
        out.extend(str(i) for i in items if isinstance(i, str))
    return out


def pr_stages(store: StoreRef = None, *, repository: str | Sequence[str] | None = None,
              since: str | pd.Timestamp | None = None, until: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per merged pull request (by a person) with its lead-time stages in hours:

    - ``coding_hours``: first commit (author date) -> opened;
    - ``pickup_hours``: opened -> first review by someone other than the author;
    - ``review_hours``: first review -> merged;
    - ``deploy_hours``: merged -> the first production deployment containing the merge commit finished;
    - ``lead_time_hours``: first commit -> that deployment.

    A negative span (clock skew, a commit dated before the branch) is NaN, as in the engine. ``since`` /
    ``until`` keep pull requests merged in ``[since, until)`` (UTC)."""
    where, params = _filter(repository)
    cols: list[tuple[str, Kind]] = [("pr_id", "text"), ("repository", "text"), ("number", "int"),
                                    ("first_commit_at", "ts"), ("opened_at", "ts"), ("first_review_at", "ts"),
                                    ("merged_at", "ts"), ("deployment_id", "text"), ("deployed_at", "ts")]
    with _opened(store) as st:
        frame = st.frame("pull_requests", cols, where, params)
    if since is not None:
        frame = frame[frame["merged_at"] >= _utc(since)]
    if until is not None:
        frame = frame[frame["merged_at"] < _utc(until)]
    frame = frame.sort_values(["merged_at", "pr_id"]).reset_index(drop=True)

    def span(end: str, start: str) -> np.ndarray:
        hours = (frame[end] - frame[start]).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) / 3600
        return np.where(hours >= 0, hours, np.nan)

    frame["coding_hours"] = span("opened_at", "first_commit_at")
    frame["pickup_hours"] = span("first_review_at", "opened_at")
    frame["review_hours"] = span("merged_at", "first_review_at")
    frame["deploy_hours"] = span("deployed_at", "merged_at")
    frame["lead_time_hours"] = span("deployed_at", "first_commit_at")
    return frame


def pr_stage_summary(stages: pd.DataFrame) -> pd.DataFrame:
    """Per stage: ``n`` (pull requests with that stage known), ``median_hours``, ``p75_hours``, ``p90_hours``,
    ``share`` (the stage's part of the summed stage hours over pull requests with all four stages known)."""
    rows = []
    complete = stages[[f"{s}_hours" for s in STAGES]].dropna() if len(stages) else pd.DataFrame()
    total = float(complete.to_numpy().sum()) if len(complete) else 0.0
    for stage in STAGES:
        values = stages[f"{stage}_hours"].dropna().to_numpy(dtype=float) if len(stages) else np.zeros(0)
        rows.append({
            "stage": stage,
            "n": int(values.size),
            "median_hours": stats.median(values),
            "p75_hours": stats.percentile(values, 75),
            "p90_hours": stats.percentile(values, 90),
            "share": (float(complete[f"{stage}_hours"].sum()) / total) if total > 0 else None,
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StoreInfo:
    """What a store holds (``hivepulse store info``)."""

    location: str
    schema_version: int
    repositories: dict[str, dict[str, int]]
    """repository (or ``argocd:APP`` scope) -> rows per model table."""
    pulls: list[dict[str, object]]
    """The latest pulls, newest first."""


def store_info(store: StoreRef = None, *, last: int = 5) -> StoreInfo:
    with _opened(store) as st:
        repos: dict[str, dict[str, int]] = {}
        for name in ("deployments", "changes", "incidents", "pull_requests"):
            for scope, count in st.rows(f"SELECT scope, COUNT(*) FROM {name} GROUP BY scope"):
                repos.setdefault(str(scope), {})[name] = int(count)
        pulls = []
        for row in st.rows("SELECT pull_id, command, scopes, started_at, finished_at, api_calls, not_modified, "
                           "new, updated, unchanged, removed, quota_left FROM pull_log "
                           "ORDER BY finished_at DESC LIMIT ?", (last,)):
            keys = ("pull_id", "command", "scopes", "started_at", "finished_at", "api_calls", "not_modified", "new",
                    "updated", "unchanged", "removed", "quota_left")
            pulls.append(dict(zip(keys, row, strict=True)))
        return StoreInfo(st.location.display, SCHEMA_VERSION, dict(sorted(repos.items())), pulls)


def export_events(store: StoreRef, out_dir: str | os.PathLike[str], *,
                  repository: str | Sequence[str] | None = None) -> tuple[Path, EventSet]:
    """Write the store's events as canonical event files (``hivepulse.sources.files.write_events``:
    validated, atomic); ``hivepulse metrics --events`` on them gives the metrics of ``--store``."""
    from hivepulse.sources.files import check_output_dir, write_events

    check_output_dir(out_dir)
    events = read_events(store, repository=repository)
    return write_events(events, out_dir), events


__all__ = ["STAGES", "StoreInfo", "export_events", "pr_stage_summary", "pr_stages", "read_events", "store_info"]

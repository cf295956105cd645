"""Source records, cursors and ETags in the store: loading a scope's records, saving one pull atomically.

:func:`save_pull` writes everything a pull produced in **one transaction**: the source records (upserted by
their GitHub/Argo CD ids: the same object twice is one row), the comparisons, the ETags and cursors, the
model rows of every scope it derived (inserted, updated when their content hash changed, deleted when no
longer derived) and one ``pull_log`` row. A pull killed before the commit leaves the store as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from hivepulse.sources.argocd import HistoryEntry, Operation
from hivepulse.sources.github.records import (
    Commit,
    Comparison,
    Deployment,
    Issue,
    PullCommit,
    PullRequest,
    Record,
    Release,
    RepoInfo,
    Run,
    Tag,
)
from hivepulse.store.engine import Store
from hivepulse.store.schema import table

SOURCE_TABLES: dict[str, type[Record]] = {
    "gh_repos": RepoInfo,
    "gh_deployments": Deployment,
    "gh_releases": Release,
    "gh_tags": Tag,
    "gh_runs": Run,
    "gh_pulls": PullRequest,
    "gh_pull_commits": PullCommit,
    "gh_issues": Issue,
    "gh_commits": Commit,
    "argo_history": HistoryEntry,
    "argo_operations": Operation,
}
MODEL_ID = {"deployments": "deployment_id", "changes": "change_id", "incidents": "incident_id",
            "pull_requests": "pr_id"}


R = TypeVar("R", bound=Record)


def load(store: Store, cls: type[R], name: str, where: str = "", params: Sequence[object] = ()) -> list[R]:
    """The records of source table ``name`` as ``cls`` (optionally filtered)."""
    if SOURCE_TABLES[name] is not cls:
        raise TypeError(f"{name} holds {SOURCE_TABLES[name].__name__} records")
    cols = ", ".join(cls.columns())
    rows = store.rows(f"SELECT {cols} FROM {name}" + (f" WHERE {where}" if where else ""), params)
    return [cls.from_row(r) for r in rows]


def load_comparisons(store: Store, repository: str) -> dict[tuple[str, str], Comparison]:
    shas: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for base, head, pos, sha in store.rows(
            "SELECT base, head, position, sha FROM gh_compare_commits WHERE repository = ?", (repository,)):
        shas.setdefault((base, head), []).append((int(pos), sha))
    out: dict[tuple[str, str], Comparison] = {}
    for base, head, status, ahead, behind, total in store.rows(
            "SELECT base, head, status, ahead_by, behind_by, total_commits FROM gh_compares WHERE repository = ?",
            (repository,)):
        ordered = tuple(s for _, s in sorted(shas.get((base, head), [])))
        out[(base, head)] = Comparison(repository, base, head, status, int(ahead), int(behind), int(total), ordered)
    return out


def load_tags(store: Store, repository: str) -> dict[str, str]:
    return {name: sha for name, sha in store.rows("SELECT name, sha FROM gh_tags WHERE repository = ?",
                                                    (repository,))}


def load_etags(store: Store, prefix: str) -> dict[str, tuple[str | None, str | None]]:
    """Stored validators of request URLs starting with ``prefix``."""
    rows = store.rows("SELECT url, etag, last_modified FROM etags WHERE substr(url, 1, ?) = ?",
                      (len(prefix), prefix))
    return {url: (etag, lm) for url, etag, lm in rows}


def load_cursors(store: Store, scope: str) -> dict[str, str]:
    return {name: value for name, value in store.rows("SELECT name, value FROM cursors WHERE scope = ?", (scope,))}


# ---------------------------------------------------------------------------------------------- one pull


@dataclass
class ScopeRows:
    """The derived model rows of one scope (values in model column order)."""

    scope: str
    repository: str | None
    deployments: list[tuple[object, ...]] = field(default_factory=list)
    changes: list[tuple[object, ...]] = field(default_factory=list)
    incidents: list[tuple[object, ...]] = field(default_factory=list)
    pull_requests: list[tuple[object, ...]] = field(default_factory=list)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Per row id: ``(source, source_id)``."""
    notes: list[str] = field(default_factory=list)


@dataclass
class PullBatch:
    """Everything one pull writes."""

    pull_id: str
    command: str
    started_at: int
    records: dict[str, list[Record]] = field(default_factory=dict)
    replace: dict[tuple[str, str], list[Record]] = field(default_factory=dict)
    """(table, repository) -> the full list of records that replaces the stored one (releases, tags)."""
    comparisons: list[Comparison] = field(default_factory=list)
    etags: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    cursors: dict[tuple[str, str], str] = field(default_factory=dict)
    scopes: list[ScopeRows] = field(default_factory=list)
    api_calls: int = 0
    not_modified: int = 0
    quota_left: int | None = None


@dataclass
class Counts:
    """Model rows of a pull: new, updated (content changed), unchanged, removed (no longer derived)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


def _hash(row: Sequence[object]) -> str:
    import hashlib

    return hashlib.sha1(repr(tuple(row)).encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[:16]


def save_pull(store: Store, batch: PullBatch, *, before_commit: Callable[[], None] | None = None) -> Counts:
    """Write ``batch`` in one transaction and return the counts of model rows (events)."""
    counts = Counts()
    with store.transaction():
        for name, records in batch.records.items():
            t = table(name)
            store.upsert(name, t.names, t.key, [r.row() for r in records])
        for (name, repo), records in batch.replace.items():
            t = table(name)
            store.execute(f"DELETE FROM {name} WHERE repository = ?", (repo,))
            store.upsert(name, t.names, t.key, [r.row() for r in records])
        cmp_t = table("gh_compares")
        store.upsert("gh_compares", cmp_t.names, cmp_t.key, [c.row() for c in batch.comparisons])
        store.upsert("gh_compare_commits", ("repository", "base", "head", "position", "sha"),
                     ("repository", "base", "head", "position"),
                     [(c.repository, c.base, c.head, i, sha) for c in batch.comparisons for i, sha in enumerate(c.shas)])
        store.upsert("etags", ("url", "etag", "last_modified", "pull_id"), ("url",),
                     [(url, e, lm, batch.pull_id) for url, (e, lm) in batch.etags.items()])
        for scope in batch.scopes:
            batch.cursors[(scope.scope, "notes")] = json.dumps(scope.notes)
        store.upsert("cursors", ("scope", "name", "value"), ("scope", "name"),
                     [(s, n, v) for (s, n), v in batch.cursors.items()])
        for scope in batch.scopes:
            for name in ("deployments", "changes", "incidents"):
                c = _replace_scope(store, name, scope, getattr(scope, name), batch.pull_id)
                counts.new += c.new
                counts.updated += c.updated
                counts.unchanged += c.unchanged
                counts.removed += c.removed
            _replace_scope(store, "pull_requests", scope, scope.pull_requests, batch.pull_id)
        store.upsert("pull_log", table("pull_log").names, ("pull_id",), [(
            batch.pull_id, batch.command, ",".join(s.scope for s in batch.scopes), batch.started_at,
            time.time_ns(), batch.api_calls, batch.not_modified, counts.new, counts.updated, counts.unchanged,
            counts.removed, batch.quota_left)])
        if before_commit is not None:
            before_commit()
    return counts


def _replace_scope(store: Store, name: str, scope: ScopeRows, rows: Iterable[tuple[object, ...]],
                   pull_id: str) -> Counts:
    key = MODEL_ID[name]
    existing = dict(store.rows(f"SELECT {key}, row_hash FROM {name} WHERE scope = ?", (scope.scope,)))
    t = table(name)
    counts = Counts()
    upserts: list[tuple[object, ...]] = []
    seen: set[str] = set()
    for row in rows:
        row_id = str(row[0])
        if row_id in seen:
            continue
        seen.add(row_id)
        digest = _hash(row)
        old = existing.get(row_id)
        if old == digest:
            counts.unchanged += 1
            continue
        if old is None:
            counts.new += 1
        else:
            counts.updated += 1
        upserts.append(_full_row(name, scope, row, digest, pull_id))
    stale = [k for k in existing if k not in seen]
    counts.removed = len(stale)
    store.delete_keys(name, key, stale)
    store.upsert(name, t.names, t.key, upserts)
    return counts


def _full_row(name: str, scope: ScopeRows, row: tuple[object, ...], digest: str, pull_id: str) -> tuple[object, ...]:
    if name == "pull_requests":
        return (row[0], scope.scope, scope.repository, *row[1:], digest, pull_id)
    row_id = str(row[0])
    source, source_id = scope.sources.get(row_id, (_default_source(name, row_id), row_id.rsplit(":", 1)[-1]))
    return (*row, scope.scope, source, source_id, digest, pull_id, scope.repository)


def _default_source(name: str, row_id: str) -> str:
    if name == "incidents":
        return "github-revert-pr" if ":revert:" in row_id else "github-issues"
    return "github-compare" if name == "changes" else "github"


__all__ = ["Counts", "MODEL_ID", "PullBatch", "SOURCE_TABLES", "ScopeRows", "load", "load_comparisons",
           "load_cursors", "load_etags", "load_tags", "save_pull"]

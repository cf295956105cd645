"""The store's schema: every table of every version, and the forward migrations between versions.

One schema for both engines. Column types are the portable subset both SQLite and PostgreSQL accept:
``TEXT``, ``BIGINT`` (integers and timestamps) and ``INTEGER`` (booleans as 0/1). **Timestamps are BIGINT
nanoseconds since 1970-01-01 UTC** (the model's ``datetime64[ns, UTC]`` without conversion; PostgreSQL users
read them with ``to_timestamp(col / 1e9)``). See ``docs/store.md``.

A new store is created by running the version-1 DDL and then every migration in order, so the upgrade path is
exercised by every store ever created, not only by old ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEMA_VERSION = 2
"""The version this hivepulse writes and reads. A store with a higher version is refused (exit 2)."""


@dataclass(frozen=True)
class Table:
    """A table of the current schema: its columns (name, SQL type) and primary key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def ddl(self) -> str:
        cols = ", ".join(f"{c} {t}" for c, t in self.columns)
        return f"CREATE TABLE {self.name} ({cols}, PRIMARY KEY ({', '.join(self.key)}))"


def _t(name: str, spec: str, key: str) -> Table:
    cols = tuple((c.split()[0], c.split()[1]) for c in spec.split(","))
    return Table(name, tuple((c.strip(), t.strip()) for c, t in cols), tuple(k.strip() for k in key.split(",")))


# -------------------------------------------------------------------------------------------- version 1 (base)
# Kept verbatim: a version-1 store in the field looks exactly like this.

_V1_TABLES = [
    _t("meta", "key TEXT, value TEXT", "key"),
    _t("cursors", "scope TEXT, name TEXT, value TEXT", "scope, name"),
    _t("etags", "url TEXT, etag TEXT, last_modified TEXT, pull_id TEXT", "url"),
    _t("pull_log", "pull_id TEXT, command TEXT, scopes TEXT, started_at BIGINT, finished_at BIGINT, "
       "api_calls BIGINT, not_modified BIGINT, new BIGINT, updated BIGINT, unchanged BIGINT, removed BIGINT, "
       "quota_left BIGINT", "pull_id"),
    _t("gh_repos", "repository TEXT, repo_id BIGINT, default_branch TEXT", "repository"),
    _t("gh_deployments", "repository TEXT, id BIGINT, sha TEXT, ref TEXT, environment TEXT, transient INTEGER, "
       "created_at BIGINT, state TEXT, finished_at BIGINT, started_at BIGINT, final INTEGER", "repository, id"),
    _t("gh_releases", "repository TEXT, id BIGINT, tag TEXT, published_at BIGINT, draft INTEGER, "
       "prerelease INTEGER", "repository, id"),
    _t("gh_tags", "repository TEXT, name TEXT, sha TEXT", "repository, name"),
    _t("gh_runs", "repository TEXT, id BIGINT, attempt BIGINT, workflow_id BIGINT, run_number BIGINT, "
       "head_sha TEXT, head_branch TEXT, event TEXT, status TEXT, conclusion TEXT, created_at BIGINT, "
       "run_started_at BIGINT, updated_at BIGINT", "repository, id, attempt"),
    _t("gh_pulls", "repository TEXT, number BIGINT, created_at BIGINT, updated_at BIGINT, merged_at BIGINT, "
       "merge_commit_sha TEXT, base_ref TEXT, first_commit_at BIGINT, first_review_at BIGINT, reverts_pr BIGINT, "
       "hotfix INTEGER", "repository, number"),
    _t("gh_pull_commits", "repository TEXT, number BIGINT, sha TEXT, fingerprint TEXT", "repository, number, sha"),
    _t("gh_issues", "repository TEXT, number BIGINT, created_at BIGINT, updated_at BIGINT, closed_at BIGINT, "
       "state TEXT, state_reason TEXT, root_cause TEXT, deployment_ref TEXT", "repository, number"),
    _t("gh_commits", "repository TEXT, sha TEXT, committed_at BIGINT, authored_at BIGINT, parents BIGINT, "
       "change_type TEXT, fingerprint TEXT", "repository, sha"),
    _t("gh_compares", "repository TEXT, base TEXT, head TEXT, status TEXT, ahead_by BIGINT, behind_by BIGINT, "
       "total_commits BIGINT", "repository, base, head"),
    _t("gh_compare_commits", "repository TEXT, base TEXT, head TEXT, position BIGINT, sha TEXT",
       "repository, base, head, position"),
    _t("argo_history", "app TEXT, history_id BIGINT, deployed_at BIGINT, deploy_started_at BIGINT, revision TEXT",
       "app, history_id, deployed_at"),
    _t("argo_operations", "app TEXT, started_at BIGINT, finished_at BIGINT, phase TEXT, revision TEXT",
       "app, started_at"),
    _t("deployments", "deployment_id TEXT, environment TEXT, finished_at BIGINT, status TEXT, started_at BIGINT, "
       "commit_sha TEXT, version TEXT, kind TEXT, rollback_of TEXT, first_deployment INTEGER, "
       "scope TEXT, source TEXT, source_id TEXT, row_hash TEXT, pull_id TEXT", "deployment_id"),
    _t("changes", "change_id TEXT, committed_at BIGINT, deployment_id TEXT, authored_at BIGINT, pr_number BIGINT, "
       "pr_opened_at BIGINT, first_review_at BIGINT, merged_at BIGINT, change_type TEXT, "
       "scope TEXT, source TEXT, source_id TEXT, row_hash TEXT, pull_id TEXT", "change_id"),
    _t("incidents", "incident_id TEXT, opened_at BIGINT, resolved_at BIGINT, deployment_id TEXT, severity TEXT, "
       "environment TEXT, scope TEXT, source TEXT, source_id TEXT, row_hash TEXT, pull_id TEXT", "incident_id"),
]
_V1_INDEXES = [
    "CREATE INDEX deployments_scope ON deployments (scope)",
    "CREATE INDEX changes_scope ON changes (scope)",
    "CREATE INDEX incidents_scope ON incidents (scope)",
]

# -------------------------------------------------------------------------------------------- migrations

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: several repositories per store (a `repository` column on the model tables, filled from the scope,
    #    which was the repository for every GitHub scope) and the pull-request stage table.
    2: (
        "ALTER TABLE deployments ADD COLUMN repository TEXT",
        "ALTER TABLE changes ADD COLUMN repository TEXT",
        "ALTER TABLE incidents ADD COLUMN repository TEXT",
        "UPDATE deployments SET repository = scope WHERE scope NOT LIKE 'argocd:%'",
        "UPDATE changes SET repository = scope WHERE scope NOT LIKE 'argocd:%'",
        "UPDATE incidents SET repository = scope WHERE scope NOT LIKE 'argocd:%'",
        "CREATE INDEX deployments_repository ON deployments (repository)",
        "CREATE INDEX changes_repository ON changes (repository)",
        "CREATE INDEX incidents_repository ON incidents (repository)",
        "CREATE TABLE pull_requests (pr_id TEXT, scope TEXT, repository TEXT, number BIGINT, "
        "first_commit_at BIGINT, opened_at BIGINT, first_review_at BIGINT, merged_at BIGINT, "
        "merge_commit_sha TEXT, deployment_id TEXT, deployed_at BIGINT, row_hash TEXT, pull_id TEXT, "
        "PRIMARY KEY (pr_id))",
        "CREATE INDEX pull_requests_scope ON pull_requests (scope)",
    ),
}


def base_statements() -> list[str]:
    """The DDL of a version-1 store (tables and indexes), before its ``meta`` row."""
    return [t.ddl() for t in _V1_TABLES] + list(_V1_INDEXES)


# -------------------------------------------------------------------------------------------- current tables

_CURRENT: dict[str, Table] = {t.name: t for t in _V1_TABLES}
for _name in ("deployments", "changes", "incidents"):
    _old = _CURRENT[_name]
    _CURRENT[_name] = Table(_name, (*_old.columns, ("repository", "TEXT")), _old.key)
_CURRENT["pull_requests"] = _t(
    "pull_requests",
    "pr_id TEXT, scope TEXT, repository TEXT, number BIGINT, first_commit_at BIGINT, opened_at BIGINT, "
    "first_review_at BIGINT, merged_at BIGINT, merge_commit_sha TEXT, deployment_id TEXT, deployed_at BIGINT, "
    "row_hash TEXT, pull_id TEXT",
    "pr_id",
)

MODEL_TABLES = ("deployments", "changes", "incidents")
STORE_SIDE_COLUMNS = ("scope", "source", "source_id", "row_hash", "pull_id", "repository")
"""Columns of the model tables that are not model columns."""


def table(name: str) -> Table:
    """The current definition of table ``name``."""
    return _CURRENT[name]


def tables() -> tuple[Table, ...]:
    return tuple(_CURRENT.values())


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def checked_identifiers(table_name: str, *column_names: str) -> None:
    """Refuse (``ValueError``, a bug) any SQL identifier that is not a table of this schema or a plain
    lower-case column name: the store builds SQL text only from its own constants, values are always bound."""
    if table_name not in _CURRENT:
        raise ValueError(f"not a table of the event store: {table_name!r}")
    for name in column_names:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a plain SQL identifier: {name!r}")


__all__ = ["MIGRATIONS", "MODEL_TABLES", "SCHEMA_VERSION", "STORE_SIDE_COLUMNS", "Table", "base_statements",
           "checked_identifiers",
           "table", "tables"]

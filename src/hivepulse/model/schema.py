"""The schema of the event model: tables, columns, dtypes and canonical frames (the one place that knows it).

Three tables, as pandas DataFrames with fixed column names and dtypes; every timestamp is tz-aware UTC
(``datetime64[ns, UTC]``). See ``docs/data-model.md``.

- deployments: one row per deployment attempt (successful or not) to one environment.
- changes: one row per change (a commit, or a squash-merged pull request) with the deployment that first
  shipped it (empty while not deployed).
- incidents: one row per production incident, optionally naming the deployment that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

TableName = Literal["deployments", "changes", "incidents"]
ColumnType = Literal["str", "datetime", "bool", "int", "enum"]

TABLES: tuple[TableName, ...] = ("deployments", "changes", "incidents")
"""Tables in reading and validation order."""

UTC_DTYPE = "datetime64[ns, UTC]"
STRING = pd.StringDtype("python")
BOOL = "boolean"
INT = "Int64"

_DTYPES: dict[ColumnType, object] = {"str": STRING, "enum": STRING, "datetime": UTC_DTYPE, "bool": BOOL, "int": INT}


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, logical type, whether it is required, and allowed values."""

    name: str
    type: ColumnType
    required: bool = False
    choices: tuple[str, ...] = ()
    description: str = ""
    lower: bool = False
    """Values are names compared without letter case: every reader stores them in lower case
    (:func:`hivepulse.model.convert.normalize_name`), e.g. ``PRODUCTION`` -> ``production``."""

    @property
    def dtype(self) -> object:
        return _DTYPES[self.type]


DEPLOYMENT_STATUSES = ("success", "failure")
DEPLOYMENT_KINDS = ("planned", "unplanned")

SCHEMA: dict[TableName, tuple[Column, ...]] = {
    "deployments": (
        Column("deployment_id", "str", True, description="unique id of the deployment attempt"),
        Column("environment", "str", True, description="target environment, e.g. production (any letter case; "
               "stored in lower case)", lower=True),
        Column("finished_at", "datetime", True, description="when the deployment finished (UTC)"),
        Column("status", "enum", True, DEPLOYMENT_STATUSES, "outcome of the attempt"),
        Column("started_at", "datetime", description="when the deployment started"),
        Column("commit_sha", "str", description="the commit that was deployed"),
        Column("version", "str", description="release name or tag"),
        Column("kind", "enum", False, DEPLOYMENT_KINDS, "planned (default) or unplanned (rework)"),
        Column("rollback_of", "str", description="deployment_id this deployment rolled back"),
        Column(
            "first_deployment",
            "bool",
            description="true when no earlier deployment of the environment is known: its changes carry the "
            "whole prior history and are excluded from lead time by default",
        ),
    ),
    "changes": (
        Column("change_id", "str", True, description="unique id (commit SHA or PR id)"),
        Column("committed_at", "datetime", True, description="commit time (start of change lead time)"),
        Column("deployment_id", "str", True, description="deployment that first shipped it; empty if none yet"),
        Column("authored_at", "datetime", description="author time of the commit"),
        Column("pr_number", "int", description="pull request number"),
        Column("pr_opened_at", "datetime", description="pull request opened"),
        Column("first_review_at", "datetime", description="first review or review comment by someone else"),
        Column("merged_at", "datetime", description="pull request merged"),
        Column("change_type", "str", description="Conventional Commits type (feat, fix, revert, ...)"),
        Column("title", "str", description="one-line summary: the commit subject or the pull-request title "
               "(what shipped; never an author)"),
    ),
    "incidents": (
        Column("incident_id", "str", True, description="unique id"),
        Column("opened_at", "datetime", True, description="when the incident was opened"),
        Column("resolved_at", "datetime", description="when it was resolved; empty if open"),
        Column("deployment_id", "str", description="deployment that caused it, if known"),
        Column("severity", "str", description="free text, e.g. sev1"),
        Column("environment", "str", description="environment affected (default production; any letter case, "
               "stored in lower case)", lower=True),
    ),
}

ID_COLUMN: dict[TableName, str] = {"deployments": "deployment_id", "changes": "change_id", "incidents": "incident_id"}

EMPTY_ALLOWED: frozenset[tuple[TableName, str]] = frozenset({("changes", "deployment_id")})
"""Required columns whose values may be empty (the column must exist): a change not deployed yet."""

TIME_ORDER: dict[TableName, tuple[str, str, str]] = {
    "deployments": ("started_at", "finished_at", "started after it finished"),
    "incidents": ("opened_at", "resolved_at", "resolved before it was opened"),
}
"""Per table: (earlier column, later column, problem when the later one is before the earlier one)."""


def columns(table: TableName) -> tuple[Column, ...]:
    """The columns of ``table`` in canonical order."""
    return SCHEMA[table]


def column(table: TableName, name: str) -> Column:
    """The column ``name`` of ``table`` (``KeyError`` if the table has none)."""
    for col in SCHEMA[table]:
        if col.name == name:
            return col
    raise KeyError(f"{table}: no column {name!r}")


def column_names(table: TableName) -> list[str]:
    return [c.name for c in SCHEMA[table]]


def required_columns(table: TableName) -> list[str]:
    return [c.name for c in SCHEMA[table] if c.required]


def empty(table: TableName) -> pd.DataFrame:
    """An empty table with the canonical columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in SCHEMA[table]})


def all_na(col: Column, n: int, index: pd.Index | None = None) -> pd.Series:
    """An all-missing column of ``col``'s dtype, built from numpy arrays (cheap for a million rows)."""
    if col.type == "datetime":
        values = pd.DatetimeIndex(np.full(n, np.datetime64("NaT", "ns"))).tz_localize("UTC")
        return pd.Series(values, index=index, dtype=UTC_DTYPE)
    if col.type == "int":
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)), index=index)
    if col.type == "bool":
        return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)), index=index)
    return pd.Series(pd.array(np.full(n, None, dtype=object), dtype=STRING), index=index)


def lower_names(series: pd.Series) -> pd.Series:
    """A string column of names in lower case (missing values stay missing); unchanged when already lower."""
    values = series.dropna()
    if values.empty or all(v == v.lower() for v in values.astype(str).unique()):
        return series
    return series.str.lower().astype(STRING)


def complete(table: TableName, typed: dict[str, pd.Series], n: int) -> pd.DataFrame:
    """The canonical frame of ``table`` from already typed columns (any subset): absent optional columns are
    added all-missing, and the deployment defaults applied (empty ``kind`` = planned, empty
    ``first_deployment`` = false). Every path that builds a table ends here."""
    out: dict[str, pd.Series] = {}
    for col in SCHEMA[table]:
        series = typed.get(col.name)
        out[col.name] = all_na(col, n) if series is None else series.reset_index(drop=True)
    for col in SCHEMA[table]:
        if col.lower:
            out[col.name] = lower_names(out[col.name])
    result = pd.DataFrame(out)
    if table == "deployments":
        result["kind"] = result["kind"].fillna("planned")
        result["first_deployment"] = result["first_deployment"].fillna(False)
    return result

"""The normalized event model: the one place that knows the schema.

Three tables, as pandas DataFrames with fixed column names and dtypes; every timestamp is tz-aware UTC
(``datetime64[ns, UTC]``). Every source fills them; every metric reads them. See ``docs/data-model.md``.

- deployments: one row per deployment attempt (successful or not) to one environment.
- changes: one row per change (a commit, or a squash-merged pull request) with the deployment that first
  shipped it (empty while not deployed).
- incidents: one row per production incident, optionally naming the deployment that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

TableName = Literal["deployments", "changes", "incidents"]

UTC_DTYPE = "datetime64[ns, UTC]"
STRING = pd.StringDtype("python")
BOOL = "boolean"
INT = "Int64"


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, logical type, whether it is required, and allowed values."""

    name: str
    type: Literal["str", "datetime", "bool", "int", "enum"]
    required: bool = False
    choices: tuple[str, ...] = ()
    description: str = ""

    @property
    def dtype(self) -> object:
        return {
            "str": STRING,
            "enum": STRING,
            "datetime": UTC_DTYPE,
            "bool": BOOL,
            "int": INT,
        }[self.type]


DEPLOYMENT_STATUSES = ("success", "failure")
DEPLOYMENT_KINDS = ("planned", "unplanned")

SCHEMA: dict[str, tuple[Column, ...]] = {
    "deployments": (
        Column("deployment_id", "str", True, description="unique id of the deployment attempt"),
        Column("environment", "str", True, description="target environment, e.g. production"),
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
    ),
    "incidents": (
        Column("incident_id", "str", True, description="unique id"),
        Column("opened_at", "datetime", True, description="when the incident was opened"),
        Column("resolved_at", "datetime", description="when it was resolved; empty if open"),
        Column("deployment_id", "str", description="deployment that caused it, if known"),
        Column("severity", "str", description="free text, e.g. sev1"),
        Column("environment", "str", description="environment affected (default production)"),
    ),
}

ID_COLUMN = {"deployments": "deployment_id", "changes": "change_id", "incidents": "incident_id"}


def columns(table: TableName) -> tuple[Column, ...]:
    """The columns of ``table`` in canonical order."""
    return SCHEMA[table]


def column_names(table: TableName) -> list[str]:
    return [c.name for c in SCHEMA[table]]


def required_columns(table: TableName) -> list[str]:
    return [c.name for c in SCHEMA[table] if c.required]


def empty(table: TableName) -> pd.DataFrame:
    """An empty table with the canonical columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in SCHEMA[table]})


def to_utc(values: pd.Series | list | object) -> pd.Series:
    """Convert tz-aware timestamps to ``datetime64[ns, UTC]``. Naive values are rejected by the caller."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    out = pd.to_datetime(series, utc=True)
    return out.astype(UTC_DTYPE)


def coerce(table: TableName, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with canonical columns (missing optional ones added empty) and dtypes.

    Extra columns are dropped. Raises ``KeyError`` naming a missing required column. This does not
    validate values (the event-file source does that with file/line/column messages); sources that build
    frames in memory call it to get the canonical shape.
    """
    out: dict[str, pd.Series] = {}
    n = len(frame)
    for col in SCHEMA[table]:
        if col.name not in frame.columns:
            if col.required:
                raise KeyError(f"{table}: missing required column {col.name!r}")
            out[col.name] = _all_na(col, n, frame.index)
            continue
        series = frame[col.name]
        if col.type == "datetime":
            if not isinstance(series.dtype, pd.DatetimeTZDtype):
                series = pd.to_datetime(series, utc=True)
            out[col.name] = series.dt.tz_convert("UTC").astype(UTC_DTYPE)
        elif col.type == "bool":
            out[col.name] = series.astype(BOOL)
        elif col.type == "int":
            out[col.name] = pd.to_numeric(series).astype(INT)
        else:
            out[col.name] = series.astype(STRING)
    result = pd.DataFrame(out, index=frame.index).reset_index(drop=True)
    if table == "deployments":
        result["kind"] = result["kind"].fillna("planned")
        result["first_deployment"] = result["first_deployment"].fillna(False)
    return result


def _all_na(col: Column, n: int, index: pd.Index) -> pd.Series:
    """An all-missing column of ``col``'s dtype, built without a Python list of length ``n``."""
    if col.type == "datetime":
        values = pd.DatetimeIndex(np.full(n, np.datetime64("NaT", "ns"))).tz_localize("UTC")
        return pd.Series(values, index=index, dtype=UTC_DTYPE)
    return pd.Series(pd.array(np.full(n, None, dtype=object), dtype=col.dtype), index=index)


@dataclass
class EventSet:
    """The three tables together. Build with :func:`event_set` to get canonical dtypes."""

    deployments: pd.DataFrame = field(default_factory=lambda: empty("deployments"))
    changes: pd.DataFrame = field(default_factory=lambda: empty("changes"))
    incidents: pd.DataFrame = field(default_factory=lambda: empty("incidents"))
    source: str = ""
    notes: list[str] = field(default_factory=list)
    """Data-quality notes from the source (e.g. shallow clone, skipped tags), shown in reports."""

    def table(self, name: TableName) -> pd.DataFrame:
        return getattr(self, name)


def event_set(
    deployments: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    *,
    source: str = "",
    notes: list[str] | None = None,
) -> EventSet:
    """Build an :class:`EventSet`, coercing each given frame to the canonical schema."""
    return EventSet(
        deployments=coerce("deployments", deployments) if deployments is not None else empty("deployments"),
        changes=coerce("changes", changes) if changes is not None else empty("changes"),
        incidents=coerce("incidents", incidents) if incidents is not None else empty("incidents"),
        source=source,
        notes=list(notes or []),
    )


def integrity_problems(events: EventSet) -> list[str]:
    """Referential and ordering problems in an in-memory EventSet (empty list when consistent).

    Checks: duplicate ids, changes or incidents naming unknown deployments, incidents resolved before they
    were opened, rollbacks of unknown deployments.
    """
    problems: list[str] = []
    for name, id_col in ID_COLUMN.items():
        frame = events.table(name)  # type: ignore[arg-type]
        dup = frame[id_col][frame[id_col].duplicated()]
        if len(dup):
            problems.append(f"{name}: duplicate {id_col} {dup.iloc[0]!r}")
    known = set(events.deployments["deployment_id"].dropna())
    for name in ("changes", "incidents"):
        refs = events.table(name)["deployment_id"].dropna()  # type: ignore[arg-type]
        unknown = refs[~refs.isin(known)]
        if len(unknown):
            problems.append(f"{name}: unknown deployment_id {unknown.iloc[0]!r}")
    rb = events.deployments["rollback_of"].dropna()
    unknown_rb = rb[~rb.isin(known)]
    if len(unknown_rb):
        problems.append(f"deployments: rollback_of names unknown deployment {unknown_rb.iloc[0]!r}")
    inc = events.incidents
    bad = inc[inc["resolved_at"].notna() & (inc["resolved_at"] < inc["opened_at"])]
    if len(bad):
        problems.append(f"incidents: {bad['incident_id'].iloc[0]!r} resolved before it was opened")
    return problems

"""The event set: the three tables together, built and coerced to the canonical schema."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from hivepulse.model.convert import to_utc
from hivepulse.model.schema import BOOL, INT, SCHEMA, STRING, TableName, complete, empty


def coerce(table: TableName, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with canonical columns (missing optional ones added empty) and dtypes.

    Extra columns are dropped. Raises ``KeyError`` naming a missing required column. This does not
    validate values (readers of text use :func:`hivepulse.model.validate.validate_cells`, which reports
    file/line/column); sources that build frames in memory call it to get the canonical shape.
    """
    typed: dict[str, pd.Series] = {}
    for col in SCHEMA[table]:
        if col.name not in frame.columns:
            if col.required:
                raise KeyError(f"{table}: missing required column {col.name!r}")
            continue
        series = frame[col.name]
        if col.type == "datetime":
            typed[col.name] = to_utc(series)
        elif col.type == "bool":
            typed[col.name] = series.astype(BOOL)
        elif col.type == "int":
            typed[col.name] = pd.to_numeric(series).astype(INT)
        else:
            typed[col.name] = series.astype(STRING)
    return complete(table, typed, len(frame))


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
        frame: pd.DataFrame = getattr(self, name)
        return frame


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


def environment_counts(events: EventSet) -> dict[str, int]:
    """Deployments per environment (names in lower case, as every reader stores them), most first."""
    counts = events.deployments["environment"].dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def other_environments(events: EventSet, environment: str, flag: str = "--env") -> str | None:
    """When ``environment`` has no deployment but others have: the sentence naming them and the flag that
    selects one (``deployments exist only in 'test' (5); measure them with --env test``); None otherwise."""
    counts = environment_counts(events)
    if not counts or environment in counts:
        return None
    shown = ", ".join(f"{name!r} ({n})" for name, n in list(counts.items())[:5])
    best = next(iter(counts))
    return f"deployments exist only in {shown}; measure them with {flag} {best}"

"""The integrity rules of the event model, written once for every reader and for events built in memory.

A rule returns the first :class:`Problem` it finds (a row of a table, the column, the value, what is wrong,
what was expected); the caller turns it into an :class:`~hivepulse.errors.InputError` with its own location:
a file and line (event files, the git source's deployments file) or the table and row (events in memory,
:func:`check_integrity`). Rules, in the order they are checked (``docs/data-model.md``):

1. per table: duplicate ids (the second occurrence, naming the first), then ``started_at`` after
   ``finished_at`` (deployments) and ``resolved_at`` before ``opened_at`` (incidents);
2. across tables: ``rollback_of`` names an unknown deployment or itself, then changes and incidents naming an
   unknown deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hivepulse.errors import InputError
from hivepulse.model.convert import first, format_timestamp
from hivepulse.model.schema import ID_COLUMN, TABLES, TIME_ORDER, TableName

if TYPE_CHECKING:
    from hivepulse.model.events import EventSet


@dataclass(frozen=True)
class Problem:
    """One problem of one row: what a reader reports with its file and line."""

    table: TableName
    row: int
    """0-based row of the table (record order of the file)."""
    column: str | None
    reason: str
    value: object = None
    expected: str = ""
    first_row: int | None = None
    """Duplicates: the row of the first occurrence (the reader names its line)."""

    def error(self, *, file: str | None, line: int | None, first_at: str | None = None, label: str = "") -> InputError:
        """The :class:`InputError` of this problem at ``file``/``line``; ``first_at`` locates ``first_row``
        ("line 2"), ``label`` is appended to the reason (" (object [3])")."""
        reason = self.reason
        if self.first_row is not None and first_at is not None:
            reason += f" (first on {first_at})"
        return InputError(reason + label, file=file, line=line, column=self.column, value=self.value,
                          expected=self.expected)  # fmt: skip

    def in_memory_error(self) -> InputError:
        """The error of this problem in events built in memory: located by table and 1-based row."""
        first_at = f"row {self.first_row + 1}" if self.first_row is not None else None
        return self.error(file=f"{self.table} row {self.row + 1}", line=None, first_at=first_at)


RawCells = Mapping[str, np.ndarray]
"""Per column, the text of each row as the reader saw it (used as the reported value when given)."""


def duplicate_id(table: TableName, ids: pd.Series) -> Problem | None:
    """The second occurrence of a repeated id (missing ids are not compared)."""
    id_col = ID_COLUMN[table]
    present = ids.notna().to_numpy(dtype=bool)
    dup = ids.duplicated().to_numpy(dtype=bool) & present
    i = first(dup)
    if i is None:
        return None
    j = int(np.argmax(((ids == ids.iloc[i]).fillna(False)).to_numpy(dtype=bool)))
    return Problem(table, i, id_col, f"duplicate {id_col}", ids.iloc[i], f"unique {id_col} values", first_row=j)


def time_order(table: TableName, frame: pd.DataFrame, raw: RawCells | None = None) -> Problem | None:
    """``started_at`` after ``finished_at`` (deployments), ``resolved_at`` before ``opened_at`` (incidents)."""
    if table not in TIME_ORDER:
        return None
    early, late, reason = TIME_ORDER[table]
    if early not in frame or late not in frame:
        return None
    i = first((frame[late] < frame[early]).fillna(False).to_numpy(dtype=bool))
    if i is None:
        return None
    column = late if table == "incidents" else early
    value = raw[column][i] if raw is not None and column in raw else format_timestamp(frame[column].iloc[i])
    detail = f"{early} {format_timestamp(frame[early].iloc[i])}, {late} {format_timestamp(frame[late].iloc[i])}"
    return Problem(table, i, column, f"{reason} ({detail})", value, f"{late} at or after {early}")


def table_problem(table: TableName, frame: pd.DataFrame, raw: RawCells | None = None) -> Problem | None:
    """The first within-table problem: duplicate ids, then time order inside a row."""
    id_col = ID_COLUMN[table]
    if id_col in frame:
        problem = duplicate_id(table, frame[id_col])
        if problem is not None:
            return problem
    return time_order(table, frame, raw)


def rollback_problem(deployments: pd.DataFrame, known: pd.Series | None = None,
                     listed_in: str = "deployments") -> Problem | None:  # fmt: skip
    """``rollback_of`` naming a deployment not in ``known`` (default: the table's own ids) or itself."""
    if "rollback_of" not in deployments:
        return None
    ids = deployments["deployment_id"] if "deployment_id" in deployments else pd.Series([pd.NA] * len(deployments))
    rb = deployments["rollback_of"]
    unknown = rb.notna() & ~rb.isin(ids if known is None else known)
    self_ref = rb.notna() & (rb == ids)
    i = first((unknown | self_ref).fillna(False).to_numpy(dtype=bool))
    if i is None:
        return None
    reason = "rollback of itself" if bool(self_ref.fillna(False).iloc[i]) else "rollback of an unknown deployment"
    return Problem("deployments", i, "rollback_of", reason, rb.iloc[i],
                   f"another deployment_id listed in {listed_in}")  # fmt: skip


def reference_problem(table: TableName, frame: pd.DataFrame, known: pd.Series,
                      listed_in: str = "deployments") -> Problem | None:  # fmt: skip
    """A change or incident naming a deployment that is not in ``known``."""
    if "deployment_id" not in frame:
        return None
    refs = frame["deployment_id"]
    i = first((refs.notna() & ~refs.isin(known)).to_numpy(dtype=bool))
    if i is None:
        return None
    return Problem(table, i, "deployment_id", "unknown deployment", refs.iloc[i],
                   f"a deployment_id listed in {listed_in}, or empty")  # fmt: skip


def cross_table_problem(frames: Mapping[TableName, pd.DataFrame], listed_in: str = "deployments") -> Problem | None:
    """The first cross-table problem: ``rollback_of``, then changes and incidents naming unknown deployments."""
    deployments = frames["deployments"]
    problem = rollback_problem(deployments, listed_in=listed_in)
    if problem is not None:
        return problem
    for table in ("changes", "incidents"):
        frame = frames.get(table)
        if frame is not None:
            problem = reference_problem(table, frame, deployments["deployment_id"], listed_in)
            if problem is not None:
                return problem
    return None


def problems(events: EventSet) -> list[Problem]:
    """Every rule's first problem in ``events`` (at most one per table and one across tables)."""
    found: list[Problem] = []
    frames: dict[TableName, pd.DataFrame] = {t: events.table(t) for t in TABLES}
    for table in TABLES:
        problem = table_problem(table, frames[table])
        if problem is not None:
            found.append(problem)
    problem = cross_table_problem(frames)
    if problem is not None:
        found.append(problem)
    return found


def integrity_problems(events: EventSet) -> list[str]:
    """Referential and ordering problems of an in-memory EventSet as one-line messages (empty when consistent).

    The same rules as the event-file reader (duplicate ids, time order in a row, ``rollback_of`` of an unknown
    deployment or of itself, changes or incidents naming unknown deployments), located by table and row."""
    return [str(p.in_memory_error()) for p in problems(events)]


def check_integrity(events: EventSet) -> None:
    """Raise :class:`~hivepulse.errors.InputError` (exit 2) for the first integrity problem of ``events``."""
    found = problems(events)
    if found:
        raise found[0].in_memory_error()

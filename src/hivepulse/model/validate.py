"""From text cells to a typed table: the one validation every reader of event data goes through.

A reader parses its format (CSV, JSON, JSONL, an API page) into *cells*: per column an object array of
stripped strings, ``""`` meaning empty. :func:`validate_cells` checks them against a :class:`TableSpec` with
the converters of :mod:`hivepulse.model.convert` and returns the typed columns or the first bad row (ties:
schema column order); the reader reports that :class:`~hivepulse.model.integrity.Problem` with its own file
and line. The event files use :data:`EVENT_FILES`; another reader of the same table with other required
columns (the git source's deployments file) declares its own spec, with the same converters and rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hivepulse.model.convert import convert, describe, first
from hivepulse.model.integrity import Problem
from hivepulse.model.schema import EMPTY_ALLOWED, SCHEMA, TABLES, Column, TableName


@dataclass(frozen=True)
class ValueRule:
    """An extra rule on the values of one column of a spec (e.g. a commit SHA must be hex)."""

    column: str
    pattern: str
    """Regular expression every non-empty value must match in full."""
    reason: str
    expected: str

    def first_bad(self, values: np.ndarray, empty: np.ndarray) -> int | None:
        match = re.compile(self.pattern).fullmatch
        return first(~empty & np.array([match(v) is None for v in values], dtype=bool))


@dataclass(frozen=True)
class TableSpec:
    """What a reader accepts for one table: which columns must be in the header, which must have a value in
    every row, and extra value rules. Every column of the table's schema is accepted and converted."""

    table: TableName
    header: tuple[str, ...]
    """Columns the file must have (header names, or keys of some object)."""
    non_empty: tuple[str, ...]
    """Columns whose every value must be non-empty."""
    rules: tuple[ValueRule, ...] = ()
    what: str = ""
    """How the reader calls a file of this spec, for messages (default: "<table> file")."""

    @property
    def columns(self) -> tuple[Column, ...]:
        return SCHEMA[self.table]

    @property
    def names(self) -> list[str]:
        return [c.name for c in SCHEMA[self.table]]

    def describe(self) -> str:
        return self.what or f"{self.table} file"


def _event_file_spec(table: TableName) -> TableSpec:
    required = tuple(c.name for c in SCHEMA[table] if c.required)
    non_empty = tuple(name for name in required if (table, name) not in EMPTY_ALLOWED)
    return TableSpec(table, required, non_empty)


EVENT_FILES: dict[TableName, TableSpec] = {table: _event_file_spec(table) for table in TABLES}
"""The event-file contract: the schema's required columns, each with a value (``changes.deployment_id`` may
be empty)."""


@dataclass(frozen=True)
class Validated:
    """Typed columns (those present in the cells) or the first problem; ``naive`` counts timestamps without
    offset read as UTC."""

    columns: dict[str, pd.Series] = field(default_factory=dict)
    problem: Problem | None = None
    naive: int = 0
    lowered: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Name columns (``Column.lower``) whose values were not in lower case: column -> (how many values, the
    first one as written)."""


def validate_cells(spec: TableSpec, cells: Mapping[str, np.ndarray], *, assume_utc: bool = False) -> Validated:
    """Convert and check ``cells`` (canonical column -> stripped strings) against ``spec``.

    The first bad row wins; within a row, the first column in schema order; within a column, an empty
    required value before a bad value, and a value rule after the converter."""
    table = spec.table
    found: list[tuple[int, int, Problem]] = []
    out: dict[str, pd.Series] = {}
    naive_total = 0
    lowered: dict[str, tuple[int, str]] = {}
    rules = {r.column: r for r in spec.rules}
    for order, col in enumerate(spec.columns):
        if col.name not in cells:
            continue
        values = cells[col.name]
        empty = values == ""
        if col.name in spec.non_empty:
            i = first(empty)
            if i is not None:
                found.append((i, order, Problem(table, i, col.name, "empty required value", None, describe(col))))
        result = convert(col, values, empty, assume_utc=assume_utc)
        naive_total += result.naive
        if result.bad is not None:
            bad = result.bad
            found.append((bad.row, order, Problem(table, bad.row, col.name, bad.reason, values[bad.row], bad.expected)))
        rule = rules.get(col.name)
        if rule is not None:
            i = rule.first_bad(values, empty)
            if i is not None:
                found.append((i, order, Problem(table, i, col.name, rule.reason, values[i], rule.expected)))
        out[col.name] = result.series
        if col.lower:
            changed = [v for v in values if v != v.lower()]
            if changed:
                lowered[col.name] = (len(changed), changed[0])
    if found:
        return Validated(problem=min(found, key=lambda f: (f[0], f[1]))[2])
    return Validated(out, None, naive_total, lowered)

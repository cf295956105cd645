"""Reading event files: a directory of tables (:func:`read_events`) or one table file (:func:`read_table`).

Formats are parsed by :mod:`~hivepulse.sources.files.csvfile` and :mod:`~hivepulse.sources.files.jsonfile`;
every cell then goes through the model's one validation (:func:`hivepulse.model.validate_cells`) and integrity
rules (:mod:`hivepulse.model.integrity`), and every problem is raised as an :class:`InputError` naming the
file, the 1-based physical line, the column, the value and what was expected (``docs/data-model.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hivepulse import fsio
from hivepulse.errors import InputError
from hivepulse.model import EVENT_FILES, TABLES, EventSet, TableName, TableSpec, empty, validate_cells
from hivepulse.model.integrity import cross_table_problem, table_problem
from hivepulse.model.schema import complete
from hivepulse.sources.files.csvfile import load_csv
from hivepulse.sources.files.jsonfile import load_json, load_jsonl
from hivepulse.sources.files.raw import FORMATS, RawTable, read_file, where
from hivepulse.textsafe import terminal

REQUIRED_TABLES: tuple[TableName, ...] = ("deployments", "changes")
"""Tables whose file must exist. A missing incidents file is allowed and recorded in ``EventSet.notes``."""
NOTES_FILE = "notes.txt"
"""Data-quality notes of the source that produced an event directory (e.g. "history is cut at 500 commits"),
one per line, written by ``write_events`` and read back by :func:`read_events`, so exported events keep their
caveats. Lines starting with ``#`` and blank lines are ignored."""
MAX_NOTES_BYTES = fsio.MAX_CONFIG_BYTES


@dataclass
class TableFile:
    """One validated table file: the typed columns it has (canonical names), the parsed file (for locating
    later problems: :meth:`error`) and its notes (ignored unknown columns, timestamps read as UTC)."""

    raw: RawTable
    columns: dict[str, pd.Series]
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.raw.n

    def frame(self) -> pd.DataFrame:
        """The canonical table (absent columns all-missing, deployment defaults applied)."""
        return complete(self.raw.spec.table, self.columns, self.raw.n)

    def error(self, i: int, column: str | None, reason: str, *, value: object = None, expected: str = "") -> InputError:
        return self.raw.error(i, column, reason, value=value, expected=expected)


def read_table(path: str | os.PathLike[str], spec: TableSpec, *, assume_utc: bool = False) -> TableFile:
    """Read and validate one table file (CSV, or JSON/JSONL by extension) against ``spec``: values, then
    duplicate ids and time order. Cross-table references are the caller's (see :func:`read_events`)."""
    p = Path(path)
    data, fmt = read_file(p, spec)
    loader = {"csv": load_csv, "json": load_json, "jsonl": load_jsonl}[fmt]
    raw = loader(spec, p, data)
    checked = validate_cells(spec, raw.cells, assume_utc=assume_utc)
    if checked.problem is not None:
        raise raw.report(checked.problem)
    problem = table_problem(spec.table, pd.DataFrame(checked.columns), raw.cells)
    if problem is not None:
        raise raw.report(problem)
    notes = []
    if raw.unknown:
        unknown = ", ".join(map(repr, raw.unknown))
        notes.append(terminal(f"{p.name}: ignored unknown columns {unknown}"))
    if checked.naive:
        notes.append(f"{terminal(p.name)}: {checked.naive} timestamps without UTC offset read as UTC (--assume-utc)")
    for column, (count, example) in checked.lowered.items():
        notes.append(terminal(f"{p.name}: {count} {column} name(s) not in lower case, e.g. {example!r}; names "
                              f"are compared without letter case and written in lower case ({example.lower()!r})"))
    return TableFile(raw, checked.columns, notes)


def read_events(path: str | os.PathLike[str], *, assume_utc: bool = False) -> EventSet:
    """Read and validate the event files in directory ``path``.

    ``assume_utc``: timestamps without a UTC offset are read as UTC (otherwise they are an error).
    Returns an :class:`EventSet` with canonical columns and dtypes (timestamps ``datetime64[ns, UTC]``);
    ``notes`` records an absent incidents file, ignored unknown columns and assumed-UTC timestamps.
    Raises :class:`InputError` (exit status 2) on the first problem found; see ``docs/data-model.md``.
    """
    root = Path(path)
    expected_dir = "a directory holding deployments and changes files"
    if not root.exists():
        raise InputError("events directory not found", file=where(root), expected=expected_dir)
    if not root.is_dir():
        raise InputError("not a directory", file=where(root), expected=expected_dir)
    located = _locate(root)
    notes: list[str] = []
    read: dict[TableName, TableFile] = {}
    for table in TABLES:
        file = located[table]
        if file is None:
            notes.append(
                f"incidents: no incidents file in {where(root)} (expected incidents.csv, .json or .jsonl); failures "
                "come only from deployment status, rollbacks and unplanned deployments"
            )
            continue
        read[table] = read_table(file, EVENT_FILES[table], assume_utc=assume_utc)
        notes.extend(read[table].notes)
    deployments_file = located["deployments"]
    assert deployments_file is not None
    problem = cross_table_problem({t: pd.DataFrame(f.columns) for t, f in read.items()},
                                  listed_in=deployments_file.name)  # fmt: skip
    if problem is not None:
        raise read[problem.table].raw.report(problem)
    notes = _read_source_notes(root) + notes
    frames = {t: read[t].frame() if t in read else empty(t) for t in TABLES}
    return EventSet(frames["deployments"], frames["changes"], frames["incidents"], source=str(root), notes=notes)


def inside(root: Path, file: Path) -> bool:
    """True when ``file`` (after following symlinks) lies inside ``root`` (after following symlinks)."""
    try:
        return file.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _checked_member(root: Path, file: Path) -> Path:
    """``file`` of the event directory, refusing a symlink that leads out of the directory: its target is
    never read, so no line of another file can reach a message or a report."""
    if file.is_symlink() and not inside(root, file):
        raise InputError("symbolic link to a file outside the events directory", file=where(file),
                         expected="a regular file in the directory (copy the file instead of linking it)")  # fmt: skip
    return file


def _locate(root: Path) -> dict[TableName, Path | None]:
    """The one file of each table in ``root``; errors for a missing required table or two formats."""
    found: dict[TableName, Path | None] = {}
    for table in TABLES:
        candidates = [root / f"{table}.{ext}" for ext in FORMATS if (root / f"{table}.{ext}").is_file()]
        if len(candidates) > 1:
            names = " and ".join(c.name for c in candidates)
            raise InputError(f"both {names} present", file=where(root),
                             expected=f"exactly one {table} file (csv, json or jsonl)")  # fmt: skip
        if not candidates and table in REQUIRED_TABLES:
            raise InputError(f"missing {table} file", file=where(root),
                             expected=f"{table}.csv, {table}.json or {table}.jsonl")  # fmt: skip
        found[table] = _checked_member(root, candidates[0]) if candidates else None
    return found


def _read_source_notes(root: Path) -> list[str]:
    path = root / NOTES_FILE
    if not path.is_file():
        return []
    _checked_member(root, path)
    try:
        data = fsio.read_bytes_limited(path, MAX_NOTES_BYTES, what="notes file")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError("not UTF-8 text", file=where(path), line=data.count(b"\n", 0, err.start) + 1,
                         expected="UTF-8 notes, one per line") from None  # fmt: skip
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror})", file=where(path)) from None
    lines = (terminal(line).strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def text_line(path: Path, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``path``."""
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1

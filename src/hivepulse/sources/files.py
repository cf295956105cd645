"""Event files (CSV, JSON, JSONL) <-> :class:`~hivepulse.model.EventSet`, with strict validation.

A directory holds one file per table: ``deployments``, ``changes`` (both required) and ``incidents``
(optional), each as ``<table>.csv``, ``<table>.json`` (an array of objects) or ``<table>.jsonl`` (one object
per line). Every problem is reported as one :class:`~hivepulse.errors.InputError` naming the file, the
1-based physical line, the column, the bad value and what was expected. The exact rules are in
``docs/data-model.md``.

Reading is vectorized (pandas C parser, ``dtype=str``; columns are checked as whole arrays and only the
first bad row is located), so a million change rows read in a few seconds.

Public API: :func:`read_events`, :func:`write_events`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hivepulse.errors import InputError
from hivepulse.model import (
    ID_COLUMN,
    SCHEMA,
    STRING,
    UTC_DTYPE,
    Column,
    EventSet,
    TableName,
    coerce,
    empty,
    integrity_problems,
)

__all__ = ["FORMATS", "TABLES", "REQUIRED_TABLES", "read_events", "write_events"]

TABLES: tuple[TableName, ...] = ("deployments", "changes", "incidents")
"""Tables in reading and validation order."""
REQUIRED_TABLES: tuple[TableName, ...] = ("deployments", "changes")
"""Tables whose file must exist. A missing incidents file is allowed and recorded in ``EventSet.notes``."""
FORMATS: tuple[str, ...] = ("csv", "json", "jsonl")
"""Accepted file extensions, lowercase."""

# Required columns whose values may be empty (the column must exist).
_EMPTY_ALLOWED = {("changes", "deployment_id")}
_BOM = b"\xef\xbb\xbf"
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_OFFSET_RE = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$")
_TS_EXAMPLE = "2026-05-04T09:30:00Z"
_TS_MIN = pd.Timestamp.min.tz_localize("UTC")
_TS_MAX = pd.Timestamp.max.tz_localize("UTC")


# --------------------------------------------------------------------------------------------------- reading


def read_events(path: str | os.PathLike[str], *, assume_utc: bool = False) -> EventSet:
    """Read and validate the event files in directory ``path``.

    ``assume_utc``: timestamps without a UTC offset are read as UTC (otherwise they are an error).
    Returns an :class:`EventSet` with canonical columns and dtypes (timestamps ``datetime64[ns, UTC]``);
    ``notes`` records an absent incidents file, ignored unknown columns and assumed-UTC timestamps.
    Raises :class:`InputError` (exit status 2) on the first problem found; see ``docs/data-model.md``.
    """
    root = Path(path)
    if not root.exists():
        raise InputError(
            "events directory not found",
            file=str(root),
            expected="a directory holding deployments and changes files",
        )
    if not root.is_dir():
        raise InputError(
            "not a directory", file=str(root), expected="a directory holding deployments and changes files"
        )
    located = _locate(root)
    notes: list[str] = []
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, _Raw] = {}
    for table in TABLES:
        file = located[table]
        if file is None:
            notes.append(
                f"incidents: no incidents file in {root} (expected incidents.csv, .json or .jsonl); failures come "
                "only from deployment status, rollbacks and unplanned deployments"
            )
            continue
        raw = _load(table, file)
        frames[table], table_notes = _validate_table(raw, assume_utc=assume_utc)
        notes.extend(table_notes)
        sources[table] = raw
    _check_references(frames, sources, located)
    notes = _read_source_notes(root) + notes
    return EventSet(
        deployments=_canonical("deployments", frames.get("deployments")),
        changes=_canonical("changes", frames.get("changes")),
        incidents=_canonical("incidents", frames.get("incidents")),
        source=str(root),
        notes=notes,
    )


NOTES_FILE = "notes.txt"
"""Data-quality notes of the source that produced an event directory (e.g. "history is cut at 500 commits"),
one per line, written by :func:`write_events` and read back by :func:`read_events`, so exported events keep
their caveats. Lines starting with ``#`` and blank lines are ignored."""


def _read_source_notes(root: Path) -> list[str]:
    path = root / NOTES_FILE
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError("not UTF-8 text", file=str(path), line=text_line(path, err.start),
                         expected="UTF-8 notes, one per line") from None
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror})", file=str(path)) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def text_line(path: Path, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``path``."""
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def _canonical(table: TableName, frame: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` (validated, typed) completed to the canonical shape; same result as ``model.coerce``.

    Built here because absent optional columns must be cheap for a million rows (all-NA arrays from numpy).
    """
    if frame is None:
        return empty(table)
    n = len(frame)
    out: dict[str, object] = {}
    for col in SCHEMA[table]:
        if col.name in frame:
            out[col.name] = frame[col.name].reset_index(drop=True)
        elif col.type == "datetime":
            out[col.name] = pd.Series(np.full(n, np.datetime64("NaT", "ns"))).dt.tz_localize("UTC")
        elif col.type == "int":
            out[col.name] = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
        elif col.type == "bool":
            out[col.name] = pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
        else:
            out[col.name] = pd.array(np.full(n, None, dtype=object), dtype=STRING)
    result = pd.DataFrame(out)
    if table == "deployments":
        result["kind"] = result["kind"].fillna("planned")
        result["first_deployment"] = result["first_deployment"].fillna(False)
    return result


def _locate(root: Path) -> dict[str, Path | None]:
    """The one file of each table in ``root``; errors for a missing required table or two formats."""
    found: dict[str, Path | None] = {}
    for table in TABLES:
        candidates = [root / f"{table}.{ext}" for ext in FORMATS if (root / f"{table}.{ext}").is_file()]
        if len(candidates) > 1:
            names = " and ".join(c.name for c in candidates)
            raise InputError(
                f"both {names} present",
                file=str(root),
                expected=f"exactly one {table} file (csv, json or jsonl)",
            )
        if not candidates and table in REQUIRED_TABLES:
            raise InputError(
                f"missing {table} file",
                file=str(root),
                expected=f"{table}.csv, {table}.json or {table}.jsonl",
            )
        found[table] = candidates[0] if candidates else None
    return found


@dataclass
class _Raw:
    """One file, parsed but not validated: stripped string cells per canonical column present."""

    table: TableName
    path: Path
    fmt: str
    n: int
    cells: dict[str, np.ndarray]
    """canonical column -> object array of stripped str ('' = empty)"""
    unknown: list[str]
    line_of: Callable[[list[int]], dict[int, int]]
    """record indices (0-based) -> 1-based physical line in the file"""
    label: Callable[[int], str] = field(default=lambda i: "")
    """record index -> extra locator text (JSON arrays: the object's index)"""
    key_lines: Callable[[int, str], int | None] | None = None
    """JSON arrays: (record, key) -> line of that key inside the object, when found"""

    def error(
        self, i: int, column: str | None, reason: str, *, value: object = None, expected: str = ""
    ) -> InputError:
        line = self.line_of([i])[i]
        if self.key_lines is not None and column is not None:
            line = self.key_lines(i, column) or line
        return InputError(
            reason + self.label(i),
            file=str(self.path),
            line=line,
            column=column,
            value=value,
            expected=expected,
        )


def _load(table: TableName, path: Path) -> _Raw:
    data = path.read_bytes()
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    fmt = path.suffix[1:]
    _check_utf8(table, path, data, fmt)
    if not data.decode("utf-8").strip():  # str.strip: also Unicode whitespace such as U+001C
        expected = {
            "csv": "a header line naming the columns (a header alone is a valid empty table)",
            "json": "a JSON array of objects ([] is a valid empty table)",
            "jsonl": "one JSON object per line (write an empty table as .csv with a header, or .json with [])",
        }[fmt]
        raise InputError("empty file", file=str(path), expected=expected)
    if fmt == "csv":
        return _load_csv(table, path, data)
    if fmt == "json":
        return _load_json(table, path, data)
    return _load_jsonl(table, path, data)


def _check_utf8(table: TableName, path: Path, data: bytes, fmt: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = data[err.start : err.end]
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        column = None
        prefix = data[line_start : err.start].decode("utf-8", "replace")
        if fmt == "csv":
            header = _first_line_fields(data.decode("utf-8", "replace"))
            fields = next(csv.reader(io.StringIO(prefix, newline=""), strict=False), [""])
            if header and line > header[0] and len(fields) <= len(header[1]):
                column = header[1][len(fields) - 1].strip()
        else:
            keys = re.findall(r'"([^"\\]*)"\s*:', prefix)
            column = keys[-1] if keys else None
        raise InputError(
            f"not valid UTF-8 (byte offset {err.start})",
            file=str(path),
            line=line,
            column=column,
            value="0x" + bad.hex(),
            expected="UTF-8 text (a UTF-8 byte-order mark is accepted)",
        ) from None


def _first_line_fields(text: str) -> tuple[int, list[str], str] | None:
    """(1-based line, fields, raw text) of the first non-blank line of a CSV text."""
    pos, line = 0, 1
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        raw = text[pos:end]
        if raw.strip():
            raw = raw.rstrip("\r")
            return line, next(csv.reader(io.StringIO(raw, newline=""), strict=False), []), raw
        pos, line = end + 1, line + 1
    return None


def _csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of every non-blank CSV record, header included, as pandas counts records.

    Raises ``csv.Error`` for an unterminated quoted field.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield start, row


def _load_csv(table: TableName, path: Path, data: bytes) -> _Raw:
    text = data.decode("utf-8")
    first = _first_line_fields(text)
    assert first is not None  # the file is not blank
    header_line, header, raw_header = first
    header = [h.strip() for h in header]
    ncols = len(header)
    has_quotes = b'"' in data

    def ragged() -> InputError:
        if text.count('"') % 2:  # an unterminated quoted field swallows the rest of the file
            last = None
            for start, _row in _csv_records(text):
                last = start
            return InputError(
                "malformed CSV: unterminated quoted field",
                file=str(path),
                line=last,
                expected='a closing " for the quoted field starting on this line',
            )
        for line, row in _csv_records(text):
            if len(row) != ncols:
                column = header[len(row)] if len(row) < ncols else None
                return InputError(
                    f"row has {len(row)} field{'s' if len(row) != 1 else ''}",
                    file=str(path),
                    line=line,
                    column=column,
                    expected=f"{ncols} fields as in the header on line {header_line} (quote values holding commas)",
                )
        return InputError("malformed CSV", file=str(path), expected="well-formed CSV (RFC 4180)")

    if raw_header.count('"') % 2:
        raise InputError(
            "header has an unterminated quote",
            file=str(path),
            line=header_line,
            expected="all column names on one line",
        )
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in seen and name in _names(table):
            raise InputError(
                "duplicate column in header",
                file=str(path),
                line=header_line,
                column=name,
                expected="each column once",
            )
        seen.setdefault(name, position)
    missing = [c.name for c in SCHEMA[table] if c.required and c.name not in seen]
    if missing:
        raise InputError(
            "missing required column",
            file=str(path),
            line=header_line,
            column=missing[0],
            expected=f"the columns {', '.join(_required(table))} (found: {', '.join(header) or 'none'})",
        )
    wanted = sorted(seen[name] for name in _names(table) if name in seen)  # unknown columns are not kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                skip_blank_lines=True,
                encoding="utf-8",
                usecols=wanted,
            )
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            raise ragged() from None
    # Short rows are padded silently by pandas: count separators (fast path without quotes).
    if has_quotes:
        if any(len(row) != ncols for _, row in _csv_records(text)):
            raise ragged()
    elif data.count(b",") != (ncols - 1) * (len(frame) + 1):
        raise ragged()
    # Stripping costs ~0.1 s per million cells: skip it when the file has no spaces or tabs at all.
    needs_strip = b" " in data or b"\t" in data
    cells = {
        name: _strip(frame.iloc[:, wanted.index(seen[name])].to_numpy(dtype=object), needs_strip)
        for name in _names(table)
        if name in seen
    }
    cache: dict[int, int] = {}

    def line_of(indices: list[int]) -> dict[int, int]:
        wanted = {i for i in indices if i not in cache}
        if wanted:
            top = max(wanted)
            for record, (line, _row) in enumerate(_csv_records(text)):
                if record - 1 in wanted:
                    cache[record - 1] = line
                if record - 1 >= top:
                    break
        return {i: cache.get(i, i + 2) for i in indices}

    unknown = [h for h in header if h not in _names(table)]
    return _Raw(table, path, "csv", len(frame), cells, unknown, line_of)


def _json_cells(
    table: TableName, path: Path, records: list[object], locate: Callable[[int, str | None], tuple[int, str]]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Column arrays from a list of JSON objects; errors for non-objects and nested values."""
    for i, record in enumerate(records):
        if type(record) is not dict:
            line, label = locate(i, None)
            raise InputError(
                f"not a JSON object{label}",
                file=str(path),
                line=line,
                value=json.dumps(record)[:60],
                expected='an object such as {"deployment_id": "d-1", ...}',
            )
    keys: set[str] = set()
    for record in records:
        keys.update(record)  # type: ignore[arg-type]
    names = _names(table)
    if records:
        missing = [c for c in _required(table) if c not in keys]
        if missing:
            raise InputError(
                "missing required column (no object has this key)",
                file=str(path),
                column=missing[0],
                expected=f"the keys {', '.join(_required(table))} in every object",
            )
    cells: dict[str, np.ndarray] = {}
    for name in names:
        if name not in keys and records:
            continue
        raw = [r.get(name, "") for r in records]  # type: ignore[union-attr]
        if all(type(v) is str for v in raw):  # fast path: only strings
            values: list[str | None] = [v.strip() for v in raw]  # type: ignore[union-attr]
        else:
            values = [_json_cell(v) for v in raw]
        if any(v is None for v in values):
            i = values.index(None)
            line, label = locate(i, name)
            raise InputError(
                f"nested value{label}",
                file=str(path),
                line=line,
                column=name,
                value=json.dumps(records[i][name])[:60],  # type: ignore[index]
                expected="a string, number, boolean or null",
            )
        cells[name] = np.array(values, dtype=object)
    unknown = sorted(k for k in keys if k not in names)
    return cells, unknown


def _json_cell(value: object) -> str | None:
    """A JSON value as a stripped string ('' for null); None for objects and arrays (not allowed)."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) in (int, float):
        return repr(value)
    return None


def _load_json(table: TableName, path: Path, data: bytes) -> _Raw:
    text = data.decode("utf-8")
    try:
        records = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"malformed JSON at character {err.colno}: {err.msg}",
            file=str(path),
            line=err.lineno,
            expected="a JSON array of objects",
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", file=str(path), expected="a JSON array of objects") from None
    if not isinstance(records, list):
        raise InputError(
            f"top level is a JSON {type(records).__name__}",
            file=str(path),
            line=1,
            expected="a JSON array of objects",
        )
    starts: list[int] = []

    def offsets(upto: int) -> list[int]:
        decoder = json.JSONDecoder()
        if not starts:
            starts.append(_skip_ws(text, text.index("[") + 1))
        while len(starts) <= upto:
            starts.append(_skip_ws(text, _skip_to_next(text, starts[-1], decoder)))
        return starts

    def line_at(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def locate(i: int, key: str | None) -> tuple[int, str]:
        line = key_line(i, key) if key is not None else None
        return line or line_at(offsets(i)[i]), f" (object [{i}])"

    def key_line(i: int, key: str) -> int | None:
        start = offsets(i)[i]
        end = json.JSONDecoder().raw_decode(text, start)[1]
        at = text.find(json.dumps(key), start, end)
        return line_at(at) if at >= 0 else None

    cells, unknown = _json_cells(table, path, records, locate)
    return _Raw(
        table,
        path,
        "json",
        len(records),
        cells,
        unknown,
        line_of=lambda idx: {i: locate(i, None)[0] for i in idx},
        label=lambda i: f" (object [{i}])",
        key_lines=key_line,
    )


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _skip_to_next(text: str, pos: int, decoder: json.JSONDecoder) -> int:
    """From the start of an array element, the position after it and its comma."""
    end = decoder.raw_decode(text, pos)[1]
    end = _skip_ws(text, end)
    return end + 1 if end < len(text) and text[end] == "," else end


def _load_jsonl(table: TableName, path: Path, data: bytes) -> _Raw:
    text = data.decode("utf-8")
    numbered = [(number, raw) for number, raw in enumerate(text.split("\n"), start=1) if raw.strip()]
    lines = [number for number, _raw in numbered]
    records: list[object] = []
    try:  # fast path: one decoder call for the whole file, valid when it yields one value per line
        records = json.loads("[" + ",".join(raw for _number, raw in numbered) + "]")
    except (json.JSONDecodeError, RecursionError):
        pass
    if len(records) != len(numbered):
        records = []
        for number, raw in numbered:  # locate the bad line
            try:
                records.append(json.loads(raw))
            except json.JSONDecodeError as err:
                raise InputError(
                    f"malformed JSON at character {err.colno}: {err.msg}",
                    file=str(path),
                    line=number,
                    expected="one JSON object per line",
                ) from None
            except RecursionError:
                raise InputError("JSON nested too deeply", file=str(path), line=number,
                                 expected="one JSON object per line") from None
    cells, unknown = _json_cells(table, path, records, lambda i, _key: (lines[i], ""))
    return _Raw(
        table, path, "jsonl", len(records), cells, unknown, line_of=lambda idx: {i: lines[i] for i in idx}
    )


def _strip(values: np.ndarray, needed: bool = True) -> np.ndarray:
    if not needed:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [v.strip() for v in values]
    return out


def _names(table: TableName) -> list[str]:
    return [c.name for c in SCHEMA[table]]


def _required(table: TableName) -> list[str]:
    return [c.name for c in SCHEMA[table] if c.required]


# ------------------------------------------------------------------------------------------------ validation


@dataclass
class _Problem:
    row: int
    order: int
    column: str
    reason: str
    value: object
    expected: str


def _first(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def _validate_table(raw: _Raw, *, assume_utc: bool) -> tuple[pd.DataFrame, list[str]]:
    """Typed canonical frame from raw cells; raises for the first bad row (ties: schema column order)."""
    table = raw.table
    problems: list[_Problem] = []
    out: dict[str, pd.Series] = {}
    naive_total = 0
    for order, col in enumerate(SCHEMA[table]):
        if col.name not in raw.cells:
            continue
        values = raw.cells[col.name]
        empty = values == ""
        if col.required and (table, col.name) not in _EMPTY_ALLOWED:
            i = _first(empty)
            if i is not None:
                problems.append(_Problem(i, order, col.name, "empty required value", None, _describe(col)))
        series, bad, naive = _convert(col, values, empty, assume_utc=assume_utc)
        naive_total += naive
        if bad is not None:
            i, reason, expected = bad
            problems.append(_Problem(i, order, col.name, reason, values[i], expected))
        out[col.name] = series
    if problems:
        p = min(problems, key=lambda p: (p.row, p.order))
        raise raw.error(p.row, p.column, p.reason, value=p.value, expected=p.expected)
    frame = pd.DataFrame(out)
    _check_rows(raw, frame)
    notes = []
    if raw.unknown:
        notes.append(f"{raw.path.name}: ignored unknown columns {', '.join(map(repr, raw.unknown))}")
    if naive_total:
        notes.append(
            f"{raw.path.name}: {naive_total} timestamps without UTC offset read as UTC (--assume-utc)"
        )
    return frame, notes


def _describe(col: Column) -> str:
    return {
        "str": "a non-empty value",
        "enum": "one of " + ", ".join(col.choices),
        "datetime": f"an ISO-8601 timestamp with offset, e.g. {_TS_EXAMPLE}",
        "bool": "true, false, 1 or 0",
        "int": "a whole number such as 42",
    }[col.type]


def _convert(
    col: Column, values: np.ndarray, empty: np.ndarray, *, assume_utc: bool
) -> tuple[pd.Series, tuple[int, str, str] | None, int]:
    """(typed series, first bad (row, reason, expected) or None, count of naive timestamps read as UTC)."""
    if col.type == "str":
        cleaned = values.copy()
        cleaned[empty] = None
        return pd.Series(cleaned, dtype=STRING), None, 0
    if col.type == "enum":
        lowered = np.array([v.lower() for v in values], dtype=object)
        i = _first(~empty & ~np.isin(lowered, np.array(col.choices, dtype=object)))
        lowered[empty] = None
        bad = (i, f"invalid {col.name}", _describe(col)) if i is not None else None
        return pd.Series(lowered, dtype=STRING), bad, 0
    if col.type == "bool":
        lowered = [v.lower() for v in values]
        result = pd.array(
            [True if v in _TRUE else False if v in _FALSE else None for v in lowered], dtype="boolean"
        )
        i = _first(~empty & np.asarray(pd.isna(result)))
        bad = (i, "invalid boolean", _describe(col)) if i is not None else None
        return pd.Series(result), bad, 0
    if col.type == "int":
        digits = "".join(values)
        if digits.isascii() and digits.isdigit() and max(map(len, values)) <= 18:
            i = None  # fast path: every non-empty value is a plain ASCII number
        else:
            ok = [(v.isascii() and v.isdigit() and len(v) <= 18) or v == "" for v in values]
            i = _first(~np.array(ok, dtype=bool))
        if i is not None:
            return pd.Series([], dtype="Int64"), (i, "not an integer", _describe(col)), 0
        numbers = pd.array(np.where(empty, "0", values).astype(np.int64), dtype="Int64")
        numbers[empty] = pd.NA
        return pd.Series(numbers), None, 0
    # datetime (RFC 3339 allows a lowercase "z": read it as "Z")
    if any(v[-1:] == "z" for v in values):
        values = np.array([v[:-1] + "Z" if v[-1:] == "z" else v for v in values], dtype=object)
    parsed = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", utc=True, errors="coerce")
    problems: list[tuple[int, str, str]] = []
    unparsable = _first(~empty & parsed.isna().to_numpy())
    if unparsable is not None:
        problems.append(
            (unparsable, "unparsable timestamp", _describe(col) + " or 2026-05-04 11:30:00+02:00")
        )
    out_of_range = _first((parsed.notna() & ((parsed < _TS_MIN) | (parsed > _TS_MAX))).to_numpy())
    if out_of_range is not None:
        problems.append((out_of_range, "timestamp out of range", "a time between 1677-09-22 and 2262-04-11"))
    # only values that parse can be "without offset"; an epoch number or free text is "unparsable"
    naive = ~empty & parsed.notna().to_numpy() & ~_has_offset(values, empty)
    n_naive = int(naive.sum())
    if n_naive and not assume_utc:
        i = _first(naive)
        assert i is not None
        problems.append(
            (
                i,
                "timestamp without UTC offset",
                f"a Z or +hh:mm offset, e.g. {_TS_EXAMPLE} (or pass --assume-utc)",
            )
        )
    if problems:
        return pd.Series([], dtype=UTC_DTYPE), min(problems), 0
    return parsed.astype(UTC_DTYPE), None, n_naive


def _has_offset(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """True where a timestamp string ends in Z or a +hh:mm / +hhmm / +hh offset after its date part.

    Empty values give False (callers mask them).
    """
    filled = len(values) - int(empty.sum())
    if filled == 0:
        return np.zeros(len(values), dtype=bool)
    joined = "\n".join(values) + "\n"
    if joined.count("\n") == len(values) and joined.count("Z\n") == filled:
        return ~empty  # fast path: every non-empty value ends in Z
    search = _OFFSET_RE.search
    return np.array(
        [v[-1:] == "Z" or (len(v) > 10 and search(v, 10) is not None) for v in values], dtype=bool
    )


def _check_rows(raw: _Raw, frame: pd.DataFrame) -> None:
    """Within-table checks: duplicate ids, then time order inside a row."""
    id_col = ID_COLUMN[raw.table]
    ids = frame[id_col]
    dup = ids.duplicated().to_numpy()
    i = _first(dup)
    if i is not None:
        j = int(np.argmax((ids == ids.iloc[i]).to_numpy()))
        first_line = raw.line_of([j])[j]
        raise raw.error(
            i,
            id_col,
            f"duplicate {id_col} (first on line {first_line})",
            value=ids.iloc[i],
            expected=f"unique {id_col} values",
        )
    checks = {
        "deployments": ("started_at", "finished_at", "started after it finished"),
        "incidents": ("opened_at", "resolved_at", "resolved before it was opened"),
    }
    if raw.table in checks:
        early, late, reason = checks[raw.table]
        if early in frame and late in frame:
            i = _first((frame[late] < frame[early]).fillna(False).to_numpy(dtype=bool))
            if i is not None:
                column = late if raw.table == "incidents" else early
                raise raw.error(
                    i,
                    column,
                    f"{reason} ({early} {_format_one(frame[early].iloc[i])}, {late} {_format_one(frame[late].iloc[i])})",
                    value=raw.cells[column][i],
                    expected=f"{late} at or after {early}",
                )


def _check_references(frames: dict[str, pd.DataFrame], sources: dict[str, _Raw], located: dict) -> None:
    """Cross-table checks: rollback_of, then changes and incidents naming unknown deployments."""
    deployments = frames["deployments"]
    known = deployments["deployment_id"]
    dep_file = located["deployments"].name
    if "rollback_of" in deployments:
        rb = deployments["rollback_of"]
        unknown = rb.notna() & ~rb.isin(known)
        self_ref = rb.notna() & (rb == known)
        i = _first((unknown | self_ref).fillna(False).to_numpy(dtype=bool))
        if i is not None:
            reason = "rollback of itself" if self_ref.iloc[i] else "rollback of an unknown deployment"
            raise sources["deployments"].error(
                i,
                "rollback_of",
                reason,
                value=rb.iloc[i],
                expected=f"another deployment_id listed in {dep_file}",
            )
    for table in ("changes", "incidents"):
        frame = frames.get(table)
        if frame is None or "deployment_id" not in frame:
            continue
        refs = frame["deployment_id"]
        i = _first((refs.notna() & ~refs.isin(known)).to_numpy(dtype=bool))
        if i is not None:
            raise sources[table].error(
                i,
                "deployment_id",
                "unknown deployment",
                value=refs.iloc[i],
                expected=f"a deployment_id listed in {dep_file}, or empty",
            )


# --------------------------------------------------------------------------------------------------- writing


def write_events(events: EventSet, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``events`` as canonical ``deployments.csv``, ``changes.csv``, ``incidents.csv`` in ``out_dir``.

    Every canonical column is written, in schema order; empty cells are NA; timestamps are UTC ISO-8601 with
    ``Z`` (fractional seconds only when non-zero, as 3, 6 or 9 digits); booleans ``true``/``false``.
    The files are validated by reading them back (so ``read_events(write_events(x))`` equals ``x``) before
    they replace anything: they are written to a temporary directory next to ``out_dir`` and renamed into
    place only when valid. Raises :class:`InputError` (nothing written) for invalid events or when
    ``out_dir`` already holds a ``.json``/``.jsonl`` file of a table. Returns ``out_dir`` as a Path.
    """
    if not str(out_dir).strip():
        raise InputError("empty output path", expected="a directory or a new path")
    target = Path(out_dir)
    check_output_dir(target)
    if target.exists() and not target.is_dir():
        raise InputError(
            "output path is not a directory", file=str(target), expected="a directory or a new path"
        )
    if target.is_dir():
        for table in TABLES:
            for ext in FORMATS[1:]:
                other = target / f"{table}.{ext}"
                if other.exists():
                    raise InputError(
                        f"output directory already holds {other.name}",
                        file=str(target),
                        expected=f"no other {table} file (remove it or choose another directory)",
                    )
    frames: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        try:
            frames[table] = coerce(table, events.table(table))
        except (KeyError, ValueError, TypeError) as err:
            raise InputError(f"cannot write {table}: {err}", file=str(target)) from None
    problems = integrity_problems(EventSet(frames["deployments"], frames["changes"], frames["incidents"]))
    if problems:
        raise InputError(f"invalid events, nothing written: {problems[0]}", file=str(target))

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as err:
        raise InputError(f"cannot create the output directory ({err.strerror})", file=str(target),
                         expected="a writable directory or a new path in one") from None
    try:
        for table in TABLES:
            _write_csv(frames[table], table, tmp / f"{table}.csv")
        source_notes = [" ".join(str(n).split()) for n in events.notes if str(n).strip()]
        if source_notes:
            (tmp / NOTES_FILE).write_text(
                "# data-quality notes of the source these events came from (hivepulse)\n"
                + "\n".join(dict.fromkeys(source_notes)) + "\n",
                encoding="utf-8",
            )
        try:
            read_events(tmp)
        except InputError as err:
            message = str(err).replace(str(tmp), str(target))
            raise InputError(f"invalid events, nothing written: {message}") from None
        if not target.exists():
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)
            os.rename(tmp, target)
            return target
        for table in TABLES:
            os.replace(tmp / f"{table}.csv", target / f"{table}.csv")
        if (tmp / NOTES_FILE).exists():
            os.replace(tmp / NOTES_FILE, target / NOTES_FILE)
        else:  # a stale notes file would describe other events
            (target / NOTES_FILE).unlink(missing_ok=True)
        return target
    except OSError as err:
        raise InputError(f"cannot write the output files ({err.strerror})", file=str(target),
                         expected="a writable directory") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def check_output_dir(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` (before anything is written) when ``path`` cannot become an output
    directory: it is an existing file, or its nearest existing ancestor is a file or not writable."""
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise InputError("output path is not a directory", file=str(target),
                             expected="a directory or a new path")
        if not os.access(target, os.W_OK | os.X_OK):
            raise InputError("output directory is not writable", file=str(target), expected="a writable directory")
        return
    parent = target.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError("output path is inside a file", file=str(target),
                         expected=f"a path under a directory ({parent} is a file)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("cannot create the output directory: parent is not writable", file=str(target),
                         expected=f"a path under a writable directory ({parent} is read-only)")


def _write_csv(frame: pd.DataFrame, table: TableName, path: Path) -> None:
    text_columns: dict[str, object] = {}
    for col in SCHEMA[table]:
        series = frame[col.name]
        if col.type == "datetime":
            text_columns[col.name] = format_utc(series)
        elif col.type == "bool":
            text_columns[col.name] = series.map({True: "true", False: "false"}).fillna("").astype(object)
        else:
            text_columns[col.name] = series.astype(object).where(series.notna(), "")
    out = pd.DataFrame(text_columns, columns=[c.name for c in SCHEMA[table]])
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out.to_csv(handle, index=False, lineterminator="\n")
        handle.flush()
        os.fsync(handle.fileno())


def format_utc(series: pd.Series) -> np.ndarray:
    """Timestamps as ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`` strings in UTC; '' for NaT."""
    values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(values)
    seconds = values.astype("datetime64[s]")
    fraction = (values - seconds.astype("datetime64[ns]")).astype(np.int64)
    base = np.datetime_as_string(seconds, unit="s").astype(object)
    out = np.empty(len(values), dtype=object)
    out[:] = [b + "Z" for b in base]
    for i in np.flatnonzero((fraction != 0) & ~missing):
        ns = int(fraction[i])
        digits = 3 if ns % 1_000_000 == 0 else 6 if ns % 1000 == 0 else 9
        out[i] = f"{base[i]}.{str(ns).zfill(9)[:digits]}Z"
    out[missing] = ""
    return out


def _format_one(value: object) -> str:
    if value is pd.NaT or value is None:
        return ""
    return str(format_utc(pd.Series([value], dtype=UTC_DTYPE))[0])

"""CSV event files -> :class:`~hivepulse.sources.files.raw.RawTable` (RFC 4180 as Python and pandas read it).

Reading is vectorized: pandas' C parser with ``dtype=str``; the Python ``csv`` module runs only to check
quoted files for ragged rows and to find the line of a problem once there is one."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from hivepulse.errors import InputError
from hivepulse.model import TableSpec
from hivepulse.sources.files.raw import RawTable, first_line_fields, strip, where
from hivepulse.textsafe import short


def csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of every non-blank CSV record, header included, as pandas counts records.

    Raises ``csv.Error`` for an unterminated quoted field."""
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


def _ragged(path: Path, text: str, header: list[str], header_line: int) -> InputError:
    """The error for a file whose rows do not all have the header's number of fields."""
    ncols = len(header)
    if text.count('"') % 2:  # an unterminated quoted field swallows the rest of the file
        last = None
        for start, _row in csv_records(text):
            last = start
        return InputError("malformed CSV: unterminated quoted field", file=where(path), line=last,
                          expected='a closing " for the quoted field starting on this line')  # fmt: skip
    for line, row in csv_records(text):
        if len(row) != ncols:
            column = header[len(row)] if len(row) < ncols else None
            return InputError(
                f"row has {len(row)} field{'s' if len(row) != 1 else ''}",
                file=where(path),
                line=line,
                column=column,
                expected=f"{ncols} fields as in the header on line {header_line} (quote values holding commas)",
            )
    return InputError("malformed CSV", file=where(path), expected="well-formed CSV (RFC 4180)")


def _header(path: Path, spec: TableSpec, text: str) -> tuple[int, list[str], dict[str, int]]:
    """(line, stripped names, first position of each name); errors for a bad or incomplete header."""
    first = first_line_fields(text)
    assert first is not None  # the file is not blank
    header_line, fields, raw_header = first
    header = [h.strip() for h in fields]
    if raw_header.count('"') % 2:
        raise InputError("header has an unterminated quote", file=where(path), line=header_line,
                         expected="all column names on one line")  # fmt: skip
    names = spec.names
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in seen and name in names:
            raise InputError("duplicate column in header", file=where(path), line=header_line, column=name,
                             expected="each column once")  # fmt: skip
        seen.setdefault(name, position)
    missing = [name for name in spec.header if name not in seen]
    if missing:
        found = short(", ".join(header), 120) or "none"  # bounded, control characters removed
        raise InputError("missing required column", file=where(path), line=header_line, column=missing[0],
                         expected=f"the columns {', '.join(spec.header)} (found: {found})")  # fmt: skip
    return header_line, header, seen


def load_csv(spec: TableSpec, path: Path, data: bytes) -> RawTable:
    text = data.decode("utf-8")
    header_line, header, seen = _header(path, spec, text)
    names = spec.names
    ncols = len(header)
    wanted = sorted(seen[name] for name in names if name in seen)  # unknown columns are not kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False,
                                index_col=False, skip_blank_lines=True, encoding="utf-8", usecols=wanted)  # fmt: skip
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            raise _ragged(path, text, header, header_line) from None
    # Short rows are padded silently by pandas: count separators (fast path without quotes).
    if b'"' in data:
        if any(len(row) != ncols for _, row in csv_records(text)):
            raise _ragged(path, text, header, header_line)
    elif data.count(b",") != (ncols - 1) * (len(frame) + 1):
        raise _ragged(path, text, header, header_line)
    # Stripping costs ~0.1 s per million cells: skip it when the file has no spaces or tabs at all.
    needs_strip = b" " in data or b"\t" in data
    cells = {
        name: strip(frame.iloc[:, wanted.index(seen[name])].to_numpy(dtype=object), needs_strip)
        for name in names
        if name in seen
    }
    cache: dict[int, int] = {}

    def line_of(indices: list[int]) -> dict[int, int]:
        todo = {i for i in indices if i not in cache}
        if todo:
            top = max(todo)
            for record, (line, _row) in enumerate(csv_records(text)):
                if record - 1 in todo:
                    cache[record - 1] = line
                if record - 1 >= top:
                    break
        return {i: cache.get(i, i + 2) for i in indices}

    unknown = [h for h in header if h not in names]
    return RawTable(spec, path, "csv", len(frame), cells, unknown, line_of)

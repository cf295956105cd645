"""One event file parsed but not validated: :class:`RawTable` (stripped text cells per canonical column) and
the format-independent first steps (size limit, byte-order mark, UTF-8, empty file)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hivepulse import fsio
from hivepulse.errors import InputError
from hivepulse.model import Problem, TableSpec
from hivepulse.textsafe import terminal

FORMATS: tuple[str, ...] = ("csv", "json", "jsonl")
"""Accepted file extensions, lowercase."""
MAX_FILE_BYTES = 1 << 30
"""Largest event file read (1 GiB, about ten million change rows): a bigger one is refused before reading."""
_BOM = b"\xef\xbb\xbf"


def where(path: Path | str) -> str:
    """A path as shown in messages (control characters removed)."""
    return terminal(str(path))


def _no_label(i: int) -> str:
    return ""


@dataclass
class RawTable:
    """One file, parsed but not validated: stripped string cells per canonical column present."""

    spec: TableSpec
    path: Path
    fmt: str
    n: int
    cells: dict[str, np.ndarray]
    """canonical column -> object array of stripped str ('' = empty)"""
    unknown: list[str]
    line_of: Callable[[list[int]], dict[int, int]]
    """record indices (0-based) -> 1-based physical line in the file"""
    label: Callable[[int], str] = _no_label
    """record index -> extra locator text (JSON arrays: the object's index)"""
    key_lines: Callable[[int, str], int | None] | None = None
    """JSON arrays: (record, key) -> line of that key inside the object, when found"""

    def error(self, i: int, column: str | None, reason: str, *, value: object = None, expected: str = "") -> InputError:
        """An error at record ``i`` (its line, or the line of ``column``'s key in a JSON object)."""
        return self.report(Problem(self.spec.table, i, column, reason, value, expected))

    def report(self, problem: Problem) -> InputError:
        """The :class:`InputError` of a model problem, located in this file."""
        i = problem.row
        line = self.line_of([i])[i]
        if self.key_lines is not None and problem.column is not None:
            line = self.key_lines(i, problem.column) or line
        first_at = None
        if problem.first_row is not None:
            first_at = f"line {self.line_of([problem.first_row])[problem.first_row]}"
        return problem.error(file=where(self.path), line=line, first_at=first_at, label=self.label(i))


def read_file(path: Path, spec: TableSpec) -> tuple[bytes, str]:
    """The file's bytes without a UTF-8 byte-order mark, and its format (by extension; other names are CSV).

    Refuses a file over :data:`MAX_FILE_BYTES`, bytes that are not UTF-8, and an empty (or blank) file."""
    try:
        data = fsio.read_bytes_limited(path, MAX_FILE_BYTES, what=spec.describe())
    except InputError as err:
        raise InputError(err.reason, file=where(path), expected="a smaller file (split the history)") from None
    except IsADirectoryError:
        raise InputError("is a directory", file=where(path), expected=f"a {spec.describe()}") from None
    except FileNotFoundError:
        raise InputError(f"{spec.describe()} not found", file=where(path),
                         expected="a CSV, JSON or JSONL file") from None  # fmt: skip
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror})", file=where(path)) from None
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    suffix = path.suffix[1:].lower()
    fmt = suffix if suffix in FORMATS else "csv"
    _check_utf8(path, data, fmt)
    if not data.decode("utf-8").strip():  # str.strip: also Unicode whitespace such as U+001C
        expected = {
            "csv": "a header line naming the columns (a header alone is a valid empty table)",
            "json": "a JSON array of objects ([] is a valid empty table)",
            "jsonl": "one JSON object per line (write an empty table as .csv with a header, or .json with [])",
        }[fmt]
        raise InputError("empty file", file=where(path), expected=expected)
    return data, fmt


def _check_utf8(path: Path, data: bytes, fmt: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = data[err.start : err.end]
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        column = None
        prefix = data[line_start : err.start].decode("utf-8", "replace")
        if fmt == "csv":
            header = first_line_fields(data.decode("utf-8", "replace"))
            fields = next(csv.reader(io.StringIO(prefix, newline=""), strict=False), [""])
            if header and line > header[0] and len(fields) <= len(header[1]):
                column = header[1][len(fields) - 1].strip()
        else:
            keys = re.findall(r'"([^"\\]*)"\s*:', prefix)
            column = keys[-1] if keys else None
        raise InputError(
            f"not valid UTF-8 (byte offset {err.start})",
            file=where(path),
            line=line,
            column=column,
            value="0x" + bad.hex(),
            expected="UTF-8 text (a UTF-8 byte-order mark is accepted)",
        ) from None


def first_line_fields(text: str) -> tuple[int, list[str], str] | None:
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


def strip(values: np.ndarray, needed: bool = True) -> np.ndarray:
    """Cells stripped of surrounding whitespace (skipped when the file holds no space or tab at all)."""
    if not needed:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [v.strip() for v in values]
    return out

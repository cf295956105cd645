"""JSON (an array of objects) and JSONL (one object per line) event files ->
:class:`~hivepulse.sources.files.raw.RawTable`.

Keys are column names; values are strings, numbers, booleans or ``null`` (nested objects and arrays are an
error). A number is kept as written (``7`` for an integer column; ``7.5`` is not an integer); a number too
long for Python's integer conversion (over 4,300 digits) is kept as its digits and rejected by the converter
like any too-long integer, never a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hivepulse.errors import InputError
from hivepulse.model import TableSpec
from hivepulse.sources.files.raw import RawTable, where
from hivepulse.textsafe import short

_SAFE_INT_DIGITS = 4000
"""Integers longer than this are kept as text (Python refuses int <-> str conversions past 4,300 digits)."""


class _Digits(str):
    """An integer literal too long to convert, kept as its text."""


def _parse_int(text: str) -> int | str:
    return int(text) if len(text) <= _SAFE_INT_DIGITS else _Digits(text)


def _loads(text: str) -> object:
    """``json.loads``; on Python's integer-size guard, again with long integers kept as text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        return json.loads(text, parse_int=_parse_int)


def _cells(spec: TableSpec, path: Path, records: list[object], locate: Callable[[int, str | None], tuple[int, str]]
           ) -> tuple[dict[str, np.ndarray], list[str]]:  # fmt: skip
    """Column arrays from a list of JSON objects; errors for non-objects and nested values."""
    objects: list[dict[str, object]] = []
    for i, record in enumerate(records):
        if type(record) is not dict:
            line, label = locate(i, None)
            raise InputError(f"not a JSON object{label}", file=where(path), line=line, value=_preview(record),
                             expected='an object such as {"deployment_id": "d-1", ...}')  # fmt: skip
        objects.append(record)
    keys: set[str] = set()
    for obj in objects:
        keys.update(obj)
    names = spec.names
    if objects:
        missing = [c for c in spec.header if c not in keys]
        if missing:
            raise InputError("missing required column (no object has this key)", file=where(path), column=missing[0],
                             expected=f"the keys {', '.join(spec.header)} in every object")  # fmt: skip
    cells: dict[str, np.ndarray] = {}
    for name in names:
        if name not in keys and objects:
            continue
        raw = [obj.get(name, "") for obj in objects]
        values: list[str | None]
        if all(type(v) is str for v in raw):  # fast path: only strings
            values = [str(v).strip() for v in raw]
        else:
            values = [_cell(v) for v in raw]
        if any(v is None for v in values):
            i = values.index(None)
            line, label = locate(i, name)
            raise InputError(f"nested value{label}", file=where(path), line=line, column=name,
                             value=_preview(objects[i][name]), expected="a string, number, boolean or null")  # fmt: skip
        cells[name] = np.array(values, dtype=object)
    unknown = sorted(k for k in keys if k not in names)
    return cells, unknown


def _preview(value: object) -> str:
    """The value as JSON text, cut to a preview (``InputError`` bounds and cleans it further)."""
    try:
        return json.dumps(value)[:200]
    except (RecursionError, ValueError, TypeError):
        return short(value)


def _cell(value: object) -> str | None:
    """A JSON value as a stripped string ('' for null); None for objects and arrays (not allowed)."""
    if type(value) is str or type(value) is _Digits:
        return str(value).strip()
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) in (int, float):
        return repr(value)
    return None


def load_json(spec: TableSpec, path: Path, data: bytes) -> RawTable:
    text = data.decode("utf-8")
    try:
        records = _loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"malformed JSON at character {err.colno}: {err.msg}", file=where(path), line=err.lineno,
                         expected="a JSON array of objects") from None  # fmt: skip
    except RecursionError:
        raise InputError("JSON nested too deeply", file=where(path), expected="a JSON array of objects") from None
    if not isinstance(records, list):
        raise InputError(f"top level is a JSON {type(records).__name__}", file=where(path), line=1,
                         expected="a JSON array of objects")  # fmt: skip
    starts: list[int] = []
    decoder = json.JSONDecoder(parse_int=_parse_int)

    def offsets(upto: int) -> list[int]:
        if not starts:
            starts.append(_skip_ws(text, text.index("[") + 1))
        while len(starts) <= upto:
            starts.append(_skip_ws(text, _skip_to_next(text, starts[-1], decoder)))
        return starts

    def line_at(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def key_line(i: int, key: str) -> int | None:
        start = offsets(i)[i]
        end = decoder.raw_decode(text, start)[1]
        at = text.find(json.dumps(key), start, end)
        return line_at(at) if at >= 0 else None

    def locate(i: int, key: str | None) -> tuple[int, str]:
        line = key_line(i, key) if key is not None else None
        return line or line_at(offsets(i)[i]), f" (object [{i}])"

    cells, unknown = _cells(spec, path, records, locate)
    return RawTable(spec, path, "json", len(records), cells, unknown,
                    line_of=lambda idx: {i: locate(i, None)[0] for i in idx},
                    label=lambda i: f" (object [{i}])", key_lines=key_line)  # fmt: skip


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _skip_to_next(text: str, pos: int, decoder: json.JSONDecoder) -> int:
    """From the start of an array element, the position after it and its comma."""
    end = decoder.raw_decode(text, pos)[1]
    end = _skip_ws(text, end)
    return end + 1 if end < len(text) and text[end] == "," else end


def load_jsonl(spec: TableSpec, path: Path, data: bytes) -> RawTable:
    text = data.decode("utf-8")
    numbered = [(number, raw) for number, raw in enumerate(text.split("\n"), start=1) if raw.strip()]
    lines = [number for number, _raw in numbered]
    records: list[object] = []
    try:  # fast path: one decoder call for the whole file, valid when it yields one value per line
        loaded = json.loads("[" + ",".join(raw for _number, raw in numbered) + "]")
        records = loaded if isinstance(loaded, list) else []
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError, as is the integer-size guard
        pass
    if len(records) != len(numbered):
        records = []
        for number, raw in numbered:  # locate the bad line
            try:
                records.append(_loads(raw))
            except json.JSONDecodeError as err:
                raise InputError(f"malformed JSON at character {err.colno}: {err.msg}", file=where(path), line=number,
                                 expected="one JSON object per line") from None  # fmt: skip
            except RecursionError:
                raise InputError("JSON nested too deeply", file=where(path), line=number,
                                 expected="one JSON object per line") from None  # fmt: skip
    cells, unknown = _cells(spec, path, records, lambda i, _key: (lines[i], ""))
    return RawTable(spec, path, "jsonl", len(records), cells, unknown, line_of=lambda idx: {i: lines[i] for i in idx})

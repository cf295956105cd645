"""The converters of the event model: text cells -> typed columns, and typed timestamps -> canonical text.

Every reader of event data (CSV, JSON and JSONL event files, the git source's deployments file, the sources
to come) hands its cells to these functions as stripped strings (``""`` = empty), so one value gets one answer
everywhere. The rules (``docs/data-model.md``, "Values" and "Timestamps"):

- **str**: any text; empty = missing. A name column (``environment``) is compared without letter case and
  stored in lower case (``PRODUCTION`` -> ``production``; :func:`normalize_name`).
- **enum** (``status``, ``kind``): matched without regard to letter case and stored lowercase
  (``Success`` -> ``success``).
- **bool** (``first_deployment``): ``true``, ``false``, ``1``, ``0`` in any letter case.
- **int** (``pr_number``): ASCII digits only (no sign, ``#``, decimal point or exponent), at most 18 digits.
- **datetime**: ISO 8601 as ``pandas.to_datetime(format="ISO8601")`` reads it, ``T`` or a space between date
  and time, optional fractional seconds (to nanoseconds), and ``Z`` (or RFC 3339's lowercase ``z``) or an offset
  ``+hh:mm``, ``+hhmm``, ``+hh``. Without an offset a value is an error unless ``assume_utc`` (then UTC). Range
  1677-09-22 to 2262-04-11. Every value is converted to UTC (``datetime64[ns, UTC]``).

Converters are vectorized (whole arrays; the first bad row is located only when there is one), so a million
rows convert in about a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hivepulse.model.schema import STRING, UTC_DTYPE, Column
from hivepulse.vocabulary import normalize_name as normalize_name

TS_EXAMPLE = "2026-05-04T09:30:00Z"
TS_MIN = pd.Timestamp.min.tz_localize("UTC")
TS_MAX = pd.Timestamp.max.tz_localize("UTC")
MAX_INT_DIGITS = 18
"""Longest accepted integer (fits int64 with room to spare)."""
TRUE_TEXT = frozenset({"true", "1"})
FALSE_TEXT = frozenset({"false", "0"})
_OFFSET_RE = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$")


@dataclass(frozen=True)
class BadValue:
    """The first bad value of a column: its row (0-based), what is wrong and what was expected."""

    row: int
    reason: str
    expected: str


@dataclass(frozen=True)
class Converted:
    """A converted column: the typed values (empty when ``bad`` is set), the first bad value, and how many
    timestamps without offset were read as UTC."""

    series: pd.Series
    bad: BadValue | None = None
    naive: int = 0


def describe(col: Column) -> str:
    """What a valid value of ``col`` looks like (the "expected" part of an error)."""
    return {
        "str": "a non-empty value",
        "enum": "one of " + ", ".join(col.choices),
        "datetime": f"an ISO-8601 timestamp with offset, e.g. {TS_EXAMPLE}",
        "bool": "true, false, 1 or 0",
        "int": "a whole number such as 42",
    }[col.type]


def first(mask: np.ndarray) -> int | None:
    """Index of the first true value of a boolean array, or None."""
    return int(np.argmax(mask)) if mask.any() else None


def convert(col: Column, values: np.ndarray, empty: np.ndarray, *, assume_utc: bool = False) -> Converted:
    """Convert the stripped text ``values`` (object array; ``empty`` marks ``""``) to ``col``'s dtype."""
    if col.type == "str":
        cleaned = values.copy()
        if col.lower:
            cleaned = np.array([normalize_name(v) for v in values], dtype=object)
        cleaned[empty] = None
        return Converted(pd.Series(cleaned, dtype=STRING))
    if col.type == "enum":
        return _enum(col, values, empty)
    if col.type == "bool":
        return _bool(col, values, empty)
    if col.type == "int":
        return _int(col, values, empty)
    return _datetime(col, values, empty, assume_utc=assume_utc)


def _enum(col: Column, values: np.ndarray, empty: np.ndarray) -> Converted:
    lowered = np.array([v.lower() for v in values], dtype=object)
    i = first(~empty & ~np.isin(lowered, np.array(col.choices, dtype=object)))
    lowered[empty] = None
    bad = BadValue(i, f"invalid {col.name}", describe(col)) if i is not None else None
    return Converted(pd.Series(lowered, dtype=STRING), bad)


def _bool(col: Column, values: np.ndarray, empty: np.ndarray) -> Converted:
    lowered = [v.lower() for v in values]
    result = pd.array([True if v in TRUE_TEXT else False if v in FALSE_TEXT else None for v in lowered],
                      dtype="boolean")  # fmt: skip
    i = first(~empty & np.asarray(pd.isna(result)))
    bad = BadValue(i, "invalid boolean", describe(col)) if i is not None else None
    return Converted(pd.Series(result), bad)


def _int(col: Column, values: np.ndarray, empty: np.ndarray) -> Converted:
    digits = "".join(values)
    if digits.isascii() and digits.isdigit() and max(map(len, values)) <= MAX_INT_DIGITS:
        i = None  # fast path: every non-empty value is a plain ASCII number
    else:
        ok = [(v.isascii() and v.isdigit() and len(v) <= MAX_INT_DIGITS) or v == "" for v in values]
        i = first(~np.array(ok, dtype=bool))
    if i is not None:
        value = values[i]
        if value.isascii() and value.isdigit():
            bad = BadValue(i, "integer too large", f"a whole number of at most {MAX_INT_DIGITS} digits")
        else:
            bad = BadValue(i, "not an integer", describe(col))
        return Converted(pd.Series([], dtype="Int64"), bad)
    numbers = pd.array(np.where(empty, "0", values).astype(np.int64), dtype="Int64")
    numbers[empty] = pd.NA
    return Converted(pd.Series(numbers))


def _datetime(col: Column, values: np.ndarray, empty: np.ndarray, *, assume_utc: bool) -> Converted:
    if empty.all():  # an empty column (e.g. pr_opened_at of a git export): nothing to parse
        return Converted(pd.Series(pd.DatetimeIndex(np.full(len(values), np.datetime64("NaT", "ns"))).tz_localize("UTC")))
    if "z\n" in "\n".join(values) + "\n":  # RFC 3339 allows a lowercase "z": read it as "Z"
        values = np.array([v[:-1] + "Z" if v[-1:] == "z" else v for v in values], dtype=object)
    parsed = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", utc=True, errors="coerce")
    problems: list[BadValue] = []
    unparsable = first(~empty & parsed.isna().to_numpy())
    if unparsable is not None:
        problems.append(BadValue(unparsable, "unparsable timestamp", describe(col) + " or 2026-05-04 11:30:00+02:00"))
    out_of_range = None  # pandas parses beyond the nanosecond range with a coarser unit only
    if parsed.dtype != UTC_DTYPE:
        out_of_range = first((parsed.notna() & ((parsed < TS_MIN) | (parsed > TS_MAX))).to_numpy())
    if out_of_range is not None:
        problems.append(BadValue(out_of_range, "timestamp out of range", "a time between 1677-09-22 and 2262-04-11"))
    # only values that parse can be "without offset"; an epoch number or free text is "unparsable"
    naive = ~empty & parsed.notna().to_numpy() & ~_has_offset(values, empty)
    n_naive = int(naive.sum())
    if n_naive and not assume_utc:
        i = first(naive)
        assert i is not None
        problems.append(BadValue(i, "timestamp without UTC offset",
                                 f"a Z or +hh:mm offset, e.g. {TS_EXAMPLE} (or pass --assume-utc)"))  # fmt: skip
    if problems:
        return Converted(pd.Series([], dtype=UTC_DTYPE), min(problems, key=lambda p: (p.row, p.reason)))
    return Converted(parsed.astype(UTC_DTYPE), None, n_naive)


def _has_offset(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """True where a timestamp string ends in Z or a +hh:mm / +hhmm / +hh offset after its date part.

    Empty values give False (callers mask them)."""
    filled = len(values) - int(empty.sum())
    if filled == 0:
        return np.zeros(len(values), dtype=bool)
    joined = "\n".join(values) + "\n"
    if joined.count("\n") == len(values) and joined.count("Z\n") == filled:
        return ~empty  # fast path: every non-empty value ends in Z
    search = _OFFSET_RE.search
    return np.array([v[-1:] == "Z" or (len(v) > 10 and search(v, 10) is not None) for v in values], dtype=bool)


def parse_timestamp(text: str, *, assume_utc: bool = False, col: Column | None = None) -> pd.Timestamp | None:
    """One timestamp by the rules above (``None`` for an empty value); raises ``ValueError`` with the reason
    and the expected form for a bad one. For sources that read one value at a time."""
    column = col or Column("timestamp", "datetime")
    value = np.array([text.strip()], dtype=object)
    result = convert(column, value, value == "", assume_utc=assume_utc)
    if result.bad is not None:
        raise ValueError(f"{result.bad.reason}; expected {result.bad.expected}")
    ts = result.series.iloc[0]
    return None if pd.isna(ts) else ts


# ------------------------------------------------------------------------------------------------ timestamps


def to_utc(values: pd.Series | list[object] | object) -> pd.Series:
    """Convert tz-aware timestamps (or epoch nanoseconds) to ``datetime64[ns, UTC]``."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype(UTC_DTYPE)
    return pd.to_datetime(series, utc=True).astype(UTC_DTYPE)


def timestamp_from_epoch(seconds: int) -> pd.Timestamp:
    """One instant from integer seconds since the epoch (UTC, nanosecond unit)."""
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").as_unit("ns")


def epoch_seconds(ts: pd.Timestamp) -> int:
    """Whole seconds since the epoch of an instant (floor), the unit git and the sample compute in."""
    return int(ts.value // 1_000_000_000)


def from_epoch_seconds(seconds: np.ndarray | list[int]) -> pd.Series:
    """Integer seconds since the epoch as a ``datetime64[ns, UTC]`` series (what git and the sample store)."""
    return pd.Series(pd.to_datetime(np.asarray(seconds, dtype="int64"), unit="s", utc=True)).astype(UTC_DTYPE)


def from_optional_epoch_seconds(seconds: list[int | None]) -> pd.Series:
    """Like :func:`from_epoch_seconds`, with ``None`` as NaT."""
    missing = np.array([s is None for s in seconds], dtype=bool)
    values = np.array([0 if s is None else s for s in seconds], dtype="int64")
    out = from_epoch_seconds(values)
    out[missing] = pd.NaT
    return out


def format_utc(series: pd.Series) -> np.ndarray:
    """Timestamps as ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`` strings in UTC; '' for NaT."""
    values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(values)
    out = np.empty(len(values), dtype=object)
    if missing.all():
        out[:] = ""
        return out
    seconds = values.astype("datetime64[s]")
    fraction = (values - seconds.astype("datetime64[ns]")).astype(np.int64)
    out[:] = np.datetime_as_string(seconds, unit="s", timezone="UTC")  # "...T09:30:00Z"
    for i in np.flatnonzero((fraction != 0) & ~missing):
        ns = int(fraction[i])
        digits = 3 if ns % 1_000_000 == 0 else 6 if ns % 1000 == 0 else 9
        out[i] = f"{out[i][:-1]}.{str(ns).zfill(9)[:digits]}Z"
    out[missing] = ""
    return out


def format_timestamp(value: object) -> str:
    """One timestamp as :func:`format_utc` writes it ('' for a missing one)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(format_utc(pd.Series([value], dtype=UTC_DTYPE))[0])

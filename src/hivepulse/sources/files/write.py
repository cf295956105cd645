"""Writing event files: :func:`write_events`, the canonical CSV writer (validated, atomic)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hivepulse import fsio
from hivepulse.errors import InputError
from hivepulse.fsio import check_output_dir
from hivepulse.model import (
    EVENT_FILES,
    SCHEMA,
    TABLES,
    EventSet,
    TableName,
    coerce,
    format_utc,
    validate_cells,
)
from hivepulse.model.integrity import problems
from hivepulse.sources.files.raw import FORMATS, where
from hivepulse.sources.files.read import NOTES_FILE, read_events

_QUOTED = (",", '"', "\n")
"""Characters that make a CSV field quoted (Python's and pandas' ``QUOTE_MINIMAL`` with ``\\n`` line ends)."""
_UNPLAIN = ("\r", "\n")
"""Characters after which a reader may not see the cell as written (a bare ``\\r`` ends a line for some) or an
error would not name the line of the row (a quoted ``\\n``). A value quoted for ``,`` or ``"`` is read back
exactly (RFC 4180 quoting is reversible, and the readers parse it with pandas' C parser): its cells are
validated like plain ones, without reading the files back (commit subjects hold commas and quotes: the
read-back took 0.6 s and 90 MiB of an export of git's history)."""


def write_events(events: EventSet, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``events`` as canonical ``deployments.csv``, ``changes.csv``, ``incidents.csv`` in ``out_dir``.

    Every canonical column is written, in schema order; empty cells are NA; timestamps are UTC ISO-8601 with
    ``Z`` (fractional seconds only when non-zero, as 3, 6 or 9 digits); booleans ``true``/``false``.
    The files are validated before they replace anything, so that ``read_events(write_events(x))`` equals
    ``x``: every text cell goes through the readers' own validation (:func:`hivepulse.model.validate_cells`
    with the event-file specs) and the integrity rules; when a value holds a line break or has surrounding
    spaces (so that the text a reader sees may not be the cell), the written files are also read back with
    :func:`read_events`. They are written to a temporary directory next to ``out_dir`` and renamed into place
    only when valid (each file written with :func:`hivepulse.fsio.atomic_write_text`). Raises
    :class:`InputError` (nothing written) for invalid events or when ``out_dir`` already holds a
    ``.json``/``.jsonl`` file of a table. Returns ``out_dir`` as a Path.
    """
    if not str(out_dir).strip():
        raise InputError("empty output path", expected="a directory or a new path")
    target = Path(out_dir)
    check_output_dir(target)
    if target.is_dir():
        for table in TABLES:
            for ext in FORMATS[1:]:
                other = target / f"{table}.{ext}"
                if other.exists():
                    raise InputError(f"output directory already holds {other.name}", file=where(target),
                                     expected=f"no other {table} file (remove it or choose another directory)")  # fmt: skip
    frames: dict[TableName, pd.DataFrame] = {}
    for table in TABLES:
        try:
            frames[table] = coerce(table, events.table(table))
        except (KeyError, ValueError, TypeError) as err:
            raise InputError(f"cannot write {table}: {err}", file=where(target)) from None
    found = problems(EventSet(frames["deployments"], frames["changes"], frames["incidents"]))
    if found:
        raise InputError(f"invalid events, nothing written: {found[0].in_memory_error()}", file=where(target))
    texts: dict[TableName, str] = {}
    plain = True
    for table in TABLES:
        cells = text_cells(frames[table], table)
        texts[table], simple = csv_text(cells, table)
        plain = plain and simple
        if simple:  # a reader sees exactly these cells: its own validation, without parsing the text again
            checked = validate_cells(EVENT_FILES[table], cells)
            problem = checked.problem
            if problem is not None:  # located as the reader of the written file would: header line 1, a row a line
                error = problem.error(file=where(target / f"{table}.csv"), line=problem.row + 2)
                raise InputError(f"invalid events, nothing written: {error}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as err:
        raise InputError(f"cannot create the output directory ({err.strerror})", file=where(target),
                         expected="a writable directory or a new path in one") from None  # fmt: skip
    try:
        for table in TABLES:
            fsio.atomic_write_text(tmp / f"{table}.csv", texts[table])
        source_notes = [" ".join(str(n).split()) for n in events.notes if str(n).strip()]
        if source_notes:
            fsio.atomic_write_text(tmp / NOTES_FILE,
                                   "# data-quality notes of the source these events came from (hivepulse)\n"
                                   + "\n".join(dict.fromkeys(source_notes)) + "\n")  # fmt: skip
        if not plain:  # a quoted or padded value: check the files as a reader sees them
            try:
                read_events(tmp)
            except InputError as err:
                message = str(err).replace(str(tmp), str(target))
                raise InputError(f"invalid events, nothing written: {message}") from None
        if not target.exists():
            fsio.plain_mode(tmp, 0o777)
            os.rename(tmp, target)
            fsio.fsync_dir(target.parent)
            return target
        for table in TABLES:
            os.replace(tmp / f"{table}.csv", target / f"{table}.csv")
        if (tmp / NOTES_FILE).exists():
            os.replace(tmp / NOTES_FILE, target / NOTES_FILE)
        else:  # a stale notes file would describe other events
            (target / NOTES_FILE).unlink(missing_ok=True)
        fsio.fsync_dir(target)
        return target
    except OSError as err:
        raise InputError(f"cannot write the output files ({err.strerror})", file=where(target),
                         expected="a writable directory") from None  # fmt: skip
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def text_cells(frame: pd.DataFrame, table: TableName) -> dict[str, np.ndarray]:
    """The canonical text of every cell of a coerced table, per column (object arrays of str): '' for missing
    values, timestamps by :func:`hivepulse.model.format_utc`, booleans ``true``/``false``."""
    cells: dict[str, np.ndarray] = {}
    for col in SCHEMA[table]:
        series = frame[col.name]
        if col.type == "datetime":
            cells[col.name] = format_utc(series)
            continue
        if col.type == "bool":
            values = series.map({True: "true", False: "false"}).fillna("").to_numpy(dtype=object)
        else:
            values = series.to_numpy(dtype=object, na_value="")
            if col.type == "int":
                values = np.array([str(v) if v != "" else "" for v in values], dtype=object)
        cells[col.name] = values
    return cells


def csv_text(cells: dict[str, np.ndarray], table: TableName) -> tuple[str, bool]:
    """(CSV text, plain) of a table's text cells, byte for byte as pandas' ``to_csv(index=False,
    lineterminator="\\n")`` writes them (``QUOTE_MINIMAL``). ``plain`` is False when a value holds a line break
    or has surrounding spaces, i.e. when a reader may not see exactly the cell (a quoted value is seen
    exactly)."""
    names = [c.name for c in SCHEMA[table]]
    columns = []
    plain = True
    kinds = {c.name: c.type for c in SCHEMA[table]}
    texts: list[np.ndarray] = []
    for name in names:
        values = cells[name]
        if kinds[name] in ("datetime", "bool", "int"):  # formatted here: digits, ``-:.TZ``, true/false only
            columns.append(values)
            continue
        joined = "\x00".join(values)
        texts.append(values)
        if any(ch in joined for ch in _UNPLAIN):
            plain = False
        if any(ch in joined for ch in _QUOTED):
            values = np.array([_quote(v) for v in values], dtype=object)
        columns.append(values)
    rows = "\n".join(map(",".join, zip(*columns, strict=True)))
    text = ",".join(names) + "\n" + (rows + "\n" if len(columns[0]) else "")
    # the reader strips cells only in a file holding a space or a tab: then a padded cell would change
    if plain and (" " in text or "\t" in text):
        plain = not any(v.strip() != v for values in texts for v in values)  # formatted columns hold no space
    return text, plain


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value or "\n" in value) else value


def canonical_csv(frame: pd.DataFrame, table: TableName) -> str:
    """The canonical CSV text of a coerced table: every column in schema order, '' for missing values,
    timestamps by :func:`hivepulse.model.format_utc`, booleans ``true``/``false``, ``\\n`` line ends."""
    return csv_text(text_cells(frame, table), table)[0]

"""Writing event files: :func:`write_events`, the canonical CSV writer (validated, atomic)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from hivepulse import fsio
from hivepulse.errors import InputError
from hivepulse.fsio import check_output_dir
from hivepulse.model import SCHEMA, TABLES, EventSet, TableName, coerce, format_utc
from hivepulse.model.integrity import problems
from hivepulse.sources.files.raw import FORMATS, where
from hivepulse.sources.files.read import NOTES_FILE, read_events


def write_events(events: EventSet, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``events`` as canonical ``deployments.csv``, ``changes.csv``, ``incidents.csv`` in ``out_dir``.

    Every canonical column is written, in schema order; empty cells are NA; timestamps are UTC ISO-8601 with
    ``Z`` (fractional seconds only when non-zero, as 3, 6 or 9 digits); booleans ``true``/``false``.
    The files are validated by reading them back (so ``read_events(write_events(x))`` equals ``x``) before
    they replace anything: they are written to a temporary directory next to ``out_dir`` and renamed into
    place only when valid (each file written with :func:`hivepulse.fsio.atomic_write_text`). Raises
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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as err:
        raise InputError(f"cannot create the output directory ({err.strerror})", file=where(target),
                         expected="a writable directory or a new path in one") from None  # fmt: skip
    try:
        for table in TABLES:
            fsio.atomic_write_text(tmp / f"{table}.csv", canonical_csv(frames[table], table))
        source_notes = [" ".join(str(n).split()) for n in events.notes if str(n).strip()]
        if source_notes:
            fsio.atomic_write_text(tmp / NOTES_FILE,
                                   "# data-quality notes of the source these events came from (hivepulse)\n"
                                   + "\n".join(dict.fromkeys(source_notes)) + "\n")  # fmt: skip
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


def canonical_csv(frame: pd.DataFrame, table: TableName) -> str:
    """The canonical CSV text of a coerced table: every column in schema order, '' for missing values,
    timestamps by :func:`hivepulse.model.format_utc`, booleans ``true``/``false``, ``\\n`` line ends."""
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
    text: str = out.to_csv(index=False, lineterminator="\n")
    return text

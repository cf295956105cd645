"""Event files (CSV, JSON, JSONL) <-> :class:`~hivepulse.model.EventSet`, with strict validation.

A directory holds one file per table: ``deployments``, ``changes`` (both required) and ``incidents``
(optional), each as ``<table>.csv``, ``<table>.json`` (an array of objects) or ``<table>.jsonl`` (one object
per line). Every problem is reported as one :class:`~hivepulse.errors.InputError` naming the file, the
1-based physical line, the column, the bad value and what was expected. The exact rules are in
``docs/data-model.md``; the values and integrity rules are the model's (:mod:`hivepulse.model`), shared with
every other reader.

Modules: :mod:`.raw` (size, encoding, the parsed-file record), :mod:`.csvfile`, :mod:`.jsonfile` (formats),
:mod:`.read` (validation of a table and of a directory), :mod:`.write` (the canonical writer).

Public API: :func:`read_events`, :func:`read_table`, :func:`write_events`.
"""

from hivepulse.fsio import check_output_dir
from hivepulse.model import TABLES, format_utc
from hivepulse.sources.files.raw import FORMATS, MAX_FILE_BYTES
from hivepulse.sources.files.read import NOTES_FILE, REQUIRED_TABLES, TableFile, read_events, read_table
from hivepulse.sources.files.write import canonical_csv, write_events

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "NOTES_FILE",
    "REQUIRED_TABLES",
    "TABLES",
    "TableFile",
    "canonical_csv",
    "check_output_dir",
    "format_utc",
    "read_events",
    "read_table",
    "write_events",
]

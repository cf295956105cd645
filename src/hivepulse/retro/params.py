"""The retro's parameters (the notebook contract of ``docs/retro.md``) and the checks that need no data.

:class:`RetroParams` is a pydantic model (``extra="forbid"``): an unknown name (``envirnoment=...``) or a
bad value is an :class:`~hivepulse.errors.InputError` (exit 2) naming the parameter, from the notebook, the
library (``S.retro(...)``) and ``hivepulse retro`` alike. :func:`read_parameters_file` reads ``-f
params.yaml`` into the same names (every key optional; file, line and key in each error).

Kept apart from :mod:`hivepulse.retro.analysis` so ``hivepulse retro`` can reject bad input (exit 2, one line)
before a kernel starts without importing the DORA engine; the checks of :func:`preflight` import the notes,
catalog and ledger readers when they run, so ``hivepulse --help`` imports neither pandas nor the retro.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from hivepulse.errors import InputError
from hivepulse.paths import locate, locate_output
from hivepulse.retro.configfile import read_document
from hivepulse.retro.record import (
    MAX_ITERATION_DAYS,
    MAX_PREVIOUS_ITERATIONS,
    iteration_id,
    parse_day,
    resolve_window,
)
from hivepulse.vocabulary import normalize_name

SOURCES = ("events", "git", "store")
DEFAULT_PATH = "data/sample"
"""The ``path`` of ``source: events`` when it is empty: the bundled sample; when it is not found from the
working directory or its parents, the copy shipped in the package (``hivepulse/data/sample``) is used."""
INT_PARAMETERS = ("iteration_days", "previous_iterations", "max_actions")
BOOL_PARAMETERS = ("allow_empty",)
MAX_ACTIONS = 100
INT_RANGES = {"iteration_days": (1, MAX_ITERATION_DAYS), "previous_iterations": (0, MAX_PREVIOUS_ITERATIONS),
              "max_actions": (0, MAX_ACTIONS)}
"""The documented range of each integer parameter (inclusive)."""
Values = dict[str, object]
"""Parameter values by name, as papermill passes them to the notebook (strings and integers)."""


def packaged_sample() -> Path:
    """The sample event files shipped with hivepulse (``hivepulse/data/sample/*.csv``)."""
    from importlib import resources

    return Path(str(resources.files("hivepulse").joinpath("data", "sample")))


def source_path(path: str | Path) -> Path:
    """Where ``path`` is: located from the working directory or its parents (:func:`hivepulse.paths.locate`);
    the default ``data/sample`` (or an empty path) falls back to the packaged sample when it is not found that
    way."""
    path = str(path) or DEFAULT_PATH
    found = locate(path)
    if not found.exists() and Path(str(path)).as_posix().rstrip("/") == DEFAULT_PATH:
        shipped = packaged_sample()
        if shipped.is_dir():
            return shipped
    return found


def _names() -> str:
    return ", ".join(RetroParams.model_fields)


def _as_input_error(exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else None
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        return InputError("unknown parameter", column=name, expected=_names())
    if name in INT_PARAMETERS:
        low, high = INT_RANGES[name]
        return InputError(f"bad {name}", column=name, value=value, expected=f"an integer from {low} to {high}")
    if name in BOOL_PARAMETERS:
        return InputError(f"bad {name}", column=name, value=value, expected="true or false")
    return InputError(f"bad {name}", column=name, value=value, expected="a string")


class RetroParams(BaseModel):
    """The notebook's parameters (the documented contract of ``docs/retro.md``); no secrets here.

    Strings are strings, counts integers in :data:`INT_RANGES` (``iteration_days`` 1-366,
    ``previous_iterations`` 0-100, ``max_actions`` 0-100) and ``allow_empty`` a boolean; ``source`` is
    ``events``, ``git`` or ``store``; ``path`` may be empty except for ``git``; ``repository`` only with
    ``store``. ``since`` and ``until`` are empty by default: the window rule
    (:func:`hivepulse.retro.record.resolve_window`) fills them. Time zone, tier edition, dates and files are
    checked by :func:`preflight`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    source: str = "events"
    path: str = ""
    repository: str = ""
    since: str = ""
    until: str = ""
    iteration_days: int = 14
    previous_iterations: int = 5
    environment: str = "production"
    tz: str = "UTC"
    tier_edition: str = "2024"
    notes: str = ""
    output_dir: str = "retro/"
    max_actions: int = 3
    findings: str = "profiling/results"
    allow_empty: bool = False

    @model_validator(mode="wrap")
    @classmethod
    def _one_line_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Every problem is one InputError naming the parameter (pydantic's report is turned into it)."""
        try:
            return handler(data)
        except ValidationError as exc:
            raise _as_input_error(exc) from None

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        """Environment names are compared without letter case (:func:`hivepulse.vocabulary.normalize_name`):
        ``Staging`` measures, records and follows up ``staging``."""
        name = normalize_name(value)
        if not name:
            raise InputError("empty environment", column="environment", expected="an environment name")
        return name

    @model_validator(mode="after")
    def _values(self) -> RetroParams:
        if self.source not in SOURCES:
            raise InputError("unknown source", column="source", value=self.source, expected=" or ".join(SOURCES))
        if self.source == "git" and not self.path.strip():
            raise InputError("empty path", column="path", expected="a git clone")
        if self.repository and self.source != "store":
            raise InputError("repository applies to source store only", column="repository",
                             value=self.repository, expected="an empty repository, or source: store")
        for name in INT_PARAMETERS:
            value = getattr(self, name)
            low, high = INT_RANGES[name]
            if not low <= value <= high:
                raise InputError(f"bad {name}", column=name, value=value,
                                 expected=f"an integer from {low} to {high}")
        return self

    def window(self) -> tuple[date, date]:
        """The iteration ``[since, until)`` by the window rule (:func:`~hivepulse.retro.record.resolve_window`)."""
        return resolve_window(self.since or None, self.until or None, self.iteration_days,
                              previous_iterations=self.previous_iterations)

    def replaced(self, **changes: str) -> RetroParams:
        """A copy with ``changes`` (checked like a new set of parameters)."""
        return RetroParams(**{**self.model_dump(), **changes})


def preflight(params: RetroParams) -> None:
    """Every check that needs no source data, so ``hivepulse retro`` rejects bad input (exit 2, one line)
    before a kernel starts and before anything is written: the time zone, tier edition, the source path,
    the window, the team notes, the catalog override and the ledger of the workspace."""
    from hivepulse.retro import catalog
    from hivepulse.retro import ledger as led
    from hivepulse.retro.notes import load_notes

    try:
        zoneinfo.ZoneInfo(str(params.tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError("unknown time zone", column="tz", value=params.tz,
                         expected="an IANA name such as Europe/Berlin") from None
    from hivepulse.metrics import tiers

    try:
        tiers.edition(str(params.tier_edition))
    except InputError as err:
        raise InputError(err.reason, column="tier_edition", value=err.value, expected=err.expected) from None
    _check_source(params)
    if params.findings and params.findings != RetroParams.model_fields["findings"].default \
            and not locate(params.findings).exists():
        # only the default workspace folder may be absent (no profiling run yet); a path the user named must exist
        raise InputError("findings path not found", file=str(params.findings), column="findings",
                         expected="a profiling results directory or one run directory (or an empty value)")
    since, until = params.window()
    workspace = Path(locate_output(params.output_dir))
    note_file = notes_file(params, workspace, iteration_id(since, until))
    load_notes(note_file)
    catalog.load_catalog(workspace / "actions.yaml")
    led.load(workspace / "ledger.json")


def store_target(params: RetroParams) -> str | None:
    """The store a ``source: store`` retro reads: ``path`` (a file, ``sqlite:///...`` or ``postgresql://...``),
    else the project file's ``store:`` (:func:`hivepulse.project.project_store`), else ``None`` (the store's
    default, ``data/store/hivepulse.db``)."""
    if params.path.strip():
        return params.path.strip()
    from hivepulse.project import project_store

    return project_store()


def _check_store(params: RetroParams) -> None:
    """The store exists (a file) or is a PostgreSQL URL without a password (parameters are written into the
    executed notebook: a password belongs in ``PGPASSWORD`` or ``~/.pgpass``)."""
    from urllib.parse import urlsplit

    from hivepulse.redact import redact_text
    from hivepulse.store import parse_location

    target = store_target(params)
    location = parse_location(target)
    if location.kind == "postgresql":
        try:
            password = urlsplit(location.target).password
        except ValueError:
            password = None
        if password:
            raise InputError("a password in the store URL", file=redact_text(location.target), column="path",
                             expected="the password in PGPASSWORD or ~/.pgpass (parameters are written into "
                                      "the executed notebook)")
        return
    if not Path(location.target).is_file():
        raise InputError("store not found", file=location.display, column="path",
                         expected="an existing store (create one with hivepulse pull), or a postgresql:// URL")


def _check_source(params: RetroParams) -> None:
    """The source path exists and has the right kind (a directory; for git, a repository; for the store, a
    store file or URL), checked cheaply (no data read), so a typo is exit 2 before a kernel starts."""
    if params.source == "store":
        _check_store(params)
        return
    path = source_path(params.path)
    if not path.exists():
        raise InputError("source path not found", file=str(path), column="path",
                         expected="an events directory" if params.source == "events" else "a git clone")
    if not path.is_dir():
        raise InputError("not a directory", file=str(path), column="path",
                         expected="an events directory" if params.source == "events" else "a git clone")
    if params.source == "git":
        import subprocess

        try:
            done = subprocess.run(["git", "-C", str(path), "rev-parse", "--git-dir"], capture_output=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return  # git itself is missing or stuck: the source reports it with its own message
        if done.returncode != 0:
            raise InputError("not a git repository", file=str(path), column="path",
                             expected="a git clone (bare or not)")


def notes_file(params: RetroParams, workspace: Path, ident: str) -> Path | None:
    """The team notes file of the iteration ``ident``: ``notes`` (a file, or a directory holding
    ``<ident>.yaml``), else ``<workspace>/notes/<ident>.yaml``."""
    from hivepulse.retro.notes import notes_path

    notes = str(locate(params.notes)) if params.notes else ""
    if notes and Path(notes).is_dir():
        return notes_path(notes, ident)
    if notes:
        if not Path(notes).is_file():
            raise InputError("notes file not found", file=notes, column="notes", expected="a YAML notes file")
        return Path(notes)
    return notes_path(workspace / "notes", ident)


# ---------------------------------------------------------------------------------------------- -f FILE


def parameter_lines(path: str | Path) -> dict[str, int]:
    """The line of each top-level key of a parameters file, by parameter name (empty when unreadable)."""
    try:
        doc = read_document(path, what="parameters file")
    except (InputError, OSError):
        return {}
    keys = doc.data if isinstance(doc.data, dict) else {}
    return {str(k).replace("-", "_"): line for k in keys if (line := doc.line(str(k))) is not None}


def read_parameters_file(path: str) -> Values:
    """Parameters from a YAML file (keys with ``-`` or ``_``); only the keys it gives. Unknown names, wrong
    types and bad dates are an InputError (exit 2) naming the file, the line and the key. YAML dates
    (``since: 2026-05-11``) and numbers (``tier_edition: 2024``) of string parameters are read as text."""
    p = Path(path)
    if not p.is_file():
        raise InputError("parameters file not found", file=path)
    doc = read_document(p, what="parameters file", expected="a YAML mapping of parameter: value")
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise InputError("bad parameters file", file=path, expected="a YAML mapping of parameter: value")
    out: Values = {}
    for key, value in data.items():
        name, line = str(key).replace("-", "_"), doc.line(str(key))
        if name not in RetroParams.model_fields:
            raise InputError("unknown parameter", file=path, line=line, column=str(key), expected=_names())
        if name in INT_PARAMETERS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError("bad value", file=path, line=line, column=name, value=value, expected="an integer")
        elif name in BOOL_PARAMETERS:
            if not isinstance(value, bool):
                raise InputError("bad value", file=path, line=line, column=name, value=value,
                                 expected="true or false")
        elif isinstance(value, dict | list):
            raise InputError("bad value", file=path, line=line, column=name, value=value, expected="a string")
        else:
            value = "" if value is None else value.isoformat() if isinstance(value, date) else str(value)
        if name in ("since", "until") and value:
            try:
                parse_day(value, name)
            except InputError as err:
                raise InputError(err.reason, file=path, line=line, column=name, value=value,
                                 expected=err.expected) from None
        out[name] = value
    return out


__all__ = ["BOOL_PARAMETERS", "DEFAULT_PATH", "INT_PARAMETERS", "INT_RANGES", "MAX_ACTIONS", "SOURCES", "RetroParams",
           "Values", "notes_file", "packaged_sample", "parameter_lines", "preflight", "read_parameters_file",
           "source_path", "store_target"]

"""The retro's parameters (the notebook contract of ``docs/retro.md``) and the checks that need no data.

Kept apart from :mod:`hivepulse.retro.analysis` so ``hivepulse retro`` can reject bad input (exit 2, one line)
before a kernel starts without importing the DORA engine (pandas is the heaviest import here).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from hivepulse.errors import InputError
from hivepulse.paths import locate, locate_output
from hivepulse.retro import actions as act
from hivepulse.retro import ledger as led
from hivepulse.retro.notes import load_notes, notes_path
from hivepulse.retro.record import iteration_id, resolve_window

SOURCES = ("events", "git")
DEFAULT_PATH = "data/sample"
"""The default ``path``: the bundled sample; when it is not found from the working directory or its
parents, the copy shipped in the package (``hivepulse/data/sample``) is used."""


def packaged_sample() -> Path:
    """The sample event files shipped with hivepulse (``hivepulse/data/sample/*.csv``)."""
    from importlib import resources

    return Path(str(resources.files("hivepulse").joinpath("data", "sample")))


def source_path(path: str | Path) -> Path:
    """Where ``path`` is: located from the working directory or its parents (:func:`hivepulse.paths.locate`);
    the default ``data/sample`` falls back to the packaged sample when it is not found that way."""
    found = locate(path)
    if not found.exists() and Path(str(path)).as_posix().rstrip("/") == DEFAULT_PATH:
        shipped = packaged_sample()
        if shipped.is_dir():
            return shipped
    return found


@dataclass(frozen=True)
class RetroParams:
    """The notebook's parameters (the documented contract of ``docs/retro.md``); no secrets here."""

    source: str = "events"
    path: str = DEFAULT_PATH
    since: str = "2026-05-11"
    until: str = "2026-05-25"
    iteration_days: int = 14
    previous_iterations: int = 5
    environment: str = "production"
    tz: str = "UTC"
    tier_edition: str = "2024"
    notes: str = ""
    output_dir: str = "retro/"
    max_actions: int = 3
    findings: str = "profiling/results"

    def validate(self) -> None:
        """Raise :class:`InputError` (exit 2) for a bad parameter value."""
        if self.source not in SOURCES:
            raise InputError("unknown source", column="source", value=self.source, expected=" or ".join(SOURCES))
        if not str(self.path).strip():
            raise InputError("empty path", column="path", expected="an events directory or a git clone")
        for name in ("previous_iterations", "max_actions", "iteration_days"):
            value = getattr(self, name)
            low = 1 if name == "iteration_days" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"bad {name}", column=name, value=value, expected=f"an integer >= {low}")


def preflight(params: RetroParams) -> None:
    """Every check that needs no source data, so ``hivepulse retro`` rejects bad input (exit 2, one line)
    before a kernel starts and before anything is written: parameter values, time zone, tier edition, the
    window, the team notes, the catalog override and the ledger of the workspace."""
    params.validate()
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
    if params.findings and params.findings != RetroParams.findings and not locate(params.findings).exists():
        # only the default workspace folder may be absent (no profiling run yet); a path the user named must exist
        raise InputError("findings path not found", file=str(params.findings), column="findings",
                         expected="a profiling results directory or one run directory (or an empty value)")
    since, until = resolve_window(params.since or None, params.until or None, params.iteration_days)
    workspace = Path(locate_output(params.output_dir))
    note_file = _notes_file(params, workspace, iteration_id(since, until))
    load_notes(note_file)
    act.load_catalog(workspace / "actions.yaml")
    led.load(workspace / "ledger.json")


def _check_source(params: RetroParams) -> None:
    """The source path exists and has the right kind (a directory; for git, a repository), checked cheaply
    (no data read), so a typo is exit 2 before a kernel starts."""
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


def _notes_file(params: RetroParams, workspace: Path, ident: str) -> Path | None:
    notes = str(locate(params.notes)) if params.notes else ""
    if notes and Path(notes).is_dir():
        return notes_path(notes, ident)
    if notes:
        if not Path(notes).is_file():
            raise InputError("notes file not found", file=notes, column="notes", expected="a YAML notes file")
        return Path(notes)
    return notes_path(workspace / "notes", ident)


__all__ = ["DEFAULT_PATH", "SOURCES", "RetroParams", "packaged_sample", "preflight", "source_path"]

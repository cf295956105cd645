"""Retro records on disk, written atomically, and the iteration window they are named after.

Layout (``docs/retro.md``)::

    <output_dir>/
      ledger.json                      the action-item ledger (hivepulse.retro.ledger)
      <iteration-id>/                  one directory per iteration, e.g. 2026-05-11_2026-05-25
        README.md  metrics.json  actions.json  actions.csv
        retro.html  retro.ipynb        added by `hivepulse retro` (report and executed notebook)

Atomicity: a file is written to a temporary file in the same directory, flushed, fsynced and moved into
place with ``os.replace``. A record directory is built complete under a temporary name and swapped in, so a
failed run leaves the previous records as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hivepulse.errors import InputError
from hivepulse.fsio import plain_mode as _mode

RECORD_FILES = ("README.md", "metrics.json", "actions.json", "actions.csv")


def write_record_dir(target: str | Path, files: Mapping[str, str], *, keep: tuple[str, ...] = ()) -> Path:
    """Replace directory ``target`` with one holding exactly ``files`` (name -> text), atomically.

    The new directory is built under a temporary name beside ``target`` and swapped in; files named in
    ``keep`` that exist in the old directory (e.g. ``retro.html``) are carried into the new one. If anything
    fails before the swap, ``target`` is untouched.
    """
    dest = Path(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".new", dir=dest.parent))
    try:
        _mode(staging, 0o777)
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        for name in keep:
            if (dest / name).is_file() and name not in files:
                shutil.copy2(dest / name, staging / name)
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
            old.rmdir()
            os.replace(dest, old)
            os.replace(staging, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


# ---------------------------------------------------------------------------------------------- window


def parse_day(value: str | date, field: str) -> date:
    """An ISO date (``YYYY-MM-DD``) parameter as a :class:`date`; anything else is an InputError."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError("bad date", column=field, value=value, expected="YYYY-MM-DD") from None


def today_utc() -> date:
    """"Today" for ``iteration_days``: the current date in UTC, or ``HIVEPULSE_TODAY`` (YYYY-MM-DD) if set."""
    fixed = os.environ.get("HIVEPULSE_TODAY", "").strip()
    if fixed:
        return parse_day(fixed, "HIVEPULSE_TODAY")
    return datetime.now(UTC).date()


def resolve_window(
    since: str | date | None, until: str | date | None, iteration_days: int = 14, today: date | None = None
) -> tuple[date, date]:
    """The iteration ``[since, until)`` as dates (UTC midnights).

    Both given: used as is. Only one: the other is ``iteration_days`` away. Neither: the last
    ``iteration_days`` complete days, ``[today - iteration_days, today)`` with ``today`` from
    :func:`today_utc`.
    """
    days = int(iteration_days)
    if days < 1:
        raise InputError("bad iteration_days", column="iteration_days", value=iteration_days, expected=">= 1")
    s = parse_day(since, "since") if since else None
    u = parse_day(until, "until") if until else None
    if s is None and u is None:
        u = today or today_utc()
    try:
        if s is None:
            assert u is not None
            s = u - timedelta(days=days)
        if u is None:
            u = s + timedelta(days=days)
    except OverflowError:
        raise InputError("bad iteration_days", column="iteration_days", value=iteration_days,
                         expected="a number of days that keeps the window within years 1-9999") from None
    if u <= s:
        raise InputError("empty window", column="until", value=u.isoformat(), expected=f"a date after {s}")
    return s, u


def iteration_id(since: date, until: date) -> str:
    """``2026-05-11_2026-05-25`` for the window ``[2026-05-11, 2026-05-25)``."""
    return f"{since.isoformat()}_{until.isoformat()}"


def next_retro(since: date, until: date) -> date:
    """The due date of this retro's action items: the end of the next iteration of the same length."""
    return until + (until - since)

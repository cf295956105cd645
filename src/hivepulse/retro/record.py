"""The names of a retro's records and the iteration window they are named after.

Layout (``docs/retro.md``)::

    <output_dir>/
      ledger.json                      the action-item ledger (hivepulse.retro.ledger)
      .hivepulse.lock                  the workspace lock (hivepulse.retro.workspace)
      <iteration-id>/                  production's records, e.g. 2026-05-11_2026-05-25
      <iteration-id>.<environment>/    another environment's, e.g. 2026-05-11_2026-05-25.staging
        README.md  metrics.json  actions.json  actions.csv  retro.html
        retro.ipynb                    added by `hivepulse retro` (the executed notebook)
      runs/<record>.ipynb              the executed notebook of a failed `hivepulse retro` run

The records and the ledger are written together by :func:`hivepulse.retro.workspace.commit` (one lock, a
staging folder, renames). This module holds the window rule every way of running the retro shares
(:func:`resolve_window`: the CLI, papermill and JupyterLab fill missing dates the same way) and its bounds.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from hivepulse.errors import InputError

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
RECORD_FILES = ("README.md", "metrics.json", "actions.json", "actions.csv")
PRODUCTION = "production"
"""The environment whose records and ledger entries carry the bare iteration id (every other environment's
carry ``.<environment>``)."""
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2200, 1, 1)
"""Every window, the trends' earliest included, lies within ``[FIRST_DAY, LAST_DAY]``."""
MAX_ITERATION_DAYS = 366
MAX_PREVIOUS_ITERATIONS = 100
MAX_RECORD_NAME = 200
"""Longest record directory name (bytes of UTF-8 after escaping the environment)."""


def record_name(ident: str, environment: str = PRODUCTION) -> str:
    """The name of an iteration's record directory and ledger key: the iteration id for ``production``,
    ``<iteration id>.<environment>`` for any other environment (``%``-escaped to one safe path component:
    ``2026-05-11_2026-05-25.staging``, ``... .eu%2Fwest`` for ``eu/west``), so environments never overwrite
    each other's records or entries."""
    if environment == PRODUCTION:
        return ident
    if not environment.strip():
        raise InputError("empty environment", column="environment", expected="an environment name")
    name = f"{ident}.{quote(environment, safe='')}"
    if len(name.encode("utf-8")) > MAX_RECORD_NAME:
        raise InputError("environment name too long", column="environment", value=environment,
                         expected=f"at most {MAX_RECORD_NAME - len(ident) - 1} characters once escaped")
    return name


# ---------------------------------------------------------------------------------------------- window


def parse_day(value: str | date, field: str) -> date:
    """An ISO date (``YYYY-MM-DD``) parameter as a :class:`date`; anything else is an InputError."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("bad date", column=field, value=value, expected="YYYY-MM-DD") from None


def today_utc() -> date:
    """"Today" for ``iteration_days``: the current date in UTC, or ``HIVEPULSE_TODAY`` (YYYY-MM-DD) if set."""
    fixed = os.environ.get("HIVEPULSE_TODAY", "").strip()
    if fixed:
        return parse_day(fixed, "HIVEPULSE_TODAY")
    return datetime.now(UTC).date()


def check_days(value: object, field: str = "iteration_days", *, low: int = 1,
               high: int = MAX_ITERATION_DAYS) -> int:
    """An integer parameter within ``[low, high]`` (``iteration_days``: 1-366, ``previous_iterations``: 0-100);
    anything else is an InputError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"bad {field}", column=field, value=value, expected=f"an integer from {low} to {high}")
    return value


def _in_range(day: date, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"bad {field}", column=field, value=day.isoformat(),
                         expected=f"a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def resolve_window(
    since: str | date | None, until: str | date | None, iteration_days: int = 14, today: date | None = None,
    *, previous_iterations: int = 0,
) -> tuple[date, date]:
    """The iteration ``[since, until)`` as dates (UTC midnights): **the one rule** for missing dates, shared by
    ``hivepulse retro``, papermill and JupyterLab runs.

    Both given: used as is. Only one: the other is ``iteration_days`` away. Neither: the last
    ``iteration_days`` complete days, ``[today - iteration_days, today)`` with ``today`` from
    :func:`today_utc` (the current UTC date, or ``HIVEPULSE_TODAY``). Bounds (InputError naming the field):
    dates within ``[1970-01-01, 2200-01-01]``, ``iteration_days`` 1-366, ``previous_iterations`` 0-100, and
    the earliest trend iteration (``previous_iterations`` windows of the same length before ``since``) not
    before 1970-01-01.
    """
    days = check_days(iteration_days)
    back = check_days(previous_iterations, "previous_iterations", low=0, high=MAX_PREVIOUS_ITERATIONS)
    s = _in_range(parse_day(since, "since"), "since") if since else None
    u = _in_range(parse_day(until, "until"), "until") if until else None
    if s is None and u is None:
        u = _in_range(today or today_utc(), "until")
    if s is None:
        assert u is not None
        s = _in_range(u - timedelta(days=days), "since")
    if u is None:
        u = _in_range(s + timedelta(days=days), "until")
    if u <= s:
        raise InputError("empty window", column="until", value=u.isoformat(), expected=f"a date after {s}")
    if (s - FIRST_DAY).days < back * (u - s).days:
        earliest = (s - FIRST_DAY).days // (u - s).days
        raise InputError("bad previous_iterations", column="previous_iterations", value=back,
                         expected=f"at most {earliest} for this window (the trends would start before {FIRST_DAY})")
    return s, u


def iteration_id(since: date, until: date) -> str:
    """``2026-05-11_2026-05-25`` for the window ``[2026-05-11, 2026-05-25)``."""
    return f"{since.isoformat()}_{until.isoformat()}"


def next_retro(since: date, until: date) -> date:
    """The due date of this retro's action items: the end of the next iteration of the same length."""
    return until + (until - since)

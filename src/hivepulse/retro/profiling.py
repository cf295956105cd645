"""Which profiling run counts for a retro, its findings as evidence, and the measurements they give.

The retro parameter ``findings`` names either a results directory (default ``profiling/results``, holding
one ``<run-id>/results.json`` per run of ``hivepulse profile``) or one run directory (holding
``results.json`` itself). Rule (``docs/retro.md``):

- **a results directory**: the run that counts is the newest one *recorded within the iteration*
  ``[since, until)`` (UTC midnights). A run's recorded time is ``machine.recorded_at``, else
  ``created_at``, else the timestamp of its run id (``20260515T101500Z-...``); a run without any is
  skipped. Runs outside the window never count, so a retro of May 2026 does not pick up today's runs;
  with none inside, the retro has no profiling evidence and says so.
- **a run directory named explicitly**: always used; when its recorded time lies outside the iteration,
  the evidence carries a note saying so.

A run directory whose name starts with ``.`` (a partial run of ``hivepulse profile``) is ignored; an
unreadable ``results.json`` in a results directory is skipped with a note, an unreadable explicit one is an
input error (exit 2).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from hivepulse.errors import InputError
from hivepulse.retro.signals import count, finding_key, number

RUN_ID_TIME = re.compile(r"^(\d{8}T\d{6}Z)")
ZERO_WHEN_ABSENT = ("errors",)
"""Finding metrics emitted only when non-zero: a scenario of the run without one measured 0."""


@dataclass(frozen=True)
class ProfilingRun:
    """One profiling run: its id, recorded time (UTC), findings and measured scenarios (name -> requests)."""

    run_id: str
    recorded_at: datetime | None
    findings: list[dict[str, Any]]
    scenarios: dict[str, int] = field(default_factory=dict)

    @property
    def recorded_text(self) -> str:
        return self.recorded_at.strftime("%Y-%m-%d %H:%M UTC") if self.recorded_at else "unknown time"


@dataclass(frozen=True)
class ProfilingEvidence:
    """The profiling run that counts for an iteration (``None``: no run) and notes on how it was chosen."""

    run: ProfilingRun | None
    notes: list[str] = field(default_factory=list)
    explicit: bool = False
    in_window: bool = True

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.run.findings) if self.run else []

    def to_dict(self) -> dict[str, Any]:
        """The ``profiling`` block of ``metrics.json`` (no paths)."""
        run = self.run
        return {
            "run_id": run.run_id if run else None,
            "recorded_at": run.recorded_at.isoformat() if run and run.recorded_at else None,
            "explicit": self.explicit,
            "in_window": self.in_window if run else None,
            "notes": list(self.notes),
            "findings": self.findings,
        }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = RUN_ID_TIME.match(text)
    try:
        stamp = (datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ") if match
                 else datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def recorded_at(results: dict[str, Any], run_dir_name: str = "") -> datetime | None:
    """A run's recorded time (UTC): ``machine.recorded_at``, else ``created_at``, else its run id's
    timestamp (``run_id`` field or the directory name), else ``None``."""
    machine = results.get("machine") if isinstance(results.get("machine"), dict) else {}
    for value in (machine.get("recorded_at"), results.get("created_at")):
        stamp = _parse_time(value)
        if stamp is not None:
            return stamp
    for name in (results.get("run_id"), run_dir_name):
        if isinstance(name, str) and RUN_ID_TIME.match(name):
            return _parse_time(name)
    return None


def read_run(path: Path) -> ProfilingRun:
    """The run in ``path`` (a run directory or its ``results.json``); InputError for unreadable JSON."""
    file = path / "results.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError("not valid JSON", file=str(file), line=exc.lineno,
                         expected="a results.json of hivepulse profile") from None
    if not isinstance(data, dict):
        raise InputError("bad results.json", file=str(file), expected="a JSON object with 'findings'")
    found = data.get("findings")
    findings = [_finite(f) for f in found if isinstance(f, dict) and f.get("metric")] if isinstance(found, list) else []
    scenarios = {str(s["name"]): count(s.get("requests")) for s in data.get("scenarios") or []
                 if isinstance(s, dict) and s.get("name")}
    run_id = str(data.get("run_id") or file.parent.name)
    return ProfilingRun(run_id=run_id, recorded_at=recorded_at(data, file.parent.name), findings=findings,
                        scenarios=scenarios)


def _finite(finding: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``finding`` with NaN / infinite numbers as ``None`` (the records are strict JSON)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in finding.items()}


def _window(since: date, until: date) -> tuple[datetime, datetime]:
    return (datetime.combine(since, time(), tzinfo=UTC), datetime.combine(until, time(), tzinfo=UTC))


def select_run(root: str | Path | None, since: date, until: date) -> ProfilingEvidence:
    """The profiling evidence of the iteration ``[since, until)`` from ``root`` (module docstring)."""
    if not root or not str(root).strip():
        return ProfilingEvidence(None, ["Profiling findings are off (parameter findings is empty)."])
    base = Path(root)
    start, end = _window(since, until)
    if (base / "results.json").is_file() or (base.is_file() and base.name == "results.json"):
        run = read_run(base)
        inside = run.recorded_at is not None and start <= run.recorded_at < end
        notes = [] if inside else [
            f"Profiling run {run.run_id} was recorded at {run.recorded_text}, outside this iteration "
            f"[{since}, {until}); it is used because it was named explicitly."]
        return ProfilingEvidence(run, notes, explicit=True, in_window=inside)
    if not base.is_dir():
        return ProfilingEvidence(None, [f"No profiling run for this iteration ({base.name}/ does not exist)."])
    notes: list[str] = []
    best: ProfilingRun | None = None
    outside = 0
    for path in sorted(base.glob("*/results.json")):
        if path.parent.name.startswith("."):
            continue
        try:
            run = read_run(path)
        except (InputError, OSError):
            notes.append(f"Skipped profiling run {path.parent.name}: unreadable results.json.")
            continue
        if run.recorded_at is None:
            notes.append(f"Skipped profiling run {run.run_id}: no recorded time.")
            continue
        if not start <= run.recorded_at < end:
            outside += 1
            continue
        if best is None or (run.recorded_at, run.run_id) > (best.recorded_at, best.run_id):
            best = run
    if best is None:
        where = f" ({outside} run(s) in {base.name}/ were recorded outside it)" if outside else ""
        return ProfilingEvidence(None, [f"No profiling run recorded in this iteration [{since}, {until}){where}.",
                                        *notes])
    return ProfilingEvidence(best, notes)


def measurements(run: ProfilingRun | None) -> dict[str, dict[str, Any]]:
    """Measurements of the run's findings for the follow-up: ``{finding_key: {"value", "n"}}``
    (``hit_ratio@memory-naive``). Metrics in :data:`ZERO_WHEN_ABSENT` measure 0 for every scenario of the
    run without such a finding. Empty without a run."""
    if run is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for f in run.findings:
        value = number(f.get("value"))
        if value is None:
            continue
        out.setdefault(finding_key(str(f["metric"]), f.get("scenario") or None),
                       {"value": value, "n": count(f.get("n")) or 1, "profiling_run": run.run_id})
    for metric in ZERO_WHEN_ABSENT:
        for name, requests in run.scenarios.items():
            out.setdefault(finding_key(metric, name), {"value": 0.0, "n": requests or 1,
                                                       "profiling_run": run.run_id})
    return out


__all__ = ["ProfilingEvidence", "ProfilingRun", "measurements", "read_run", "recorded_at", "select_run"]

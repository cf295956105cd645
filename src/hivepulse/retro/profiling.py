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

The retro reads a run's *records* (``results.json``, the format of docs/profiling.md), never the profiling
code: :func:`read_run` turns one into a typed :class:`ProfilingRun` of :class:`Finding` values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from hivepulse.errors import InputError
from hivepulse.fsio import read_bytes_limited
from hivepulse.metrics.results import JSONObject
from hivepulse.retro.facts import Measurement
from hivepulse.retro.fmt import count, number

RUN_ID_TIME = re.compile(r"^(\d{8}T\d{6}Z)")
ZERO_WHEN_ABSENT = ("errors",)
"""Finding metrics emitted only when non-zero: a scenario of the run without one measured 0."""
MAX_RESULTS_BYTES = 64 << 20
"""Largest ``results.json`` read (64 MiB; a run of the shipped scenarios writes a few hundred KiB)."""
FINDING_KINDS: tuple[str, ...] = ("problem", "good", "info")
"""Kinds of a profiling finding: only ``problem`` findings become ``finding`` signals (docs/profiling.md)."""


def finding_key(metric: str, scenario: str | None) -> str:
    """The measurement name of a profiling finding: ``hit_ratio@memory-naive`` (``metric`` alone for a
    run-level finding)."""
    return f"{metric}@{scenario}" if scenario else metric


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Finding:
    """One finding of a profiling run as its ``results.json`` states it (docs/profiling.md, "Findings").

    ``kind`` is ``problem`` (can become an action), ``good`` (good news) or ``info`` (context); anything else
    is listed only. ``better`` is the metric's direction (``higher`` / ``lower``), ``threshold`` the value
    that separates problem from good news, ``n`` the requests or lookups behind ``value``, ``reach`` the share
    of requests affected and ``significant`` whether the comparison behind it was significant.
    """

    metric: str
    value: float | int | None = None
    text: str | None = None
    scenario: str | None = None
    unit: str | None = None
    kind: str | None = None
    better: str | None = None
    threshold: float | None = None
    n: int | None = None
    reach: float | None = None
    reach_text: str | None = None
    significant: bool | None = None

    @classmethod
    def from_json(cls, raw: object) -> Finding | None:
        """The finding in one entry of a ``findings`` list, or ``None`` when it is no finding (not an object,
        no metric). Numbers that are not finite become ``None``; wrong types are read as missing."""
        if not isinstance(raw, Mapping) or not raw.get("metric"):
            return None
        value = raw.get("value")
        significant = raw.get("significant")
        return cls(
            metric=str(raw["metric"]),
            value=value if isinstance(value, int) and not isinstance(value, bool) else number(value),
            text=_text(raw.get("text")),
            scenario=_text(raw.get("scenario")),
            unit=_text(raw.get("unit")),
            kind=_text(raw.get("kind")),
            better=_text(raw.get("better")),
            threshold=number(raw.get("threshold")),
            n=None if raw.get("n") is None else count(raw.get("n")),
            reach=number(raw.get("reach")),
            reach_text=_text(raw.get("reach_text")),
            significant=significant if isinstance(significant, bool) else None,
        )

    @property
    def key(self) -> str:
        """The measurement name of this finding (:func:`finding_key`)."""
        return finding_key(self.metric, self.scenario)

    def n_text(self) -> str:
        """The finding's text, with ``(n=...)`` appended when the text does not state its n."""
        text = self.text or f"{self.metric} {self.value}"
        return text if "n=" in text or self.n is None else f"{text} (n={self.n})"

    def to_dict(self) -> JSONObject:
        return {
            "metric": self.metric, "value": self.value, "text": self.text, "scenario": self.scenario,
            "unit": self.unit, "kind": self.kind, "better": self.better, "threshold": self.threshold,
            "n": self.n, "reach": self.reach, "reach_text": self.reach_text, "significant": self.significant,
        }


@dataclass(frozen=True)
class ProfilingRun:
    """One profiling run: its id, recorded time (UTC), findings and measured scenarios (name -> requests)."""

    run_id: str
    recorded_at: datetime | None
    findings: tuple[Finding, ...]
    scenarios: Mapping[str, int] = field(default_factory=dict)

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
    def findings(self) -> list[Finding]:
        return list(self.run.findings) if self.run else []

    def to_dict(self) -> JSONObject:
        """The ``profiling`` block of ``metrics.json`` (no paths)."""
        run = self.run
        return {
            "run_id": run.run_id if run else None,
            "recorded_at": run.recorded_at.isoformat() if run and run.recorded_at else None,
            "explicit": self.explicit,
            "in_window": self.in_window if run else None,
            "notes": list(self.notes),
            "findings": [f.to_dict() for f in self.findings],
        }


def _parse_time(value: object) -> datetime | None:
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


def recorded_at(results: Mapping[str, object], run_dir_name: str = "") -> datetime | None:
    """A run's recorded time (UTC): ``machine.recorded_at``, else ``created_at``, else its run id's
    timestamp (``run_id`` field or the directory name), else ``None``."""
    machine = results.get("machine")
    machine_at = machine.get("recorded_at") if isinstance(machine, Mapping) else None
    for value in (machine_at, results.get("created_at")):
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
        data = json.loads(read_bytes_limited(file, MAX_RESULTS_BYTES, what="results.json"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
        raise InputError("not valid JSON", file=str(file), line=line,
                         expected="a results.json of hivepulse profile") from None
    if not isinstance(data, dict):
        raise InputError("bad results.json", file=str(file), expected="a JSON object with 'findings'")
    found = data.get("findings")
    findings = [Finding.from_json(f) for f in found] if isinstance(found, list) else []
    raw_scenarios = data.get("scenarios")
    scenarios = {str(s["name"]): count(s.get("requests")) for s in raw_scenarios or []
                 if isinstance(s, dict) and s.get("name")} if isinstance(raw_scenarios, list) else {}
    run_id = str(data.get("run_id") or file.parent.name)
    return ProfilingRun(run_id=run_id, recorded_at=recorded_at(data, file.parent.name),
                        findings=tuple(f for f in findings if f is not None), scenarios=scenarios)


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
        named = [] if inside else [
            f"Profiling run {run.run_id} was recorded at {run.recorded_text}, outside this iteration "
            f"[{since}, {until}); it is used because it was named explicitly."]
        return ProfilingEvidence(run, named, explicit=True, in_window=inside)
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


def measurements(run: ProfilingRun | None) -> dict[str, Measurement]:
    """Measurements of the run's findings for the follow-up: ``{finding_key: {"value", "n"}}``
    (``hit_ratio@memory-naive``). Metrics in :data:`ZERO_WHEN_ABSENT` measure 0 for every scenario of the
    run without such a finding. Empty without a run."""
    if run is None:
        return {}
    out: dict[str, Measurement] = {}
    for f in run.findings:
        value = number(f.value)
        if value is None:
            continue
        out.setdefault(f.key, Measurement(value, count(f.n) or 1, profiling_run=run.run_id))
    for metric in ZERO_WHEN_ABSENT:
        for name, requests in run.scenarios.items():
            out.setdefault(finding_key(metric, name), Measurement(0.0, requests or 1, profiling_run=run.run_id))
    return out


__all__ = ["FINDING_KINDS", "Finding", "ProfilingEvidence", "ProfilingRun", "finding_key", "measurements", "read_run",
           "recorded_at", "select_run"]

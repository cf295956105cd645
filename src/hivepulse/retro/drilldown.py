"""Drill-down: the events behind the numbers of one iteration, as typed rows (docs/retro.md, "Drill-down").

- :func:`failed_deployments`: every failed deployment of the iteration, what failed it (incident, revert,
  rollback, status, unplanned fix, with the ids of the events), its recovery and its number of changes;
- :func:`slowest_changes`: the changes with the longest lead time, with their PR number when known and their
  stage times.

Rows name deployments, changes, incidents and pull requests by their ids, never a person (the event model has
no person field; titles pass through :func:`hivepulse.redact.redact_people`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from hivepulse.metrics.results import DoraReport
from hivepulse.model import EventSet
from hivepulse.redact import redact_people
from hivepulse.retro.fmt import fmt_value
from hivepulse.textsafe import short, terminal
from hivepulse.vocabulary import STAGES

SLOWEST = 10
"""Changes listed in the slowest-changes table."""
TITLE_PREVIEW = 70


@dataclass(frozen=True)
class FailedDeployment:
    """One failed deployment of the iteration: its id, finish time (UTC), the reasons with their evidence
    (``incident inc-0019``, ``revert (revert:1a2b3c4d5e6f)``, ``rolled back by prod-0204``, ``status failure``,
    ``unplanned fix prod-0210``), its recovery (hours, how) and the changes it shipped."""

    deployment_id: str
    finished: str
    reasons: tuple[str, ...]
    recovery_hours: float | None
    recovered_by: str | None
    status: str
    changes: int

    @property
    def what(self) -> str:
        return "; ".join(self.reasons)

    @property
    def recovery(self) -> str:
        """``2.3 h (incident resolved)``, ``0.3 h (next good deployment)``, ``not recovered`` or ``negative
        (excluded)``."""
        if self.status == "unrecovered" or self.recovery_hours is None:
            return "not recovered"
        if self.status == "negative":
            return "negative (excluded)"
        how = {"incident": "incident resolved", "deployment": "next good deployment"}.get(str(self.recovered_by), "")
        return f"{fmt_value('recovery_time', self.recovery_hours)}{f' ({how})' if how else ''}"


@dataclass(frozen=True)
class SlowChange:
    """One of the slowest changes: short id, title preview (no author), PR number, lead time and stage hours
    (``None`` when unknown), the deployment that shipped it."""

    change_id: str
    title: str
    pr_number: int | None
    lead_time_hours: float
    stages: tuple[float | None, ...]
    deployment_id: str

    def stage_text(self, stage: str) -> str:
        value = self.stages[STAGES.index(stage)]
        return "-" if value is None else fmt_value("lead_time", value)


def _cell(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = terminal(str(value)).strip()
    return text or None


def _hours(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _reasons(row: pd.Series) -> tuple[str, ...]:
    reasons = [r for r in str(_cell(row.get("failure_reasons")) or "").split(";") if r]
    out: list[str] = []
    incidents = [i for i in str(_cell(row.get("incident_ids")) or "").split(";") if i]
    for reason in reasons:
        if reason == "incident":
            out += [f"revert ({i})" if "revert:" in i else f"incident {i}" for i in incidents] or ["incident"]
        elif reason == "rollback":
            by = _cell(row.get("rolled_back_by"))
            out.append(f"rolled back by {by.replace(';', ', ')}" if by else "rolled back")
        elif reason == "status":
            out.append("status failure")
        elif reason == "unplanned_fix":
            by = _cell(row.get("fixed_by"))
            out.append(f"unplanned fix {by.replace(';', ', ')}" if by else "unplanned fix")
        else:
            out.append(reason)
    return tuple(out)


def failed_deployments(report: DoraReport) -> list[FailedDeployment]:
    """The failed deployments of the iteration (the report's window), in finish order."""
    frame = report.deployments
    if frame.empty or "failed" not in frame.columns:
        return []
    failed = frame[frame["failed"].fillna(False).astype(bool)]
    out = []
    for _, row in failed.iterrows():
        finished = pd.Timestamp(row["finished_at"]).tz_convert("UTC")
        out.append(FailedDeployment(
            deployment_id=str(row["deployment_id"]),
            finished=finished.strftime("%Y-%m-%d %H:%M"),
            reasons=_reasons(row),
            recovery_hours=_hours(row.get("recovery_hours")),
            recovered_by=_cell(row.get("recovered_by")),
            status=str(_cell(row.get("recovery_status")) or ""),
            changes=int(row["changes"]) if _hours(row.get("changes")) is not None else 0,
        ))
    return out


def slowest_changes(report: DoraReport, events: EventSet, limit: int = SLOWEST) -> list[SlowChange]:
    """The ``limit`` counted changes of the iteration with the longest lead time, slowest first (ties: change
    id), with PR number and title from ``events`` when known."""
    lead = report.lead_times
    if lead.empty:
        return []
    hours = pd.to_numeric(lead["lead_time_hours"], errors="coerce")
    table = lead.assign(_h=hours, _id=lead["change_id"].astype(str)).dropna(subset=["_h"])
    table = table.sort_values(["_h", "_id"], ascending=[False, True], kind="mergesort").head(max(0, limit))
    changes = events.changes.drop_duplicates("change_id").set_index("change_id")
    out = []
    for _, row in table.iterrows():
        cid = str(row["change_id"])
        info = changes.loc[cid] if cid in changes.index else None
        pr = _hours(info["pr_number"]) if info is not None and "pr_number" in info.index else None
        title = _cell(info["title"]) if info is not None and "title" in info.index else None
        out.append(SlowChange(
            change_id=cid[:12],
            title=short(redact_people(title), TITLE_PREVIEW) if title else "",
            pr_number=int(pr) if pr is not None else None,
            lead_time_hours=float(row["_h"]),
            stages=tuple(_hours(row.get(f"{s}_hours")) for s in STAGES),
            deployment_id=str(row["deployment_id"]),
        ))
    return out


__all__ = ["SLOWEST", "FailedDeployment", "SlowChange", "failed_deployments", "slowest_changes"]

"""Where the source's data starts and ends for one environment, and what that means for an iteration
(docs/retro.md, "Iterations outside the data")."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hivepulse.errors import InputError
from hivepulse.metrics.results import DoraReport
from hivepulse.model import EventSet


@dataclass(frozen=True)
class Coverage:
    """The span of the source's data for one environment (UTC timestamps, ``None`` when unknown).

    ``first_deployment``: the environment's first deployment (any status); before it, deployments are not
    observed, so a zero deployment frequency there is no measurement. ``last_event``: the latest timestamp
    of any event (deployment, change, incident); after it the data may simply end.
    """

    first_deployment: pd.Timestamp | None
    last_event: pd.Timestamp | None

    def covers(self, since: pd.Timestamp, until: pd.Timestamp) -> bool:
        """Whether ``[since, until)`` holds measurements: it ends after the first deployment and starts at or
        before the last event. Always True when the source has no deployment at all (then the metrics show
        the missing data)."""
        if self.first_deployment is None:
            return True
        last = self.last_event if self.last_event is not None else self.first_deployment
        return bool(until > self.first_deployment and since <= last)


def coverage(events: EventSet, environment: str) -> Coverage:
    """The :class:`Coverage` of ``events`` for ``environment``."""
    deps = events.deployments
    env = deps[deps["environment"].astype(object) == environment] if len(deps) else deps
    first = pd.to_datetime(env["finished_at"], utc=True).min() if len(env) else None
    stamps = []
    for table, cols in (
        (events.deployments, ("finished_at", "started_at")),
        (events.changes, ("committed_at", "authored_at", "pr_opened_at", "first_review_at", "merged_at")),
        (events.incidents, ("opened_at", "resolved_at")),
    ):
        for col in cols:
            if col in table.columns and len(table):
                latest = pd.to_datetime(table[col], utc=True, errors="coerce").max()
                if pd.notna(latest):
                    stamps.append(latest)
    return Coverage(
        first_deployment=first if first is not None and pd.notna(first) else None,
        last_event=max(stamps) if stamps else None,
    )


def check_environment(events: EventSet, environment: str, where: str) -> None:
    """An environment with no deployment while the source has deployments of others is a typo: InputError."""
    deps = events.deployments
    if not len(deps):
        return
    present = sorted({str(e) for e in deps["environment"].dropna().astype(str)})
    if environment not in present:
        raise InputError("no deployment of this environment in the source", file=where, column="environment",
                         value=environment, expected=" or ".join(present))


def _day(ts: pd.Timestamp | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts is not None else "unknown"


def coverage_notes(span: Coverage, current: DoraReport, cur_covered: bool, prev_covered: bool,
                   environment: str) -> list[str]:
    """Honest data-quality notes about where the data starts and ends relative to this iteration."""
    out: list[str] = []
    since, until = current.window.since, current.window.until
    first, last = span.first_deployment, span.last_event
    if first is None:
        return out
    if not cur_covered:
        where = (f"it ends before the first {environment} deployment in the data, {_day(first)}" if until <= first
                 else f"it starts after the last event in the data, {_day(last)}")
        out.append(
            f"Not enough data: this iteration lies outside the data ({where}). Nothing is measured, no change "
            "is claimed, no action is proposed and earlier action items are not measurable."
        )
        return out
    if since < first:
        out.append(
            f"The data starts inside this iteration: the first {environment} deployment in the data is at "
            f"{_day(first)}; deployments before it, if any, are not in the data, so deployment frequency may "
            "be underestimated."
        )
    if not prev_covered:
        out.append(
            f"The previous iteration lies before the first {environment} deployment in the data "
            f"({_day(first)}): no comparison, no change is claimed."
        )
    if current.metrics.deployment_frequency.n == 0:
        out.append(
            f"No {environment} deployment in this iteration, while the data has deployments before or after "
            "it: deployment frequency is 0/week (a measurement, not missing data)."
        )
    return out


__all__ = ["Coverage", "check_environment", "coverage", "coverage_notes"]

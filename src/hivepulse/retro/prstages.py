"""The pull-request stage breakdown of a ``source: store`` retro, typed.

The store keeps every merged pull request's times (``hivepulse.store.pr_stages``: coding, pickup, review,
deploy); :func:`load` summarises the pull requests merged in the iteration with
``hivepulse.store.pr_stage_summary`` into a :class:`StageSummary` that the result, ``metrics.json``
(``pr_stages``) and the report's lead-time section read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from hivepulse.metrics.results import JSONObject


def _hours(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 4) if math.isfinite(number) else None


@dataclass(frozen=True)
class StageRow:
    """One stage: pull requests with it known (``n``), median / p75 / p90 hours and its share of stage time."""

    stage: str
    n: int
    median_hours: float | None
    p75_hours: float | None
    p90_hours: float | None
    share: float | None

    def to_dict(self) -> JSONObject:
        return {"stage": self.stage, "n": self.n, "median_hours": self.median_hours, "p75_hours": self.p75_hours,
                "p90_hours": self.p90_hours, "share": self.share}


@dataclass(frozen=True)
class StageSummary:
    """The stage breakdown of the pull requests merged in the iteration: ``pull_requests`` counted,
    ``complete`` of them with all four stages known (the shares are computed over those)."""

    rows: tuple[StageRow, ...]
    pull_requests: int
    complete: int
    repository: str = ""

    def to_dict(self) -> JSONObject:
        return {"pull_requests": self.pull_requests, "complete": self.complete,
                "repository": self.repository or None, "stages": [r.to_dict() for r in self.rows]}


def load(store: str | None, *, repository: str = "", since: date, until: date) -> StageSummary:
    """The stage summary of the pull requests merged in ``[since, until)`` (UTC) in ``store``."""
    from hivepulse.store import STAGES, pr_stage_summary, pr_stages

    frame = pr_stages(store, repository=repository or None, since=since.isoformat(), until=until.isoformat())
    summary = pr_stage_summary(frame)
    rows = tuple(
        StageRow(str(r["stage"]), int(r["n"]), _hours(r["median_hours"]), _hours(r["p75_hours"]),
                 _hours(r["p90_hours"]), None if r["share"] is None or r["share"] != r["share"]
                 else round(float(r["share"]), 4))
        for r in summary.to_dict("records")
    )
    complete = int(frame[[f"{s}_hours" for s in STAGES]].notna().all(axis=1).sum()) if len(frame) else 0
    return StageSummary(rows, int(len(frame)), complete, repository)


__all__ = ["StageRow", "StageSummary", "load"]

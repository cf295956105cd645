"""Figures the retro reads from the engine's tables of one iteration: lead-time stages, batch sizes and
unrecovered failures (rules in docs/action-items.md)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hivepulse.metrics.results import DoraReport
from hivepulse.retro.facts import StageShares, StageStat
from hivepulse.vocabulary import STAGES


def stage_table(lead_times: pd.DataFrame) -> pd.DataFrame:
    """Rows of changes that have all four stage durations (hours), columns ``coding``..``deploy``."""
    cols = [f"{s}_hours" for s in STAGES]
    if lead_times.empty or not all(c in lead_times.columns for c in cols):
        return pd.DataFrame(columns=list(STAGES), dtype=float)
    frame = lead_times[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    frame.columns = list(STAGES)
    return frame.dropna().clip(lower=0.0).reset_index(drop=True)


def stage_summary(lead_times: pd.DataFrame) -> StageShares | None:
    """Per stage: the median hours, the share (stage hours / all stage hours, summed over PR changes) and the
    share of PR changes where it is the longest stage; ``None`` without pull-request data."""
    table = stage_table(lead_times)
    if table.empty:
        return None
    total = float(table.to_numpy().sum())
    largest = table.idxmax(axis=1)
    stats = {
        stage: StageStat(
            median_hours=float(table[stage].median()),
            share=float(table[stage].sum() / total) if total > 0 else 0.0,
            largest_share=float((largest == stage).mean()),
            n=len(table),
        )
        for stage in STAGES
    }
    return StageShares(**stats)


@dataclass(frozen=True)
class StagePart:
    """One part of the lead-time breakdown: its share of all counted lead time and its length on the bar
    (share x the median lead time), with the stage's own median over the changes that have it."""

    stage: str
    share: float
    hours: float
    median_hours: float | None
    n: int


@dataclass(frozen=True)
class StageBreakdown:
    """The median lead time split into the four stages and an *unattributed* part, so the parts add up to the
    median (docs/retro.md, "Lead time"): ``parts`` are the stages then ``unattributed`` (time of changes or
    spans without pull-request times)."""

    median_hours: float
    n: int
    n_with_stages: int
    parts: tuple[StagePart, ...]

    def part(self, stage: str) -> StagePart:
        return next(p for p in self.parts if p.stage == stage)


UNATTRIBUTED = "unattributed"


def stage_breakdown(lead_times: pd.DataFrame) -> StageBreakdown | None:
    """The breakdown of the iteration's median lead time (``None`` without counted changes).

    Medians do not add (the median of sums is not the sum of medians), so the bar is built from **time
    shares**: a stage's share is the sum of its hours over every counted change (0 where a change has no
    time for it) divided by the sum of all lead times; *unattributed* is the rest (direct pushes, missing or
    negative pull-request times). Each part is drawn as ``share x median lead time``, so the parts add up to
    the median exactly. The stages' own medians (over the changes that have that stage) are kept beside.
    """
    if lead_times.empty or "lead_time_hours" not in lead_times.columns:
        return None
    lead = pd.to_numeric(lead_times["lead_time_hours"], errors="coerce").astype(float)
    keep = lead.notna() & (lead >= 0)
    lead = lead[keep]
    if lead.empty:
        return None
    median = float(lead.median())
    total = float(lead.sum())
    parts: list[StagePart] = []
    attributed = 0.0
    for stage in STAGES:
        col = f"{stage}_hours"
        hours = (pd.to_numeric(lead_times.loc[keep.to_numpy(), col], errors="coerce").astype(float).clip(lower=0)
                 if col in lead_times.columns else pd.Series([], dtype=float))
        known = hours.dropna()
        share = float(known.sum() / total) if total > 0 else 0.0
        attributed += share
        parts.append(StagePart(stage, share, share * median, float(known.median()) if len(known) else None,
                               len(known)))
    rest = max(0.0, 1.0 - attributed) if total > 0 else 1.0
    parts.append(StagePart(UNATTRIBUTED, rest, rest * median, None, 0))
    with_stages = len(stage_table(lead_times))
    return StageBreakdown(median, len(lead), with_stages, tuple(parts))


def batch_sizes(report: DoraReport) -> pd.Series:
    """Changes per counted deployment of the iteration (the deployments table's ``changes`` column)."""
    frame = report.deployments
    if frame.empty:
        return pd.Series([], dtype=float)
    frame = frame[frame["counted"].fillna(False).astype(bool)]
    return pd.to_numeric(frame["changes"], errors="coerce").dropna().astype(float).reset_index(drop=True)


def failed_unrecovered(report: DoraReport) -> tuple[int, int]:
    """``(failed, unrecovered)``: failed deployments of the iteration and those with no recovery."""
    recoveries = report.recoveries
    if recoveries.empty:
        return 0, 0
    status = recoveries["recovery_status"].astype(object)
    return len(recoveries), int((status == "unrecovered").sum())


__all__ = ["UNATTRIBUTED", "StageBreakdown", "StagePart", "batch_sizes", "failed_unrecovered", "stage_breakdown",
           "stage_summary", "stage_table"]

"""Figures the retro reads from the engine's tables of one iteration: lead-time stages, batch sizes and
unrecovered failures (rules in docs/action-items.md)."""

from __future__ import annotations

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


__all__ = ["batch_sizes", "failed_unrecovered", "stage_summary", "stage_table"]

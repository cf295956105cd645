"""*What went well* and *What to improve*: statements backed by numbers; only significant changes are claimed
as improvements or regressions (docs/retro.md, "Sections")."""

from __future__ import annotations

from collections.abc import Sequence

from hivepulse.metrics.results import DoraReport, Metric
from hivepulse.retro.facts import Claim, Claims, Iteration
from hivepulse.retro.fmt import evidence_line, fmt_value, number
from hivepulse.vocabulary import METRIC_LABEL, METRICS, SMALL_SAMPLE

STREAK_MIN = 3
"""Consecutive iterations (current included) at high or elite that make a streak worth saying."""
SMALL_FLAG = "small sample, read with care"
"""Appended to a claim on fewer than :data:`hivepulse.vocabulary.SMALL_SAMPLE` observations."""


def _small(block: Metric) -> str:
    """`` (small sample, read with care)`` when the metric has fewer than ``SMALL_SAMPLE`` observations."""
    return f" ({SMALL_FLAG})" if block.n < SMALL_SAMPLE else ""


def claims(current: DoraReport, history: Sequence[Iteration] = ()) -> Claims:
    """The claims of ``current`` (figures as published), with ``history`` the earlier iterations, oldest first.

    Only significant changes are claimed as improvements or regressions. *Went well* also lists metrics at
    elite and streaks (``STREAK_MIN`` or more consecutive iterations, ending with this one, at high or elite;
    an iteration outside the data ends a streak). *To improve* also lists metrics below high (tier medium or
    low) as facts, without claiming a change. Elite, below-high and streak statements on fewer than
    ``SMALL_SAMPLE`` observations (in any iteration of the streak) end with ``(small sample, read with
    care)``; significance tests already account for n.
    """
    went: list[Claim] = []
    worse: list[Claim] = []
    for metric in METRICS:
        block = current.metric(metric)
        comp = current.comparison.get(metric) if current.comparison is not None else None
        label = METRIC_LABEL.get(metric, metric)
        if comp is not None and comp.claimed:
            p = number(comp.p_value)
            p_txt = f", p={p:.3f}" if p is not None else ""
            prev = number(comp.previous_value)
            prev_txt = f" from {fmt_value(metric, prev)} (n={comp.previous_n})" if prev is not None else ""
            text = f"{label}{prev_txt} to {evidence_line(metric, block).removeprefix(label + ' ')}{p_txt}"
            if comp.direction == "improved":
                went.append(Claim("improved", metric, f"Improved: {text}"))
            else:
                worse.append(Claim("regressed", metric, f"Regressed: {text}"))
        tier = block.tier
        if tier == "elite" and block.n > 0:
            went.append(Claim("elite", metric, f"Elite: {evidence_line(metric, block)}{_small(block)}"))
        elif tier in ("medium", "low"):
            worse.append(Claim("below_tier", metric, f"Below high: {evidence_line(metric, block)}{_small(block)}"))
        if history and tier in ("elite", "high"):
            streak, small = 1, bool(_small(block))
            for past in reversed(history):
                if not past.covered:
                    break
                past_block = past.report.metric(metric)
                if past_block.tier in ("elite", "high"):
                    streak += 1
                    small = small or bool(_small(past_block))
                else:
                    break
            if streak >= STREAK_MIN:
                flag = f" ({SMALL_FLAG})" if small else ""
                went.append(
                    Claim("streak", metric, f"Streak: {label} at high or elite for {streak} iterations{flag}")
                )
    return Claims(went_well=went, to_improve=worse)


__all__ = ["SMALL_FLAG", "STREAK_MIN", "claims"]

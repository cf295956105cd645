"""*What went well*, *What to improve* and the *watch* list: statements backed by numbers (docs/retro.md, "What
went well, what to improve").

The story holds together:

- *What to improve* lists each **tier drop** against the previous iteration (``Dropped a tier``, whether the
  change is significant or not), each **significant worsening** (``Regressed``) and each metric **below high**
  (medium or low), in that order; the result adds the signal behind every action item in front of them
  (:meth:`hivepulse.retro.result.RetroResult.story`);
- the **watch** list holds each metric that got worse without a significant test and without a tier drop: not a
  claim, a thing to look at next time;
- *What went well* claims significant improvements, metrics at elite and streaks at high or elite, but never for
  a metric that dropped a tier this iteration or worsened significantly.

"Worse" and "better" follow each metric's polarity (:func:`hivepulse.vocabulary.polarity`).
"""

from __future__ import annotations

from collections.abc import Sequence

from hivepulse.metrics.results import DoraReport, Metric, MetricChange
from hivepulse.retro.facts import Claim, Claims, Iteration
from hivepulse.retro.fmt import evidence_line, fmt_value, number
from hivepulse.vocabulary import METRIC_LABEL, METRICS, SMALL_SAMPLE, TIER_ORDER, polarity

STREAK_MIN = 3
"""Consecutive iterations (current included) at high or elite that make a streak worth saying."""
SMALL_FLAG = "small sample, read with care"
"""Appended to a claim on fewer than :data:`hivepulse.vocabulary.SMALL_SAMPLE` observations."""


def _small(block: Metric) -> str:
    """`` (small sample, read with care)`` when the metric has fewer than ``SMALL_SAMPLE`` observations."""
    return f" ({SMALL_FLAG})" if block.n < SMALL_SAMPLE else ""


def worse(metric: str, change: MetricChange | None) -> bool:
    """Whether the value moved the bad way against the previous iteration (significant or not): the sign of
    ``delta`` times the metric's polarity is negative."""
    if change is None:
        return False
    delta = number(change.delta)
    return delta is not None and delta * polarity(metric) < 0


def dropped_from(metric: str, current: DoraReport, previous: Iteration | None) -> str | None:
    """The previous tier when ``metric`` is in a worse tier now than in the previous iteration (inside the
    data), else ``None``."""
    if previous is None or not previous.covered:
        return None
    now, then = current.metric(metric).tier, previous.report.metric(metric).tier
    if now in TIER_ORDER and then in TIER_ORDER and TIER_ORDER.index(now) > TIER_ORDER.index(then):
        return then
    return None


def _p_text(change: MetricChange | None) -> str:
    p = number(change.p_value) if change is not None else None
    return f"p={p:.3f}" if p is not None else "no test"


def claims(current: DoraReport, history: Sequence[Iteration] = ()) -> Claims:
    """The claims of ``current`` (figures as published), with ``history`` the earlier iterations, oldest first
    (the last one is the previous iteration; module docstring for the rules).

    Only significant changes are claimed as improvements or regressions. Elite, below-high and streak
    statements on fewer than ``SMALL_SAMPLE`` observations (in any iteration of the streak) end with ``(small
    sample, read with care)``; significance tests already account for n.
    """
    went: list[Claim] = []
    drops: list[Claim] = []
    regressed: list[Claim] = []
    below: list[Claim] = []
    watch: list[Claim] = []
    previous = history[-1] if history else None
    for metric in METRICS:
        block = current.metric(metric)
        comp = current.comparison.get(metric) if current.comparison is not None else None
        label = METRIC_LABEL.get(metric, metric)
        prev = number(comp.previous_value) if comp is not None else None
        prev_txt = f" from {fmt_value(metric, prev)} (n={comp.previous_n})" if comp is not None and prev is not None \
            else ""
        now_txt = evidence_line(metric, block).removeprefix(label + " ")
        significant_worse = comp is not None and comp.claimed and comp.direction == "regressed"
        dropped = dropped_from(metric, current, previous)
        if comp is not None and comp.claimed:
            text = f"{label}{prev_txt} to {now_txt}, {_p_text(comp)}"
            if comp.direction == "improved":
                went.append(Claim("improved", metric, f"Improved: {text}"))
            else:
                regressed.append(Claim("regressed", metric, f"Regressed: {text}"))
        if dropped is not None:
            how = "significant" if significant_worse else f"the change is not significant, {_p_text(comp)}"
            drops.append(Claim("tier_drop", metric, f"Dropped a tier: {label} {dropped} -> {block.tier}"
                                                    f"{prev_txt} to {now_txt}{_small(block)}; {how}"))
        elif not significant_worse and worse(metric, comp) and comp is not None and comp.p_value is not None:
            watch.append(Claim("watch", metric, f"Watch: {label}{prev_txt} to {now_txt}: worse, but not "
                                                f"significantly ({_p_text(comp)})"))
        tier = block.tier
        celebrate = dropped is None and not significant_worse
        if tier == "elite" and block.n > 0 and celebrate:
            went.append(Claim("elite", metric, f"Elite: {evidence_line(metric, block)}{_small(block)}"))
        elif tier in ("medium", "low"):
            below.append(Claim("below_tier", metric,
                                    f"Below high: {evidence_line(metric, block)}{_small(block)}"))
        if history and tier in ("elite", "high") and celebrate:
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
    return Claims(went_well=went, to_improve=drops + regressed + below, watch=watch)


__all__ = ["SMALL_FLAG", "STREAK_MIN", "claims", "dropped_from", "worse"]

"""Profiling findings as signals: a ``problem`` finding of the profiling run that counts for the iteration
becomes a ``finding`` signal with RICE terms from the profile data (docs/action-items.md, "Profiling
findings"); good news and context are evidence only."""

from __future__ import annotations

import math

from hivepulse.retro.facts import FindingRef, Signal
from hivepulse.retro.fmt import count, fmt_value
from hivepulse.retro.profiling import Finding, finding_key
from hivepulse.retro.rice import confidence_from_n, gap_impact
from hivepulse.vocabulary import direction

FINDING_CONFIDENCE_CAP = 0.8
"""A profiling run measures a lab set-up (replay server, synthetic load), not production traffic: the RICE
confidence of a finding is at most this."""
UNSIGNIFICANT_FACTOR = 0.5
"""A finding that rests on a comparison which was not significant has its confidence multiplied by this."""


def gap(value: float, threshold: float, better: str | None) -> float | None:
    """Relative gap of ``value`` beyond ``threshold`` in the bad direction (0 when on the good side):
    lower-is-better ``(value - threshold) / |threshold|``, higher-is-better ``(threshold - value) /
    |threshold|``; a threshold of 0 makes any excess infinite. ``None`` when the direction is unknown."""
    if better not in ("higher", "lower"):
        return None
    excess = value - threshold if better == "lower" else threshold - value
    if excess <= 0:
        return 0.0
    return math.inf if threshold == 0 else excess / abs(threshold)


def finding_confidence(n: int, significant: bool | None) -> float:
    """RICE confidence of a finding: :func:`~hivepulse.retro.rice.confidence_from_n` of its n, times
    :data:`UNSIGNIFICANT_FACTOR` when its comparison was not significant, capped at
    :data:`FINDING_CONFIDENCE_CAP`."""
    conf = confidence_from_n(n) * (UNSIGNIFICANT_FACTOR if significant is False else 1.0)
    return min(conf, FINDING_CONFIDENCE_CAP)


def finding_signal(finding: Finding) -> Signal | None:
    """The ``finding`` signal of a profiling finding, or ``None`` when it is not a problem.

    Only ``kind: problem`` findings with a metric and a numeric value become signals. RICE terms: reach = the
    finding's ``reach`` (share of requests affected; 1.0 when absent), impact = the gap between ``value`` and
    ``threshold`` in the metric's direction, confidence = :func:`finding_confidence` of ``n`` and
    ``significant``.
    """
    metric = finding.metric.strip()
    value = None if finding.value is None else float(finding.value)
    if not metric or finding.kind != "problem" or value is None:
        return None
    better = direction(metric, finding.better)
    threshold = finding.threshold
    n = count(finding.n)
    reach = 1.0 if finding.reach is None else min(max(finding.reach, 0.0), 1.0)
    text = finding.text or f"{metric} {fmt_value(metric, value)} (n={n})"
    how = finding.reach_text
    return Signal(
        kind="finding",
        metric=metric,
        evidence=f"{text}; reach: {how}" if how else text,
        reach=reach,
        impact=gap_impact(gap(value, threshold, better) if threshold is not None else None),
        confidence=finding_confidence(n, finding.significant),
        value=value,
        n=n,
        details=FindingRef(scenario=finding.scenario, threshold=threshold, better=better,
                           significant=finding.significant, measurement=finding_key(metric, finding.scenario)),
    )


__all__ = ["FINDING_CONFIDENCE_CAP", "UNSIGNIFICANT_FACTOR", "finding_confidence", "finding_signal", "gap"]

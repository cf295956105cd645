"""RICE terms and scores (docs/action-items.md, "RICE").

``score = reach x impact x confidence / effort x (1 + VOTE_WEIGHT x votes)``: reach, impact and confidence
come from a signal, effort (person-weeks) from the catalog entry, votes from the team's notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

VOTE_WEIGHT = 0.1
"""Each vote on a matching *to improve* note adds 10% to an action's score."""

TIER_IMPACT: Mapping[str, float] = MappingProxyType({"low": 3.0, "medium": 2.0, "high": 1.0, "elite": 0.5})
"""RICE impact by the tier of the metric concerned (3 massive, 2 high, 1 medium, 0.5 low)."""

GAP_IMPACT: tuple[tuple[float, float], ...] = ((1.0, 3.0), (0.5, 2.0), (0.2, 1.0), (0.1, 0.5))
"""RICE impact of a finding from its relative gap to the threshold (first row whose gap it reaches; below
the last row 0.25): twice the threshold or worse -> 3, 50% -> 2, 20% -> 1, 10% -> 0.5."""


def confidence_from_n(n: int) -> float:
    """RICE confidence from a sample size: >= 30 -> 1.0, >= 10 -> 0.8, >= 3 -> 0.5, else 0.3."""
    if n >= 30:
        return 1.0
    if n >= 10:
        return 0.8
    if n >= 3:
        return 0.5
    return 0.3


def gap_impact(relative_gap: float | None) -> float:
    """RICE impact (0.25-3) from a finding's relative gap to its threshold (:data:`GAP_IMPACT`); 1 when
    there is no threshold to measure a gap against."""
    if relative_gap is None:
        return 1.0
    for at_least, impact in GAP_IMPACT:
        if relative_gap >= at_least:
            return impact
    return 0.25


def rice(reach: float, impact: float, confidence: float, effort: float, votes: int = 0) -> float:
    """RICE score with the vote boost, rounded to 4 decimals (dimensionless)."""
    return round(reach * impact * confidence / effort * (1 + VOTE_WEIGHT * max(votes, 0)), 4)


__all__ = ["GAP_IMPACT", "TIER_IMPACT", "VOTE_WEIGHT", "confidence_from_n", "gap_impact", "rice"]

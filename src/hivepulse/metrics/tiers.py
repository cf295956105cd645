"""DORA performance tiers (elite / high / medium / low) from the shipped table ``data/tiers.yaml``.

Editions ``"2023"`` and ``"2024"``. Classification uses the edition's monotonic ``cutoffs``; the published
survey ``clusters`` are kept for display only (see ``docs/metrics.md``, "Tiers").
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from hivepulse.errors import InputError
from hivepulse.vocabulary import TIERED_METRICS

Tier = Literal["elite", "high", "medium", "low"]
TIER_ORDER: tuple[Tier, ...] = ("elite", "high", "medium", "low")
"""Best first; the same order as :data:`hivepulse.vocabulary.TIER_ORDER` (typed as :data:`Tier`)."""
_OPS = {">=": operator.ge, "<": operator.lt, "<=": operator.le}


@lru_cache(maxsize=1)
def load_table() -> Mapping[str, Any]:
    """The parsed ``tiers.yaml`` (cached)."""
    text = resources.files("hivepulse").joinpath("data/tiers.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def editions() -> list[str]:
    """Available edition names, e.g. ``["2023", "2024"]``."""
    return sorted(load_table()["editions"])


def edition(name: str) -> Mapping[str, Any]:
    """One edition's table; unknown names raise :class:`InputError` (exit 2)."""
    table = load_table()["editions"]
    if str(name) not in table:
        raise InputError("unknown tier edition", value=name, expected=" or ".join(editions()))
    return table[str(name)]


def classify(metric: str, value: float | None, edition_name: str = "2024") -> Tier | None:
    """Tier of ``value`` for ``metric`` (lead_time, change_fail_rate, recovery_time); ``None`` if no value.

    Units: lead_time and recovery_time in hours (median), change_fail_rate as a fraction. Use
    :func:`classify_frequency` for deployment frequency.
    """
    if value is None:
        return None
    if metric == "deployment_frequency":
        raise ValueError("use classify_frequency(deployments, window_days) for deployment frequency")
    cut = edition(edition_name)["cutoffs"][metric]
    op = _OPS[cut["operator"]]
    for tier in TIER_ORDER[:3]:
        if op(value, cut[tier]):
            return tier
    return "low"


def classify_frequency(deployments: int, window_days: float, edition_name: str = "2024") -> Tier | None:
    """Tier of a deployment count over ``window_days`` days.

    A tier "at least one deployment per N days" holds when ``deployments * N >= window_days`` (exact, no
    division). ``None`` only for an empty window (``window_days <= 0``); zero deployments are ``"low"``.
    """
    if window_days <= 0:
        return None
    per_days = edition(edition_name)["cutoffs"]["deployment_frequency"]["per_days"]
    for tier in TIER_ORDER[:3]:
        if deployments * per_days[tier] >= window_days:
            return tier
    return "low"


def next_tier_cutoff(metric: str, tier: str | None, edition_name: str = "2024") -> tuple[Tier, float] | None:
    """``(next_tier, cutoff)`` to reach from ``tier`` for ``metric``, in the metric's unit (hours, fraction,
    deployments per week); ``None`` when elite, untiered, unknown or the edition is unknown."""
    if tier not in TIER_ORDER or tier == "elite" or metric not in TIERED_METRICS:
        return None
    try:
        cut = edition(edition_name)["cutoffs"].get(metric)
    except InputError:  # unknown edition: no cut-off
        return None
    if not cut:
        return None
    nxt = TIER_ORDER[TIER_ORDER.index(tier) - 1]
    if metric == "deployment_frequency":
        return nxt, 7.0 / float(cut["per_days"][nxt])
    return nxt, float(cut[nxt])


__all__ = ["TIERED_METRICS", "TIER_ORDER", "Tier", "classify", "classify_frequency", "edition", "editions",
           "load_table", "next_tier_cutoff"]

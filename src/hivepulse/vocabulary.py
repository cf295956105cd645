"""The project's vocabulary: metric names, which way is better, units, labels and shared thresholds.

The one place that says so. (Foundation module: no hivepulse imports, so the DORA engine, the retro and the
profiling harness share it without importing each other.) Everything that names a DORA metric, its unit, its
label or its direction reads it from here; nothing keeps a copy.

- :data:`METRICS` are the five DORA metrics in display order; :data:`DORA` holds one :class:`MetricInfo` per
  metric (JSON unit, unit symbol, label, chart axis, direction, tiered or not). :data:`METRIC_LABEL`,
  :data:`UNIT` and :data:`UNIT_SYMBOL` are views of that table.
- :data:`DIRECTION` gives the direction (``"higher"`` or ``"lower"`` is better) of every known metric: the
  five DORA metrics, the retro's measurements and the profiling findings; :func:`direction` adds the
  lower-is-better suffix families and a team's own declaration. :func:`polarity` is the DORA comparison's
  sign (+1 higher is better, -1 lower is better).
- Shared thresholds: :data:`SMALL_SAMPLE` (``data_quality.small_samples`` of the engine, the small-sample
  flags of the retro's claims and headline), :data:`TIER_ORDER`, :data:`STAGES`.
- :func:`normalize_name`: how an environment name is compared (without letter case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

Direction = Literal["higher", "lower"]
HIGHER: Final = "higher"
LOWER: Final = "lower"

METRICS: tuple[str, ...] = ("deployment_frequency", "lead_time", "change_fail_rate", "recovery_time", "rework_rate")
"""The five DORA metrics, in display order (the order of the JSON contract, the tables and the charts)."""

SMALL_SAMPLE: Final = 5
"""A metric with fewer observations than this is a small sample: listed in the engine's
``data_quality.small_samples``, flagged in the retro's claims and headline (docs/metrics.md, section 10)."""

TIER_ORDER: tuple[str, ...] = ("elite", "high", "medium", "low")
"""DORA performance tiers, best first (``data/tiers.yaml``)."""

STAGES: tuple[str, ...] = ("coding", "pickup", "review", "deploy")
"""Lead-time stages of a pull-request change, in order (columns ``<stage>_hours`` of the engine's
``lead_times`` table: commit -> PR opened -> first review -> merged -> deployed)."""


@dataclass(frozen=True)
class MetricInfo:
    """How one DORA metric is named and read.

    ``unit``: the unit of the JSON contract (``hours``); ``symbol``: the short unit of the retro's figures
    (``h``); ``label``: the retro's name for it (``lead time median``); ``title``: the name in the metrics
    table (``Change lead time (median)``); ``axis``: the chart axis label; ``tiered``: whether DORA tiers
    classify it.
    """

    name: str
    unit: str
    symbol: str
    label: str
    title: str
    axis: str
    direction: Direction
    tiered: bool = True


DORA: Mapping[str, MetricInfo] = MappingProxyType({
    "deployment_frequency": MetricInfo("deployment_frequency", "deployments/week", "/week", "deployment frequency",
                                       "Deployment frequency", "deployments / week", HIGHER),
    "lead_time": MetricInfo("lead_time", "hours", "h", "lead time median", "Change lead time (median)",
                            "hours (median)", LOWER),
    "change_fail_rate": MetricInfo("change_fail_rate", "fraction", "%", "change fail rate", "Change fail rate",
                                   "% of deployments", LOWER),
    "recovery_time": MetricInfo("recovery_time", "hours", "h", "recovery time median", "Recovery time (median)",
                                "hours (median)", LOWER),
    "rework_rate": MetricInfo("rework_rate", "fraction", "%", "rework rate", "Rework rate", "% of deployments",
                              LOWER, tiered=False),
})
"""The five DORA metrics (docs/metrics.md), keyed by name, in :data:`METRICS` order."""

METRIC_LABEL: Mapping[str, str] = MappingProxyType({m: i.label for m, i in DORA.items()})
"""The retro's label of each DORA metric (``lead time median``)."""
UNIT: Mapping[str, str] = MappingProxyType({m: i.unit for m, i in DORA.items()})
"""The JSON contract's unit of each DORA metric (``hours``, ``fraction``, ``deployments/week``)."""
UNIT_SYMBOL: Mapping[str, str] = MappingProxyType({m: i.symbol for m, i in DORA.items()})
"""The short unit of each DORA metric in the retro's figures (``h``, ``%``, ``/week``)."""
TIERED_METRICS: tuple[str, ...] = tuple(m for m, i in DORA.items() if i.tiered)
"""The DORA metrics that tiers classify (all but rework rate)."""

DIRECTION: Mapping[str, Direction] = MappingProxyType({
    # DORA metrics (docs/metrics.md)
    **{m: i.direction for m, i in DORA.items()},
    # retro measurements (hivepulse.retro.measure)
    "changes_per_deployment": LOWER,  # median count
    "unrecovered_failures": LOWER,  # count
    # profiling findings (hivepulse.bench.findings, docs/profiling.md)
    "p50_ms": LOWER,
    "p99_ms": LOWER,
    "speedup_p50": HIGHER,  # baseline p50 / scenario p50 (x)
    "hit_ratio": HIGHER,  # hits / (hits + misses)
    "upstream_calls_per_1000": LOWER,
    "upstream_calls_saved": HIGHER,  # 1 - calls / baseline calls
    "upstream_wait_share": LOWER,  # share of request time spent waiting on the upstream API
    "naive_client_overhead": LOWER,  # uncached naive p50 / uncached pooled p50 (x)
    "errors": LOWER,  # failed requests (count)
    "baseline_ratio": LOWER,  # current median / baseline-run median (x)
    "cpu_s_per_request": LOWER,
    "profiler_unavailable": LOWER,
})
"""Explicit direction of every known metric. Patterns cover the families: ``<stage>_hours_median`` and
``<stage>_share`` (lead-time stages) and any ``*_ms`` latency are lower-is-better."""

_LOWER_SUFFIXES = ("_hours_median", "_share", "_ms", "_hours")


def direction(metric: str, declared: str | None = None) -> Direction | None:
    """``"higher"`` / ``"lower"`` for ``metric``, or ``None`` when unknown.

    The table wins; then the lower-is-better suffixes; then ``declared`` (a team-made finding's ``better``
    field, ``"higher"`` or ``"lower"``). ``None`` means no target can be set and no problem can be told.
    """
    if metric in DIRECTION:
        return DIRECTION[metric]
    if metric.endswith(_LOWER_SUFFIXES):
        return LOWER
    if declared == HIGHER:
        return HIGHER
    if declared == LOWER:
        return LOWER
    return None


def polarity(metric: str) -> int:
    """+1 when a larger value of ``metric`` is better, -1 when a smaller one is, 0 when unknown (the sign the
    DORA comparison multiplies a shift by, docs/metrics.md section 11)."""
    d = direction(metric)
    return 1 if d == HIGHER else -1 if d == LOWER else 0


def higher_is_better(metric: str, declared: str | None = None) -> bool:
    """Whether a larger value of ``metric`` is better (False also when the direction is unknown)."""
    return direction(metric, declared) == HIGHER


def is_better(metric: str, value: float, than: float, declared: str | None = None) -> bool:
    """Whether ``value`` is strictly better than ``than`` for ``metric`` (False when the direction is
    unknown)."""
    d = direction(metric, declared)
    if d == HIGHER:
        return value > than
    if d == LOWER:
        return value < than
    return False


def better_comparator(metric: str, declared: str | None = None) -> str | None:
    """``>=`` (higher is better), ``<=`` (lower is better) or ``None`` (unknown)."""
    d = direction(metric, declared)
    return ">=" if d == HIGHER else "<=" if d == LOWER else None


HIGHER_IS_BETTER = frozenset(m for m, d in DIRECTION.items() if d == HIGHER)
"""The known metrics where a larger value is better (from :data:`DIRECTION`)."""

def normalize_name(text: str) -> str:
    """A name compared without letter case (an environment): stripped, in lower case (``str.lower``).

    Every path that reads an environment name (event files, the deployments file, tag patterns, ``--env``,
    ``--deploy-env``, the retro's ``environment`` parameter, :class:`hivepulse.metrics.config.MetricsConfig`)
    calls this, so ``PRODUCTION``, ``Production`` and ``production`` are one environment."""
    return text.strip().lower()


__all__ = ["DIRECTION", "DORA", "HIGHER", "HIGHER_IS_BETTER", "LOWER", "METRICS", "METRIC_LABEL", "SMALL_SAMPLE",
           "STAGES", "TIERED_METRICS", "TIER_ORDER", "UNIT", "UNIT_SYMBOL", "Direction", "MetricInfo",
           "better_comparator", "direction", "higher_is_better", "is_better", "normalize_name", "polarity"]

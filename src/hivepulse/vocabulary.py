"""The project's vocabulary: metric names and which way is better, the one place that says so.

(Foundation module: no hivepulse imports, so the DORA engine, the retro and the profiling harness share it
without importing each other.)

Used for action-item targets (``>=`` or ``<=``, ``relative`` rules), follow-up comparators, the kind of a
profiling finding (problem or good news, :mod:`hivepulse.bench.findings`) and the gap of a finding to its
threshold. No dependencies, so the profiling harness can import it without the retro.

``"higher"``: a larger value is better; ``"lower"``: a smaller value is better. The DORA engine's own polarity
(``hivepulse.metrics.dora._POLARITY``) must agree (a test keeps them equal).
"""

from __future__ import annotations

HIGHER = "higher"
LOWER = "lower"

DIRECTION: dict[str, str] = {
    # DORA metrics (docs/metrics.md)
    "deployment_frequency": HIGHER,  # deployments per week
    "lead_time": LOWER,  # hours
    "change_fail_rate": LOWER,  # fraction of deployments
    "recovery_time": LOWER,  # hours
    "rework_rate": LOWER,  # fraction of deployments
    # retro measurements (hivepulse.retro.signals.measurements)
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
}
"""Explicit direction of every known metric. Patterns cover the families: ``<stage>_hours_median`` and
``<stage>_share`` (lead-time stages) and any ``*_ms`` latency are lower-is-better."""

_LOWER_SUFFIXES = ("_hours_median", "_share", "_ms", "_hours")


def direction(metric: str, declared: str | None = None) -> str | None:
    """``"higher"`` / ``"lower"`` for ``metric``, or ``None`` when unknown.

    The table wins; then the lower-is-better suffixes; then ``declared`` (a team-made finding's ``better``
    field, ``"higher"`` or ``"lower"``). ``None`` means no target can be set and no problem can be told.
    """
    if metric in DIRECTION:
        return DIRECTION[metric]
    if metric.endswith(_LOWER_SUFFIXES):
        return LOWER
    if declared in (HIGHER, LOWER):
        return declared
    return None


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

__all__ = ["DIRECTION", "HIGHER", "HIGHER_IS_BETTER", "LOWER", "better_comparator", "direction",
           "higher_is_better", "is_better"]

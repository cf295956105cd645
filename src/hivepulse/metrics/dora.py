"""The DORA engine's public API: pure functions from an :class:`~hivepulse.model.EventSet` to a typed
:class:`DoraReport`.

``compute(events, window, config)`` computes the five metrics of one environment over one window, each with
its n, a 95 % confidence interval and a tier; ``compare`` tests a window against the previous one;
``iterations`` computes consecutive windows. Every rule is written out in ``docs/metrics.md``; no I/O.

The engine is split by role: :mod:`~hivepulse.metrics.window` (the window and instants),
:mod:`~hivepulse.metrics.config` (settings), :mod:`~hivepulse.metrics.prepare` (window-independent
annotation), :mod:`~hivepulse.metrics.compute` (the metrics of a window), :mod:`~hivepulse.metrics.compare`
(tests) and :mod:`~hivepulse.metrics.results` (the typed results and the JSON contract). This module
re-exports what callers use.
"""

from __future__ import annotations

from hivepulse.metrics.compare import compare
from hivepulse.metrics.compute import compute, iterations
from hivepulse.metrics.config import MetricsConfig
from hivepulse.metrics.prepare import FAILURE_REASONS
from hivepulse.metrics.results import (
    SCHEMA_ID,
    Change,
    ChangeFailRate,
    Comparison,
    DataQuality,
    DeploymentFrequency,
    DoraReport,
    LeadTime,
    Metric,
    MetricChange,
    Metrics,
    RecoveryTime,
    ReworkRate,
    round_float,
)
from hivepulse.metrics.window import Window, parse_instant
from hivepulse.vocabulary import METRICS, SMALL_SAMPLE

__all__ = [
    "FAILURE_REASONS",
    "METRICS",
    "SCHEMA_ID",
    "SMALL_SAMPLE",
    "Change",
    "ChangeFailRate",
    "Comparison",
    "DataQuality",
    "DeploymentFrequency",
    "DoraReport",
    "LeadTime",
    "Metric",
    "MetricChange",
    "Metrics",
    "MetricsConfig",
    "RecoveryTime",
    "ReworkRate",
    "Window",
    "compare",
    "compute",
    "iterations",
    "parse_instant",
    "round_float",
]

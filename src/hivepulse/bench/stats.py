"""Latency statistics for the profiling harness. Pure functions, no I/O.

Rules (documented in ``docs/profiling.md``):

- **percentiles are nearest rank**: the p-th percentile of n sorted values is the value at 1-based rank
  ``ceil(p/100 * n)`` (rank 1 for p = 0), so every reported percentile is an observed sample;
  ``p50`` is therefore the lower middle value for an even n (:func:`hivepulse.quantiles.nearest_rank`, numpy's
  ``inverted_cdf``);
- **median** (timing harness) is the ordinary median (mean of the two middle values for an even n);
- **IQR** is ``p75 - p25``, both nearest rank;
- **bootstrap CIs** are seeded percentile bootstraps (``numpy.random.default_rng(seed)``, ``n_boot``
  resamples, bounds at the ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled statistic); the CI of a
  median is :func:`hivepulse.stats.bootstrap_median_ci` (the engine's, identical draws);
- a **speedup** is ``median(baseline) / median(candidate)``; its CI resamples both samples independently.

All values are in whatever unit the caller passes (the harness uses milliseconds for HTTP latency and
seconds per call for in-process timing).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from hivepulse.quantiles import nearest_rank
from hivepulse.stats import bootstrap_median_ci

_BOOT_CHUNK_CELLS = 2_000_000  # bounds bootstrap memory to ~16 MB per chunk


def median(values: Sequence[float] | np.ndarray) -> float | None:
    """Ordinary median; ``None`` for an empty sample."""
    arr = np.asarray(values, dtype=float)
    return float(np.median(arr)) if arr.size else None


def iqr(values: Sequence[float] | np.ndarray) -> float | None:
    """Interquartile range ``p75 - p25`` (nearest rank); ``None`` for an empty sample."""
    hi, lo = nearest_rank(values, 75), nearest_rank(values, 25)
    return None if hi is None or lo is None else hi - lo


def _boot_indices(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[np.ndarray]:
    rows = max(1, _BOOT_CHUNK_CELLS // max(n, 1))
    done = 0
    while done < n_boot:
        k = min(rows, n_boot - done)
        yield rng.integers(0, n, size=(k, n))
        done += k


def _boot_medians(arr: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    out = [np.median(arr[idx], axis=1) for idx in _boot_indices(rng, arr.size, n_boot)]
    return np.concatenate(out)


def speedup_ci(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, tuple[float, float]] | None:
    """``median(baseline) / median(candidate)`` and its bootstrap CI (both samples resampled).

    ``None`` when a sample is empty or a median is zero. Example: baseline [300, 310, 320], candidate
    [1, 2, 3] -> 310 / 2 = 155.
    """
    b = np.sort(np.asarray(baseline, dtype=float))
    c = np.sort(np.asarray(candidate, dtype=float))
    if b.size == 0 or c.size == 0:
        return None
    mb, mc = float(np.median(b)), float(np.median(c))
    if mc <= 0:
        return None
    rng = np.random.default_rng(seed)
    bm = _boot_medians(b, rng, n_boot) if b.size > 1 else np.full(n_boot, mb)
    cm = _boot_medians(c, rng, n_boot) if c.size > 1 else np.full(n_boot, mc)
    cm = np.where(cm <= 0, np.nan, cm)
    ratios = bm / cm
    ratios = ratios[~np.isnan(ratios)]
    if ratios.size == 0:
        return None
    return mb / mc, (float(np.quantile(ratios, alpha / 2)), float(np.quantile(ratios, 1 - alpha / 2)))


@dataclass(frozen=True)
class Summary:
    """A latency distribution: count and nearest-rank percentiles (same unit as the input)."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    min: float | None
    iqr: float | None
    median_ci: tuple[float, float] | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(values: Sequence[float] | np.ndarray, *, seed: int = 0, n_boot: int = 1000) -> Summary:
    """Count, p50/p90/p99/max/min (nearest rank), IQR and a bootstrap CI of the median."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return Summary(0, None, None, None, None, None, None, None)
    return Summary(
        count=int(arr.size),
        p50=nearest_rank(arr, 50),
        p90=nearest_rank(arr, 90),
        p99=nearest_rank(arr, 99),
        max=float(arr.max()),
        min=float(arr.min()),
        iqr=iqr(arr),
        median_ci=bootstrap_median_ci(arr, seed=seed, n_boot=n_boot),
    )


__all__ = ["Summary", "bootstrap_median_ci", "iqr", "median", "nearest_rank", "speedup_ci", "summarize"]

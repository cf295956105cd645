"""Nearest-rank percentiles: every reported percentile is an observed value.

(Foundation module: numpy only, no scipy and no hivepulse layer, so the replay server, the HiveBox and the
profiling harness share it without pulling in the statistics stack.)

Rule (docs/profiling.md): the p-th percentile (0 <= p <= 100) of n sorted values is the value at 1-based rank
``ceil(p/100 * n)``, rank 1 for p = 0. It is numpy's ``percentile(values, p, method="inverted_cdf")`` with one
guard: ``p/100 * n`` is computed in binary floating point, so an exact boundary such as 28 % of 25 values
(rank 7) comes out as ``7.000000000000001`` and numpy alone would pick rank 8. So the percentile handed to
numpy is lowered by ``100 * 1e-9 / n``, which lowers ``p/100 * n`` by ``1e-9``: that only moves a value lying
within ``1e-9`` of a rank boundary onto the boundary (tests/test_quantiles.py checks every p in steps of 0.5
for n = 1..300 against exact rational arithmetic and against the former hand-written rank formula).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RANK_TOLERANCE = 1e-9
"""How far below an integer ``p/100 * n`` may fall from floating-point noise and still be that rank."""


def nearest_rank(values: Sequence[float] | np.ndarray, p: float) -> float | None:
    """The ``p``-th percentile (0-100) of ``values`` by nearest rank; ``None`` for an empty sample.

    ``ValueError`` for ``p`` outside 0..100. Example: values 1..10, p = 90 -> rank ceil(0.9 * 10) = 9 -> 9.
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    arr = np.asarray(values, dtype=float).ravel()
    n = arr.size
    if n == 0:
        return None
    guarded = max(0.0, p - 100.0 * RANK_TOLERANCE / n)
    return float(np.percentile(arr, guarded, method="inverted_cdf"))


__all__ = ["RANK_TOLERANCE", "nearest_rank"]

"""In-process timing of hot-path functions (pyperf-style rigor, small and dependency-free).

Procedure of :func:`time_warm` (all times from ``time.perf_counter``):

1. **warm-up**: call the function for at least ``warmup_s`` seconds (at least once), results discarded;
2. **calibration**: double ``loops`` (starting at 1) until one batch of ``loops`` calls takes at least
   ``min_time_s``, so a measured value is far above the timer's resolution;
3. **repeats**: ``repeats`` batches of ``loops`` calls; each repeat yields one value = batch time / loops
   (seconds per call);
4. report the ordinary median of the values, their IQR (nearest rank), a seeded bootstrap CI of the median
   and nearest-rank percentiles.

:func:`time_cold` measures single calls, each preceded by an untimed ``reset()`` that really empties the
cache (for example ``FLUSHDB`` on Valkey or ``cache.clear()``); rows are labelled ``"cold"``.

Coroutine functions are supported: all calls of a run share one event loop (no ``asyncio.run`` per call,
which would dominate a sub-millisecond function).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hivepulse.bench.stats import bootstrap_median_ci, iqr, median, nearest_rank
from hivepulse.bench.util import run_coroutine

T = TypeVar("T")


@dataclass(frozen=True)
class TimingResult:
    """One timed function. ``values_s`` are seconds per call (one value per repeat, or per call if cold)."""

    name: str
    label: str  # "warm" or "cold"
    loops: int
    values_s: list[float]
    median_s: float
    iqr_s: float
    ci_s: tuple[float, float]
    p90_s: float
    p99_s: float
    max_s: float
    n: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", len(self.values_s))

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "loops": self.loops,
            "n": self.n,
            "median_s": self.median_s,
            "iqr_s": self.iqr_s,
            "ci_low_s": self.ci_s[0],
            "ci_high_s": self.ci_s[1],
            "p90_s": self.p90_s,
            "p99_s": self.p99_s,
            "max_s": self.max_s,
            "values_s": self.values_s,
        }


def _known(value: T | None) -> T:
    assert value is not None  # every timing has at least one value (repeats >= 1)
    return value


def _result(name: str, label: str, loops: int, values: list[float], seed: int) -> TimingResult:
    return TimingResult(
        name=name,
        label=label,
        loops=loops,
        values_s=values,
        median_s=_known(median(values)),
        iqr_s=_known(iqr(values)),
        ci_s=_known(bootstrap_median_ci(values, seed=seed)),
        p90_s=_known(nearest_rank(values, 90)),
        p99_s=_known(nearest_rank(values, 99)),
        max_s=max(values),
    )


def _name(fn: Callable[..., object], name: str | None) -> str:
    return name or str(getattr(fn, "__name__", "fn"))


async def _atime_batch(fn: Callable[[], Awaitable[object]], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        await fn()
    return time.perf_counter() - start


def _time_batch(fn: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return time.perf_counter() - start


async def atime_warm(
    fn: Callable[[], Awaitable[object]],
    *,
    name: str | None = None,
    warmup_s: float = 0.05,
    min_time_s: float = 0.01,
    repeats: int = 15,
    max_loops: int = 1 << 20,
    seed: int = 0,
) -> TimingResult:
    """:func:`time_warm` for an ``async def`` function, inside the caller's event loop."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    deadline = time.perf_counter() + warmup_s
    await fn()
    while time.perf_counter() < deadline:
        await fn()
    loops = 1
    while loops < max_loops and await _atime_batch(fn, loops) < min_time_s:
        loops *= 2
    values = [await _atime_batch(fn, loops) / loops for _ in range(repeats)]
    return _result(_name(fn, name), "warm", loops, values, seed)


def time_warm(
    fn: Callable[[], object],
    *,
    name: str | None = None,
    warmup_s: float = 0.05,
    min_time_s: float = 0.01,
    repeats: int = 15,
    max_loops: int = 1 << 20,
    seed: int = 0,
) -> TimingResult:
    """Time ``fn()`` (sync or ``async def``) warm; see the module docstring for the procedure.

    ``warmup_s`` and ``min_time_s`` are seconds; the result's values are seconds per call. An ``async def``
    function runs in a new event loop (use :func:`atime_warm` inside a running loop).
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    if inspect.iscoroutinefunction(fn):
        return run_coroutine(atime_warm(fn, name=name, warmup_s=warmup_s, min_time_s=min_time_s,
                                        repeats=repeats, max_loops=max_loops, seed=seed))
    deadline = time.perf_counter() + warmup_s
    fn()
    while time.perf_counter() < deadline:
        fn()
    loops = 1
    while loops < max_loops and _time_batch(fn, loops) < min_time_s:
        loops *= 2
    values = [_time_batch(fn, loops) / loops for _ in range(repeats)]
    return _result(_name(fn, name), "warm", loops, values, seed)


async def _call(f: Callable[[], object]) -> None:
    out = f()
    if inspect.isawaitable(out):
        await out


async def atime_cold(
    fn: Callable[[], object],
    reset: Callable[[], object],
    *,
    name: str | None = None,
    repeats: int = 5,
    seed: int = 0,
) -> TimingResult:
    """:func:`time_cold` inside the caller's event loop (``fn`` and ``reset`` sync or async)."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    values = []
    for _ in range(repeats):
        await _call(reset)
        start = time.perf_counter()
        await _call(fn)
        values.append(time.perf_counter() - start)
    return _result(_name(fn, name), "cold", 1, values, seed)


def time_cold(
    fn: Callable[[], object],
    reset: Callable[[], object],
    *,
    name: str | None = None,
    repeats: int = 5,
    seed: int = 0,
) -> TimingResult:
    """Time ``repeats`` single calls of ``fn``, each after an untimed ``reset()`` (sync or async each).

    Values are seconds per call; the row is labelled ``"cold"``. Runs in a new event loop.
    """
    return run_coroutine(atime_cold(fn, reset, name=name, repeats=repeats, seed=seed))


__all__ = ["TimingResult", "atime_cold", "atime_warm", "time_cold", "time_warm"]

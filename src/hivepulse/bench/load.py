"""HTTP load against a running service: closed model (N clients) and open model (fixed arrival rate).

Both models use worker threads, each with its own keep-alive ``httpx.Client`` (synchronous httpx costs
about half of ``httpx.AsyncClient`` per request, see ``docs/performance.md``). Each request is recorded
with three ``time.perf_counter`` stamps relative to the run start: ``scheduled``, ``start`` (sent) and
``end`` (response body read).

- **Closed model** (``concurrency`` clients): each client sends its next request as soon as its previous
  one completed; ``scheduled = start``. Latency = ``end - start``. The offered load adapts to the
  service, so a stall delays later requests instead of showing up in their latency.
- **Open model** (``rate`` requests per second): request ``i`` is scheduled at ``i / rate`` s; a free
  worker takes the next index, sleeps until its scheduled time and sends it. **Latency = end - scheduled**,
  so time spent waiting because the service (or the generator's ``max_in_flight`` workers) could not keep
  up is counted, not omitted (coordinated omission). The run reports the **backlog**: requests scheduled
  but not completed, its maximum over the run and its value when the last request was due.

Counted as errors: exceptions (timeouts, refused connections) and statuses >= 400. Latency percentiles are
computed over successful requests only (nearest rank, milliseconds); error latencies are kept separately.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np

from hivepulse.bench.stats import Summary, summarize
from hivepulse.opensensemap import JsonObject
from hivepulse.quantiles import nearest_rank

KEEP_UP_TOLERANCE = 0.02
"""The open model "kept up" when the achieved send rate is within 2% of the target rate."""


@dataclass
class LoadResult:
    """Outcome of one load run. Times are seconds from the run start unless the name says ``_ms``."""

    model: str  # "closed" or "open"
    url: str
    requests: int
    concurrency: int  # clients (closed) or max in flight (open)
    target_rps: float | None
    scheduled_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    ok: np.ndarray  # bool per request
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def latencies_ms(self) -> np.ndarray:
        """Latency of successful requests in ms (from the scheduled time in the open model)."""
        return ((self.end_s - self.scheduled_s) * 1000.0)[self.ok]

    @property
    def service_ms(self) -> np.ndarray:
        """Time from send to response of successful requests, ms (excludes waiting for a free worker)."""
        return ((self.end_s - self.start_s) * 1000.0)[self.ok]

    @property
    def errors(self) -> int:
        return int((~self.ok).sum())

    @property
    def duration_s(self) -> float:
        """From the first scheduled request to the last completion."""
        if self.requests == 0:
            return 0.0
        return float(self.end_s.max() - self.scheduled_s.min())

    @property
    def throughput_rps(self) -> float:
        """Successful requests per second over :attr:`duration_s`."""
        d = self.duration_s
        return float(self.ok.sum() / d) if d > 0 else 0.0

    @property
    def achieved_send_rps(self) -> float | None:
        """Sends per second: ``(n - 1) / (last send - first scheduled time)``; ``None`` below 2 requests.

        With every request sent on time this is exactly the target rate; late sends at the end lower it.
        """
        if self.requests < 2:
            return None
        span = float(self.start_s.max() - self.scheduled_s.min())
        return (self.requests - 1) / span if span > 0 else None

    @property
    def completion_rps(self) -> float | None:
        """Completions per second: ``(n - 1) / (last completion - first completion)``."""
        if self.requests < 2:
            return None
        span = float(self.end_s.max() - self.end_s.min())
        return (self.requests - 1) / span if span > 0 else None

    @property
    def send_lag_ms(self) -> np.ndarray:
        """How late each request was sent after its scheduled time, ms (zero in the closed model)."""
        return (self.start_s - self.scheduled_s) * 1000.0

    def backlog(self) -> tuple[int, int]:
        """``(max_backlog, backlog_at_schedule_end)``: requests scheduled but not yet completed.

        The maximum is an exact sweep over the scheduled (+1) and completion (-1) events; the value at the
        schedule end counts requests still outstanding when the last one was due.
        """
        if self.requests == 0:
            return 0, 0
        events = np.concatenate([self.scheduled_s, self.end_s])
        steps = np.concatenate([np.ones(self.requests), -np.ones(self.requests)])
        order = np.lexsort((steps, events))  # completions before arrivals at equal times
        running = np.cumsum(steps[order])
        last_due = float(self.scheduled_s.max())
        at_end = int((self.end_s > last_due).sum())
        return int(running.max()), at_end

    @property
    def kept_up(self) -> bool | None:
        """Open model: both the send rate and the completion rate reach the target within
        :data:`KEEP_UP_TOLERANCE`. Closed model: ``None``."""
        if self.model != "open" or self.target_rps is None:
            return None
        floor = self.target_rps * (1 - KEEP_UP_TOLERANCE)
        sent, done = self.achieved_send_rps, self.completion_rps
        return sent is not None and done is not None and sent >= floor and done >= floor

    def summary(self) -> Summary:
        return summarize(self.latencies_ms)

    def to_dict(self) -> JsonObject:
        """JSON-ready figures (no raw samples; the results.json edge)."""
        s = self.summary()
        backlog_max, backlog_end = self.backlog()
        lag = self.send_lag_ms
        return {
            "model": self.model,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "target_rps": self.target_rps,
            "errors": self.errors,
            "error_kinds": dict(self.error_kinds),
            "p50_ms": s.p50,
            "p90_ms": s.p90,
            "p99_ms": s.p99,
            "max_ms": s.max,
            "iqr_ms": s.iqr,
            "median_ci_ms": list(s.median_ci) if s.median_ci else None,
            "throughput_rps": self.throughput_rps,
            "achieved_send_rps": self.achieved_send_rps,
            "completion_rps": self.completion_rps,
            "duration_s": self.duration_s,
            "backlog_max": backlog_max if self.model == "open" else None,
            "backlog_at_end": backlog_end if self.model == "open" else None,
            "send_lag_p99_ms": nearest_rank(lag, 99) if self.model == "open" else None,
            "kept_up": self.kept_up,
        }


def _record_error(kinds: Counter[str], lock: threading.Lock, kind: str) -> None:
    with lock:
        kinds[kind] += 1


def run_load(
    url: str,
    *,
    requests: int,
    concurrency: int | None = None,
    rate: float | None = None,
    max_in_flight: int = 64,
    timeout_s: float = 30.0,
    headers: dict[str, str] | None = None,
    warmup: bool = True,
    before_start: Callable[[], object] | None = None,
    progress: bool = False,
    description: str = "load",
) -> LoadResult:
    """Send ``requests`` GETs to ``url``: closed model with ``concurrency`` clients, or open model at ``rate``.

    Give exactly one of ``concurrency`` (>= 1) and ``rate`` (requests per second, > 0). In the open model at
    most ``max_in_flight`` requests are in flight; ``timeout_s`` bounds each request. With ``warmup`` each
    worker first sends one unrecorded request (opening its keep-alive connection); ``before_start()`` is
    called after the warm-up and before the first recorded request (to snapshot counters). ``progress``
    shows a tqdm bar.
    """
    if (concurrency is None) == (rate is None):
        raise ValueError("give exactly one of concurrency and rate")
    if requests < 1:
        raise ValueError("requests must be >= 1")
    if concurrency is not None and concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if rate is not None and not (rate > 0 and math.isfinite(rate)):
        raise ValueError("rate must be a positive number of requests per second")
    model = "closed" if rate is None else "open"
    workers = concurrency if concurrency is not None else min(max_in_flight, requests)
    scheduled = np.zeros(requests)
    start = np.zeros(requests)
    end = np.zeros(requests)
    ok = np.zeros(requests, dtype=bool)
    kinds: Counter[str] = Counter()
    lock = threading.Lock()
    counter = itertools.count()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=requests, desc=description, unit="req", leave=False)
    clock = time.perf_counter
    warmed = threading.Barrier(workers + 1)
    ready = threading.Barrier(workers + 1)
    t0_box: list[float] = []

    def worker() -> None:
        with httpx.Client(timeout=timeout_s, headers=headers) as client:
            if warmup:
                try:
                    client.get(url).read()
                except httpx.HTTPError:
                    pass  # the recorded requests will report it
            warmed.wait()
            ready.wait()
            t0 = t0_box[0]
            while True:
                i = next(counter)
                if i >= requests:
                    return
                if rate is not None:
                    due = t0 + i / rate
                    delay = due - clock()
                    if delay > 0:
                        time.sleep(delay)
                    sent = clock()
                else:
                    sent = due = clock()
                try:
                    response = client.get(url)
                    response.read()
                    good = 200 <= response.status_code < 300
                    if not good:
                        _record_error(kinds, lock, f"http_{response.status_code}")
                except httpx.HTTPError as exc:
                    good = False
                    _record_error(kinds, lock, type(exc).__name__)
                done = clock()
                scheduled[i], start[i], end[i], ok[i] = due - t0, sent - t0, done - t0, good
                if bar is not None:
                    bar.update(1)

    threads = [threading.Thread(target=worker, name=f"load-{k}", daemon=True) for k in range(workers)]
    for thread in threads:
        thread.start()
    warmed.wait()
    try:
        if before_start is not None:
            before_start()
    finally:
        t0_box.append(clock() + 0.001)
        ready.wait()
    for thread in threads:
        thread.join()
    if bar is not None:
        bar.close()
    return LoadResult(
        model=model,
        url=url,
        requests=requests,
        concurrency=workers,
        target_rps=rate,
        scheduled_s=scheduled,
        start_s=start,
        end_s=end,
        ok=ok,
        error_kinds=dict(kinds),
    )

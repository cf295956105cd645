"""Gather each check's evidence from a running target and the replay server it fetches from.

The probes run one after another (every check reads the same replay-server counters, so two at once would see
each other's calls). Before each probe that needs a cold cache, :meth:`Probe.make_cold` empties the caches the
doctor started for the target (the reference HiveBox: ``POST /_cache/clear``; a command: Valkey ``FLUSHALL`` /
``FLUSHDB``, memcached ``flush_all``, as ``hivepulse profile`` does). When a cold request still makes no upstream
call, the target keeps an in-process cache the doctor cannot reach: from then on it restarts the target instead
(a fresh process has an empty in-process cache).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

import httpx

from hivepulse.bench.infra import Infra, empty_caches
from hivepulse.bench.targets import RunningTarget
from hivepulse.doctor.checks import (
    CheckResult,
    judge_all_down,
    judge_cache_hit,
    judge_connection_reuse,
    judge_metrics,
    judge_parallel,
    judge_probes,
    judge_stale,
    judge_stampede,
    judge_timeout,
    max_overlap,
    na,
)
from hivepulse.doctor.upstream import Replay, Upstreamed
from hivepulse.opensensemap import JsonObject


@dataclass(frozen=True)
class ProbeSettings:
    """How hard the doctor probes (docs/doctor.md). Times in seconds, latencies in ms."""

    latency_ms: float = 40.0
    burst_latency_ms: float = 200.0
    burst: int = 10
    repeats: int = 5
    hang_hold_s: float = 30.0
    bound_s: float = 15.0
    request_timeout_s: float = 15.0
    probe_paths: tuple[str, ...] = ("/readyz", "/healthz")


@dataclass
class Answer:
    """One HTTP answer of the target (``status`` None: no answer in time, ``error`` says why)."""

    status: int | None
    body: str
    elapsed_s: float
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.status is not None


STALE_TRUTH = 25.0
STALE_PLANT: tuple[JsonObject, ...] = (
    {"temperature": {"value": "20.00", "age_s": 120}},  # fresh
    {"temperature": {"value": "30.00", "age_s": 1800}},  # fresh (30 minutes)
    {"temperature": {"value": "5.00", "age_s": 5400}},  # stale: 1.5 hours old
)
"""Planted for ``stale_readings``; every box also carries the decoys (Bodentemperatur -5.00 fresh, Taupunkt 80.00
two hours old, UV-Intensität without data). Truth: (20 + 30) / 2 = 25.00."""
STALE_WRONG = {"averaging the stale reading too": round((20 + 30 + 5) / 3, 2),
               "a unit match on °C (stale reading, Bodentemperatur and Taupunkt averaged too)":
                   round((20 + 30 + 5 - 5 * 3 + 80 * 3) / 9, 2)}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
ANSWER_KEYS = ("average", "avg", "average_temperature", "avg_temperature", "temperature", "temp", "value", "mean")


def answer_value(body: str) -> float | None:
    """The temperature in an answer: a JSON object's ``average`` (or a similar key, also one level down), a bare
    JSON number, else the first decimal number in the text (``Average temperature: 25.00 °C (Good)`` -> 25.0)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    candidates = [data] if isinstance(data, dict) else []
    if isinstance(data, dict):
        candidates += [v for v in data.values() if isinstance(v, dict)]
    for obj in candidates:
        for key in ANSWER_KEYS:
            value = obj.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
            if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
                return float(value)
    if data is not None and not isinstance(data, str):
        return None
    match = NUMBER.search(body)
    return float(match.group()) if match else None


class Probe:
    """A running target, the replay server and the caches: the probes and what they need."""

    def __init__(self, starter: Callable[[], AbstractContextManager[RunningTarget]], infra: Infra, path: str,
                 settings: ProbeSettings, say: Callable[[str], None] = lambda _m: None) -> None:
        assert infra.sensemap_url is not None
        self.starter = starter
        self.infra = infra
        self.path = path
        self.settings = settings
        self.say = say
        self.replay = Replay(infra.sensemap_url)
        self.client = httpx.Client(timeout=settings.request_timeout_s)
        self.stack = ExitStack()
        self.running: RunningTarget | None = None
        self.restart_for_cold = False
        self.restarts = 0
        self.boxes_seen: list[str] = []  # the box ids the target really requests (it may hard-code its own)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> RunningTarget:
        self.running = self.stack.enter_context(self.starter())
        return self.running

    def restart(self) -> None:
        self.stack.close()
        self.stack = ExitStack()
        self.restarts += 1
        self.start()

    def close(self) -> None:
        self.stack.close()
        self.client.close()
        self.replay.close()

    @property
    def url(self) -> str:
        assert self.running is not None
        return self.running.url

    def make_cold(self) -> None:
        """Empty the caches the doctor started (or restart a target with an in-process cache)."""
        assert self.running is not None
        if self.restart_for_cold:
            self.restart()
        else:
            empty_caches(self.client, self.running, self.infra)
        self.replay.clear_boxes()

    def boxes(self, count: int) -> list[str]:
        """The boxes to plant data or outages on: those the target requested on a cold request (a service with
        hard-coded ids fetches its own), else the replay server's first ``count``."""
        return self.boxes_seen[:count] if self.boxes_seen else self.infra.box_ids[:count]

    def get(self, path: str, timeout_s: float | None = None) -> Answer:
        started = time.perf_counter()
        try:
            r = self.client.get(self.url + path, timeout=timeout_s or self.settings.request_timeout_s)
        except httpx.HTTPError as exc:
            return Answer(None, "", time.perf_counter() - started, type(exc).__name__)
        return Answer(r.status_code, r.text[:65536], time.perf_counter() - started)

    def temperature(self, timeout_s: float | None = None) -> Answer:
        return self.get(self.path, timeout_s)

    def cold_request(self) -> tuple[Answer, list[Upstreamed]]:
        """One request on an emptied cache and the upstream requests it caused."""
        self.make_cold()
        since = self.replay.now()
        answer = self.temperature()
        calls = self.replay.requests(since)
        for c in calls:
            if c.box is not None and c.box not in self.boxes_seen:
                self.boxes_seen.append(c.box)
        if not calls and not self.restart_for_cold and self.running is not None and self.running.kind == "command":
            self.say("the target answered a cold request without an upstream call: restarting it for cold requests")
            self.restart_for_cold = True
            return self.cold_request()
        return answer, calls

    # -- the probes ------------------------------------------------------------------------------------------
    def metrics(self) -> CheckResult:
        from prometheus_client.parser import text_string_to_metric_families

        answer = self.get("/metrics")
        families = samples = 0
        error = None
        if answer.status == 200:
            try:
                for family in text_string_to_metric_families(answer.body):
                    families += 1
                    samples += len(family.samples)
            except (ValueError, TypeError, IndexError, KeyError) as exc:
                error = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return judge_metrics(answer.status, families, samples, error)

    def probes(self) -> CheckResult:
        calls: dict[str, int | None] = {}
        for path in self.settings.probe_paths:
            self.make_cold()
            before = self.replay.total()
            statuses = [self.get(path, 5.0).status for _ in range(3)]
            made = self.replay.total() - before
            calls[path] = None if all(s == 404 for s in statuses) else made
        return judge_probes(calls)

    def request_path(self) -> tuple[CheckResult, CheckResult, CheckResult]:
        """``cache_hit``, ``connection_reuse`` and ``parallel_upstream`` from two cold requests and repeats."""
        first, calls1 = self.cold_request()
        if not calls1:
            why = (f"a cold {self.path} made no upstream call (HTTP {first.status}); the doctor cannot see how "
                   "this service fetches")
            return (na("cache_hit", why), na("connection_reuse", why), na("parallel_upstream", why))
        before = self.replay.total()
        for _ in range(self.settings.repeats):
            self.temperature()
        cache = judge_cache_hit(self.settings.repeats, self.replay.total() - before, len(calls1))
        _, calls2 = self.cold_request()
        cold = [c for c in (*calls1, *calls2) if c.connection is not None]
        reuse = judge_connection_reuse(len(cold), len({c.connection for c in cold}))
        parallel = max((self._parallel(c) for c in (calls1, calls2)), key=lambda r: r[0])[1]
        return cache, reuse, parallel

    @staticmethod
    def _parallel(calls: list[Upstreamed]) -> tuple[int, CheckResult]:
        intervals = [(c.start_s, c.end_s) for c in calls if c.box is not None and c.end_s is not None]
        overlap = max_overlap(intervals)
        busy = sum(e - s for s, e in intervals)
        span = (max(e for _, e in intervals) - min(s for s, _ in intervals)) if intervals else 0.0
        return overlap, judge_parallel(len(intervals), overlap, busy, span)

    def stampede(self) -> CheckResult:
        s = self.settings
        self.replay.configure(median_ms=s.burst_latency_ms)
        try:
            self.make_cold()
            since = self.replay.now()
            statuses = self._burst(s.burst)
            calls = self.replay.requests(since)
        finally:
            self.replay.configure(median_ms=s.latency_ms)
        per_box = Counter(c.box for c in calls if c.box is not None)
        return judge_stampede(s.burst, dict(per_box), sum(1 for c in calls if c.box is None), statuses)

    def _burst(self, n: int) -> dict[str, int]:
        barrier = threading.Barrier(n)
        statuses: Counter[str] = Counter()
        lock = threading.Lock()

        def one() -> None:
            with httpx.Client(timeout=self.settings.request_timeout_s) as client:
                try:
                    barrier.wait(timeout=10)
                    status = str(client.get(self.url + self.path).status_code)
                except (httpx.HTTPError, threading.BrokenBarrierError) as exc:
                    status = type(exc).__name__
            with lock:
                statuses[status] += 1

        threads = [threading.Thread(target=one, name=f"doctor-burst-{i}") for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return dict(statuses)

    def upstream_timeout(self) -> CheckResult:
        s = self.settings
        self.make_cold()
        self.replay.configure(timeout_s=s.hang_hold_s)
        hung = self.boxes(1)[0]
        self.replay.plant(hung, {"outage": "timeout"})
        answer = self.temperature(s.bound_s)
        self.replay.plant(hung, {"outage": None})
        result = judge_timeout(answer.answered, answer.status, answer.elapsed_s, s.bound_s, s.hang_hold_s)
        if not answer.answered and self.running is not None and self.running.kind != "url":
            self.restart()  # the service may still be stuck on the held request
        return result

    def all_down(self, boxes: int) -> CheckResult:
        s = self.settings
        self.make_cold()
        down = self.boxes(boxes)
        for box in down:
            self.replay.plant(box, {"outage": "error"})
        answer = self.temperature(s.bound_s)
        for box in down:
            self.replay.plant(box, {"outage": None})
        result = judge_all_down(answer.answered, answer.status, answer.body, answer.elapsed_s, s.bound_s)
        if not answer.answered and self.running is not None and self.running.kind != "url":
            self.restart()
        return result

    def stale_readings(self, boxes: int) -> CheckResult:
        planted = self.boxes(3)
        if boxes < 3 or len(planted) < 3:
            return na("stale_readings", f"needs 3 boxes, the target fetched {len(planted)}")
        self.make_cold()
        for box, body in zip(planted, STALE_PLANT, strict=True):
            self.replay.plant(box, body)
        try:
            answer = self.temperature()
        finally:
            self.replay.clear_boxes()
        return judge_stale(answer.status, answer_value(answer.body) if answer.status and answer.status < 300 else None,
                           STALE_TRUTH, STALE_WRONG, answer.body)


def run_probes(probe: Probe, boxes: int) -> Iterator[CheckResult]:
    """Every check in a fixed order (docs/doctor.md); the target is started first."""
    probe.start()
    yield probe.metrics()
    yield probe.probes()
    yield from probe.request_path()
    yield probe.stampede()
    yield probe.upstream_timeout()
    yield probe.all_down(boxes)
    yield probe.stale_readings(boxes)


__all__ = ["Answer", "Probe", "ProbeSettings", "STALE_PLANT", "STALE_TRUTH", "answer_value", "run_probes"]

"""HiveBox's core: snapshots of the configured boxes, cache with optional single-flight, readiness, store.

A *snapshot* is one fetch of every configured box (raw ``GET /boxes/{id}`` bodies and per-box outcome) with
its fetch time. It is what the cache holds (one key per (API URL, box list)), so ``/temperature``, ``/readyz``
and ``/store`` share it.

- A snapshot is *usable* when at most half of the configured boxes are unreachable; only usable snapshots
  are written to the cache and advance the *data age* clock. A *degraded* snapshot (more than half
  unreachable) still answers the request that fetched it.
- Single-flight (``HIVEBOX_SINGLE_FLIGHT``): ``off`` - every miss fetches; ``wait`` - one request refreshes,
  concurrent misses await its result; ``stale`` - like ``wait`` but concurrent misses get the last usable
  snapshot at once when there is one. A miss that began before a refresh finished reuses that refresh's
  result (no second upstream call), so under any burst an expiry costs one call per box. In-process only
  (one uvicorn worker); several workers would each refresh once.
- Readiness (``/readyz``) reads only process state, never the network: see :meth:`HiveboxService.readiness`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass

from hivepulse.hivebox.cache import Cache, make_cache
from hivepulse.hivebox.config import HiveboxConfig
from hivepulse.hivebox.metrics import HiveboxMetrics
from hivepulse.hivebox.store import S3Store, StoredObject
from hivepulse.hivebox.temperature import (
    BoxTemperature,
    average_temperature,
    parse_temperature,
    temperature_status,
)
from hivepulse.hivebox.upstream import BoxResult, UpstreamClient, make_client
from hivepulse.opensensemap import JsonObject, format_timestamp

log = logging.getLogger("hivepulse.hivebox")


@dataclass
class Snapshot:
    """One fetch of all configured boxes. ``fetched_at`` is epoch seconds; ``source`` is how this request
    got it: ``upstream`` (fetched now), ``shared`` (another request's refresh), ``cache``, ``stale``."""

    fetched_at: float
    boxes: dict[str, BoxResult]
    source: str = "upstream"

    @property
    def reachable(self) -> int:
        return sum(1 for r in self.boxes.values() if r.ok)

    @property
    def unreachable(self) -> int:
        return len(self.boxes) - self.reachable

    def usable(self) -> bool:
        """At most half of the boxes unreachable (``2 * unreachable <= configured``)."""
        return 2 * self.unreachable <= len(self.boxes)

    def to_bytes(self) -> bytes:
        payload = {"fetched_at": self.fetched_at, "boxes": {k: v.to_dict() for k, v in self.boxes.items()}}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, source: str = "cache") -> Snapshot:
        payload = json.loads(raw)
        boxes = {k: BoxResult.from_dict(k, v) for k, v in payload["boxes"].items()}
        return cls(float(payload["fetched_at"]), boxes, source)


@dataclass
class TemperatureResult:
    """What ``/temperature`` answers. ``average`` None means no fresh reading (HTTP 503)."""

    average: float | None
    status: str | None
    per_box: list[BoxTemperature]
    snapshot: Snapshot
    now: float

    def to_dict(self) -> JsonObject:
        used = [b.reading for b in self.per_box if b.reading is not None]
        body: JsonObject = {
            "average": self.average,
            "unit": "°C",
            "status": self.status,
            "boxes_used": len(used),
            "boxes_configured": len(self.per_box),
            "boxes_reachable": self.snapshot.reachable,
            "fetched_at": format_timestamp(self.snapshot.fetched_at),
            "data_age_s": round(self.now - self.snapshot.fetched_at, 3),
            "source": self.snapshot.source,
            "readings": [{"box_id": r.box_id, "value": r.value, "age_s": round(r.age_s, 3)} for r in used],
            "skipped": {b.box_id: b.reason for b in self.per_box if b.reading is None},
        }
        if self.average is None:
            body["detail"] = "no fresh Temperatur reading from any configured senseBox"
        return body


@dataclass
class Readiness:
    """``/readyz`` decision and the two conditions it combines."""

    ready: bool
    boxes_configured: int
    boxes_unreachable: int | None
    too_many_unreachable: bool
    data_age_s: float | None
    data_too_old: bool
    max_age_s: float

    def to_dict(self) -> JsonObject:
        return {
            "ready": self.ready, "boxes_configured": self.boxes_configured,
            "boxes_unreachable": self.boxes_unreachable, "too_many_unreachable": self.too_many_unreachable,
            "data_age_s": None if self.data_age_s is None else round(self.data_age_s, 3),
            "data_too_old": self.data_too_old, "max_age_s": self.max_age_s,
        }


class HiveboxService:
    """Owns the upstream client, cache, metrics and state of one HiveBox process."""

    def __init__(self, config: HiveboxConfig, *, cache: Cache | None = None,
                 client: UpstreamClient | None = None) -> None:
        self.config = config
        self.cache = cache if cache is not None else make_cache(config)
        self.metrics = HiveboxMetrics(self.cache.name if self.cache else "none", self._data_age_metric)
        self.metrics.boxes_configured.set(len(config.box_ids))
        self.metrics.info.info({"version": config.version, "cache": config.cache, "client": config.client,
                                "single_flight": config.single_flight})
        self.client = client if client is not None else make_client(
            config.client, config.api_url, config.upstream_timeout_s, self._observe_box, config.upstream_max_bytes)
        self.store_client = S3Store(config.s3) if config.s3 else None
        digest = hashlib.sha1((config.api_url + "|" + ",".join(config.box_ids)).encode()).hexdigest()[:16]
        self.cache_key = f"hivebox:v1:snapshot:{digest}"
        self.last_fetch: Snapshot | None = None  # most recent fetch result seen (fetched or from cache)
        self.last_usable: Snapshot | None = None  # newest usable snapshot seen
        self._flight: asyncio.Future[Snapshot] | None = None
        self._last_refresh: tuple[float, Snapshot] | None = None  # (monotonic finish time, snapshot)
        self._store_task: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        log.info("hivebox starting: %s", json.dumps(self.config.describe()))
        if self.store_client and self.config.store_interval_s > 0:
            self._store_task = asyncio.create_task(self._store_loop(), name="hivebox-store")

    async def close(self) -> None:
        if self._store_task:
            self._store_task.cancel()
            try:
                await self._store_task
            except (asyncio.CancelledError, Exception):
                pass
        await self.client.aclose()
        if self.cache:
            try:
                await self.cache.aclose()
            except Exception:  # closing a dead cache must not fail shutdown
                pass

    # -- metrics hooks -------------------------------------------------------------------------------------
    def _observe_box(self, result: BoxResult) -> None:
        self.metrics.upstream_latency.labels("ok" if result.ok else "error").observe(result.latency_s)
        if not result.ok:
            self.metrics.upstream_errors.labels(result.error or "unknown").inc()

    def _data_age_metric(self) -> float:
        if self.last_usable is None:
            return math.nan
        return max(0.0, time.time() - self.last_usable.fetched_at)

    def _remember(self, snapshot: Snapshot) -> None:
        """Record a fetch result (from upstream or the cache) for readiness and metrics."""
        if self.last_fetch is None or snapshot.fetched_at >= self.last_fetch.fetched_at:
            self.last_fetch = snapshot
            self.metrics.boxes_reachable.set(snapshot.reachable)
        if snapshot.usable() and (self.last_usable is None
                                  or snapshot.fetched_at >= self.last_usable.fetched_at):
            self.last_usable = snapshot

    # -- cache wrappers (a failing cache is a miss, never an error) ----------------------------------------
    async def cache_get(self) -> Snapshot | None:
        """Look the snapshot up; counts a hit or a miss (and an error if the backend failed)."""
        assert self.cache is not None
        backend = self.cache.name
        try:
            raw = await self.cache.get(self.cache_key)
        except Exception as exc:
            self.metrics.cache_errors.labels(backend, "get").inc()
            self.metrics.cache_misses.labels(backend).inc()
            log.warning("cache get failed (%s): %s", backend, type(exc).__name__)
            return None
        if raw is None:
            self.metrics.cache_misses.labels(backend).inc()
            return None
        try:
            snapshot = Snapshot.from_bytes(raw)
        except (ValueError, KeyError, TypeError, RecursionError):
            self.metrics.cache_errors.labels(backend, "get").inc()
            self.metrics.cache_misses.labels(backend).inc()
            return None
        self.metrics.cache_hits.labels(backend).inc()
        return snapshot

    async def cache_set(self, snapshot: Snapshot) -> None:
        """Store a usable snapshot for ``HIVEBOX_CACHE_TTL`` seconds (failures only counted)."""
        assert self.cache is not None
        try:
            await self.cache.set(self.cache_key, snapshot.to_bytes(), self.config.cache_ttl_s)
        except Exception as exc:
            self.metrics.cache_errors.labels(self.cache.name, "set").inc()
            log.warning("cache set failed (%s): %s", self.cache.name, type(exc).__name__)

    async def cache_clear(self) -> None:
        """Delete the snapshot key (admin endpoint; makes the next request a cold one)."""
        self._last_refresh = None
        if self.cache is None:
            return
        try:
            await self.cache.delete(self.cache_key)
        except Exception:
            self.metrics.cache_errors.labels(self.cache.name, "delete").inc()

    # -- snapshots -----------------------------------------------------------------------------------------
    async def fetch_all_boxes(self) -> Snapshot:
        """One upstream fetch of every configured box, with the configured client."""
        results = await self.client.fetch_all_boxes(self.config.box_ids)
        return Snapshot(time.time(), {r.box_id: r for r in results}, "upstream")

    async def refresh(self) -> Snapshot:
        """Fetch upstream, remember, and cache the snapshot if usable."""
        snapshot = await self.fetch_all_boxes()
        usable = snapshot.usable()
        self.metrics.refreshes.labels("usable" if usable else "degraded").inc()
        self._remember(snapshot)
        if usable and self.cache is not None:
            await self.cache_set(snapshot)
        self._last_refresh = (time.monotonic(), snapshot)
        return snapshot

    async def get_snapshot(self) -> Snapshot:
        """The snapshot for one request: cache hit, or a refresh (see module docstring for single-flight)."""
        began = time.monotonic()
        if self.cache is not None:
            cached = await self.cache_get()
            if cached is not None:
                self._remember(cached)
                return cached
        if self.config.single_flight == "off":
            return await self.refresh()
        recent = self._last_refresh
        if recent is not None and recent[0] >= began:
            self.metrics.single_flight_waits.inc()
            return Snapshot(recent[1].fetched_at, recent[1].boxes, "shared")
        flight = self._flight
        if flight is not None and not flight.done():
            if self.config.single_flight == "stale" and self.last_usable is not None:
                return Snapshot(self.last_usable.fetched_at, self.last_usable.boxes, "stale")
            self.metrics.single_flight_waits.inc()
            shared = await asyncio.shield(flight)
            return Snapshot(shared.fetched_at, shared.boxes, "shared")
        flight = asyncio.ensure_future(self.refresh())
        self._flight = flight
        return await asyncio.shield(flight)

    # -- endpoints -----------------------------------------------------------------------------------------
    async def temperature(self) -> TemperatureResult:
        """Snapshot -> per-box readings -> average and status at request time."""
        snapshot = await self.get_snapshot()
        now = time.time()
        per_box = [
            parse_temperature(box_id, snapshot.boxes[box_id].data if box_id in snapshot.boxes else None,
                              now, self.config.max_reading_age_s)
            for box_id in self.config.box_ids
        ]
        average = average_temperature(b.reading for b in per_box if b.reading is not None)
        status = temperature_status(average) if average is not None else None
        return TemperatureResult(average, status, per_box, snapshot, now)

    def readiness(self, now: float | None = None) -> Readiness:
        """Not ready iff (A) more than half of the configured boxes were unreachable in the most recent fetch
        result, AND (B) the newest usable data is older than ``ready_max_age_s`` (or there is none).

        Before any fetch, A is false (nothing known to be unreachable), so the process is ready.
        """
        now = time.time() if now is None else now
        configured = len(self.config.box_ids)
        unreachable = self.last_fetch.unreachable if self.last_fetch is not None else None
        cond_a = unreachable is not None and 2 * unreachable > configured
        age = None if self.last_usable is None else max(0.0, now - self.last_usable.fetched_at)
        cond_b = age is None or age > self.config.ready_max_age_s
        return Readiness(not (cond_a and cond_b), configured, unreachable, cond_a, age, cond_b,
                         self.config.ready_max_age_s)

    async def store(self) -> StoredObject:
        """Write the current snapshot and its temperature result to S3 (raises if S3 is not configured)."""
        if self.store_client is None:
            raise RuntimeError("S3 storage is not configured")
        result = await self.temperature()
        now = time.time()
        document = {
            "stored_at": format_timestamp(now),
            "hivebox_version": self.config.version,
            "temperature": result.to_dict(),
            "boxes": {k: v.data for k, v in result.snapshot.boxes.items() if v.ok},
        }
        try:
            stored = await self.store_client.put_document(document, now)
        except Exception:
            self.metrics.stores.labels("error").inc()
            raise
        self.metrics.stores.labels("ok").inc()
        return stored

    async def _store_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.store_interval_s)
            try:
                stored = await self.store()
                log.info("stored %s/%s (%d bytes)", stored.bucket, stored.name, stored.size)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("background store failed: %s", type(exc).__name__)

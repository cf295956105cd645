"""Prometheus metrics of one HiveBox app, on its own registry (so several apps can live in one process).

Default series: ``process_*``, ``python_info``, ``python_gc_*``. Custom series (docs/hivebox.md):

- ``hivebox_upstream_request_duration_seconds{outcome}`` histogram, one observation per box request;
- ``hivebox_upstream_errors_total{kind}`` (timeout, connect, http_<status>, invalid_json, transport);
- ``hivebox_cache_hits_total{backend}``, ``hivebox_cache_misses_total{backend}``,
  ``hivebox_cache_errors_total{backend,op}`` (a failing cache counts an error *and* a miss for ``get``);
- ``hivebox_boxes_configured``, ``hivebox_boxes_reachable`` (from the most recent fetch result);
- ``hivebox_cached_data_age_seconds``: now minus the fetch time of the newest usable data (NaN before any);
- ``hivebox_refreshes_total{outcome}`` (usable, degraded), ``hivebox_single_flight_waits_total``,
  ``hivebox_store_total{outcome}``, ``hivebox_info{version,cache,client,single_flight}``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HiveboxMetrics:
    """The registry and the metric objects; :meth:`render` gives the exposition text."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, backend: str, data_age: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        r = self.registry
        self.backend = backend
        self.upstream_latency = Histogram(
            "hivebox_upstream_request_duration_seconds", "openSenseMap request latency per box (seconds)",
            ["outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.upstream_errors = Counter(
            "hivebox_upstream_errors_total", "Failed openSenseMap box requests by kind", ["kind"], registry=r)
        self.cache_hits = Counter("hivebox_cache_hits_total", "Cache lookups that returned data",
                                  ["backend"], registry=r)
        self.cache_misses = Counter("hivebox_cache_misses_total", "Cache lookups without data (incl. errors)",
                                    ["backend"], registry=r)
        self.cache_errors = Counter("hivebox_cache_errors_total", "Cache operations that failed",
                                    ["backend", "op"], registry=r)
        self.boxes_configured = Gauge("hivebox_boxes_configured", "Configured senseBoxes", registry=r)
        self.boxes_reachable = Gauge("hivebox_boxes_reachable",
                                     "senseBoxes that answered in the most recent fetch result", registry=r)
        self.data_age = Gauge("hivebox_cached_data_age_seconds",
                              "Seconds since the newest usable data was fetched (NaN if none)", registry=r)
        self.data_age.set_function(data_age)
        self.refreshes = Counter("hivebox_refreshes_total", "Upstream refreshes by outcome", ["outcome"],
                                 registry=r)
        self.single_flight_waits = Counter(
            "hivebox_single_flight_waits_total", "Requests served by another request's refresh", registry=r)
        self.stores = Counter("hivebox_store_total", "S3 store attempts by outcome", ["outcome"], registry=r)
        self.info = Info("hivebox", "HiveBox build and mode", registry=r)
        # Pre-create label sets so the series exist (value 0) before the first event.
        self.cache_hits.labels(backend)
        self.cache_misses.labels(backend)
        for op in ("get", "set", "delete"):
            self.cache_errors.labels(backend, op)
        for outcome in ("usable", "degraded"):
            self.refreshes.labels(outcome)
        for outcome in ("ok", "error"):
            self.stores.labels(outcome)
            self.upstream_latency.labels(outcome)

    def render(self) -> bytes:
        """Prometheus text exposition of every series."""
        return generate_latest(self.registry)

"""Counters read around a warm load run: upstream calls, cache hits and misses, upstream wait, CPU time.

Sources, in order of preference (rules in docs/profiling.md):

- upstream calls: the replay server's ``GET /_stats`` ``total`` (every ``GET /boxes/...`` it served);
- cache hits/misses: the service's Prometheus ``/metrics`` (``hivebox_cache_hits_total`` /
  ``hivebox_cache_misses_total``, else any ``*cache_hit*_total`` / ``*cache_miss*_total`` pair), else Valkey
  ``INFO stats`` ``keyspace_hits`` / ``keyspace_misses``;
- upstream wait: ``hivebox_upstream_request_duration_seconds_sum``;
- CPU: user + system seconds of the service process and its children (``psutil``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
import psutil

HitsMisses = tuple[float, float]


def parse_metrics(text: str) -> dict[str, float]:
    """Sum the samples of each metric name in a Prometheus exposition (labels summed away)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.value is None or math.isnan(sample.value):
                continue
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def cache_counters(metrics: dict[str, float]) -> HitsMisses | None:
    """``(hits, misses)`` from parsed ``/metrics`` samples, or ``None`` when the service exposes none."""
    if "hivebox_cache_hits_total" in metrics:
        return metrics["hivebox_cache_hits_total"], metrics.get("hivebox_cache_misses_total", 0.0)
    hits = [v for k, v in metrics.items() if "cache_hit" in k and k.endswith("_total")]
    misses = [v for k, v in metrics.items() if "cache_miss" in k and k.endswith("_total")]
    if hits and misses:
        return sum(hits), sum(misses)
    return None


@dataclass
class Counters:
    """One reading of every counter (``None``: not available for this target)."""

    upstream_total: float | None = None
    cache: HitsMisses | None = None
    valkey: HitsMisses | None = None
    upstream_sum_s: float | None = None
    cpu_s: float | None = None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of ``pid`` and its children; ``None`` when unknown or gone."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            t = p.cpu_times()
            total += t.user + t.system
        return total
    except psutil.Error:
        return None


def valkey_stats(url: str | None) -> HitsMisses | None:
    """``(keyspace_hits, keyspace_misses)`` of Valkey ``INFO stats``; ``None`` when unreachable."""
    if not url:
        return None
    try:
        import valkey

        client = valkey.Valkey.from_url(url, socket_timeout=2)
        info: dict[str, object] = client.info("stats")  # type: ignore[assignment]  # sync client
        client.close()  # type: ignore[no-untyped-call]
        return float(str(info.get("keyspace_hits", 0))), float(str(info.get("keyspace_misses", 0)))
    except Exception:
        return None


def upstream_total(client: httpx.Client, sensemap_url: str | None) -> int | None:
    """The replay server's request total, or ``None`` without a replay server."""
    if not sensemap_url:
        return None
    return int(client.get(sensemap_url + "/_stats").json()["total"])


def read_counters(client: httpx.Client, target_url: str, sensemap_url: str | None, pid: int | None,
                  valkey_url: str | None) -> Counters:
    """Read every counter once (see the module docstring)."""
    c = Counters()
    if sensemap_url:
        c.upstream_total = float(client.get(sensemap_url + "/_stats").json()["total"])
    try:
        r = client.get(target_url + "/metrics")
        if r.status_code == 200 and "text/plain" in r.headers.get("content-type", ""):
            m = parse_metrics(r.text)
            c.cache = cache_counters(m)
            c.upstream_sum_s = m.get("hivebox_upstream_request_duration_seconds_sum")
    except (httpx.HTTPError, ValueError):
        pass
    if c.cache is None:
        c.valkey = valkey_stats(valkey_url)
    c.cpu_s = cpu_seconds(pid)
    return c


def delta(after: float | None, before: float | None) -> float | None:
    """``after - before``, or ``None`` when either is unknown."""
    return None if after is None or before is None else after - before


def hits_misses_delta(before: Counters, after: Counters) -> tuple[HitsMisses | None, str | None]:
    """Hits and misses during the run and where they came from (``metrics`` or ``valkey_info``)."""
    if after.cache and before.cache:
        return (after.cache[0] - before.cache[0], after.cache[1] - before.cache[1]), "metrics"
    if after.valkey and before.valkey:
        return (after.valkey[0] - before.valkey[0], after.valkey[1] - before.valkey[1]), "valkey_info"
    return None, None


__all__ = ["Counters", "cache_counters", "cpu_seconds", "delta", "hits_misses_delta", "parse_metrics",
           "read_counters", "upstream_total", "valkey_stats"]

"""Caches with real Valkey and Memcached: hits avoid upstream, expiry costs one call per box under a burst
with single-flight, and a cache outage degrades to uncached answers plus a metric (never a 500)."""

from __future__ import annotations

import time

import httpx
import pytest
from hivebox_testkit import ADMIN_HEADERS, ADMIN_TOKEN, box_id, burst, metric_values

from hivepulse import services

IDS = [box_id(n) for n in (401, 402, 403)]


def _env(sm, backend: str, server, **extra: str) -> dict[str, str]:
    env = {"SENSEBOX_IDS": ",".join(IDS), "OPENSENSEMAP_API_URL": sm.url, "HIVEBOX_CACHE": backend,
           "HIVEBOX_CACHE_TIMEOUT": "0.5", "HIVEBOX_ADMIN_TOKEN": ADMIN_TOKEN, **extra}
    if backend == "valkey":
        env["VALKEY_URL"] = server.url
    elif backend == "memcached":
        env["MEMCACHED_URL"] = server.url
    return env


@pytest.fixture(params=["valkey", "memcached", "memory"])
def backend(request):
    name = request.param
    server = request.getfixturevalue(name) if name != "memory" else None
    return name, server


def _plant(sm) -> None:
    for ident, value in zip(IDS, ("15.00", "16.00", "17.00"), strict=True):
        sm.plant(ident, value, age_s=30)


def test_hit_within_ttl_makes_no_upstream_call(clean_sensemap, hivebox, backend):
    name, server = backend
    _plant(clean_sensemap)
    # a fresh key namespace per run: the cache key hashes the API URL and ids, shared with other tests,
    # so clear it first through the admin endpoint
    handle = hivebox(_env(clean_sensemap, name, server, HIVEBOX_CACHE_TTL="30"))
    http = httpx.Client(base_url=handle.url, timeout=10)
    http.post("/_cache/clear", headers=ADMIN_HEADERS)
    first = http.get("/temperature").json()
    assert first["source"] == "upstream" and first["average"] == 16.0  # (15 + 16 + 17) / 3
    assert clean_sensemap.stats()["boxes"] == {i: 1 for i in IDS}
    clean_sensemap.reset()
    for _ in range(10):
        body = http.get("/temperature").json()
        assert body["source"] == "cache" and body["average"] == 16.0
    assert clean_sensemap.stats()["total"] == 0
    values = metric_values(http.get("/metrics").text)
    assert values[("hivebox_cache_hits_total", (("backend", name),))] == 10
    http.close()


@pytest.mark.timing  # sleeps past the cache TTL
@pytest.mark.parametrize("name", ["memory", "valkey", "memcached"])
def test_expiry_costs_one_call_per_box_under_50_concurrent_requests(clean_sensemap, hivebox, request, name):
    server = None if name == "memory" else request.getfixturevalue(name)
    _plant(clean_sensemap)
    clean_sensemap.configure(median_ms=50.0, sigma=0.0)  # upstream slow enough for the burst to overlap
    handle = hivebox(_env(clean_sensemap, name, server, HIVEBOX_CACHE_TTL="1",
                          HIVEBOX_SINGLE_FLIGHT="wait", HIVEBOX_CLIENT="concurrent"))
    http = httpx.Client(base_url=handle.url, timeout=10)
    http.post("/_cache/clear", headers=ADMIN_HEADERS)
    assert http.get("/temperature").status_code == 200  # warm
    time.sleep(2.1)  # > TTL (memcached: whole seconds, ticks once per second)
    clean_sensemap.reset()
    responses = burst(handle.url, "/temperature", 50)
    assert [r.status_code for r in responses] == [200] * 50
    assert {r.json()["average"] for r in responses} == {16.0}
    stats = clean_sensemap.stats()
    assert stats["boxes"] == {i: 1 for i in IDS}, stats["boxes"]
    sources = [r.json()["source"] for r in responses]
    assert sources.count("upstream") == 1  # the one refresher; the rest shared it or hit the new entry
    http.close()


def test_without_single_flight_the_burst_stampedes(clean_sensemap, hivebox, valkey):
    """Contrast for the test above (same burst, single-flight off): more than one call per box."""
    _plant(clean_sensemap)
    clean_sensemap.configure(median_ms=50.0, sigma=0.0)
    handle = hivebox(_env(clean_sensemap, "valkey", valkey, HIVEBOX_CACHE_TTL="1",
                          HIVEBOX_SINGLE_FLIGHT="off", HIVEBOX_CLIENT="concurrent"))
    httpx.post(handle.url + "/_cache/clear", headers=ADMIN_HEADERS)
    clean_sensemap.reset()
    responses = burst(handle.url, "/temperature", 50)
    assert all(r.status_code == 200 for r in responses)
    counts = clean_sensemap.stats()["boxes"]
    assert all(counts[i] > 1 for i in IDS), counts


@pytest.mark.parametrize("name", ["valkey", "memcached"])
def test_cache_outage_degrades_to_uncached_answers(clean_sensemap, hivebox, name):
    """A dedicated cache server is stopped while HiveBox runs: answers stay 200, come from upstream, and
    hivebox_cache_errors_total counts the failed operations."""
    _plant(clean_sensemap)
    start = services.start_valkey if name == "valkey" else services.start_memcached
    with start(env={}) as server:
        handle = hivebox(_env(clean_sensemap, name, server, HIVEBOX_CACHE_TTL="30"))
        http = httpx.Client(base_url=handle.url, timeout=10)
        assert http.get("/temperature").json()["source"] == "upstream"
        assert http.get("/temperature").json()["source"] == "cache"
        server.stop()
        clean_sensemap.reset()
        for _ in range(3):
            started = time.perf_counter()
            r = http.get("/temperature")
            assert r.status_code == 200 and r.json()["source"] == "upstream"
            assert r.json()["average"] == 16.0
            assert time.perf_counter() - started < 3.0  # no long hang on a dead cache
        assert clean_sensemap.stats()["boxes"] == {i: 3 for i in IDS}
        values = metric_values(http.get("/metrics").text)
        assert values[("hivebox_cache_errors_total", (("backend", name), ("op", "get")))] == 3
        assert http.get("/readyz").status_code == 200
        http.close()


@pytest.mark.timing  # sleeps past the cache TTL
def test_single_flight_stale_serves_old_data_while_one_request_refreshes(clean_sensemap, hivebox):
    _plant(clean_sensemap)
    clean_sensemap.configure(median_ms=200.0, sigma=0.0)
    handle = hivebox(_env(clean_sensemap, "memory", None, HIVEBOX_CACHE_TTL="0.5",
                          HIVEBOX_SINGLE_FLIGHT="stale", HIVEBOX_CLIENT="concurrent"))
    assert httpx.get(handle.url + "/temperature", timeout=10).status_code == 200  # warm
    time.sleep(0.7)
    clean_sensemap.reset()
    responses = burst(handle.url, "/temperature", 20)
    sources = [r.json()["source"] for r in responses]
    assert all(r.status_code == 200 for r in responses)
    assert sources.count("upstream") == 1 and sources.count("stale") >= 1, sources
    assert set(sources) <= {"upstream", "stale", "shared", "cache"}
    assert clean_sensemap.stats()["boxes"] == {i: 1 for i in IDS}

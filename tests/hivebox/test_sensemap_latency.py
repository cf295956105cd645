"""The replay server's latency model: seeded log-normal draws, faults, and the end-to-end median."""

from __future__ import annotations

import math
import statistics

import httpx
import pytest
from hivebox_testkit import box_id, closed_loop_latencies

from hivepulse import services
from hivepulse.errors import InputError
from hivepulse.sensemap.latency import LatencyModel, LatencySampler


def test_same_seed_same_draws_and_lognormal_quantiles():
    a = LatencySampler(LatencyModel(median_ms=80, sigma=0.5, seed=42))
    b = LatencySampler(LatencyModel(median_ms=80, sigma=0.5, seed=42))
    draws_a = [a.draw(str(i % 7), i).delay_s for i in range(20_000)]
    draws_b = [b.draw(str(i % 7), i).delay_s for i in range(20_000)]
    assert draws_a == draws_b
    ordered = sorted(draws_a)
    # log-normal: median 80 ms; p99 = 80 * exp(2.326 * 0.5) = 256.0 ms. With n = 20,000 the sampling error
    # of the median is ~1.2533 * 0.5 / sqrt(20000) = 0.44 % (log scale), of p99 ~ 2 %.
    assert statistics.median(ordered) * 1000 == pytest.approx(80, rel=0.02)
    assert ordered[int(0.99 * len(ordered))] * 1000 == pytest.approx(80 * math.exp(2.326 * 0.5), rel=0.06)


def test_fault_shares_and_cold_start():
    sampler = LatencySampler(LatencyModel(median_ms=10, sigma=0, error_rate=0.1, timeout_rate=0.05,
                                          timeout_s=2.0, cold_start_ms=500, cold_after_s=60, seed=1))
    draws = [sampler.draw("box", float(i)) for i in range(10_000)]
    errors = sum(d.status is not None for d in draws)
    timeouts = sum(d.timeout for d in draws)
    # binomial sd: sqrt(10000 * 0.1 * 0.9) = 30 errors, sqrt(10000 * 0.05 * 0.95) = 21.8 timeouts; 4 sd margins
    assert abs(errors - 1000) <= 120 and abs(timeouts - 500) <= 88
    assert {d.status for d in draws if d.status} <= {500, 502, 503}
    assert draws[0].cold and draws[0].delay_s == pytest.approx(0.51)  # 10 ms + 500 ms cold start
    assert not draws[1].cold and sampler.draw("box", 10_000 + 61.0).cold  # idle > 60 s: cold again
    assert all(d.delay_s == pytest.approx(2.01) for d in draws[1:] if d.timeout)


def test_invalid_settings_are_named():
    with pytest.raises(InputError, match="error_rate"):
        LatencyModel(error_rate=1.5)
    with pytest.raises(InputError, match="unknown latency setting"):
        LatencyModel().updated({"median": 3})


@pytest.mark.timing
def test_measured_median_within_10_percent_over_2000_requests():
    """2,000 requests, 100 concurrent keep-alive clients, against a separate server process (no shared GIL).

    Setting: median 200 ms, sigma 0.25. Client-side end-to-end median must be within 10 % (180..220 ms);
    loopback + HTTP overhead is ~1-6 ms here (more on a busy machine). Wall time: 2000 / 100 * ~0.2 s = ~4 s.
    """
    paths = [f"/boxes/{box_id(1 + i % 20)}" for i in range(2000)]
    with services.start_sensemap(latency_ms=200.0, sigma=0.25, seed=7) as server:
        results = closed_loop_latencies(server.host, server.port, paths, concurrency=100)
        stats = httpx.get(server.url + "/_stats").json()
    assert len(results) == 2000 and {status for status, _ in results} == {200}
    measured_ms = statistics.median(seconds for _, seconds in results) * 1000
    print(f"client-side median {measured_ms:.2f} ms; server-injected p50 {stats['injected_ms']['p50']:.2f} ms "
          f"(n={stats['injected_ms']['count']})")
    assert stats["total"] == 2000
    assert 180.0 <= measured_ms <= 220.0
    assert 180.0 <= stats["injected_ms"]["p50"] <= 220.0

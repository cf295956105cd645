"""The doctor's truth table: the reference HiveBox in every mode (client naive / pooled / concurrent x cache none /
memory / valkey / memcached x single-flight off / wait = 24 modes), one HiveBox process per mode, against one
shared replay server, Valkey and memcached. For each mode the table below states the verdict of every check, and
the doctor must give exactly that.

Why these verdicts (docs/doctor.md, docs/hivebox.md):
- connection_reuse: the naive client opens a new connection per box (fail); pooled and concurrent share one
  kept-alive client (pass);
- parallel_upstream: only the concurrent client fetches the boxes at once;
- cache_hit: fails only without a cache;
- stampede: single-flight ``wait`` coalesces a burst (even without a cache: concurrent misses share one refresh);
  ``off`` lets every miss refresh;
- probe_upstream, upstream_timeout, all_down, stale_readings, metrics: the reference gets them right in every mode.
"""

from __future__ import annotations

import itertools

import pytest

from doctor.settings import FAST
from hivepulse.doctor.checks import CHECKS
from hivepulse.doctor.run import DoctorConfig, diagnose

pytestmark = pytest.mark.slow

COLUMNS = ("connection_reuse", "parallel_upstream", "cache_hit", "stampede", "probe_upstream", "upstream_timeout",
           "all_down", "stale_readings", "metrics")
# client      cache      single-flight | reuse parallel cache stampede probe timeout down stale metrics
TABLE = """
naive       none       off  | fail fail fail fail pass pass pass pass pass
naive       none       wait | fail fail fail pass pass pass pass pass pass
naive       memory     off  | fail fail pass fail pass pass pass pass pass
naive       memory     wait | fail fail pass pass pass pass pass pass pass
naive       valkey     off  | fail fail pass fail pass pass pass pass pass
naive       valkey     wait | fail fail pass pass pass pass pass pass pass
naive       memcached  off  | fail fail pass fail pass pass pass pass pass
naive       memcached  wait | fail fail pass pass pass pass pass pass pass
pooled      none       off  | pass fail fail fail pass pass pass pass pass
pooled      none       wait | pass fail fail pass pass pass pass pass pass
pooled      memory     off  | pass fail pass fail pass pass pass pass pass
pooled      memory     wait | pass fail pass pass pass pass pass pass pass
pooled      valkey     off  | pass fail pass fail pass pass pass pass pass
pooled      valkey     wait | pass fail pass pass pass pass pass pass pass
pooled      memcached  off  | pass fail pass fail pass pass pass pass pass
pooled      memcached  wait | pass fail pass pass pass pass pass pass pass
concurrent  none       off  | pass pass fail fail pass pass pass pass pass
concurrent  none       wait | pass pass fail pass pass pass pass pass pass
concurrent  memory     off  | pass pass pass fail pass pass pass pass pass
concurrent  memory     wait | pass pass pass pass pass pass pass pass pass
concurrent  valkey     off  | pass pass pass fail pass pass pass pass pass
concurrent  valkey     wait | pass pass pass pass pass pass pass pass pass
concurrent  memcached  off  | pass pass pass fail pass pass pass pass pass
concurrent  memcached  wait | pass pass pass pass pass pass pass pass pass
"""


def _rows():
    for line in TABLE.strip().splitlines():
        mode, verdicts = line.split("|")
        client, cache, single_flight = mode.split()
        yield pytest.param(client, cache, single_flight, dict(zip(COLUMNS, verdicts.split(), strict=True)),
                           id=f"{client}-{cache}-{single_flight}")


def test_table_covers_every_mode_and_check():
    modes = {(p.values[0], p.values[1], p.values[2]) for p in _rows()}
    assert modes == set(itertools.product(("naive", "pooled", "concurrent"), ("none", "memory", "valkey", "memcached"),
                                          ("off", "wait")))
    assert set(COLUMNS) == {c.id for c in CHECKS}


@pytest.mark.parametrize(("client", "cache", "single_flight", "expected"), list(_rows()))
def test_reference_mode(shared_infra, client, cache, single_flight, expected):
    config = DoctorConfig(cache=cache, client=client, single_flight=single_flight, ttl_s=60.0, upstream_timeout_s=0.3,
                          settings=FAST)
    results = diagnose(config, shared_infra)
    got = {r.id: r.verdict for r in results}
    detail = {r.id: r.summary for r in results if r.verdict != expected[r.id]}
    assert got == expected, detail

"""The replay server's connection and overlap counts, on their own: known client behaviour in, known counts out.

- a keep-alive client (one ``httpx.Client``) sending 6 sequential requests: 1 connection, 6 requests per
  connection, never two requests in flight;
- a new client per request (the naive pattern): 6 connections, 1 request each;
- 3 requests at once from 3 threads with their own clients: 3 connections, intervals overlapping (3 in flight);
- admin routes (``/_stats``, ``/_requests``) are not counted and their connection is not counted either.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from hivepulse.sensemap.boxes import box_ids
from hivepulse.sensemap.latency import LatencyModel
from hivepulse.sensemap.server import SensemapConfig, start_in_thread

IDS = box_ids(5, 3)


@pytest.fixture(scope="module")
def server():
    srv = start_in_thread(SensemapConfig(boxes=3, seed=5, latency=LatencyModel(median_ms=60, sigma=0)))
    yield srv
    srv.stop()


@pytest.fixture
def url(server):
    httpx.post(server.url + "/_stats/reset").raise_for_status()
    return server.url


def _stats(url):
    return httpx.get(url + "/_stats").json()


def _log(url):
    return httpx.get(url + "/_requests").json()["requests"]


def _max_overlap(intervals):
    events = sorted([(r["start_s"], 1) for r in intervals] + [(r["end_s"], -1) for r in intervals],
                    key=lambda e: (e[0], e[1]))
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def test_keep_alive_client_one_connection(url):
    with httpx.Client() as client:
        for i in range(6):
            assert client.get(f"{url}/boxes/{IDS[i % 3]}").status_code == 200
    stats = _stats(url)
    assert stats["total"] == 6 and stats["connections"] == 1 and stats["requests_per_connection"] == 6.0
    log = _log(url)
    assert len(log) == 6 and {r["connection"] for r in log} == {log[0]["connection"]}
    assert [r["box"] for r in log] == [IDS[0], IDS[1], IDS[2]] * 2
    assert all(r["status"] == 200 and r["end_s"] - r["start_s"] >= 0.059 for r in log)
    assert _max_overlap(log) == 1  # sequential: never two in flight


def test_new_client_per_request_one_connection_each(url):
    for i in range(6):
        with httpx.Client() as client:
            client.get(f"{url}/boxes/{IDS[i % 3]}")
    stats = _stats(url)
    assert stats["total"] == 6 and stats["connections"] == 6 and stats["requests_per_connection"] == 1.0
    assert len({r["connection"] for r in _log(url)}) == 6


def test_parallel_requests_overlap(url):
    barrier = threading.Barrier(3)

    def one(box):
        with httpx.Client() as client:
            barrier.wait()
            client.get(f"{url}/boxes/{box}")

    threads = [threading.Thread(target=one, args=(b,)) for b in IDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = _stats(url)
    assert stats["total"] == 3 and stats["connections"] == 3 and stats["max_in_flight"] == 3
    log = _log(url)
    assert _max_overlap(log) == 3
    assert sorted(r["box"] for r in log) == sorted(IDS)


def test_requests_since_and_list_route(url):
    with httpx.Client() as client:
        client.get(f"{url}/boxes/{IDS[0]}")
        mid = httpx.get(url + "/_requests").json()["since_reset_s"]
        client.get(f"{url}/boxes", params={"format": "json"})
        later = httpx.get(url + "/_requests", params={"since": mid}).json()["requests"]
    assert [r["box"] for r in later] == [None]  # GET /boxes: no box
    assert _stats(url)["connections"] == 1
    assert httpx.get(url + "/_requests", params={"since": "x"}).status_code == 422

"""/readyz: not ready iff (A) more than half of the boxes unreachable AND (B) data older than the limit."""

from __future__ import annotations

import time

import httpx
import pytest
from hivebox_testkit import box_id

from hivepulse.hivebox.config import HiveboxConfig
from hivepulse.hivebox.service import HiveboxService, Snapshot
from hivepulse.hivebox.upstream import BoxResult

IDS = [box_id(n) for n in (201, 202, 203, 204)]
T0 = 1_780_000_000.0


def _snapshot(at: float, unreachable: int) -> Snapshot:
    boxes = {}
    for i, ident in enumerate(IDS):
        ok = i >= unreachable
        boxes[ident] = BoxResult(ident, ok, 200 if ok else 503, {} if ok else None,
                                 None if ok else "http_503", 0.01)
    return Snapshot(at, boxes)


@pytest.fixture
def service():
    return HiveboxService(HiveboxConfig(box_ids=tuple(IDS), ready_max_age_s=300.0))


@pytest.mark.parametrize(("fetches", "now", "ready", "a", "b"), [
    # A false, B false: all reachable, data 10 s old
    ([(T0, 0)], T0 + 10, True, False, False),
    # A false, B true: all reachable, data 301 s old (nothing fetched since)
    ([(T0, 0)], T0 + 301, True, False, True),
    # A true, B false: usable data 100 s old, then a fetch with 3 of 4 unreachable
    ([(T0, 0), (T0 + 100, 3)], T0 + 200, True, True, False),
    # A true, B true: usable data 301 s old, then a fetch with 3 of 4 unreachable
    ([(T0, 0), (T0 + 250, 3)], T0 + 301, False, True, True),
    # exactly 300 s old is not "older than" 300 s
    ([(T0, 0), (T0 + 250, 3)], T0 + 300, True, True, False),
    # exactly half unreachable (2 of 4) is not "more than half"; that fetch is usable data itself
    ([(T0, 0), (T0 + 250, 2)], T0 + 600, True, False, True),
    # every box unreachable since start: no data at all counts as too old
    ([(T0, 4)], T0 + 1, False, True, True),
    # before any fetch: nothing known unreachable -> ready
    ([], T0, True, False, True),
])
def test_truth_table(service, fetches, now, ready, a, b):
    for at, unreachable in fetches:
        service._remember(_snapshot(at, unreachable))
    result = service.readiness(now)
    assert (result.ready, result.too_many_unreachable, result.data_too_old) == (ready, a, b)


@pytest.mark.timing  # sleeps past HIVEBOX_READY_MAX_AGE (the data-age TTL of readiness)
def test_readyz_against_the_real_process(clean_sensemap, hivebox):
    """The four combinations in sequence on a real HiveBox (cache none, data age limit 1.5 s)."""
    sm = clean_sensemap
    for ident in IDS:
        sm.plant(ident, "20.00", age_s=30)
    handle = hivebox({"SENSEBOX_IDS": ",".join(IDS), "OPENSENSEMAP_API_URL": sm.url, "HIVEBOX_CACHE": "none",
                      "HIVEBOX_READY_MAX_AGE": "1.5", "HIVEBOX_UPSTREAM_TIMEOUT": "2"})
    http = httpx.Client(base_url=handle.url, timeout=10)

    def ready() -> tuple[int, bool, bool]:
        sm.reset()
        r = http.get("/readyz")
        assert sm.stats()["total"] == 0  # readiness never calls openSenseMap
        body = r.json()
        return r.status_code, body["too_many_unreachable"], body["data_too_old"]

    assert ready() == (200, False, True)               # no fetch yet: no data, nothing unreachable
    assert http.get("/temperature").status_code == 200  # all 4 reachable
    assert ready() == (200, False, False)               # A false, B false
    time.sleep(1.6)
    assert ready() == (200, False, True)                # A false, B true
    for ident in IDS[:3]:
        sm.outage(ident, "error")
    assert http.get("/temperature").json()["boxes_reachable"] == 1  # degraded fetch: 3 of 4 unreachable
    assert ready() == (503, True, True)                 # A true, B true -> not ready
    for ident in IDS[:3]:
        sm.outage(ident, None)
    http.get("/temperature")                            # usable data again
    for ident in IDS[:3]:
        sm.outage(ident, "error")
    http.get("/temperature")                            # degraded again, but the usable data is fresh
    assert ready() == (200, True, False)                # A true, B false
    sm.outage(IDS[2], None)                             # now exactly 2 of 4 unreachable
    time.sleep(1.6)
    http.get("/temperature")
    assert ready() == (200, False, False)               # exactly half: A false (and the fetch is usable)
    http.close()

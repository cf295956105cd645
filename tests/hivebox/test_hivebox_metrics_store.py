"""/metrics (parsed with prometheus_client's parser) and /store (moto S3 server, read back with minio)."""

from __future__ import annotations

import json
import math
import time

import httpx
from hivebox_testkit import ADMIN_HEADERS, ADMIN_TOKEN, box_id, metric_values
from minio import Minio

IDS = [box_id(n) for n in (301, 302, 303)]


def test_metrics_exposition_has_default_and_custom_series(clean_sensemap, hivebox):
    sm = clean_sensemap
    for ident, value in zip(IDS, ("10.00", "20.00", "30.00"), strict=True):
        sm.plant(ident, value, age_s=30)
    handle = hivebox({"SENSEBOX_IDS": ",".join(IDS), "OPENSENSEMAP_API_URL": sm.url, "HIVEBOX_CACHE": "memory",
                      "HIVEBOX_CACHE_TTL": "60", "HIVEBOX_ADMIN_TOKEN": ADMIN_TOKEN})
    http = httpx.Client(base_url=handle.url, timeout=10)
    before = metric_values(http.get("/metrics").text)
    assert math.isnan(before[("hivebox_cached_data_age_seconds", ())])  # no data yet
    for _ in range(5):
        assert http.get("/temperature").json()["average"] == 20.0  # (10 + 20 + 30) / 3
    sm.outage(IDS[0], "error")
    http.post("/_cache/clear", headers=ADMIN_HEADERS)
    http.get("/temperature")  # miss -> refresh with one 503
    r = http.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    values = metric_values(r.text)
    names = {name for name, _ in values}
    for default in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info",
                    "python_gc_collections_total"):
        assert default in names, default
    memory = (("backend", "memory"),)
    # 6 lookups: request 1 missed, requests 2-5 hit, request 6 missed after the clear -> 4 hits, 2 misses
    assert values[("hivebox_cache_hits_total", memory)] == 4
    assert values[("hivebox_cache_misses_total", memory)] == 2
    # 2 refreshes x 3 boxes = 6 upstream requests, 1 failed with 503
    assert values[("hivebox_upstream_request_duration_seconds_count", (("outcome", "ok"),))] == 5
    assert values[("hivebox_upstream_request_duration_seconds_count", (("outcome", "error"),))] == 1
    assert values[("hivebox_upstream_errors_total", (("kind", "http_503"),))] == 1
    assert values[("hivebox_boxes_configured", ())] == 3
    assert values[("hivebox_boxes_reachable", ())] == 2
    assert 0 <= values[("hivebox_cached_data_age_seconds", ())] < 5
    assert values[("hivebox_refreshes_total", (("outcome", "usable"),))] == 2
    assert values[("hivebox_info", (("cache", "memory"), ("client", "pooled"), ("single_flight", "off"),
                                    ("version", "0.1.0")))] == 1
    http.close()


def test_store_writes_an_object_readable_back(clean_sensemap, hivebox, s3):
    sm = clean_sensemap
    for ident, value in zip(IDS, ("11.00", "12.00", "13.00"), strict=True):
        sm.plant(ident, value, age_s=30)
    env = {"SENSEBOX_IDS": ",".join(IDS), "OPENSENSEMAP_API_URL": sm.url, **s3.extra["env"],
           "S3_BUCKET": "hivebox-test", "HIVEBOX_STORE_INTERVAL": "0.5", "HIVEBOX_ADMIN_TOKEN": ADMIN_TOKEN}
    handle = hivebox(env, extra_args=["--log-level", "info"])
    r = httpx.post(handle.url + "/store", timeout=10, headers=ADMIN_HEADERS)
    assert r.status_code == 200, r.text
    stored = r.json()
    assert stored["bucket"] == "hivebox-test" and stored["object"].startswith("hivebox/temperature-")
    client = Minio(s3.extra["endpoint"], access_key=s3.extra["access_key"], secret_key=s3.extra["secret_key"],
                   secure=False, region=s3.extra["region"])
    obj = client.get_object("hivebox-test", stored["object"])
    document = json.loads(obj.read())
    obj.close()
    assert len(json.dumps(document).encode()) > 0 and stored["bytes"] > 0
    assert document["temperature"]["average"] == 12.0  # (11 + 12 + 13) / 3
    assert set(document["boxes"]) == set(IDS)
    time.sleep(1.3)  # background task every 0.5 s: at least 2 more objects
    names = [o.object_name for o in client.list_objects("hivebox-test", prefix="hivebox/")]
    assert len(names) >= 3
    log_text = open(handle.extra["log"]).read()
    assert "hivebox starting" in log_text
    assert s3.extra["secret_key"] not in log_text and s3.extra["access_key"] not in log_text


def test_store_without_s3_is_503(clean_sensemap, hivebox):
    handle = hivebox({"SENSEBOX_IDS": IDS[0], "OPENSENSEMAP_API_URL": clean_sensemap.url})
    r = httpx.get(handle.url + "/store", timeout=10)
    assert r.status_code == 503 and "S3_ENDPOINT" in r.json()["detail"]

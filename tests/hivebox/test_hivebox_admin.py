"""Admin endpoints (/store and POST /_cache/clear): off without HIVEBOX_ADMIN_TOKEN, a bearer token otherwise;
/store object names are unique, so 100 concurrent stores write 100 objects (real HiveBox, real moto S3)."""

from __future__ import annotations

import asyncio

import httpx
from hivebox_testkit import ADMIN_HEADERS, ADMIN_TOKEN, box_id
from minio import Minio

IDS = [box_id(n) for n in (601, 602)]


def _env(sm, s3, **extra: str) -> dict[str, str]:
    for ident in IDS:
        sm.plant(ident, "18.00", age_s=30)
    return {"SENSEBOX_IDS": ",".join(IDS), "OPENSENSEMAP_API_URL": sm.url, **s3.extra["env"],
            "S3_BUCKET": "hivebox-admin", "HIVEBOX_STORE_INTERVAL": "0", "HIVEBOX_CACHE": "memory", **extra}


def test_admin_endpoints_are_off_without_a_token(clean_sensemap, hivebox, s3):
    handle = hivebox(_env(clean_sensemap, s3))
    for method, path in (("POST", "/store"), ("GET", "/store"), ("POST", "/_cache/clear")):
        r = httpx.request(method, handle.url + path, timeout=10, headers=ADMIN_HEADERS)
        assert r.status_code == 403 and "HIVEBOX_ADMIN_TOKEN" in r.json()["detail"], (method, path, r.text)
    assert httpx.get(handle.url + "/temperature", timeout=10).status_code == 200  # the rest is unaffected


def test_admin_endpoints_need_the_bearer_token(clean_sensemap, hivebox, s3):
    handle = hivebox(_env(clean_sensemap, s3, HIVEBOX_ADMIN_TOKEN=ADMIN_TOKEN))
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": ADMIN_TOKEN},
                    {"Authorization": f"Basic {ADMIN_TOKEN}"}):
        for path in ("/store", "/_cache/clear"):
            r = httpx.post(handle.url + path, timeout=10, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (path, headers)
            assert ADMIN_TOKEN not in r.text
    assert httpx.post(handle.url + "/_cache/clear", timeout=10, headers=ADMIN_HEADERS).json() == {"cleared": True}
    assert httpx.post(handle.url + "/store", timeout=10, headers=ADMIN_HEADERS).status_code == 200


def test_100_concurrent_stores_write_100_objects(clean_sensemap, hivebox, s3):
    """No cache and single-flight: the 100 requests share one slow refresh and resume in the same instant, so
    names made of the time alone collide (they did: fewer objects than answers, every answer a 200)."""
    clean_sensemap.configure(median_ms=150.0, sigma=0.0)
    handle = hivebox(_env(clean_sensemap, s3, HIVEBOX_ADMIN_TOKEN=ADMIN_TOKEN, S3_PREFIX="burst/",
                          HIVEBOX_CACHE="none", HIVEBOX_SINGLE_FLIGHT="wait"))

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=handle.url, timeout=60, limits=limits, headers=ADMIN_HEADERS) as c:
            return list(await asyncio.gather(*(c.post("/store") for _ in range(100))))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 100
    names = {r.json()["object"] for r in responses}
    assert len(names) == 100
    client = Minio(s3.extra["endpoint"], access_key=s3.extra["access_key"], secret_key=s3.extra["secret_key"],
                   secure=False, region=s3.extra["region"])
    stored = {o.object_name for o in client.list_objects("hivebox-admin", prefix="burst/")}
    assert stored == names

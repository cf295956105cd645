"""Replay server: openSenseMap wire shape, errors, admin endpoints, faults, record/replay."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from hivebox_testkit import box_id

from hivepulse.errors import InputError, SourceError
from hivepulse.sensemap import SensemapConfig, box_ids, generate_box, parse_timestamp, record, start_in_thread
from hivepulse.sensemap.boxes import render_box
from hivepulse.sensemap.latency import LatencyModel

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")


def test_box_document_has_the_opensensemap_shape(clean_sensemap):
    ident = box_ids(1, 3)[0]
    before = time.time()
    r = clean_sensemap.http.get(f"/boxes/{ident}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    box = r.json()
    assert set(box) == {"_id", "createdAt", "updatedAt", "name", "currentLocation", "exposure", "sensors",
                        "model", "lastMeasurementAt", "grouptag", "loc"}
    assert box["_id"] == ident
    assert box["exposure"] in {"indoor", "outdoor", "mobile", "unknown"}
    assert isinstance(box["grouptag"], list)
    assert box["currentLocation"]["type"] == "Point" and len(box["currentLocation"]["coordinates"]) == 2
    assert box["loc"][0]["type"] == "Feature"
    for key in ("createdAt", "updatedAt", "lastMeasurementAt"):
        assert TS_RE.match(box[key]), box[key]
    titles = {s["title"]: s for s in box["sensors"]}
    assert {"Temperatur", "rel. Luftfeuchte", "Luftdruck", "PM10", "PM2.5"} <= set(titles)
    for sensor in box["sensors"]:
        assert HEX24.match(sensor["_id"])
        assert {"_id", "title", "unit", "sensorType"} <= set(sensor)
        if "lastMeasurement" in sensor:
            m = sensor["lastMeasurement"]
            assert set(m) == {"value", "createdAt"}
            assert isinstance(m["value"], str)
            float(m["value"])
            assert TS_RE.match(m["createdAt"])
    assert titles["Temperatur"]["unit"] == "°C"
    # fresh readings (stale_share 0): re-based to request time, reported every 60-300 s
    age = before - parse_timestamp(titles["Temperatur"]["lastMeasurement"]["createdAt"])
    assert -1 <= age <= 301
    # decoys
    assert titles["Bodentemperatur"]["unit"] == "°C" and "lastMeasurement" in titles["Bodentemperatur"]
    dew_age = before - parse_timestamp(titles["Taupunkt"]["lastMeasurement"]["createdAt"])
    assert titles["Taupunkt"]["unit"] == "°C" and dew_age > 3600
    assert "lastMeasurement" not in titles["UV-Intensität"]


def test_key_order_varies_between_boxes_and_is_stable_per_box():
    now = time.time()
    docs = [render_box(generate_box(b, seed=5), now) for b in box_ids(5, 12)]
    top_orders = {tuple(d) for d in docs}
    sensor_orders = {tuple(d["sensors"][0]) for d in docs}
    measurement_orders = {tuple(s["lastMeasurement"]) for d in docs for s in d["sensors"]
                          if "lastMeasurement" in s}
    assert len(top_orders) > 1 and len(sensor_orders) > 1
    assert measurement_orders == {("value", "createdAt"), ("createdAt", "value")}
    again = render_box(generate_box(box_ids(5, 1)[0], seed=5), now)
    assert json.dumps(again) == json.dumps(docs[0])  # same seed, same time: identical bytes
    other_seed = render_box(generate_box(box_ids(5, 1)[0], seed=6), now)
    assert other_seed != docs[0]


@pytest.mark.parametrize("bad", ["xyz", "5eba5fbad46fb8001b79978", "5eba5fbad46fb8001b79978g",
                                 "00112233445566778899aabb"])
def test_malformed_id_gets_the_opensensemap_error(clean_sensemap, bad):
    r = clean_sensemap.http.get(f"/boxes/{bad}")
    assert r.status_code == 422
    assert r.json() == {"code": "UnprocessableEntity",
                        "message": "Parameter boxId is not parseable as datatype id"}
    assert clean_sensemap.stats()["invalid_requests"] == 1


def test_any_valid_id_gets_its_own_deterministic_box(clean_sensemap):
    real = "5eba5fbad46fb8001b799786"
    a = clean_sensemap.http.get(f"/boxes/{real}").json()
    b = clean_sensemap.http.get(f"/boxes/{real}").json()
    assert a["_id"] == real and a["name"] == b["name"] and a["sensors"][0]["_id"] == b["sensors"][0]["_id"]
    assert clean_sensemap.http.get(f"/boxes/{real}/sensors").json()["_id"] == real


def test_boxes_listing_with_date_and_phenomenon(clean_sensemap):
    http = clean_sensemap.http
    clean_sensemap.plant(box_id(9), 12.5, age_s=10 * 3600)  # outside date +- 4 h
    now_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    listing = http.get("/boxes", params={"date": now_text, "phenomenon": "Temperatur", "format": "json"}).json()
    assert [b["_id"] for b in listing] == box_ids(1, 3)  # the planted stale box is outside the window
    for box in listing:
        populated = [s["title"] for s in box["sensors"] if isinstance(s.get("lastMeasurement"), dict)]
        assert populated == ["Temperatur"]
    plain = http.get("/boxes").json()
    assert {b["_id"] for b in plain} == {*box_ids(1, 3), box_id(9)}
    ids_only = [s["lastMeasurement"] for b in plain for s in b["sensors"] if "lastMeasurement" in s]
    assert ids_only and all(isinstance(m, str) and HEX24.match(m) for m in ids_only)
    minimal = http.get("/boxes", params={"minimal": "true"}).json()
    assert set(minimal[0]) == {"_id", "name", "currentLocation", "exposure", "lastMeasurementAt"}
    geo = http.get("/boxes", params={"format": "geojson"}).json()
    assert geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"
    assert http.get("/boxes", params={"date": "yesterday"}).status_code == 422
    assert clean_sensemap.stats()["list_requests"] == 4  # the 422 is rejected before counting


def test_planted_box_is_served_exactly(clean_sensemap):
    clean_sensemap.plant(box_id(1), "21.50", age_s=120)
    before = time.time()
    box = clean_sensemap.http.get(f"/boxes/{box_id(1)}").json()
    temps = [s for s in box["sensors"] if s["title"] == "Temperatur"]
    assert len(temps) == 1 and temps[0]["lastMeasurement"]["value"] == "21.50"
    age = before - parse_timestamp(temps[0]["lastMeasurement"]["createdAt"])
    assert 119.9 <= age <= 120.5
    decoys = {s["title"]: s.get("lastMeasurement", {}).get("value") for s in box["sensors"]}
    assert decoys["Bodentemperatur"] == "-5.00" and decoys["Taupunkt"] == "80.00"
    assert decoys["UV-Intensität"] is None
    clean_sensemap.plant(box_id(2))  # no temperature sensor at all
    box2 = clean_sensemap.http.get(f"/boxes/{box_id(2)}").json()
    assert "Temperatur" not in {s["title"] for s in box2["sensors"]}
    bad = clean_sensemap.http.put(f"/_boxes/{box_id(3)}", json={"outage": "sometimes"})
    assert bad.status_code == 422 and bad.json()["code"] == "UnprocessableEntity"


def test_stats_count_per_box_and_reset(clean_sensemap):
    for _ in range(3):
        clean_sensemap.http.get(f"/boxes/{box_id(1)}")
    clean_sensemap.http.get(f"/boxes/{box_id(2)}")
    stats = clean_sensemap.stats()
    assert stats["boxes"] == {box_id(1): 3, box_id(2): 1}
    assert stats["total"] == 4 and stats["status"] == {"200": 4}
    assert stats["injected_ms"]["count"] == 4 and stats["injected_ms"]["p50"] == pytest.approx(1.0)
    clean_sensemap.reset()
    assert clean_sensemap.stats()["total"] == 0


def test_outages_and_injected_faults(clean_sensemap):
    http = clean_sensemap.http
    clean_sensemap.outage(box_id(1), "error")
    clean_sensemap.outage(box_id(2), "notfound")
    r1 = http.get(f"/boxes/{box_id(1)}")
    assert r1.status_code == 503 and r1.json()["code"] == "ServiceUnavailable"
    assert http.get(f"/boxes/{box_id(2)}").json() == {"code": "NotFound", "message": "Box not found"}
    clean_sensemap.outage(box_id(1), None)
    assert http.get(f"/boxes/{box_id(1)}").status_code == 200
    clean_sensemap.configure(error_rate=1.0)
    assert http.get(f"/boxes/{box_id(4)}").status_code in (500, 502, 503)
    clean_sensemap.configure(error_rate=0.0, timeout_rate=1.0, timeout_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"/boxes/{box_id(4)}", timeout=0.3)
    clean_sensemap.configure(timeout_rate=0.0)
    clean_sensemap.outage(box_id(5), "timeout")
    clean_sensemap.configure(timeout_s=0.5)
    started = time.perf_counter()
    assert http.get(f"/boxes/{box_id(5)}").status_code == 200  # held 0.5 s, then answered
    assert time.perf_counter() - started >= 0.45
    assert http.put("/_config", json={"error_rate": 2}).status_code == 422


def test_cold_start_spike_only_on_first_request(clean_sensemap):
    clean_sensemap.configure(cold_start_ms=300.0)
    http = clean_sensemap.http
    ident = box_id(77)
    t0 = time.perf_counter()
    http.get(f"/boxes/{ident}")
    cold = time.perf_counter() - t0
    t1 = time.perf_counter()
    http.get(f"/boxes/{ident}")
    warm = time.perf_counter() - t1
    assert cold >= 0.29 and warm < 0.29
    assert clean_sensemap.stats()["cold_starts"] == 1


def test_stale_share_one_makes_every_generated_box_old():
    now = time.time()
    for ident in box_ids(2, 5):
        doc = render_box(generate_box(ident, seed=2, stale_share=1.0), now)
        temp = next(s for s in doc["sensors"] if s["title"] == "Temperatur")
        assert now - parse_timestamp(temp["lastMeasurement"]["createdAt"]) >= 2 * 3600 - 1


def test_record_and_replay_rebases_timestamps(tmp_path, clean_sensemap):
    ids = [box_id(11), box_id(12)]
    clean_sensemap.plant(ids[0], "18.25", age_s=300)
    clean_sensemap.plant(ids[1], "30.00", age_s=2000)
    out = record(ids, tmp_path / "rec", base_url=clean_sensemap.url)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ids"] == ids
    raw = (out / "boxes" / f"{ids[0]}.json").read_text()
    time.sleep(1.2)  # replay later: ages must be the recorded ages, not older
    with start_in_thread(SensemapConfig(replay_dir=out, latency=LatencyModel(median_ms=0, sigma=0))) as server:
        before = time.time()
        replayed = httpx.get(f"{server.url}/boxes/{ids[0]}").text
        temp = next(s for s in json.loads(replayed)["sensors"] if s["title"] == "Temperatur")
        age = before - parse_timestamp(temp["lastMeasurement"]["createdAt"])
        assert 299.5 <= age <= 300.5  # 300 s when recorded, 300 s when replayed (1.2 s later)
        # same bytes apart from the shifted timestamps (key order preserved)
        assert re.sub(r'"\d{4}-[^"]*Z"', "T", replayed) == re.sub(r'"\d{4}-[^"]*Z"', "T", raw)
        missing = httpx.get(f"{server.url}/boxes/{box_id(13)}")
        assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
        assert [b["_id"] for b in httpx.get(f"{server.url}/boxes").json()] == ids


def test_record_errors_write_nothing(tmp_path, clean_sensemap):
    clean_sensemap.outage(box_id(21), "error")
    with pytest.raises(SourceError, match="answered 503"):
        record([box_id(20), box_id(21)], tmp_path / "rec", base_url=clean_sensemap.url)
    assert not (tmp_path / "rec").exists()
    assert not list(tmp_path.iterdir())
    with pytest.raises(InputError, match="invalid box id"):
        record(["nope"], tmp_path / "rec2", base_url=clean_sensemap.url)
    with pytest.raises(SourceError):
        record([box_id(20)], tmp_path / "rec3", base_url="http://127.0.0.1:9", timeout_s=2)


@pytest.mark.parametrize("age", ["1e999", "NaN", "-1", "-Infinity", "1e300", "\"soon\"", "true"])
def test_absurd_planted_ages_are_refused_when_planted_never_answered_500(clean_sensemap, tmp_path, age):
    """`age_s: 1e999` used to be accepted and the box then answered 500 at every request."""
    ident = box_id(31)
    raw = '{"temperature": {"value": "20.00", "age_s": ' + age + "}}"
    r = clean_sensemap.http.put(f"/_boxes/{ident}", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "age_s" in r.json()["message"], r.text
    assert clean_sensemap.http.get(f"/boxes/{ident}").status_code == 200  # the generated box, unharmed
    plant = tmp_path / "plant.json"
    plant.write_text(json.dumps({"boxes": {ident: "PLANT"}}).replace('"PLANT"', raw))
    from hivepulse.cli import main

    assert main(["sensemap", "serve", "--plant", str(plant), "--port", "0"]) == 2  # refused at load, exit 2


def test_absurd_latency_settings_are_refused(clean_sensemap):
    for raw in ('{"median_ms": 1e999}', '{"sigma": NaN}', '{"timeout_s": 1e12}', '{"median_ms": true}'):
        r = clean_sensemap.http.put("/_config", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422, (raw, r.text)
    assert clean_sensemap.http.get(f"/boxes/{box_id(32)}").status_code == 200

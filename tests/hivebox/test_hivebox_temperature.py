"""/temperature, /version: pure rules, then the real HiveBox process on planted openSenseMap data."""

from __future__ import annotations

import httpx
import pytest
from hivebox_testkit import box_id

from hivepulse import services
from hivepulse.hivebox.temperature import (
    Reading,
    average_temperature,
    parse_temperature,
    temperature_status,
)
from hivepulse.sensemap.boxes import format_timestamp

NOW = 1_780_000_000.0  # fixed epoch seconds for the pure tests


def _box(*sensors: dict) -> dict:
    return {"_id": box_id(1), "sensors": list(sensors)}


def _sensor(title: str, value: str | None, age_s: float, unit: str = "°C") -> dict:
    sensor = {"_id": box_id(99), "title": title, "unit": unit, "sensorType": "BME280"}
    if value is not None:
        sensor["lastMeasurement"] = {"createdAt": format_timestamp(NOW - age_s), "value": value}
    return sensor


@pytest.mark.parametrize(("age_s", "counted"), [(0, True), (3599.999, True), (3600.0, True), (3600.001, False),
                                                (-300, True), (-300.001, False)])
def test_one_hour_boundary_is_inclusive(age_s, counted):
    result = parse_temperature("b", _box(_sensor("Temperatur", "20.00", age_s)), NOW)
    assert (result.reading is not None) is counted
    if not counted:
        assert result.reason in {"stale", "future"}


def test_title_must_be_exactly_temperatur_and_unit_celsius():
    box = _box(_sensor("Bodentemperatur", "5.0", 10), _sensor("Taupunkt", "8.0", 10),
               _sensor("temperature", "9.0", 10), _sensor("Temperatur", "70.0", 10, unit="°F"))
    result = parse_temperature("b", box, NOW)
    assert result.reading is None and result.reason == "wrong_unit"
    assert parse_temperature("b", _box(_sensor(" Temperatur ", "7.5", 10)), NOW).reading.value == 7.5
    assert parse_temperature("b", _box(_sensor("Temperatur", None, 0)), NOW).reason == "no_measurement"
    assert parse_temperature("b", _box(_sensor("Temperatur", "n/a", 5)), NOW).reason == "invalid_value"
    assert parse_temperature("b", _box(_sensor("Temperatur", "nan", 5)), NOW).reason == "invalid_value"
    assert parse_temperature("b", _box(), NOW).reason == "no_sensor"
    assert parse_temperature("b", None, NOW).reason == "unreachable"


@pytest.mark.parametrize(("value", "counted"), [("-100", True), ("100", True), ("-100.01", False),
                                               ("100.01", False), ("1.7e308", False), ("-1e30", False),
                                               ("inf", False), ("85.0", True)])
def test_readings_outside_the_plausible_range_are_invalid(value, counted):
    result = parse_temperature("b", _box(_sensor("Temperatur", value, 10)), NOW)
    assert (result.reading is not None) is counted
    if not counted:
        assert result.reason == "invalid_value"


def test_two_absurd_readings_never_overflow_the_average():
    """1.7e308 in two boxes used to overflow math.fsum (HTTP 500); both are skipped now."""
    per_box = [parse_temperature(b, _box(_sensor("Temperatur", "1.7e308", 10)), NOW) for b in ("a", "b")]
    assert [p.reason for p in per_box] == ["invalid_value", "invalid_value"]
    assert average_temperature(p.reading for p in per_box if p.reading is not None) is None


@pytest.mark.parametrize("doc", [{"sensors": 5}, {"sensors": "Temperatur"}, {"sensors": {"a": 1}},
                                 {"sensors": [{"title": "Temperatur", "lastMeasurement": {"value": True,
                                                                                         "createdAt": "x"}}]},
                                 {"sensors": [{"title": "Temperatur", "lastMeasurement": {
                                     "value": "20", "createdAt": "0001-01-01T00:00:00+01:00"}}]}])
def test_malformed_box_documents_are_a_reason_never_an_exception(doc):
    assert parse_temperature("b", doc, NOW).reading is None


def test_newest_of_several_temperatur_sensors_wins():
    box = _box(_sensor("Temperatur", "10.0", 600), _sensor("Temperatur", "12.0", 60),
               _sensor("Temperatur", "99.0", 7200))
    assert parse_temperature("b", box, NOW).reading.value == 12.0


def test_average_rounding_and_status_thresholds():
    def readings(*values: float) -> list[Reading]:
        return [Reading(str(i), v, NOW, 0) for i, v in enumerate(values)]

    assert average_temperature([]) is None
    assert average_temperature(readings(20.0, 24.5)) == 22.25  # (20.0 + 24.5) / 2
    assert average_temperature(readings(1.0, 2.0, 2.0)) == 1.67  # 5 / 3 = 1.666.. -> 1.67
    cases = {9.99: "Too Cold", 10.0: "Good", 10.5: "Good", 11.0: "Good", 36.0: "Good", 36.01: "Too Hot",
             36.5: "Too Hot", 37.0: "Too Hot", -3.0: "Too Cold"}
    for value, status in cases.items():
        assert temperature_status(value) == status, value


# -- against the real processes ------------------------------------------------------------------------------
IDS = [box_id(n) for n in (101, 102, 103, 104, 105)]


@pytest.fixture(scope="module")
def plain_hivebox(sensemap):
    env = {"SENSEBOX_IDS": ",".join(IDS), "OPENSENSEMAP_API_URL": sensemap.url, "HIVEBOX_CACHE": "none",
           "HIVEBOX_VERSION": "1.4.2"}
    with services.start_hivebox(env) as handle, httpx.Client(base_url=handle.url, timeout=10) as client:
        yield client


def test_version(plain_hivebox):
    assert plain_hivebox.get("/version").json() == {"version": "1.4.2"}


def test_average_over_planted_boxes_with_stale_decoys_and_missing_sensor(clean_sensemap, plain_hivebox):
    sm = clean_sensemap
    sm.plant(IDS[0], "20.00", age_s=60)      # counted
    sm.plant(IDS[1], "24.50", age_s=3590)    # counted (59 min 50 s old)
    sm.plant(IDS[2], "99.00", age_s=3610)    # stale: ignored
    sm.plant(IDS[3])                         # no Temperatur sensor (decoys only)
    sm.outage(IDS[4], "error")               # unreachable (503)
    r = plain_hivebox.get("/temperature")
    body = r.json()
    assert r.status_code == 200
    # (20.00 + 24.50) / 2 = 22.25; decoys (Bodentemperatur -5.00, Taupunkt 80.00) ignored
    assert body["average"] == 22.25 and body["status"] == "Good"
    assert body["boxes_used"] == 2 and body["boxes_configured"] == 5 and body["boxes_reachable"] == 4
    assert body["skipped"] == {IDS[2]: "stale", IDS[3]: "no_sensor", IDS[4]: "unreachable"}
    assert body["source"] == "upstream"
    assert sm.stats()["boxes"] == {i: 1 for i in IDS}  # cache none: one call per box per request


@pytest.mark.parametrize(("values", "average", "status"), [
    (("9.98", "10.00"), 9.99, "Too Cold"),    # (9.98 + 10.00) / 2 = 9.99
    (("10.00", "10.00"), 10.0, "Good"),
    (("10.40", "10.60"), 10.5, "Good"),       # inside the roadmap's 10-11 gap -> Good
    (("36.00", "36.00"), 36.0, "Good"),
    (("36.00", "36.02"), 36.01, "Too Hot"),   # (36.00 + 36.02) / 2 = 36.01
    (("36.40", "36.60"), 36.5, "Too Hot"),    # inside the 36-37 gap -> Too Hot
])
def test_status_on_planted_values(clean_sensemap, plain_hivebox, values, average, status):
    for ident, value in zip(IDS[:2], values, strict=True):
        clean_sensemap.plant(ident, value, age_s=30)
    for ident in IDS[2:]:
        clean_sensemap.plant(ident)  # no temperature sensor
    body = plain_hivebox.get("/temperature").json()
    assert (body["average"], body["status"]) == (average, status)


def test_all_stale_is_503_with_null_average(clean_sensemap, plain_hivebox):
    for ident in IDS:
        clean_sensemap.plant(ident, "21.00", age_s=7200)
    r = plain_hivebox.get("/temperature")
    assert r.status_code == 503
    body = r.json()
    assert body["average"] is None and body["status"] is None and body["boxes_used"] == 0
    assert set(body["skipped"].values()) == {"stale"} and "no fresh Temperatur" in body["detail"]


def test_generated_boxes_match_a_hand_parse(clean_sensemap, plain_hivebox):
    """Unplanted ids get generated boxes; the average equals the mean of their Temperatur values."""
    values = []
    for ident in IDS:
        doc = clean_sensemap.http.get(f"/boxes/{ident}").json()
        values.append(float(next(s for s in doc["sensors"] if s["title"] == "Temperatur")
                            ["lastMeasurement"]["value"]))
    body = plain_hivebox.get("/temperature").json()
    assert body["average"] == round(sum(values) / len(values), 2)

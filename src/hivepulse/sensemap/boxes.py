"""Deterministic senseBox documents in openSenseMap's wire shape.

A box is described once by a :class:`BoxSpec` (sensor titles, units, values and reading *ages*) and rendered
at request time with :func:`render_box`, so timestamps are always relative to "now" (re-based): a sensor
with ``age_s=120`` reports a ``createdAt`` two minutes before the request.

Wire-shape facts reproduced (openSenseMap-API ``GET /boxes/:boxId``):

- German sensor titles (``Temperatur``, ``rel. Luftfeuchte``, ``Luftdruck``, ``PM10``, ``PM2.5``);
- ``lastMeasurement.value`` is a **string** (``"26.06"``), ``createdAt`` is RFC 3339 with milliseconds and
  ``Z`` (``2026-07-10T13:09:47.578Z``);
- key order differs between boxes (top level, sensor objects, ``value``/``createdAt``);
- decoys in every generated box: ``Bodentemperatur`` (soil, °C, fresh), ``Taupunkt`` (dew point, °C, stale:
  2 to 30 hours old) and ``UV-Intensität`` (no ``lastMeasurement`` at all).

The shape itself (ids, timestamps, field names, the temperature sensor's title) is :mod:`hivepulse.opensensemap`,
shared with the HiveBox; its names are re-exported here for compatibility.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from hivepulse.opensensemap import (
    BOX_ID_RE,
    REJECTED_ID,
    TEMPERATURE_TITLE,
    JsonObject,
    format_timestamp,
    is_valid_box_id,
    parse_timestamp,
)
from hivepulse.sensemap.plant import PlantBody, parse_plant_body

_PLACES = (
    "Groß Glienicke", "Münster Kreuzviertel", "Leipzig Connewitz", "Köln Ehrenfeld", "Berlin Wedding",
    "Hamburg Ottensen", "Dresden Neustadt", "Freiburg Wiehre", "Bremen Viertel", "Kassel Vorderer Westen",
    "Bonn Poppelsdorf", "Mainz Altstadt", "Jena Lobeda", "Kiel Gaarden", "Görlitz Innenstadt",
)
_TOP_KEYS = (
    "_id", "createdAt", "updatedAt", "name", "currentLocation", "exposure", "sensors", "model",
    "lastMeasurementAt", "grouptag", "loc",
)
_SENSOR_KEYS = ("_id", "title", "unit", "sensorType", "icon", "lastMeasurement")


def box_ids(seed: int, count: int) -> list[str]:
    """The ``count`` box ids of a generated catalogue (24 lowercase hex digits each, stable per seed)."""
    return [hashlib.sha256(f"hivepulse-box:{seed}:{i}".encode()).hexdigest()[:24] for i in range(count)]


@dataclass(frozen=True)
class SensorSpec:
    """One sensor. ``value`` None means no ``lastMeasurement``.

    Reading age: if ``period_s`` is set the sensor reports every ``period_s`` seconds and the age at time
    ``t`` is ``(t - phase_s) mod period_s`` (always fresh, changes over time); otherwise the age is the fixed
    ``age_s`` seconds (a stale sensor, or a planted reading).
    """

    sensor_id: str
    title: str
    unit: str
    sensor_type: str
    icon: str | None = None
    value: str | None = None
    age_s: float = 0.0
    period_s: float | None = None
    phase_s: float = 0.0
    measurement_id: str = ""

    def age_at(self, now: float) -> float:
        """Age of the reading in seconds at epoch time ``now``."""
        if self.period_s:
            return (now - self.phase_s) % self.period_s
        return self.age_s


@dataclass(frozen=True)
class BoxSpec:
    """A senseBox description; :func:`render_box` turns it into the wire document."""

    box_id: str
    name: str
    exposure: str
    model: str
    grouptag: tuple[str, ...]
    lon: float
    lat: float
    created_at: float
    sensors: tuple[SensorSpec, ...]
    top_key_order: tuple[str, ...] = _TOP_KEYS
    sensor_key_order: tuple[str, ...] = _SENSOR_KEYS
    value_first: bool = True
    extra: JsonObject = field(default_factory=dict)


def _hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _rng_for(seed: int, box_id: str) -> random.Random:
    digest = hashlib.sha256(f"hivepulse-spec:{seed}:{box_id.lower()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate_box(box_id: str, seed: int = 0, stale_share: float = 0.0) -> BoxSpec:
    """The deterministic box for ``box_id`` under ``seed``.

    A share ``stale_share`` (0..1) of boxes is stale: the box stopped reporting 2 to 72 hours ago, so
    every reading (including ``Temperatur``) is that old. Whether a box is stale depends only on
    (seed, box_id, stale_share). Fresh sensors report every 60 to 300 s.
    """
    rng = _rng_for(seed, box_id)
    stale_draw = rng.random()
    stale_age = rng.uniform(2 * 3600, 72 * 3600)
    stale = stale_draw < stale_share
    model = rng.choice(("luftdaten_sds011_bme280", "homeV2Wifi"))
    period = rng.choice((60.0, 120.0, 150.0, 300.0))
    phase = rng.uniform(0, period)

    def reading(title: str, unit: str, sensor_type: str, value: float, icon: str | None, digits: int = 2,
                fixed_age: float | None = None) -> SensorSpec:
        sensor_id = _hex_id(rng)
        measurement_id = _hex_id(rng)
        text = f"{value:.{digits}f}"
        if fixed_age is not None or stale:
            age = fixed_age if fixed_age is not None else stale_age
            return SensorSpec(sensor_id, title, unit, sensor_type, icon, text, age_s=age,
                              measurement_id=measurement_id)
        return SensorSpec(sensor_id, title, unit, sensor_type, icon, text, period_s=period, phase_s=phase,
                          measurement_id=measurement_id)

    temp_type = "BME280" if model.startswith("luftdaten") else "HDC1080"
    sensors = [
        reading("Temperatur", "°C", temp_type, rng.uniform(4.0, 32.0), "osem-thermometer"),
        reading("rel. Luftfeuchte", "%", temp_type, rng.uniform(30.0, 95.0), "osem-humidity"),
        reading("Luftdruck", "Pa", "BME280", rng.uniform(98000.0, 103000.0), "osem-barometer"),
        reading("PM10", "µg/m³", "SDS 011", rng.uniform(2.0, 60.0), "osem-cloud"),
        reading("PM2.5", "µg/m³", "SDS 011", rng.uniform(1.0, 40.0), "osem-cloud"),
        # Decoys: a soil temperature (substring "temp" matchers pick it up), a stale °C sensor
        # (unit matchers pick it up unless they honour the 1-hour rule), a sensor without data.
        reading("Bodentemperatur", "°C", "SMT50", rng.uniform(2.0, 20.0), "osem-thermometer"),
        reading("Taupunkt", "°C", "BME280", rng.uniform(-5.0, 18.0), "osem-thermometer",
                fixed_age=max(stale_age, rng.uniform(2 * 3600, 30 * 3600))),
        SensorSpec(_hex_id(rng), "UV-Intensität", "μW/cm²", "VEML6070", "osem-brightness"),
    ]
    rng.shuffle(sensors)
    return BoxSpec(
        box_id=box_id,
        name=f"senseBox {rng.choice(_PLACES)} {rng.randint(1, 99)}",
        exposure=rng.choice(("outdoor", "outdoor", "outdoor", "indoor")),
        model=model,
        grouptag=tuple(rng.sample(("hivepulse", "bbumm", "schule", "luftdaten"), rng.randint(0, 2))),
        lon=round(rng.uniform(6.0, 15.0), 6),
        lat=round(rng.uniform(47.3, 55.0), 6),
        created_at=rng.uniform(1.55e9, 1.72e9),
        sensors=tuple(sensors),
        top_key_order=_shuffled(rng, _TOP_KEYS, keep_first=rng.random() < 0.5),
        sensor_key_order=_shuffled(rng, _SENSOR_KEYS, keep_first=rng.random() < 0.5),
        value_first=rng.random() < 0.5,
    )


def planted_box(box_id: str, body: PlantBody | Mapping[str, object], seed: int = 0) -> BoxSpec:
    """A box with exactly the readings a test planted (``PUT /_boxes/{id}``); see docs/sensemap.md.

    ``body`` (a :class:`hivepulse.sensemap.plant.PlantBody`, or a mapping checked as one): ``temperature``
    (``{"value": "21.5", "age_s": 120}``, or None for a box without a ``Temperatur`` sensor), ``decoys``
    (bool, default True: ``Bodentemperatur`` "-5.00" fresh, ``Taupunkt`` "80.00" two hours old,
    ``UV-Intensität`` without data), or ``sensors`` (a list of ``{title, unit, value, age_s, sensorType?}``
    replacing everything). Ages are fixed seconds (0 to ten years).
    """
    plant = body if isinstance(body, PlantBody) else parse_plant_body(body, box_id=box_id)
    base = generate_box(box_id, seed)
    rng = _rng_for(seed + 7919, box_id)
    sensors: list[SensorSpec] = []
    if plant.sensors is not None:
        for item in plant.sensors:
            sensors.append(SensorSpec(
                _hex_id(rng), item.title, item.unit, item.sensorType, item.icon, item.value, age_s=item.age_s,
                measurement_id=_hex_id(rng)))
    else:
        temperature = plant.temperature
        if temperature is not None:
            sensors.append(SensorSpec(
                _hex_id(rng), TEMPERATURE_TITLE, temperature.unit, "BME280",
                "osem-thermometer", temperature.value, age_s=temperature.age_s,
                measurement_id=_hex_id(rng)))
        sensors.append(SensorSpec(_hex_id(rng), "rel. Luftfeuchte", "%", "BME280", "osem-humidity", "55.10",
                                  age_s=30.0, measurement_id=_hex_id(rng)))
        if plant.decoys:
            sensors += [
                SensorSpec(_hex_id(rng), "Bodentemperatur", "°C", "SMT50", "osem-thermometer", "-5.00",
                           age_s=60.0, measurement_id=_hex_id(rng)),
                SensorSpec(_hex_id(rng), "Taupunkt", "°C", "BME280", "osem-thermometer", "80.00",
                           age_s=7200.0, measurement_id=_hex_id(rng)),
                SensorSpec(_hex_id(rng), "UV-Intensität", "μW/cm²", "VEML6070", "osem-brightness"),
            ]
        rng.shuffle(sensors)
    return BoxSpec(
        box_id=box_id, name=plant.name if plant.name is not None else base.name, exposure=base.exposure,
        model=base.model,
        grouptag=base.grouptag, lon=base.lon, lat=base.lat, created_at=base.created_at,
        sensors=tuple(sensors), top_key_order=base.top_key_order, sensor_key_order=base.sensor_key_order,
        value_first=base.value_first,
    )


def _shuffled(rng: random.Random, keys: tuple[str, ...], keep_first: bool) -> tuple[str, ...]:
    rest = list(keys[1:] if keep_first else keys)
    rng.shuffle(rest)
    return tuple([keys[0], *rest] if keep_first else rest)


def _measurement(spec: SensorSpec, now: float, value_first: bool) -> dict[str, str]:
    created = format_timestamp(now - spec.age_at(now))
    if value_first:
        return {"value": spec.value or "", "createdAt": created}
    return {"createdAt": created, "value": spec.value or ""}


def render_sensor(spec: SensorSpec, now: float, key_order: tuple[str, ...], value_first: bool,
                  populate: bool = True) -> JsonObject:
    """One sensor object. ``populate=False`` renders ``lastMeasurement`` as a bare measurement id string,
    as ``GET /boxes`` without ``date`` does."""
    fields: JsonObject = {
        "_id": spec.sensor_id, "title": spec.title, "unit": spec.unit, "sensorType": spec.sensor_type,
    }
    if spec.icon:
        fields["icon"] = spec.icon
    if spec.value is not None:
        fields["lastMeasurement"] = (_measurement(spec, now, value_first) if populate
                                     else spec.measurement_id)
    return {key: fields[key] for key in key_order if key in fields}


def newest_reading_time(spec: BoxSpec, now: float) -> float:
    """Epoch seconds of the box's newest reading (``lastMeasurementAt``); box creation if none."""
    times = [now - s.age_at(now) for s in spec.sensors if s.value is not None]
    return max(times) if times else spec.created_at


def render_box(spec: BoxSpec, now: float, populate: bool = True,
               populate_titles: set[str] | None = None) -> JsonObject:
    """The ``GET /boxes/{id}`` document at epoch time ``now`` (timestamps re-based to ``now``).

    ``populate_titles``: when given, only sensors with these titles carry a ``lastMeasurement`` object
    (the others a measurement id string), as in ``GET /boxes?date=...&phenomenon=...``.
    """
    last = newest_reading_time(spec, now)
    created = format_timestamp(spec.created_at)
    location = {"type": "Point", "coordinates": [spec.lon, spec.lat], "timestamp": created}
    sensors = [
        render_sensor(s, now, spec.sensor_key_order, spec.value_first,
                      populate and (populate_titles is None or s.title in populate_titles))
        for s in spec.sensors
    ]
    fields: JsonObject = {
        "_id": spec.box_id,
        "createdAt": created,
        "updatedAt": format_timestamp(last),
        "name": spec.name,
        "currentLocation": location,
        "exposure": spec.exposure,
        "sensors": sensors,
        "model": spec.model,
        "lastMeasurementAt": format_timestamp(last),
        "grouptag": list(spec.grouptag),
        "loc": [{"geometry": dict(location), "type": "Feature"}],
    }
    fields.update(spec.extra)
    ordered = {key: fields[key] for key in spec.top_key_order if key in fields}
    ordered.update({k: v for k, v in fields.items() if k not in ordered})
    return ordered


def render_minimal(spec: BoxSpec, now: float) -> JsonObject:
    """``GET /boxes?minimal=true`` item: ``_id, name, currentLocation, exposure, lastMeasurementAt``."""
    created = format_timestamp(spec.created_at)
    return {
        "_id": spec.box_id,
        "currentLocation": {"timestamp": created, "coordinates": [spec.lon, spec.lat], "type": "Point"},
        "exposure": spec.exposure,
        "name": spec.name,
        "lastMeasurementAt": format_timestamp(newest_reading_time(spec, now)),
    }


__all__ = [
    "BOX_ID_RE", "REJECTED_ID", "TEMPERATURE_TITLE", "BoxSpec", "SensorSpec", "box_ids", "format_timestamp",
    "generate_box", "is_valid_box_id", "newest_reading_time", "parse_timestamp", "planted_box", "render_box",
    "render_minimal", "render_sensor",
]

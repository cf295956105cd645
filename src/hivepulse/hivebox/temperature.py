"""Pure temperature rules of HiveBox's ``/temperature`` (no I/O; the hot path profilers should see).

Rules (docs/hivebox.md repeats them):

1. A box's candidate sensors are those whose ``title``, stripped of surrounding whitespace, equals
   ``Temperatur`` exactly (case-sensitive). ``Bodentemperatur``, ``Taupunkt`` or ``temperature`` do not count,
   even with unit ``°C``. A candidate whose ``unit`` is present and is not ``°C`` is skipped.
2. Its ``lastMeasurement`` must be an object with a numeric ``value`` (string or number, finite) and an
   RFC 3339 ``createdAt``. The value must be plausible for air temperature on Earth:
   ``PLAUSIBLE_MIN_C <= value <= PLAUSIBLE_MAX_C`` (-100 to +100 °C; the records are -89.2 °C and +56.7 °C,
   and the sensors senseBoxes use measure -40 to +85 °C), anything else is a sensor fault or hostile data and
   is skipped as ``invalid_value`` (this also keeps the average finite: no ``1.7e308`` can overflow it).
3. Age = request time - ``createdAt`` (seconds). A reading counts if ``-300 <= age <= max_age_s``
   (default 3600): exactly one hour old counts, one millisecond more does not; up to 5 minutes in the
   future is tolerated as clock skew.
4. Several valid candidates in one box: the newest reading wins (one value per box).
5. Average = arithmetic mean over boxes with a counted reading (each box weighs 1), rounded to 2 decimals
   (Python ``round``, half to even on the binary value).
6. Status from the rounded average: ``< 10`` "Too Cold"; ``10 <= avg <= 36`` "Good"; ``> 36`` "Too Hot".
   The roadmap's gaps are closed so: [10, 11) is Good and (36, 37] is Too Hot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hivepulse.opensensemap import (
    CELSIUS,
    FUTURE_TOLERANCE_S,
    MAX_READING_AGE_S,
    TEMPERATURE_TITLE,
    is_temperature_sensor,
    parse_timestamp,
)

__all__ = ["CELSIUS", "FUTURE_TOLERANCE_S", "PLAUSIBLE_MAX_C", "PLAUSIBLE_MIN_C", "TEMPERATURE_TITLE",
           "BoxTemperature", "Reading",
           "average_temperature", "parse_temperature", "temperature_status"]

PLAUSIBLE_MIN_C = -100.0
PLAUSIBLE_MAX_C = 100.0
COLD_BELOW = 10.0
HOT_ABOVE = 36.0


@dataclass(frozen=True)
class Reading:
    """One box's counted temperature: value (°C), ``created_at`` (epoch s) and ``age_s`` at request time."""

    box_id: str
    value: float
    created_at: float
    age_s: float


@dataclass(frozen=True)
class BoxTemperature:
    """The outcome for one box: a reading, or the reason there is none.

    Reasons: ``ok``, ``no_sensor``, ``no_measurement``, ``invalid_value``, ``wrong_unit``, ``stale``,
    ``future``, ``unreachable``.
    """

    box_id: str
    reading: Reading | None
    reason: str


def parse_temperature(box_id: str, box: Mapping[str, Any] | None, now: float,
                      max_age_s: float = MAX_READING_AGE_S) -> BoxTemperature:
    """Apply rules 1-4 to one ``GET /boxes/{id}`` document at epoch time ``now``."""
    if box is None:
        return BoxTemperature(box_id, None, "unreachable")
    sensors = box.get("sensors")
    if not isinstance(sensors, list):
        sensors = []
    best: Reading | None = None
    reason = "no_sensor"
    rank = {"no_sensor": 0, "wrong_unit": 1, "no_measurement": 2, "invalid_value": 3, "future": 4, "stale": 5}

    def worse(new: str) -> str:
        return new if rank[new] > rank[reason] else reason

    for sensor in sensors:
        if not isinstance(sensor, Mapping):
            continue
        if not is_temperature_sensor(sensor):
            continue
        unit = sensor.get("unit")
        if unit is not None and str(unit).strip() != CELSIUS:
            reason = worse("wrong_unit")
            continue
        measurement = sensor.get("lastMeasurement")
        if not isinstance(measurement, Mapping):
            reason = worse("no_measurement")
            continue
        try:
            raw = measurement["value"]
            if isinstance(raw, bool):
                raise TypeError("a boolean is not a reading")
            value = float(raw)
            created = parse_timestamp(str(measurement["createdAt"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            reason = worse("invalid_value")
            continue
        if not (math.isfinite(value) and PLAUSIBLE_MIN_C <= value <= PLAUSIBLE_MAX_C):
            reason = worse("invalid_value")
            continue
        age = now - created
        if age > max_age_s:
            reason = worse("stale")
            continue
        if age < -FUTURE_TOLERANCE_S:
            reason = worse("future")
            continue
        if best is None or created > best.created_at:
            best = Reading(box_id, value, created, age)
    if best is not None:
        return BoxTemperature(box_id, best, "ok")
    return BoxTemperature(box_id, None, reason)


def average_temperature(readings: Iterable[Reading]) -> float | None:
    """Rule 5: mean of the readings' values rounded to 2 decimals; None when there is no reading."""
    values = [r.value for r in readings]
    if not values:
        return None
    return round(math.fsum(values) / len(values), 2)


def temperature_status(average: float) -> str:
    """Rule 6: "Too Cold" below 10, "Good" from 10 to 36 inclusive, "Too Hot" above 36."""
    if average < COLD_BELOW:
        return "Too Cold"
    if average <= HOT_ABOVE:
        return "Good"
    return "Too Hot"

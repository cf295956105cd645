"""What a test may plant in the replay server (``PUT /_boxes/{id}`` bodies and ``--plant`` files), checked.

A planted box is rendered at every request with timestamps re-based to that request, so every number in it
must render: ages are finite seconds from 0 to :data:`MAX_AGE_S` (ten years; openSenseMap has boxes that
stopped years ago, none from before the epoch), values are short strings or numbers. Anything else (``age_s:
1e999``, ``NaN``, a negative age, an unknown key) is refused when it is planted (HTTP 422, or exit 2 for a
``--plant`` file naming the file and the field), never later as an HTTP 500 of the box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from hivepulse.errors import InputError

MAX_AGE_S = 10 * 365.25 * 86400.0
"""Oldest reading that may be planted: ten years, in seconds."""
MAX_TEXT = 200
OUTAGE_MODES = ("error", "timeout", "notfound")


def _age(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) \
            or not 0 <= value <= MAX_AGE_S:
        raise PydanticCustomError("hivepulse", "expected a finite number of seconds from 0 to {max}",
                                  {"max": f"{MAX_AGE_S:.0f}"})
    return float(value)


def _reading(value: object) -> str | None:
    """A reading as openSenseMap sends it (a string); numbers are written as text, ``None`` means no data."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError("hivepulse", "expected a string or a number", {})
    text = str(value)
    if len(text) > MAX_TEXT:
        raise PydanticCustomError("hivepulse", "expected at most {max} characters", {"max": MAX_TEXT})
    return text


Age = Annotated[float, BeforeValidator(_age)]
Reading = Annotated[str | None, BeforeValidator(_reading)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlantedTemperature(_Strict):
    """``{"value": "21.5", "age_s": 120, "unit": "°C"}``: the box's ``Temperatur`` sensor."""

    value: Reading
    age_s: Age = 0.0
    unit: Text = "°C"


class PlantedSensor(_Strict):
    """One sensor of a fully planted box (``sensors`` replaces every sensor)."""

    title: Text
    unit: Text = "°C"
    value: Reading = None
    age_s: Age = 0.0
    sensorType: Text = "BME280"  # noqa: N815 - the wire name
    icon: Text | None = None


class PlantBody(_Strict):
    """A ``PUT /_boxes/{id}`` body; see docs/sensemap.md. ``temperature: null`` plants a box without a
    ``Temperatur`` sensor; ``outage`` alone changes the outage and keeps the data."""

    temperature: PlantedTemperature | None = None
    decoys: bool = True
    sensors: list[PlantedSensor] | None = Field(default=None, max_length=1000)
    name: Text | None = None
    outage: Literal["error", "timeout", "notfound"] | None = None

    @property
    def plants_data(self) -> bool:
        return bool(self.model_fields_set & {"temperature", "sensors", "decoys"})


def parse_plant_body(body: object, *, file: str | None = None, box_id: str | None = None) -> PlantBody:
    """``body`` as a :class:`PlantBody`; :class:`InputError` naming the field (and the file) otherwise."""
    if not isinstance(body, Mapping):
        raise InputError("invalid planted box", file=file, column=box_id, expected="a JSON object")
    try:
        return PlantBody.model_validate(dict(body))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        field = f"{box_id}.{where}" if box_id and where else (box_id or where or None)
        raise InputError(f"invalid planted box ({first['msg']})", file=file, column=field,
                         value=first.get("input") if first["type"] != "missing" else None,
                         expected='{"temperature": {"value": "21.5", "age_s": 120}} or {"sensors": [...]}'
                         ) from None


__all__ = ["MAX_AGE_S", "OUTAGE_MODES", "PlantBody", "PlantedSensor", "PlantedTemperature", "parse_plant_body"]

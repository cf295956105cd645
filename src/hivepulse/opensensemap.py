"""The openSenseMap response shape, shared by the HiveBox (the client) and the replay server (the fake upstream).

(Foundation module: no hivepulse layer imports, so ``hivepulse.hivebox`` and ``hivepulse.sensemap`` both use it
without importing each other; the replay server must stay a faithful upstream, not a copy of the client.)

What openSenseMap-API's ``GET /boxes/:boxId`` returns (``boxesController.js``) and what both sides rely on:

- box ids: 24 hexadecimal digits (``idCheck`` in ``userParamHelpers.js``); :data:`REJECTED_ID` is refused
  explicitly although it is well formed;
- a box is a JSON object with a ``sensors`` array; each sensor has ``title``, ``unit``, ``sensorType`` and, when
  it has data, ``lastMeasurement`` = ``{"value": "26.06", "createdAt": "2026-07-10T13:09:47.578Z"}`` (the value
  is a *string*, the timestamp RFC 3339 in UTC with milliseconds and ``Z``);
- the air temperature sensor is the one titled exactly ``Temperatur`` (German, case-sensitive, surrounding
  spaces ignored) with unit ``°C``; ``Bodentemperatur`` (soil) and ``Taupunkt`` (dew point) are other
  phenomena even though their unit is ``°C``;
- freshness: a reading counts for HiveBox when it is at most :data:`MAX_READING_AGE_S` old (one hour, the
  roadmap's rule) and at most :data:`FUTURE_TOLERANCE_S` in the future (clock skew).

The rules HiveBox applies on top of this shape are in ``hivepulse.hivebox.temperature`` (docs/hivebox.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]
"""A JSON object as received or about to be sent (box documents, HTTP bodies, result records): the one edge
type of the profiling side. Inside a layer, values travel as dataclasses or pydantic models."""

PUBLIC_API = "https://api.opensensemap.org"
"""The public openSenseMap API (HiveBox's default upstream)."""

BOX_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
REJECTED_ID = "00112233445566778899aabb"
"""openSenseMap rejects this syntactically valid id explicitly (``idCheck`` in userParamHelpers.js)."""

# field names of the wire shape
SENSORS = "sensors"
TITLE = "title"
UNIT = "unit"
LAST_MEASUREMENT = "lastMeasurement"
VALUE = "value"
CREATED_AT = "createdAt"

TEMPERATURE_TITLE = "Temperatur"
"""The title of openSenseMap's air temperature sensor (German)."""
CELSIUS = "°C"

MAX_READING_AGE_S = 3600.0
"""A reading older than this (seconds) is stale: HiveBox's default ``HIVEBOX_MAX_READING_AGE``."""
FUTURE_TOLERANCE_S = 300.0
"""A reading up to this many seconds in the future is accepted as clock skew."""


def is_valid_box_id(box_id: str) -> bool:
    """True if openSenseMap would accept ``box_id`` (24 hex digits, not the explicitly rejected id)."""
    return bool(BOX_ID_RE.match(box_id)) and box_id.lower() != REJECTED_ID


def is_temperature_sensor(sensor: Mapping[str, object]) -> bool:
    """True for a sensor whose ``title``, stripped of surrounding whitespace, is exactly ``Temperatur``."""
    title = sensor.get(TITLE)
    return isinstance(title, str) and title.strip() == TEMPERATURE_TITLE


def format_timestamp(epoch_s: float) -> str:
    """Format seconds since the epoch as openSenseMap does: ``2026-07-10T13:09:47.578Z`` (UTC, ms)."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> float:
    """Parse an RFC 3339 timestamp (``Z`` or offset, optional fraction) into seconds since the epoch
    (``ValueError`` for anything else)."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


__all__ = [
    "JsonObject", "BOX_ID_RE", "CELSIUS", "CREATED_AT", "FUTURE_TOLERANCE_S", "LAST_MEASUREMENT", "MAX_READING_AGE_S",
    "PUBLIC_API", "REJECTED_ID", "SENSORS", "TEMPERATURE_TITLE", "TITLE", "UNIT", "VALUE", "format_timestamp",
    "is_temperature_sensor", "is_valid_box_id", "parse_timestamp",
]

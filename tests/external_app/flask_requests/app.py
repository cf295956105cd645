"""A "Flask-style" HiveBox written for the external-target tests. It does NOT import hivepulse.

The common phase-5 shape: Flask's development server (threaded), one ``requests.get`` per senseBox, sequential,
no session (a new connection per box), raw box JSON cached in Valkey/Redis under one key, plain-text answers,
a lot of printing, and a ``/readyz`` that answers 503 until the cache is warm.

Configuration (environment only): ``PORT`` (default 5000), ``BASE_URL`` (default the public openSenseMap),
``BOX_ID`` (comma-separated senseBox ids), ``REDIS_HOST`` / ``REDIS_PORT`` (no cache when ``REDIS_HOST`` is
unset), ``CACHE_TTL`` (seconds, default 300).

Routes: ``GET /version`` -> ``v0.0.2``; ``GET /temperature`` -> ``Average temperature: 16.00 °C (Good)``;
``GET /readyz`` -> 200 once ``sensor_data`` is cached, else 503.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import requests
import valkey
from flask import Flask, Response

BASE_URL = os.environ.get("BASE_URL", "https://api.opensensemap.org").rstrip("/")
BOX_IDS = [b.strip() for b in os.environ.get("BOX_ID", "").split(",") if b.strip()]
CACHE_TTL = int(os.environ.get("CACHE_TTL", "300"))
CACHE_KEY = "sensor_data"
cache = None
if os.environ.get("REDIS_HOST"):
    cache = valkey.Valkey(host=os.environ["REDIS_HOST"], port=int(os.environ.get("REDIS_PORT", "6379")),
                          socket_timeout=5)

app = Flask(__name__)


def fetch_boxes() -> list[dict]:
    """Raw box documents, from the cache or one request per box."""
    if cache is not None:
        hit = cache.get(CACHE_KEY)
        if hit is not None:
            print("cache hit", flush=True)
            return json.loads(hit)
    boxes = []
    for box_id in BOX_IDS:
        print(f"GET {BASE_URL}/boxes/{box_id}", flush=True)
        response = requests.get(f"{BASE_URL}/boxes/{box_id}", timeout=30)
        response.raise_for_status()
        boxes.append(response.json())
    if cache is not None:
        cache.setex(CACHE_KEY, CACHE_TTL, json.dumps(boxes))
    return boxes


def box_temperature(box: dict) -> float | None:
    """The box's ``Temperatur`` reading if it is at most one hour old."""
    for sensor in box.get("sensors", []):
        last = sensor.get("lastMeasurement")
        if sensor.get("title") != "Temperatur" or not isinstance(last, dict):
            continue
        when = datetime.strptime(last["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        if datetime.now(UTC) - when <= timedelta(hours=1):
            return float(last["value"])
    return None


@app.route("/version")
def version() -> str:
    return "v0.0.2"


@app.route("/temperature")
def temperature() -> Response:
    values = [v for v in (box_temperature(b) for b in fetch_boxes()) if v is not None]
    if not values:
        return Response("No recent temperature data\n", status=404, mimetype="text/plain")
    average = sum(values) / len(values)
    status = "Too Cold" if average < 10 else "Too Hot" if average > 36 else "Good"
    print(f"average of {len(values)} boxes: {average:.2f}", flush=True)
    return Response(f"Average temperature: {average:.2f} °C ({status})\n", mimetype="text/plain")


@app.route("/readyz")
def readyz() -> Response:
    warm = cache is not None and cache.exists(CACHE_KEY)
    return Response("ok\n" if warm else "cache cold\n", status=200 if warm else 503, mimetype="text/plain")


if __name__ == "__main__":
    print(f"starting with {len(BOX_IDS)} boxes from {BASE_URL}, cache={'on' if cache else 'off'}", flush=True)
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)

"""A HiveBox with most of the well-known mistakes, for the doctor tests. It does NOT import hivepulse.

Flask (threaded dev server), ``requests.get`` per box with no session and no timeout, boxes one after another, an
in-process dict cache without a lock (60 s TTL), a ``/readyz`` that fetches every box, ``raise_for_status`` left
unhandled (an all-down upstream gives Flask's 500 page), a substring ``temp`` sensor match without a freshness
rule, and a correct Prometheus ``/metrics``.

Environment: ``PORT``, ``OPENSENSEMAP_API_URL``, ``SENSEBOX_IDS`` (comma-separated).
"""

from __future__ import annotations

import os
import time

import requests
from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

API = os.environ.get("OPENSENSEMAP_API_URL", "https://api.opensensemap.org").rstrip("/")
IDS = [b for b in os.environ.get("SENSEBOX_IDS", "").split(",") if b]
CACHE: dict[str, tuple[float, list[dict]]] = {}
REQUESTS = Counter("sloppy_requests_total", "temperature requests")
app = Flask(__name__)


def fetch_all() -> list[dict]:
    hit = CACHE.get("boxes")
    if hit is not None and time.monotonic() - hit[0] < 60:
        return hit[1]
    boxes = []
    for box in IDS:
        r = requests.get(f"{API}/boxes/{box}")  # no session, no timeout
        r.raise_for_status()
        boxes.append(r.json())
    CACHE["boxes"] = (time.monotonic(), boxes)
    return boxes


def reading(box: dict) -> float | None:
    for sensor in box.get("sensors", []):
        last = sensor.get("lastMeasurement")
        if "temp" in sensor.get("title", "").lower() and isinstance(last, dict):
            return float(last["value"])
    return None


@app.route("/temperature")
def temperature():
    REQUESTS.inc()
    values = [v for v in map(reading, fetch_all()) if v is not None]
    return jsonify(average=round(sum(values) / len(values), 2))


@app.route("/readyz")
def readyz():
    for box in IDS:
        requests.get(f"{API}/boxes/{box}", timeout=5)
    return "ok"


@app.route("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), threaded=True)

"""A bulk-endpoint HiveBox written for the external-target tests. It does NOT import hivepulse.

Shape of the "one global request" implementations: FastAPI with a synchronous route (run in uvicorn's thread
pool), a single streamed ``GET {OPENSENSEMAP_API}/boxes?date=<now - 1 h>&format=json`` (no phenomenon, no box
ids), the body truncated at ``config.MAX_BYTES`` and decoded element by element (a truncated last element is
dropped), every sensor whose unit is ``°C`` and that carries a ``lastMeasurement`` object averaged, and the
formatted answer cached in Valkey/Redis for ``CACHE_TTL`` seconds. When ``MINIO_ENDPOINT`` is set the bucket
is checked at import time and the app dies if the object store is unreachable (as several real ones do).

Run: ``python app.py --port 8000`` (the openSenseMap URL is the constant ``config.OPENSENSEMAP_API``).
Routes: ``GET /version``, ``GET /temperature`` (JSON), ``GET /readyz`` (503 until an answer is cached).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import config
import requests
import uvicorn
import valkey
from config import CACHE_TTL, MAX_BYTES, OPENSENSEMAP_API
from fastapi import FastAPI, Response

CACHE_KEY = "temperature_data"
cache = valkey.Valkey(host=config.REDIS_HOST, port=config.REDIS_PORT, db=config.REDIS_DB,
                      socket_timeout=5) if config.REDIS_HOST else None

if config.MINIO_ENDPOINT:
    import urllib3
    from minio import Minio

    store = Minio(config.MINIO_ENDPOINT, access_key=config.MINIO_ACCESS_KEY, secret_key=config.MINIO_SECRET_KEY,
                  secure=False, http_client=urllib3.PoolManager(timeout=2.0, retries=False))
    if not store.bucket_exists(config.MINIO_BUCKET):  # raises when the store is unreachable: the app dies
        store.make_bucket(config.MINIO_BUCKET)
    print(f"object store ready: bucket {config.MINIO_BUCKET}", flush=True)

app = FastAPI()


def decode_items(raw: bytes) -> list[dict]:
    """The complete elements of a (possibly truncated) JSON array."""
    text = raw.decode("utf-8", errors="ignore")
    decoder = json.JSONDecoder()
    items, pos = [], text.find("[") + 1
    while pos > 0:
        while pos < len(text) and text[pos] in " \n\r\t,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break  # truncated element
        items.append(item)
    return items


def fetch_readings() -> tuple[list[float], int]:
    """(°C readings, boxes) from one bulk request, at most ``MAX_BYTES`` of body read."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    body = b""
    with requests.get(f"{OPENSENSEMAP_API}/boxes", params={"date": since, "format": "json"}, stream=True,
                      timeout=(10, 60)) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=64 * 1024):
            body += chunk
            if len(body) >= MAX_BYTES:
                break
    boxes = decode_items(body[:MAX_BYTES])
    readings = []
    for box in boxes:
        for sensor in box.get("sensors", []):
            last = sensor.get("lastMeasurement")
            if sensor.get("unit") == "\u00b0C" and isinstance(last, dict) and "value" in last:
                readings.append(float(last["value"]))
    return readings, len(boxes)


@app.get("/version")
def version() -> dict:
    return {"version": "0.5.0"}


@app.get("/temperature")
def temperature() -> Response:
    if cache is not None:
        hit = cache.get(CACHE_KEY)
        if hit is not None:
            return Response(hit, media_type="application/json")
    readings, boxes = fetch_readings()
    average = round(sum(readings) / len(readings), 2) if readings else None
    status = None if average is None else "Too Cold" if average <= 10 else "Too Hot" if average > 36 else "Good"
    print(f"averaged {len(readings)} °C readings from {boxes} boxes: {average}", flush=True)
    body = json.dumps({"temperature": average, "unit": "°C", "status": status, "readings": len(readings)})
    if cache is not None:
        cache.setex(CACHE_KEY, CACHE_TTL, body)
    return Response(body, media_type="application/json")


@app.get("/readyz")
def readyz(response: Response) -> dict:
    ready = cache is not None and cache.ttl(CACHE_KEY) >= 0
    response.status_code = 200 if ready else 503
    return {"ready": ready}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    print(f"openSenseMap API: {OPENSENSEMAP_API}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()

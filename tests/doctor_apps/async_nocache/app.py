"""A HiveBox that gets the client right and forgets the cache, for the doctor tests. It does NOT import hivepulse.

FastAPI on uvicorn: one ``httpx.AsyncClient`` for the app's lifetime (kept-alive connections, 1 s timeout), every
box at once (``asyncio.gather``), exactly ``Temperatur`` readings at most one hour old, 503 when no box answers, a
static ``/healthz``; but no cache at all, and a ``/metrics`` that answers JSON instead of Prometheus text.

Run: ``python app.py`` with ``PORT``, ``OPENSENSEMAP_API_URL``, ``SENSEBOX_IDS``.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

API = os.environ.get("OPENSENSEMAP_API_URL", "https://api.opensensemap.org").rstrip("/")
IDS = [b for b in os.environ.get("SENSEBOX_IDS", "").split(",") if b]
STATE: dict[str, object] = {"requests": 0}


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.client = httpx.AsyncClient(timeout=1.0)
    yield
    await app.state.client.aclose()


app = FastAPI(lifespan=lifespan)


async def fetch(client: httpx.AsyncClient, box: str) -> dict | None:
    try:
        r = await client.get(f"{API}/boxes/{box}")
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


def reading(box: dict) -> float | None:
    for sensor in box.get("sensors", []):
        last = sensor.get("lastMeasurement")
        if sensor.get("title", "").strip() != "Temperatur" or not isinstance(last, dict):
            continue
        created = datetime.fromisoformat(last["createdAt"].replace("Z", "+00:00"))
        if datetime.now(UTC) - created <= timedelta(hours=1):
            return float(last["value"])
    return None


@app.get("/temperature")
async def temperature():
    STATE["requests"] = int(STATE["requests"]) + 1  # type: ignore[call-overload]
    boxes = await asyncio.gather(*(fetch(app.state.client, b) for b in IDS))
    values = [v for v in (reading(b) for b in boxes if b) if v is not None]
    if not values:
        return JSONResponse({"detail": "no fresh reading"}, status_code=503)
    return {"average": round(sum(values) / len(values), 2), "unit": "°C"}


@app.get("/healthz")
async def healthz():
    return {"ok": True}


@app.get("/metrics")
async def metrics():
    return {"requests": STATE["requests"]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")

"""An async HiveBox with a hard-coded openSenseMap URL, written for the external-target tests. It does NOT
import hivepulse.

Shape of several real ones: FastAPI ``async def`` routes, a new ``httpx.AsyncClient`` per box, the URL
``https://api.opensensemap.org`` written into the code (so the harness reaches it only through its
``{redirect_dir}`` shim), box ids from ``SENSEBOX_IDS_RAW`` (comma-separated), and an in-process cache (a
dict with a 300 s TTL) that no outside reset can empty. Run: ``python -m uvicorn app:app --port 8000``.
"""

from __future__ import annotations

import os
import time

import httpx
from fastapi import FastAPI

BOX_IDS = [b for b in os.environ.get("SENSEBOX_IDS_RAW", "").split(",") if b]
TTL_S = 300.0
_memo: dict[str, tuple[float, dict]] = {}

app = FastAPI()


async def box_temperature(box_id: str) -> float | None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"https://api.opensensemap.org/boxes/{box_id}")
    response.raise_for_status()
    for sensor in response.json().get("sensors", []):
        last = sensor.get("lastMeasurement")
        if sensor.get("title") == "Temperatur" and isinstance(last, dict):
            return float(last["value"])
    return None


@app.get("/temperature")
async def temperature() -> dict:
    hit = _memo.get("temperature")
    if hit is not None and time.monotonic() - hit[0] < TTL_S:
        return hit[1]
    values = [v for v in [await box_temperature(b) for b in BOX_IDS] if v is not None]
    doc = {"temperature": round(sum(values) / len(values), 2) if values else None, "boxes": len(values)}
    _memo["temperature"] = (time.monotonic(), doc)
    return doc

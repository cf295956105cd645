"""A minimal HiveBox-like service, written for the external-target test. It does NOT import hivepulse.

Standard library HTTP server plus the ``valkey`` client. Configuration (as in HiveBox): ``--port``,
env ``OPENSENSEMAP_API_URL``, ``SENSEBOX_IDS`` (comma-separated), ``VALKEY_URL`` (optional: caches the
computed average under ``temperature`` for ``CACHE_TTL`` seconds, default 60). Upstream calls are the
common shape: sequential ``urllib`` requests, one new connection per box.

Routes: ``GET /version`` -> ``{"version": "0.0.1"}``; ``GET /temperature`` -> ``{"temperature": ..,
"status": ..}``. No /metrics on purpose: the harness must fall back to Valkey's own hit counters.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = os.environ.get("OPENSENSEMAP_API_URL", "https://api.opensensemap.org").rstrip("/")
BOXES = [b for b in os.environ.get("SENSEBOX_IDS", "").split(",") if b]
TTL = int(os.environ.get("CACHE_TTL", "60"))
CACHE = None
if os.environ.get("VALKEY_URL"):
    import valkey

    CACHE = valkey.Valkey.from_url(os.environ["VALKEY_URL"])


def box_temperature(box_id: str) -> float | None:
    with urllib.request.urlopen(f"{API}/boxes/{box_id}", timeout=10) as response:
        box = json.load(response)
    for sensor in box.get("sensors", []):
        last = sensor.get("lastMeasurement")
        if sensor.get("title") == "Temperatur" and last:
            when = datetime.fromisoformat(last["createdAt"].replace("Z", "+00:00"))
            if datetime.now(UTC) - when <= timedelta(hours=1):
                return float(last["value"])
    return None


def temperature() -> dict:
    if CACHE is not None:
        hit = CACHE.get("temperature")
        if hit is not None:
            return json.loads(hit)
    values = [v for v in (box_temperature(b) for b in BOXES) if v is not None]
    avg = round(sum(values) / len(values), 2) if values else None
    status = None if avg is None else "Too Cold" if avg < 10 else "Too Hot" if avg > 36 else "Good"
    doc = {"temperature": avg, "status": status}
    if CACHE is not None:
        CACHE.setex("temperature", TTL, json.dumps(doc))
    return doc


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path == "/version":
            self._send(200, {"version": "0.0.1"})
        elif self.path == "/temperature":
            try:
                self._send(200, temperature())
            except OSError as exc:
                self._send(502, {"error": str(exc)})
        else:
            self._send(404, {"error": "not found"})

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()

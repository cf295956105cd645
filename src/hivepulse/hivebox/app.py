"""The reference HiveBox FastAPI app: ``/version``, ``/temperature``, ``/metrics``, ``/store``, ``/readyz``.

Run it with ``hivepulse hivebox serve`` (uvicorn, one worker). All routes are ``async def`` so they run on the
event loop (visible to in-process profilers; no thread pool).

Admin endpoints (``/store``, which writes to the bucket, and ``POST /_cache/clear``) are off unless
``HIVEBOX_ADMIN_TOKEN`` is set; then a request needs ``Authorization: Bearer <token>`` (compared in constant
time). Off: 403; a missing or wrong token: 401. ``/store`` answers 503 first when S3 is not configured.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from hivepulse.hivebox.config import HiveboxConfig
from hivepulse.hivebox.service import HiveboxService


def _json(body: Any, status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, media_type="application/json")


ADMIN_OFF = ("admin endpoint off: set HIVEBOX_ADMIN_TOKEN and send 'Authorization: Bearer <token>' "
             "(docs/hivebox.md)")


def admin_refusal(config: HiveboxConfig, request: Request) -> Response | None:
    """``None`` when ``request`` may use an admin endpoint, else the 403 (off) or 401 (bad token) answer."""
    if not config.admin_token:
        return _json({"detail": ADMIN_OFF}, 403)
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    expected = config.admin_token.encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        response = _json({"detail": "admin endpoint: missing or wrong bearer token"}, 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


def create_app(config: HiveboxConfig | None = None, service: HiveboxService | None = None) -> FastAPI:
    """A HiveBox app for ``config`` (default: from the environment)."""
    if service is None:
        service = HiveboxService(config if config is not None else HiveboxConfig.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.close()

    app = FastAPI(title="HiveBox (hivepulse reference)", version=service.config.version, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.hivebox = service

    @app.get("/version")
    async def version() -> Response:
        """The app's semantic version (``HIVEBOX_VERSION``)."""
        return _json({"version": service.config.version})

    @app.get("/temperature")
    async def temperature() -> Response:
        """Average of fresh ``Temperatur`` readings and a status; 503 when no box has a fresh reading."""
        result = await service.temperature()
        return _json(result.to_dict(), 200 if result.average is not None else 503)

    @app.get("/readyz")
    async def readyz() -> Response:
        """200 unless more than half the boxes are unreachable AND the data is older than the limit."""
        readiness = service.readiness()
        return _json(readiness.to_dict(), 200 if readiness.ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus exposition (default process/GC/platform metrics plus ``hivebox_*``)."""
        return Response(service.metrics.render(), media_type=service.metrics.content_type)

    @app.api_route("/store", methods=["GET", "POST"])
    async def store(request: Request) -> Response:
        """Write the current data to the S3 bucket; 503 if S3 is not configured, 403/401 without the admin
        token, 502 if the write fails."""
        if service.store_client is None:
            return _json({"detail": "S3 storage not configured: set S3_ENDPOINT, S3_ACCESS_KEY, "
                                    "S3_SECRET_KEY and S3_BUCKET"}, 503)
        refused = admin_refusal(service.config, request)
        if refused is not None:
            return refused
        try:
            stored = await service.store()
        except Exception as exc:
            return _json({"detail": f"S3 write failed: {type(exc).__name__}"}, 502)
        return _json({"bucket": stored.bucket, "object": stored.name, "bytes": stored.size})

    if service.config.admin_endpoints:
        @app.post("/_cache/clear")
        async def cache_clear(request: Request) -> Response:
            """Delete the cached snapshot so the next request is cold (profiling aid; admin token)."""
            refused = admin_refusal(service.config, request)
            if refused is not None:
                return refused
            await service.cache_clear()
            return _json({"cleared": True})

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory hivepulse.hivebox.app:app_from_env``."""
    return create_app()


__all__ = ["create_app", "app_from_env"]

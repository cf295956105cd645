"""The reference HiveBox FastAPI app: ``/version``, ``/temperature``, ``/metrics``, ``/store``, ``/readyz``.

Run it with ``hivepulse hivebox serve`` (uvicorn, one worker). All routes are ``async def`` so they run on the
event loop (visible to in-process profilers; no thread pool).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

from hivepulse.hivebox.config import HiveboxConfig
from hivepulse.hivebox.service import HiveboxService


def _json(body: Any, status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, media_type="application/json")


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
    async def store() -> Response:
        """Write the current data to the S3 bucket; 503 if S3 is not configured, 502 if the write fails."""
        if service.store_client is None:
            return _json({"detail": "S3 storage not configured: set S3_ENDPOINT, S3_ACCESS_KEY, "
                                    "S3_SECRET_KEY and S3_BUCKET"}, 503)
        try:
            stored = await service.store()
        except Exception as exc:
            return _json({"detail": f"S3 write failed: {type(exc).__name__}"}, 502)
        return _json({"bucket": stored.bucket, "object": stored.name, "bytes": stored.size})

    if service.config.admin_endpoints:
        @app.post("/_cache/clear")
        async def cache_clear() -> Response:
            """Delete the cached snapshot so the next request is cold (profiling aid)."""
            await service.cache_clear()
            return _json({"cleared": True})

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory hivepulse.hivebox.app:app_from_env``."""
    return create_app()


__all__ = ["create_app", "app_from_env"]

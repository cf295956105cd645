"""openSenseMap clients: ``naive``, ``pooled`` and ``concurrent`` (``HIVEBOX_CLIENT``).

- ``naive``: a new ``httpx.AsyncClient`` (new TCP connection, no reuse) per box, boxes one after another: what
  most HiveBox implementations do with ``requests.get``. Cold cost ~ N x (connect + request). The TLS context is
  built once per process (as ``requests`` effectively does for plain-HTTP and cached-certificate setups): httpx
  would otherwise spend ~20 ms of CPU per client building one, even for ``http://`` URLs, which is an artefact
  of the library, not of the naive pattern being measured.
- ``pooled``: one shared client (kept-alive connections), boxes one after another.
- ``concurrent``: the shared client, all boxes in parallel (``asyncio.gather``). Cost ~ the slowest box.

Every box request goes through :func:`fetch_box`, which never raises: failures become a
:class:`BoxResult` with ``ok=False`` and an ``error`` kind (``timeout``, ``connect``, ``http_<status>``,
``too_large``, ``invalid_encoding``, ``invalid_json``, ``transport``). A request is bounded in time and memory:
a total deadline of ``HIVEBOX_UPSTREAM_TIMEOUT`` seconds from connect to the last body byte (httpx's own
timeouts bound each connect/read/write only, so a server sending one byte a second would otherwise hold it for
minutes), and at most ``HIVEBOX_UPSTREAM_MAX_BYTES`` of body, before and after decompression
(:mod:`hivepulse.hivebox.body`).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from hivepulse.hivebox.body import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_BODY_BYTES,
    BodyRefused,
    BoundedBody,
    parse_json_object,
)
from hivepulse.opensensemap import JsonObject

Observer = Callable[["BoxResult"], None]


@dataclass(frozen=True)
class BoxResult:
    """One ``GET /boxes/{id}``: status (None if no answer), parsed body if ok, error kind, latency (s)."""

    box_id: str
    ok: bool
    status: int | None
    data: JsonObject | None
    error: str | None
    latency_s: float

    def to_dict(self) -> JsonObject:
        return {"ok": self.ok, "status": self.status, "data": self.data, "error": self.error,
                "latency_s": self.latency_s}

    @classmethod
    def from_dict(cls, box_id: str, item: JsonObject) -> BoxResult:
        return cls(box_id, bool(item["ok"]), item.get("status"), item.get("data"), item.get("error"),
                   float(item.get("latency_s", 0.0)))


async def fetch_box(client: httpx.AsyncClient, base_url: str, box_id: str, *,
                    max_bytes: int = DEFAULT_MAX_BODY_BYTES, deadline_s: float | None = None) -> BoxResult:
    """GET one box within ``deadline_s`` seconds in total (``None``: only the client's own timeouts) and
    ``max_bytes`` of body; never raises (see the module docstring for the error kinds)."""
    started = time.perf_counter()

    def failed(error: str, status: int | None = None) -> BoxResult:
        return BoxResult(box_id, False, status, None, error, time.perf_counter() - started)

    try:
        async with asyncio.timeout(deadline_s):
            async with client.stream("GET", f"{base_url}/boxes/{box_id}",
                                     headers={"Accept-Encoding": ACCEPT_ENCODING}) as response:
                if response.status_code != 200:
                    return failed(f"http_{response.status_code}", response.status_code)
                body = BoundedBody(response.headers.get("content-encoding"), max_bytes,
                                   response.headers.get("content-length"))
                async for chunk in response.aiter_raw():
                    body.feed(chunk)
                raw = body.finish()
    except (TimeoutError, httpx.TimeoutException):
        return failed("timeout")
    except httpx.ConnectError:
        return failed("connect")
    except httpx.HTTPError:
        return failed("transport")
    except BodyRefused as refused:
        return failed(refused.kind, 200)
    elapsed = time.perf_counter() - started
    try:
        data = parse_json_object(raw)
    except BodyRefused as refused:
        return BoxResult(box_id, False, 200, None, refused.kind, elapsed)
    return BoxResult(box_id, True, 200, data, None, elapsed)


class UpstreamClient:
    """Base: holds the base URL, timeout and an observer called once per box result (metrics)."""

    name = "base"

    def __init__(self, base_url: str, timeout_s: float = 10.0, observer: Observer | None = None,
                 max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.timeout = httpx.Timeout(timeout_s)
        self.observer = observer
        self.max_bytes = max_bytes

    async def fetch(self, client: httpx.AsyncClient, box_id: str) -> BoxResult:
        """One bounded box request (total deadline ``timeout_s``, body cap ``max_bytes``)."""
        return await fetch_box(client, self.base_url, box_id, max_bytes=self.max_bytes, deadline_s=self.timeout_s)

    def _seen(self, result: BoxResult) -> BoxResult:
        if self.observer is not None:
            self.observer(result)
        return result

    async def fetch_all_boxes(self, box_ids: Sequence[str]) -> list[BoxResult]:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release pooled connections (no-op for the naive client)."""


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One default TLS context per process, shared by the naive client's per-box clients."""
    return ssl.create_default_context()


class NaiveClient(UpstreamClient):
    """A fresh client per box, sequential (no connection reuse)."""

    name = "naive"

    async def fetch_all_boxes(self, box_ids: Sequence[str]) -> list[BoxResult]:
        results = []
        for box_id in box_ids:
            async with httpx.AsyncClient(timeout=self.timeout, verify=_ssl_context()) as client:
                results.append(self._seen(await self.fetch(client, box_id)))
        return results


class PooledClient(UpstreamClient):
    """One shared client (connection pool), sequential requests."""

    name = "pooled"

    def __init__(self, base_url: str, timeout_s: float = 10.0, observer: Observer | None = None,
                 max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        super().__init__(base_url, timeout_s, observer, max_bytes)
        self.client = httpx.AsyncClient(
            timeout=self.timeout, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))

    async def fetch_all_boxes(self, box_ids: Sequence[str]) -> list[BoxResult]:
        results = []
        for box_id in box_ids:
            results.append(self._seen(await self.fetch(self.client, box_id)))
        return results

    async def aclose(self) -> None:
        await self.client.aclose()


class ConcurrentClient(PooledClient):
    """The shared client, all boxes at once."""

    name = "concurrent"

    async def fetch_all_boxes(self, box_ids: Sequence[str]) -> list[BoxResult]:
        results = await asyncio.gather(*(self.fetch(self.client, b) for b in box_ids))
        return [self._seen(r) for r in results]


CLIENT_TYPES: dict[str, type[UpstreamClient]] = {
    "naive": NaiveClient, "pooled": PooledClient, "concurrent": ConcurrentClient,
}


def make_client(kind: str, base_url: str, timeout_s: float = 10.0,
                observer: Observer | None = None, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> UpstreamClient:
    """The client named ``kind`` (``naive``, ``pooled`` or ``concurrent``)."""
    return CLIENT_TYPES[kind](base_url, timeout_s, observer, max_bytes)

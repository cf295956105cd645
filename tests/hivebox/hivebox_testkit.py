"""Helpers shared by the HiveBox / replay-server tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import asyncio

import httpx

ADMIN_TOKEN = "test-admin-token-7f3c9a1e"
"""HIVEBOX_ADMIN_TOKEN of the test HiveBoxes: /store and POST /_cache/clear need it (off without one)."""
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def box_id(n: int) -> str:
    """A valid 24-hex-digit id: box_id(1) == '000000000000000000000001'."""
    return f"{n:024x}"


class Sensemap:
    """Test-side handle of a replay server: plant data, set outages, read counters."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def plant(self, box: str, value: str | float | None = None, age_s: float = 60.0, **body) -> None:
        if value is not None:
            body["temperature"] = {"value": str(value), "age_s": age_s}
        elif "sensors" not in body and "outage" not in body:
            body["temperature"] = None
        r = self.http.put(f"/_boxes/{box}", json=body)
        assert r.status_code == 200, r.text

    def outage(self, box: str, mode: str | None = "error") -> None:
        r = self.http.put(f"/_boxes/{box}", json={"outage": mode})
        assert r.status_code == 200, r.text

    def configure(self, **changes) -> None:
        r = self.http.put("/_config", json=changes)
        assert r.status_code == 200, r.text

    def stats(self) -> dict:
        return self.http.get("/_stats").json()

    def reset(self) -> None:
        self.http.post("/_stats/reset")

    def clear(self) -> None:
        self.http.delete("/_boxes")
        self.configure(median_ms=1.0, sigma=0.0, error_rate=0.0, timeout_rate=0.0, cold_start_ms=0.0,
                       timeout_s=30.0)
        self.reset()


def burst(url: str, path: str, count: int) -> list[httpx.Response]:
    """``count`` concurrent GETs (one connection each) released together."""

    async def main() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            return list(await asyncio.gather(*(client.get(path) for _ in range(count))))

    return asyncio.run(main())


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse a Prometheus exposition into {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


async def _raw_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    await reader.readexactly(length)
    return int(lines[0].split(" ")[1])


def closed_loop_latencies(host: str, port: int, paths: list[str], concurrency: int) -> list[tuple[int, float]]:
    """GET every path with ``concurrency`` keep-alive connections (closed model); returns (status, seconds)
    per request, timed client-side from write to last body byte. A minimal HTTP/1.1 client keeps client
    overhead to ~1-2 ms (httpx's async pool adds several ms per request at 50 connections)."""
    import time

    async def main() -> list[tuple[int, float]]:
        todo = iter(paths)
        results: list[tuple[int, float]] = []

        async def worker() -> None:
            reader, writer = await asyncio.open_connection(host, port)
            try:
                for path in todo:
                    started = time.perf_counter()
                    status = await _raw_get(reader, writer, path)
                    results.append((status, time.perf_counter() - started))
            finally:
                writer.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return results

    return asyncio.run(main())

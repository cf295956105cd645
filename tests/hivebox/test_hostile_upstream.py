"""A hostile openSenseMap: the real HiveBox (a `hivepulse hivebox serve` process) against a real HTTP server on
127.0.0.1 that streams a 300 MB body, sends gzip/deflate/brotli bombs, drips one byte per second, answers
readings of 1.7e308 and 100,000 nested arrays. HiveBox must answer within twice HIVEBOX_UPSTREAM_TIMEOUT,
never with a 500, and its resident memory (psutil, sampled every 20 ms during the whole request) must stay
within MEMORY_BOUND_MIB of what it used before (docs/hivebox.md, "Hostile upstream")."""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli
import httpx
import psutil
import pytest
from hivebox_testkit import box_id, metric_values

pytestmark = [pytest.mark.slow, pytest.mark.timing]

TIMEOUT_S = 1.5
MEMORY_BOUND_MIB = 64
BIG_BYTES = 300 * 1000 * 1000
BOMB_BYTES = 200 << 20  # what one bomb expands to
MIB = 1 << 20

BIG, BIG_DECLARED, GZIP_BOMB, DEFLATE_BOMB, BROTLI_BOMB, DRIP = (box_id(n) for n in range(901, 907))
HUGE_1, HUGE_2, NESTED = box_id(911), box_id(912), box_id(913)


def _bomb(kind: str) -> bytes:
    """``BOMB_BYTES`` of zeros compressed chunk by chunk (the test never holds the expanded bytes)."""
    if kind == "br":
        compressor = brotli.Compressor(quality=5)
        parts = [compressor.process(bytes(MIB)) for _ in range(BOMB_BYTES // MIB)]
        return b"".join(parts) + compressor.finish()
    z = zlib.compressobj(9, zlib.DEFLATED, 31 if kind == "gzip" else 15)
    return b"".join(z.compress(bytes(MIB)) for _ in range(BOMB_BYTES // MIB)) + z.flush()


def _box(value: str) -> bytes:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 60)) + ".000Z"
    return json.dumps({"_id": "x", "name": "hostile", "sensors": [
        {"_id": "s", "title": "Temperatur", "unit": "°C", "sensorType": "BME280",
         "lastMeasurement": {"value": value, "createdAt": stamp}}]}).encode()


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close-delimited bodies: no length needed for the endless ones
    bombs: dict[str, bytes] = {}

    def log_message(self, *_args: object) -> None:
        pass

    def _head(self, length: int | None = None, encoding: str | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if length is not None:
            self.send_header("Content-Length", str(length))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        ident = self.path.rsplit("/", 1)[-1]
        try:
            if ident in (BIG, BIG_DECLARED):  # 300 MB, streamed, never held in memory
                self._head(BIG_BYTES if ident == BIG_DECLARED else None)
                chunk = b"[" + b"1," * (32 * 1024)
                sent = 0
                while sent < BIG_BYTES:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            elif ident in (GZIP_BOMB, DEFLATE_BOMB, BROTLI_BOMB):
                kind = {GZIP_BOMB: "gzip", DEFLATE_BOMB: "deflate", BROTLI_BOMB: "br"}[ident]
                body = self.bombs[kind]
                self._head(len(body), kind)
                self.wfile.write(body)
            elif ident == DRIP:  # a valid box, one byte a second
                body = _box("20.0")
                self._head(len(body))
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1.0)
            elif ident in (HUGE_1, HUGE_2):
                body = _box("1.7e308")
                self._head(len(body))
                self.wfile.write(body)
            elif ident == NESTED:
                body = b"[" * 100_000 + b"]" * 100_000
                self._head(len(body))
                self.wfile.write(body)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass  # HiveBox hung up: exactly what it should do


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    Hostile.bombs = {kind: _bomb(kind) for kind in ("gzip", "deflate", "br")}
    assert all(len(b) < 2 * MIB for b in Hostile.bombs.values())  # small on the wire
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread; ``peak`` in bytes."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _ask(url: str, pid: int) -> tuple[httpx.Response, float, int]:
    """GET /temperature: the answer, how long it took (s) and the RSS growth during it (bytes)."""
    process = psutil.Process(pid)
    before = process.memory_info().rss
    with PeakRss(pid) as rss:
        started = time.perf_counter()
        response = httpx.get(url + "/temperature", timeout=60)
        elapsed = time.perf_counter() - started
        time.sleep(0.2)  # a late allocation (a decompressor finishing) would still be seen
    return response, elapsed, rss.peak - before


def _hivebox(hivebox, hostile_url: str, ids: list[str]):
    return hivebox({"SENSEBOX_IDS": ",".join(ids), "OPENSENSEMAP_API_URL": hostile_url, "HIVEBOX_CACHE": "none",
                    "HIVEBOX_CLIENT": "concurrent", "HIVEBOX_UPSTREAM_TIMEOUT": str(TIMEOUT_S)})


def test_huge_bodies_bombs_and_a_slow_drip_are_bounded_in_time_and_memory(hostile, hivebox):
    ids = [BIG, BIG_DECLARED, GZIP_BOMB, DEFLATE_BOMB, BROTLI_BOMB, DRIP]
    handle = _hivebox(hivebox, hostile, ids)
    assert handle.pid is not None
    httpx.get(handle.url + "/version", timeout=10)
    response, elapsed, growth = _ask(handle.url, handle.pid)
    assert response.status_code == 503, response.text  # no usable box: a defined answer, never a 500
    body = response.json()
    assert body["skipped"] == {i: "unreachable" for i in ids}
    assert elapsed < 2 * TIMEOUT_S, elapsed
    assert growth < MEMORY_BOUND_MIB * MIB, f"RSS grew {growth / MIB:.0f} MiB"
    errors = metric_values(httpx.get(handle.url + "/metrics", timeout=10).text)
    kinds = {labels[0][1]: value for (name, labels), value in errors.items()
             if name == "hivebox_upstream_errors_total" and value}
    assert kinds == {"too_large": 5.0, "timeout": 1.0}, kinds  # 2 big bodies + 3 bombs; the drip
    assert httpx.get(handle.url + "/readyz", timeout=10).status_code in (200, 503)


def test_absurd_readings_and_deep_nesting_never_give_500(hostile, hivebox):
    ids = [HUGE_1, HUGE_2, NESTED]
    handle = _hivebox(hivebox, hostile, ids)
    assert handle.pid is not None
    response, elapsed, growth = _ask(handle.url, handle.pid)
    assert response.status_code == 503, response.text
    body = response.json()
    # 1.7e308 is no air temperature (plausible range -100..100 degC): skipped, so nothing can overflow
    assert body["skipped"] == {HUGE_1: "invalid_value", HUGE_2: "invalid_value", NESTED: "unreachable"}
    assert body["average"] is None and body["boxes_reachable"] == 2
    assert elapsed < 2 * TIMEOUT_S and growth < MEMORY_BOUND_MIB * MIB
    errors = metric_values(httpx.get(handle.url + "/metrics", timeout=10).text)
    assert errors[("hivebox_upstream_errors_total", (("kind", "invalid_json"),))] == 1.0


def test_a_box_document_within_the_cap_still_counts(hostile, hivebox, clean_sensemap):
    """Contrast: the same HiveBox settings against the replay server answer normally."""
    clean_sensemap.plant(box_id(914), "21.25", age_s=30)
    handle = hivebox({"SENSEBOX_IDS": box_id(914), "OPENSENSEMAP_API_URL": clean_sensemap.url,
                      "HIVEBOX_UPSTREAM_TIMEOUT": str(TIMEOUT_S), "HIVEBOX_UPSTREAM_MAX_BYTES": "4096"})
    body = httpx.get(handle.url + "/temperature", timeout=10).json()
    assert body["average"] == 21.25 and body["skipped"] == {}


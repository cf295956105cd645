"""Overhead of the harness's load generator (hivepulse.bench.load) against a bare httpx loop.

Both drive the same trivial ASGI endpoint (uvicorn in its own process, one keep-alive connection, one client,
sequential requests) in the same run, interleaved in rounds so drift affects both alike. Reported: seconds per
request (median over rounds) and the ratio generator / bare loop. Target: at most 1.2x.

Usage: .venv/bin/python benchmarks/load_overhead.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from hivepulse.bench.load import run_load
from hivepulse.bench.machine import machine_info
from hivepulse.net import free_port
from hivepulse.services import wait_http

APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''


def bare_loop(url: str, n: int) -> float:
    with httpx.Client() as client:
        client.get(url)
        start = time.perf_counter()
        for _ in range(n):
            client.get(url).read()
        return (time.perf_counter() - start) / n


def generator(url: str, n: int) -> float:
    result = run_load(url, requests=n, concurrency=1)
    assert result.errors == 0
    return result.duration_s / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "trivial_app.py").write_text(APP)
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "trivial_app:app", "--port", str(port),
                                 "--log-level", "warning", "--no-access-log"], cwd=tmp)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_http(url, proc=proc)
            bare, gen = [], []
            for _ in range(args.rounds):
                bare.append(bare_loop(url, args.requests))
                gen.append(generator(url, args.requests))
        finally:
            proc.terminate()
            proc.wait()
    mb, mg = statistics.median(bare), statistics.median(gen)
    m = machine_info()
    print(f"machine: {m['cpu_model']}, {m['cores_usable']} usable cores, Python {m['python']}, "
          f"httpx {m['packages']['httpx']}, load avg {m['load_avg_1m']:.2f}")
    print(f"requests per round: {args.requests}, rounds: {args.rounds}")
    print(f"bare httpx loop:  median {mb * 1e6:.0f} us/request (rounds: {', '.join(f'{v * 1e6:.0f}' for v in bare)})")
    print(f"load generator:   median {mg * 1e6:.0f} us/request (rounds: {', '.join(f'{v * 1e6:.0f}' for v in gen)})")
    ratio = mg / mb
    print(f"ratio generator / bare: {ratio:.2f}x (target <= 1.2x) -> {'OK' if ratio <= 1.2 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()

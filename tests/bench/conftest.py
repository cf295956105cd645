"""Fixtures for the bench tests: a tiny real HTTP server (uvicorn subprocess) on a free loopback port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hivepulse.net import free_port
from hivepulse.services import wait_http

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def tiny_server():
    """URL of tests/bench/tiny_app.py served by uvicorn in its own process (``/`` fast, ``/slow`` 50 rps)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tiny_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

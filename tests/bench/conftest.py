"""Fixtures for the bench tests: a tiny real HTTP server (uvicorn subprocess) on a free loopback port, and
whether py-spy must be able to attach here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hivepulse.net import free_port
from hivepulse.services import wait_http

HERE = Path(__file__).parent


def pyspy_must_attach() -> bool:
    """True where the environment says py-spy must work: ``CI=true`` (CI runs as root with ptrace) or an
    explicit ``HIVEPULSE_REQUIRE_PYSPY=1``. Elsewhere a refused ptrace is an explained fallback, not a failure."""
    return os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("HIVEPULSE_REQUIRE_PYSPY") == "1"


@pytest.fixture
def require_pyspy():
    """``require_pyspy(message)`` fails the test when py-spy could not attach where it must (see above)."""

    def check(message: str | None) -> None:
        if pyspy_must_attach():
            pytest.fail(f"py-spy could not attach although CI / HIVEPULSE_REQUIRE_PYSPY require it: {message}")

    return check


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

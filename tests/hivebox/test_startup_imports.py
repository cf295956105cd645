"""The service commands start light: `hivepulse hivebox serve` (also after answering /temperature, /metrics and
/readyz), `hivepulse sensemap serve` and `hivepulse profile --help` import neither pandas nor scipy (nor
matplotlib). Measured with Python's own import log (PYTHONPROFILEIMPORTTIME=1), in real processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from hivepulse import services

HEAVY = ("pandas", "scipy", "matplotlib")
IMPORT_LINE = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s+(?P<name>\S+)", re.M)


def imported(log_text: str) -> set[str]:
    return {m["name"].split(".")[0] for m in IMPORT_LINE.finditer(log_text)}


def test_hivebox_serve_imports_no_pandas_or_scipy(sensemap):
    env = {"SENSEBOX_IDS": "000000000000000000000001", "OPENSENSEMAP_API_URL": sensemap.url,
           "HIVEBOX_CACHE": "memory", "PYTHONPROFILEIMPORTTIME": "1"}
    with services.start_hivebox(env) as handle:
        for path in ("/temperature", "/metrics", "/readyz", "/version"):
            httpx.get(handle.url + path, timeout=10)
        assert handle.log is not None
        modules = imported(handle.log.read_text(errors="replace"))
    assert "uvicorn" in modules and "fastapi" in modules  # the log is really the import log
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_sensemap_serve_imports_no_pandas_or_scipy():
    args = ["sensemap", "serve", "--host", "127.0.0.1", "--port", "0", "--latency-ms", "0", "--sigma", "0"]
    with services.start_process("sensemap", args, env={"PYTHONPROFILEIMPORTTIME": "1"},
                                ready_path="/_stats") as handle:
        httpx.get(handle.url + "/boxes/000000000000000000000001", timeout=10)
        assert handle.log is not None
        modules = imported(handle.log.read_text(errors="replace"))
    assert "starlette" in modules
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_profile_help_imports_no_pandas_or_scipy():
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([sys.executable, "-m", "hivepulse", "profile", "--help"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "--target-cmd" in done.stdout
    modules = imported(done.stderr)
    assert "argparse" in modules
    assert not modules & set(HEAVY), modules & set(HEAVY)

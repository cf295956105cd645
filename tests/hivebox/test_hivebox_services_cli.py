"""Lifecycle helpers (services) and the commands: hivebox serve, sensemap serve/record, stack up."""

from __future__ import annotations

import argparse
import json
import re
import threading
import time

import httpx
import pytest
from hivebox_testkit import box_id

from hivepulse import services
from hivepulse.cli import main
from hivepulse.commands import stack
from hivepulse.errors import ServiceError
from hivepulse.sensemap import record


def test_missing_memcached_binary_is_a_clear_service_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(services, "MEMCACHED_CANDIDATES", ("/nonexistent/memcached",))
    with pytest.raises(ServiceError, match="memcached binary not found.*apt-get install -y memcached"):
        with services.start_memcached(env={}):
            pass


def test_external_urls_are_used_and_left_alone():
    with services.start_valkey(env={"VALKEY_URL": "valkey://127.0.0.1:6390/0"}) as handle:
        assert (handle.url, handle.port, handle.managed) == ("valkey://127.0.0.1:6390/0", 6390, False)
        handle.stop()  # no-op
    with services.start_memcached(env={"MEMCACHED_URL": "memcached://127.0.0.1:11299"}) as handle:
        assert (handle.port, handle.managed) == (11299, False)


def test_servers_are_stopped_when_the_block_fails():
    with pytest.raises(RuntimeError):
        with services.start_memcached(env={}) as mc:
            pid = mc.pid
            raise RuntimeError("test failure")
    import psutil

    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_hivebox_with_bad_env_fails_with_one_line(sensemap):
    with pytest.raises(ServiceError) as info:
        with services.start_hivebox({"SENSEBOX_IDS": "not-an-id", "OPENSENSEMAP_API_URL": sensemap.url}):
            pass
    message = str(info.value)
    assert "exited with status 2" in message and "SENSEBOX_IDS" in message and "\n" not in message


def test_cli_errors_are_one_line_with_exit_2(capsys, monkeypatch, tmp_path):
    assert main(["sensemap", "serve", "--error-rate", "2", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--error-rate" in err and "[0, 1]" in err
    monkeypatch.setenv("HIVEBOX_CACHE", "redis")
    assert main(["hivebox", "serve", "--port", "0"]) == 2
    assert "HIVEBOX_CACHE" in capsys.readouterr().err
    assert main(["sensemap", "record", "--ids", "xyz", "--out", str(tmp_path / "r")]) == 2
    assert "invalid box id" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    bad = tmp_path / "plant.json"
    bad.write_text('{"boxes": {"nope": {}}}')
    assert main(["sensemap", "serve", "--plant", str(bad), "--port", "0"]) == 2
    assert "plant.json" in capsys.readouterr().err


def test_serve_from_recording_and_plant_file_in_a_process(tmp_path, clean_sensemap):
    clean_sensemap.plant(box_id(501), "19.75", age_s=90)
    out = record([box_id(501)], tmp_path / "rec", base_url=clean_sensemap.url)
    with services.start_sensemap(replay_dir=out, latency_ms=0, sigma=0) as server:
        doc = httpx.get(f"{server.url}/boxes/{box_id(501)}").json()
        assert next(s for s in doc["sensors"] if s["title"] == "Temperatur")["lastMeasurement"]["value"] == "19.75"
    plant = tmp_path / "plant.json"
    plant.write_text(json.dumps({"boxes": {box_id(502): {"temperature": {"value": "3.5", "age_s": 10}}}}))
    with services.start_sensemap(plant_file=plant, latency_ms=0, sigma=0) as server:
        doc = httpx.get(f"{server.url}/boxes/{box_id(502)}").json()
        assert next(s for s in doc["sensors"] if s["title"] == "Temperatur")["lastMeasurement"]["value"] == "3.5"


def test_stack_up_prints_urls_and_stops_cleanly(capsys):
    stop = threading.Event()
    args = argparse.Namespace(cache="memory", client="pooled", ttl=60.0, single_flight="wait",
                              ids=stack.DEFAULT_IDS, latency_ms=1.0, seed=0, hivebox_port=0,
                              sensemap_port=0, s3=False)
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", stack.run_up(args, stop_event=stop)))
    thread.start()
    url = None
    deadline = time.monotonic() + 30
    seen = ""
    while url is None and time.monotonic() < deadline and thread.is_alive():
        seen += capsys.readouterr().out
        match = re.search(r"hivebox\s+(http://127\.0\.0\.1:\d+)", seen)
        url = match.group(1) if match else None
        time.sleep(0.1)
    try:
        assert url, seen
        assert "openSenseMap replay" in seen
        body = httpx.get(url + "/temperature", timeout=10).json()
        assert body["boxes_used"] == 3 and body["status"] in {"Too Cold", "Good", "Too Hot"}
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result["code"] == 0
    assert "stack stopped" in capsys.readouterr().out

"""External targets shaped like real third-party HiveBox services (tests/external_app/*, no hivepulse import),
started from command templates against the replay server, a real Valkey and (for one) a real S3 server.

- flask_requests: Flask dev server, ``requests.get`` per box, env ``BASE_URL`` / ``BOX_ID`` / ``REDIS_HOST`` /
  ``REDIS_PORT`` / ``CACHE_TTL``, plain-text answers, ``/readyz`` 503 until warm, prints every request;
- bulk_boxes: FastAPI sync route, one ``GET /boxes?date=<now-1h>&format=json``, ``°C`` unit filter, hard-coded
  openSenseMap URL (reached with the documented launcher workaround), ``--port`` flag, MinIO check at import.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hivepulse.bench.runner import RunConfig, run
from hivepulse.bench.scenarios import parse_scenarios
from hivepulse.bench.targets import TargetSpec
from hivepulse.errors import ServiceError
from hivepulse.net import free_port
from hivepulse.sensemap.boxes import box_ids
from hivepulse.sensemap.latency import LatencyModel
from hivepulse.sensemap.server import SensemapConfig, start_in_thread
from hivepulse.services import wait_http

pytestmark = pytest.mark.slow
APPS = Path(__file__).resolve().parents[1] / "external_app"
FLASK_APP = APPS / "flask_requests"
BULK_APP = APPS / "bulk_boxes"
REQUESTS = 40
SCENARIOS = {
    "defaults": {"requests": REQUESTS, "concurrency": 2, "cold_requests": 2, "boxes": 3, "seed": 11},
    "latency_profiles": {"t10": {"median_ms": 10, "sigma": 0.1}},
    # two cells that differ only in fields an external target ignores: they collapse into one run
    "scenarios": [{"cache": "valkey", "client": "naive", "latency": "t10"},
                  {"cache": "none", "client": "pooled", "latency": "t10"}],
}
# The launcher workaround for a hard-coded openSenseMap URL (docs/profiling.md): set the constant, then run.
BULK_CMD = ("{python} -c \"import config; config.OPENSENSEMAP_API = '{opensensemap_url}'; import app; app.main()\""
            " --port {port}")
ROW_FIELDS = ("name", "cache", "client", "latency_ms", "requests", "p50_ms", "p90_ms", "p99_ms", "max_ms",
              "throughput_rps", "errors", "upstream_calls_per_1000", "hit_ratio", "cpu_s_per_request")


def _run(tmp_path: Path, run_id: str, target: TargetSpec, scenarios: dict = SCENARIOS) -> dict:
    results = run(RunConfig(parse_scenarios(scenarios), output_dir=tmp_path, run_id=run_id, target=target,
                            pyspy="none"))
    on_disk = json.loads((tmp_path / run_id / "results.json").read_text(encoding="utf-8"))
    assert on_disk["scenarios"] == json.loads(json.dumps(results["scenarios"]))
    return on_disk


def test_flask_requests_app_with_env_placeholders_and_valkey(tmp_path):
    target = TargetSpec(
        cmd="{python} app.py", cwd=str(FLASK_APP), ready_path="/readyz",  # 503 until warm: still "up"
        env={"BASE_URL": "{opensensemap_url}", "BOX_ID": "{sensebox_ids}", "REDIS_HOST": "{valkey_host}",
             "REDIS_PORT": "{valkey_port}", "CACHE_TTL": "60"})
    results = _run(tmp_path, "flask", target)
    assert results["target"]["kind"] == "command"
    assert results["target"]["env_keys"] == ["BASE_URL", "BOX_ID", "CACHE_TTL", "REDIS_HOST", "REDIS_PORT"]
    assert [s["name"] for s in results["scenarios"]] == ["external-t10-c2"]  # the two cells collapsed
    row = results["scenarios"][0]
    assert all(field in row for field in ROW_FIELDS)
    assert row["cache"] == row["client"] == "external" and row["ttl_s"] is None
    # plain-text 200 answers are successes whatever the body
    assert row["errors"] == 0 and row["requests"] == REQUESTS and row["p50_ms"] > 0
    # cold: Valkey flushed before each request, so each fetched all 3 boxes (one request each) from upstream
    assert row["cold"]["n"] == 2 and row["cold"]["upstream_calls"] == [3, 3] and row["cold"]["note"] is None
    assert row["cold"]["statuses"] == [200, 200] and min(row["cold"]["values_ms"]) > 3 * 10 * 0.5
    # warm: the last cold request cached the boxes for 60 s, the run lasts ~1 s: no upstream call at all,
    # and every request did exactly one Valkey GET that hit: hits 40, misses 0, ratio 40 / 40 = 1.0
    assert row["upstream_calls"] == 0 and row["upstream_calls_per_1000"] == 0.0
    assert row["hit_ratio_source"] == "valkey_info"
    assert (row["cache_hits"], row["cache_misses"], row["hit_ratio"]) == (REQUESTS, 0, 1.0)
    assert row["cpu_s_per_request"] is not None and row["cpu_s_per_request"] > 0
    # the service's (chatty) output is kept with the run
    log = (tmp_path / "flask" / "logs" / "target-external-t10-c2.log").read_text(encoding="utf-8")
    assert "starting with 3 boxes" in log and log.count("GET /temperature") >= REQUESTS


def test_bulk_app_hard_coded_url_via_launcher_and_s3(tmp_path):
    target = TargetSpec(
        cmd=BULK_CMD, cwd=str(BULK_APP),
        env={"MINIO_ENDPOINT": "{s3_endpoint}", "MINIO_ACCESS_KEY": "{s3_access_key}",
             "MINIO_SECRET_KEY": "{s3_secret_key}"})  # no REDIS_HOST: the app runs uncached
    results = _run(tmp_path, "bulk", target)
    row = results["scenarios"][0]
    assert row["errors"] == 0 and row["requests"] == REQUESTS
    # uncached: exactly one bulk GET /boxes per request, so 1000 * 40 / 40 = 1000 per 1000 requests
    assert row["upstream_calls"] == REQUESTS and row["upstream_calls_per_1000"] == 1000.0
    assert row["cold"]["upstream_calls"] == [1, 1]
    assert row["hit_ratio"] is None  # no /metrics, and Valkey saw no lookups
    log = (tmp_path / "bulk" / "logs" / f"target-{row['name']}.log").read_text(encoding="utf-8")
    assert "object store ready" in log
    # the bulk answer has the wire shape the app expects: all 3 catalogue boxes, each with a fresh
    # Temperatur and a fresh Bodentemperatur (°C decoy) in the window, plus a Taupunkt (°C, 2-30 h old)
    # when it falls inside date +- 4 h: 6 to 9 readings
    counts = {(int(n), int(b)) for n, b in re.findall(r"averaged (\d+) °C readings from (\d+) boxes", log)}
    assert counts and all(b == 3 and 6 <= n <= 9 for n, b in counts), counts


def test_black_box_url_target_against_a_running_service(tmp_path):
    with start_in_thread(SensemapConfig(boxes=3, seed=11, latency=LatencyModel(median_ms=5, sigma=0))) as sensemap:
        port = free_port()
        env = {**os.environ, "PORT": str(port), "BASE_URL": sensemap.url, "BOX_ID": ",".join(box_ids(11, 3))}
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=FLASK_APP, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/version", proc=proc)
            results = _run(tmp_path, "url", TargetSpec(url=f"http://127.0.0.1:{port}/"))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        served = sensemap.app.state.sensemap.stats()["total"]
    assert results["target"]["kind"] == "url" and len(results["scenarios"]) == 1
    row = results["scenarios"][0]
    assert row["name"] == "external-c2" and row["errors"] == 0 and row["requests"] == REQUESTS
    assert row["upstream_calls_per_1000"] is None and row["cpu_s_per_request"] is None
    assert row["cold"]["n"] == 0 and "black-box" in row["cold"]["note"]
    # uncached app: 3 box requests per /temperature (recorded ones + one warm-up per client)
    assert served == 3 * (REQUESTS + 2)


def test_unreachable_url_target_is_one_clear_error(tmp_path):
    port = free_port()
    with pytest.raises(ServiceError, match=rf"--target-url gave no HTTP answer on GET http://127.0.0.1:{port}/"):
        run(RunConfig(parse_scenarios(SCENARIOS), output_dir=tmp_path, run_id="dead",
                      target=TargetSpec(url=f"http://127.0.0.1:{port}")))
    assert not list(tmp_path.iterdir())


def test_app_that_crashes_without_its_object_store_names_status_and_output(tmp_path):
    target = TargetSpec(cmd=BULK_CMD, cwd=str(BULK_APP), env={"MINIO_ENDPOINT": f"127.0.0.1:{free_port()}"})
    with pytest.raises(ServiceError) as err:
        run(RunConfig(parse_scenarios(SCENARIOS), output_dir=tmp_path, run_id="nos3", target=target,
                      pyspy="none"))
    message = str(err.value)
    assert "--target-cmd exited with status 1 before answering GET http://127.0.0.1:" in message
    assert "last output:" in message and "Connection refused" in message
    kept = Path(message.rsplit("full output: ", 1)[1])
    assert "Traceback" in kept.read_text(encoding="utf-8")
    kept.unlink()
    assert not list(tmp_path.iterdir())


def test_hard_coded_url_async_app_through_the_redirect_shim(tmp_path):
    target = TargetSpec(cmd="{python} -m uvicorn app:app --host 127.0.0.1 --port {port}",
                        cwd=str(APPS / "hardcoded_async"),
                        env={"PYTHONPATH": "{redirect_dir}", "SENSEBOX_IDS_RAW": "{sensebox_ids}"})
    results = _run(tmp_path, "async", target, {**SCENARIOS, "scenarios": SCENARIOS["scenarios"][:1]})
    row = results["scenarios"][0]
    assert row["errors"] == 0 and row["requests"] == REQUESTS
    # the first cold request reached the replay server (3 boxes) through the shim; the app's in-process
    # cache cannot be emptied from outside, so the second "cold" request made no call, and the row says so
    assert row["cold"]["upstream_calls"] == [3, 0] and "not cold" in row["cold"]["note"]
    assert row["upstream_calls"] == 0


def test_redirect_shim_rewrites_requests_httpx_and_urllib_only_for_opensensemap(tmp_path):
    from hivepulse.bench.targets import REDIRECT_SITECUSTOMIZE

    (tmp_path / "sitecustomize.py").write_text(REDIRECT_SITECUSTOMIZE, encoding="utf-8")
    with start_in_thread(SensemapConfig(boxes=1, seed=3, latency=LatencyModel(median_ms=0, sigma=0))) as sm:
        box = box_ids(3, 1)[0]
        code = (
            "import json, urllib.request, httpx, requests\n"
            f"u = 'https://api.opensensemap.org/boxes/{box}'\n"
            "a = requests.get(u).json()['_id']\n"
            "with httpx.Client(base_url='https://api.opensensemap.org') as c:\n"
            f"    b = c.get('/boxes/{box}', params={{'format': 'json'}}).json()['_id']\n"
            "c = json.load(urllib.request.urlopen(u))['_id']\n"
            "d = str(httpx.Client()._merge_url('https://example.org/boxes'))\n"
            "print(json.dumps([a, b, c, d]))\n")
        env = {**os.environ, "PYTHONPATH": str(tmp_path), "HIVEPULSE_REDIRECT_TO": sm.url,
               "HIVEPULSE_REDIRECT_FROM": "https://api.opensensemap.org,http://api.opensensemap.org"}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == [box, box, box, "https://example.org/boxes"]
        assert sm.app.state.sensemap.stats()["boxes"] == {box: 3}

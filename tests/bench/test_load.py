"""Load generator against a real uvicorn server (tests/bench/tiny_app.py)."""

import pytest

from hivepulse.bench.load import run_load


def test_closed_model_counts_and_percentiles(tiny_server):
    r = run_load(tiny_server + "/", requests=200, concurrency=4)
    d = r.to_dict()
    assert d["requests"] == 200 and d["errors"] == 0 and r.latencies_ms.size == 200
    assert d["p50_ms"] <= d["p90_ms"] <= d["p99_ms"] <= d["max_ms"]
    assert d["throughput_rps"] > 0 and d["backlog_max"] is None and d["kept_up"] is None


@pytest.mark.timing
def test_open_model_keeps_rate_within_2_percent(tiny_server):
    # 3 s schedule: a 2% miss would be a 60 ms stall at the end of the run
    r = run_load(tiny_server + "/", requests=600, rate=200)
    assert r.errors == 0
    assert r.achieved_send_rps == pytest.approx(200, rel=0.02)
    assert r.completion_rps == pytest.approx(200, rel=0.02)
    assert r.kept_up


def test_open_model_reports_backlog_when_service_cannot_keep_up(tiny_server):
    # /slow serves one request per 20 ms (50 rps) but 100 rps are offered for 0.5 s:
    # about 50 arrive while 25 complete, so roughly 25 are outstanding when the last one is due.
    r = run_load(tiny_server + "/slow", requests=50, rate=100)
    d = r.to_dict()
    assert d["kept_up"] is False
    assert d["backlog_at_end"] >= 10 and d["backlog_max"] >= d["backlog_at_end"]
    assert d["completion_rps"] < 60
    # latency counts the wait from the scheduled time: the last requests waited ~0.5 s
    assert d["max_ms"] > 300


def test_errors_are_counted(tiny_server):
    r = run_load("http://127.0.0.1:9/", requests=3, concurrency=1, timeout_s=1, warmup=False)
    assert r.errors == 3 and r.latencies_ms.size == 0
    assert sum(r.error_kinds.values()) == 3
    assert r.to_dict()["p50_ms"] is None


def test_bad_arguments():
    with pytest.raises(ValueError):
        run_load("http://x/", requests=1)
    with pytest.raises(ValueError):
        run_load("http://x/", requests=1, concurrency=1, rate=1.0)

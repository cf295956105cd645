"""The doctor's judging rules on their own (hand-made evidence, exact verdicts), the answer parser, the report
rendering and the retro reading a doctor run directory."""

from __future__ import annotations

import pytest

from hivepulse.doctor import checks as C
from hivepulse.doctor.probe import STALE_TRUTH, STALE_WRONG, answer_value
from hivepulse.doctor.render import render_html, render_markdown
from hivepulse.doctor.run import DoctorConfig, document
from hivepulse.retro.profiling import read_run


def test_max_overlap():
    assert C.max_overlap([(0, 2), (1, 3), (2, 4)]) == 2
    assert C.max_overlap([(0, 1), (1, 2), (2, 3)]) == 1  # back to back: sequential
    assert C.max_overlap([(0, 5), (0, 5), (0, 5)]) == 3
    assert C.max_overlap([]) == 0


@pytest.mark.parametrize(("requests", "connections", "verdict"),
                         [(6, 6, "fail"), (6, 4, "pass"), (6, 1, "pass"), (6, 5, "fail"), (1, 1, "n/a")])
def test_connection_reuse_threshold(requests, connections, verdict):
    assert C.judge_connection_reuse(requests, connections).verdict == verdict  # pass at >= 1.5 per connection


def test_parallel_stampede_probes_timeout_rules():
    assert C.judge_parallel(3, 3, 0.09, 0.031).verdict == "pass"
    assert C.judge_parallel(3, 1, 0.09, 0.092).verdict == "fail"
    assert C.judge_parallel(0, 0, 0.0, 0.0).verdict == "n/a"
    assert C.judge_stampede(10, {"a": 1, "b": 1, "c": 1}, 0, {"200": 10}).verdict == "pass"
    assert C.judge_stampede(10, {"a": 10, "b": 10, "c": 10}, 0, {"200": 10}).verdict == "fail"
    assert C.judge_stampede(10, {}, 10, {"200": 10}).summary == (
        "10 concurrent requests on a cold cache made 10 upstream calls: 10 box-list call(s). Every concurrent miss "
        "refreshed on its own.")
    assert C.judge_probes({"/readyz": 0, "/healthz": None}).verdict == "pass"
    assert C.judge_probes({"/readyz": 9, "/healthz": None}).verdict == "fail"
    assert C.judge_probes({"/readyz": None, "/healthz": None}).verdict == "n/a"
    assert C.judge_timeout(True, 200, 1.1, 15, 30).verdict == "pass"
    assert C.judge_timeout(False, None, 15.0, 15, 30).verdict == "fail"


@pytest.mark.parametrize(("status", "body", "verdict"), [
    (503, '{"detail": "no fresh reading"}', "pass"), (502, "", "pass"),
    (500, "<title>500 Internal Server Error</title>", "fail"), (500, "Traceback (most recent call last):", "fail"),
    (500, '{"error": "openSenseMap is down"}', "pass"), (200, "Error: API request failed", "fail"),
    (404, "No recent temperature data", "fail")])
def test_all_down_rule(status, body, verdict):
    assert C.judge_all_down(True, status, body, 0.1, 15).verdict == verdict


def test_stale_rule_names_the_mistake():
    assert C.judge_stale(200, 25.0, STALE_TRUTH, STALE_WRONG, "").verdict == "pass"
    assert C.judge_stale(200, 25.04, STALE_TRUTH, STALE_WRONG, "").verdict == "pass"  # rounding to 1 decimal
    wrong = C.judge_stale(200, 31.11, STALE_TRUTH, STALE_WRONG, "")
    assert wrong.verdict == "fail" and "unit match" in wrong.summary
    assert C.judge_stale(200, 18.33, STALE_TRUTH, STALE_WRONG, "").reason == "averaging the stale reading too"
    assert C.judge_stale(503, None, STALE_TRUTH, STALE_WRONG, "").verdict == "fail"
    assert C.judge_stale(200, None, STALE_TRUTH, STALE_WRONG, "ok").verdict == "n/a"


@pytest.mark.parametrize(("body", "value"), [
    ('{"average": 25.0, "unit": "°C"}', 25.0), ('{"data": {"avg_temperature": "24.96"}}', 24.96), ("25.00", 25.0),
    ("Average temperature: 25.00 °C (Good)\nFrom: 10.0.0.1\n", 25.0), ('{"average": null}', None), ("ok", None)])
def test_answer_value(body, value):
    assert answer_value(body) == value


def test_metrics_rule():
    assert C.judge_metrics(200, 3, 10, None).verdict == "pass"
    assert C.judge_metrics(200, 0, 0, "Invalid labels").verdict == "fail"
    assert C.judge_metrics(200, 0, 0, None).verdict == "fail"
    assert C.judge_metrics(404, 0, 0, None).verdict == "fail"


def test_reports_and_the_retro_read_a_doctor_run(tmp_path):
    import json

    results = [C.judge_connection_reuse(6, 6), C.judge_parallel(3, 3, 0.1, 0.04), C.judge_cache_hit(5, 0, 3),
               C.judge_stampede(10, {"a": 1}, 0, {"200": 10}), C.judge_probes({"/readyz": 0, "/healthz": None}),
               C.judge_timeout(True, 200, 1.0, 15, 30), C.judge_all_down(True, 503, "", 0.1, 15),
               C.judge_stale(200, 25.0, 25.0, {}, ""), C.judge_metrics(200, 1, 1, None)]
    doc = document(DoctorConfig(), "20260515T101500Z-1", results, 12.5)
    assert doc["counts"] == {"pass": 8, "fail": 1, "n/a": 0}
    assert doc["conclusion"] == "1 of 9 checks failed: connection_reuse (a new connection per upstream request)."
    md, page = render_markdown(doc), render_html(doc)
    assert md.index("connection_reuse") < md.index("parallel_upstream") and "None" not in md
    assert page.count('class="fail"') == 2 and "None" not in page
    run_dir = tmp_path / doc["run_id"]
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps({**doc, "scenarios": []}), encoding="utf-8")
    run = read_run(run_dir)
    problems = [f for f in run.findings if f.kind == "problem"]
    assert [f.metric for f in problems] == ["doctor_connection_reuse"] and problems[0].better == "lower"
    assert run.recorded_at is not None and doc["summary"]["problems"] == 1


def test_hostile_text_stays_inert():
    """A target's answer is hostile input: its preview (in an n/a reason) cannot inject HTML or break a table."""
    hostile = '<script>alert(1)</script> | evil\n| row |'
    results = [C.judge_stale(200, None, 25.0, {}, hostile)]
    doc = document(DoctorConfig(), "r", results, 1.0)
    md, page = render_markdown(doc), render_html(doc)
    assert "<script>" not in md and "<script>" not in page and "&lt;script&gt;" in page
    table_rows = [line for line in md.splitlines() if line.startswith("| ") and "stale_readings" in line]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 2  # the pipes inside are escaped

"""The doctor against two small HiveBox-like apps written for these tests (tests/doctor_apps/, no hivepulse
import), each with a different mix of the well-known mistakes, started through ``--target-cmd`` exactly as a team
would start its own service. The expected verdicts follow from reading each app's code (its docstring lists them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hivepulse.cli import main

pytestmark = pytest.mark.slow
APPS = Path(__file__).resolve().parents[1] / "doctor_apps"
FAST = ["--latency-ms", "30", "--burst", "6", "--hang-bound", "2.5"]
CASES = {
    # Flask + requests.get per box, no timeout, dict cache without lock, probing /readyz, 500 page, "temp" match
    "flask_sloppy": {"connection_reuse": "fail", "parallel_upstream": "fail", "cache_hit": "pass", "stampede": "fail",
                     "probe_upstream": "fail", "upstream_timeout": "fail", "all_down": "fail",
                     "stale_readings": "fail", "metrics": "pass"},
    # FastAPI + one AsyncClient + gather, right rules, but no cache and a JSON /metrics
    "async_nocache": {"connection_reuse": "pass", "parallel_upstream": "pass", "cache_hit": "fail",
                      "stampede": "fail", "probe_upstream": "pass", "upstream_timeout": "pass", "all_down": "pass",
                      "stale_readings": "pass", "metrics": "fail"},
}


@pytest.mark.parametrize("app", sorted(CASES))
def test_doctor_on_test_app(tmp_path, capsys, app):
    out = tmp_path / "doctor"
    code = main(["doctor", "--target-cmd", "{python} app.py", "--target-cwd", str(APPS / app), *FAST,
                 "--output-dir", str(out), "--run-id", app, "--fail-on", "fail", "--quiet"])
    assert code == 1  # both apps fail at least one check: --fail-on fail exits 1
    doc = json.loads((out / app / "doctor.json").read_text(encoding="utf-8"))
    got = {c["id"]: c["verdict"] for c in doc["checks"]}
    assert got == CASES[app], {c["id"]: c["summary"] for c in doc["checks"] if c["verdict"] != CASES[app][c["id"]]}
    printed = capsys.readouterr().out
    assert "report:" in printed and doc["conclusion"] in printed
    # the records the retro reads (results.json) and the two reports
    results = json.loads((out / app / "results.json").read_text(encoding="utf-8"))
    failed = sorted(k for k, v in CASES[app].items() if v == "fail")
    assert sorted(f["metric"].removeprefix("doctor_") for f in results["findings"] if f["kind"] == "problem") == failed
    md = (out / app / "doctor.md").read_text(encoding="utf-8")
    assert md.index("**fail**") < md.index("**pass**")  # problems first
    assert "## How to fix" in md and "None" not in md and "nan" not in md.lower()

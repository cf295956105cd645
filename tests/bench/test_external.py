"""External-target mode: a separate minimal HiveBox-like app (tests/external_app, no hivepulse import)
started from a command template, against the replay server and a real Valkey."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hivepulse.bench.runner import RunConfig, run
from hivepulse.bench.scenarios import parse_scenarios
from hivepulse.bench.targets import TargetSpec
from hivepulse.errors import InputError, ServiceError

pytestmark = pytest.mark.slow
APP_DIR = Path(__file__).resolve().parents[1] / "external_app"
SCENARIOS = {
    "defaults": {"requests": 60, "concurrency": 2, "cold_requests": 2, "boxes": 3, "seed": 5},
    "latency_profiles": {"t20": {"median_ms": 20, "sigma": 0.1}},
    "scenarios": [{"cache": "valkey", "client": "naive", "latency": "t20", "name": "external-t20"}],
}


def test_command_template_target(tmp_path, require_pyspy):
    target = TargetSpec(cmd="{python} app.py --port {port}", cwd=str(APP_DIR), env={"CACHE_TTL": "60"})
    results = run(RunConfig(parse_scenarios(SCENARIOS), output_dir=tmp_path, run_id="ext", target=target,
                            pyspy="all"))
    row = results["scenarios"][0]
    assert results["target"]["kind"] == "command" and row["cache"] == "external"
    assert row["errors"] == 0 and row["requests"] == 60
    # the harness flushed Valkey before each cold request: each cold request fetched 3 boxes (~3 x 20 ms)
    assert row["cold"]["n"] == 2 and min(row["cold"]["values_ms"]) > 40
    # warm: the app caches in the Valkey it was given, so (almost) no upstream calls and hits in INFO stats
    assert row["upstream_calls_per_1000"] <= 1000 * 3 * 2 / 60  # at most 2 refreshes of 3 boxes
    assert row["hit_ratio_source"] == "valkey_info" and row["hit_ratio"] > 0.9
    assert row["cpu_s_per_request"] is not None
    pyspy = results["profiles"]["py-spy"]
    if not pyspy["ok"]:
        require_pyspy(pyspy["message"])
    assert pyspy["ok"] or "py-spy" in pyspy["message"]


def test_url_target_is_black_box(tmp_path, tiny_server):
    results = run(RunConfig(parse_scenarios(SCENARIOS), output_dir=tmp_path, run_id="url",
                            target=TargetSpec(url=tiny_server + "/".rstrip("/"))))
    row = results["scenarios"][0]
    assert row["upstream_calls_per_1000"] is None and row["cpu_s_per_request"] is None
    assert row["cold"]["n"] == 0 and "black-box" in row["cold"]["note"]


def test_template_errors(tmp_path):
    with pytest.raises(InputError, match=r"unknown placeholder.*\{prot\}"):
        TargetSpec(cmd="app --port {prot}").validate()
    with pytest.raises(InputError, match="not both"):
        TargetSpec(url="http://x", cmd="y").validate()
    dying = TargetSpec(cmd="{python} -c \"import sys; print('boom: no config'); sys.exit(3)\"")
    with pytest.raises(ServiceError, match="exited with status 3.*boom: no config") as caught:
        run(RunConfig(parse_scenarios(SCENARIOS), output_dir=tmp_path, run_id="bad", target=dying,
                      hot_paths=False))
    kept = re.search(r"full output: (\S+)", str(caught.value))
    if kept:  # the failed start's log is kept for the user; this test cleans up after itself
        Path(kept.group(1).rstrip(").,;")).unlink(missing_ok=True)
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob(".*partial"))


def test_a_credential_in_the_target_command_is_not_stored(tmp_path):
    """A `--target-cmd` carrying a credential URL runs as given but is written redacted to results.json."""
    secret = "planted-cmd-secret-9Hq"
    target = TargetSpec(cmd=f"env UPSTREAM_NOTE=https://ops:{secret}@vault.invalid/x {{python}} app.py --port {{port}}",
                        cwd=str(APP_DIR))
    small = {**SCENARIOS, "defaults": {**SCENARIOS["defaults"], "requests": 10, "cold_requests": 0}}
    results = run(RunConfig(parse_scenarios(small), output_dir=tmp_path, run_id="cred", target=target,
                            pyspy="none", hot_paths=False))
    assert results["scenarios"][0]["errors"] == 0  # the command really ran
    assert "https://***@vault.invalid/x" in results["target"]["cmd"]
    for path in (tmp_path / "cred").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path

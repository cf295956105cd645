"""`hivepulse profile`: scenarios -> results.json -> notebooks/profiling.ipynb (papermill) -> HTML without code,
plus the baseline comparison and bad-input handling (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from hivepulse.cli import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = """\
defaults: {requests: 40, concurrency: 2, cold_requests: 1, boxes: 3, seed: 3}
latency_profiles:
  t5: {median_ms: 5, sigma: 0.1}
matrix: {cache: [none, memory], client: [naive], latency: [t5]}
overrides:
  - match: {cache: none}
    requests: 10
    concurrency: 1
"""


def test_notebook_is_committed_clean():
    nb = nbformat.read(str(ROOT / "notebooks" / "profiling.ipynb"), as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_profile_command_runs_notebook_and_baseline(tmp_path, capsys):
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(SCENARIOS)
    out = tmp_path / "results"
    code = main(["profile", "--scenarios", str(scenarios), "--output-dir", str(out), "--run-id", "first",
                 "--no-progress"])
    assert code == 0
    run_dir = out / "first"
    html = (run_dir / "profiling.html").read_text()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["conclusion"] in html  # the generated sentence with real numbers
    assert "load_or_run" not in html  # exported without code
    assert "Latency per scenario" in html and "data:image/svg+xml" in html  # flame graph embedded
    assert "p50 fell from" in capsys.readouterr().out
    # second run against the first: every scenario gets a verdict
    code = main(["profile", "--scenarios", str(scenarios), "--output-dir", str(out), "--run-id", "second",
                 "--baseline", "first", "--no-notebook", "--no-progress", "--requests", "10", "--pyspy", "none"])
    assert code == 0
    second = json.loads((out / "second" / "results.json").read_text())
    verdicts = {c["scenario"]: c["verdict"] for c in second["comparison"]}
    assert set(verdicts) == {"none-naive-t5", "memory-naive-t5"}
    assert set(verdicts.values()) <= {"faster", "slower", "unchanged"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "2", "--rate", "5"], "not allowed with argument"),
        (["--scenarios", "missing.yaml"], "scenario file not found"),
        (["--target-cmd", "app --port {prot}"], "unknown placeholder"),
        (["--target-env", "NOEQUALS", "--target-cmd", "app"], "invalid --target-env"),
        (["--baseline", "nope", "--quick"], "baseline run not found"),
        (["--requests", "0"], "invalid --requests"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "results"
    try:
        code = main(["profile", "--output-dir", str(out), "--no-progress", *args])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())

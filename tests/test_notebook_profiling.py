"""`hivepulse profile`: scenarios -> results.json -> notebooks/profiling.ipynb (papermill) -> HTML without code,
plus the baseline comparison and bad-input handling (exit 2, one line, nothing written)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from cdp import chromium_page

from hivepulse.cli import main
from hivepulse.report.profiling.params import ProfilingParams

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
    assert "Latency per scenario" in html and 'id="hp-flamegraph"' in html  # flame graph inline
    _check_in_chromium(run_dir, results, tmp_path)
    assert "p50 fell from" in capsys.readouterr().out
    # second run against the first: every scenario gets a verdict
    code = main(["profile", "--scenarios", str(scenarios), "--output-dir", str(out), "--run-id", "second",
                 "--baseline", "first", "--no-notebook", "--no-progress", "--requests", "10", "--pyspy", "none"])
    assert code == 0
    second = json.loads((out / "second" / "results.json").read_text())
    verdicts = {c["scenario"]: c["verdict"] for c in second["comparison"]}
    assert set(verdicts) == {"none-naive-t5", "memory-naive-t5"}
    assert set(verdicts.values()) <= {"faster", "slower", "unchanged", "inconclusive"}


SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def _check_in_chromium(run_dir, results, tmp_path):
    """The report in a real browser: no NaN/None cells, no snake_case headers, the flame graph an inline SVG whose
    own search works, the speedscope link resolves to the file, one sample count everywhere."""
    with chromium_page(tmp_path / "chromium") as page:
        page.open((run_dir / "profiling.html").as_uri())
        cells = page.evaluate("[...document.querySelectorAll('td')].map(e => e.textContent.trim())")
        headers = page.evaluate("[...document.querySelectorAll('th')].map(e => e.textContent.trim())")
        assert cells and headers
        assert not [c for c in cells if c.lower() in ("nan", "none", "null", "nat") or "e-0" in c or "e+0" in c]
        assert not [h for h in headers if SNAKE.match(h)], headers
        pyspy = results["profiles"]["py-spy"]
        if not pyspy["ok"]:  # ptrace refused here: the report says why (CI requires py-spy: test_e2e)
            assert page.evaluate("document.querySelector('.hp-flamegraph').textContent").count("No flame graph") == 1
            return
        assert page.evaluate("document.getElementById('hp-flamegraph').namespaceURI") == "http://www.w3.org/2000/svg"
        total = page.evaluate("document.querySelector('#hp-flamegraph #frames').getAttribute('total_samples')")
        assert int(total) == pyspy["samples"]
        title = page.evaluate("document.querySelector('#hp-flamegraph #title').textContent")
        assert f"{pyspy['samples']:,} samples" in title and ".partial" not in title and "py-spy record" not in title
        matched = page.evaluate("search('fetch_all_boxes'); document.querySelector('#hp-flamegraph #matched')"
                                ".textContent")
        assert matched.startswith("Matched: ")
        assert page.evaluate("[...document.querySelectorAll('#hp-flamegraph rect')]"
                             ".filter(r => r.getAttribute('fill') === 'rgb(230,0,230)').length") >= 1
        href = page.evaluate("document.querySelector('.hp-flamegraph a[href$=\".speedscope.json\"]').href")
        speedscope = Path(unquote(urlparse(href).path))
        assert speedscope.is_file() and json.loads(speedscope.read_text())["profiles"][0]["endValue"] == pyspy["samples"]


def test_notebook_is_thin_and_has_the_cli_defaults():
    nb = nbformat.read(str(ROOT / "notebooks" / "profiling.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    values = {}
    for node in ast.parse(params.source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        values[target.id] = ast.literal_eval(node.value)
    assert values == ProfilingParams().model_dump()  # same names, same defaults (quick False, as the CLI)
    for cell in code[code.index(params) + 1:]:
        body = ast.parse(cell.source).body
        assert len(body) <= 2, cell.source  # one call (the first cell also imports the sections)
        assert isinstance(body[-1], ast.Expr | ast.Assign) and isinstance(body[-1].value, ast.Call), cell.source
    assert (ROOT / "src" / "hivepulse" / "notebooks" / "profiling.ipynb").read_bytes() == (
        ROOT / "notebooks" / "profiling.ipynb").read_bytes()


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

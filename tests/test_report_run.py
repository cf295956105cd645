"""papermill execution and HTML export on a tiny notebook (a real kernel, no hivepulse imports inside)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from hivepulse.report.run import NotebookFailed, execute, export_html, find_notebook

pytestmark = pytest.mark.slow


def test_failing_cell_named_output_kept_and_exportable(tmp_path):
    nb = new_notebook(cells=[
        new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        new_code_cell("print('hello', x)"),
        new_code_cell("# compute the thing\nif x > 1:\n    raise ValueError('boom')\n'fine'"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "runs" / "tiny.ipynb"
    with pytest.raises(NotebookFailed) as err:
        execute(src, out, {"x": 2}, progress=False)
    msg = str(err.value)
    assert "In [4]: # compute the thing" in msg and "ValueError: boom" in msg and str(out) in msg
    assert err.value.exit_code == 4 and out.is_file()
    html = export_html(out, tmp_path / "tiny.html").read_text()  # the kept notebook is readable as a report
    assert "hello 2" in html and "print(" not in html and "raise ValueError" not in html


def test_find_notebook_prefers_the_source_tree():
    assert find_notebook("retro.ipynb").parent.name == "notebooks"


def test_html_export_is_deterministic_despite_papermill_cell_ids(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}), new_code_cell("x")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    pages = []
    for i in range(2):  # two runs: papermill injects a parameters cell with a new random id each time
        out = execute(src, tmp_path / f"run{i}.ipynb", {"x": 2}, progress=False)
        pages.append(export_html(out, tmp_path / f"run{i}.html").read_bytes())
    assert pages[0] == pages[1]

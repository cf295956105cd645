"""Start-up cost of the data commands: what ``--help`` and ``events export --git`` import (issue 9, item 8).

Each check runs a fresh interpreter and inspects ``sys.modules`` after the command: ``metrics --help``,
``events --help`` and ``sample --help`` load neither pandas nor scipy; ``events export --git`` needs no scipy
(the engine is not imported).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from gitrepo import GitRepo

PROBE = """
import contextlib, io, json, sys
from hivepulse.cli import main
try:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "pandas": "pandas" in sys.modules, "scipy": "scipy" in sys.modules,
                  "numpy": "numpy" in sys.modules}))
"""


def _probe(*argv: str) -> dict[str, object]:
    import json

    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("argv", [("metrics", "--help"), ("events", "--help"), ("events", "export", "--help"),
                                  ("sample", "--help")])  # fmt: skip
def test_help_imports_neither_pandas_nor_scipy(argv):
    result = _probe(*argv)
    assert result == {"code": 0, "pandas": False, "scipy": False, "numpy": False}


def test_events_export_from_git_imports_no_scipy(tmp_path):
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat: one", "2024-01-01T10:00:00Z")
    repo.tag("v1.0.0")
    result = _probe("events", "export", "--git", str(repo.path), "--out", str(tmp_path / "out"))
    assert result["code"] == 0 and result["pandas"] is True
    assert result["scipy"] is False
    assert (tmp_path / "out" / "deployments.csv").read_text().splitlines()[1].startswith("v1.0.0,production,")

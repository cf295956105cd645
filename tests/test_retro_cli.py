"""`hivepulse retro` rejects bad input with one line and exit status 2 before any kernel starts, and writes
nothing (real subprocesses; no notebook runs here: every case fails before papermill). The other checks of
the same preflight (tier edition, max_actions, catalog, ledger) are library tests in test_retro_journeys.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hivepulse.commands.retro import merge_parameters, read_parameters_file
from hivepulse.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = str(REPO / "data" / "sample")


def retro(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # HIVEPULSE_TODAY pins the window rule's "today": the default window is the sample's last iteration
    return subprocess.run([sys.executable, "-m", "hivepulse", "retro", "--path", SAMPLE, "--output-dir", "out",
                           "--findings", "", "--no-progress", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HIVEPULSE_TODAY": "2026-05-25"})


@pytest.mark.parametrize(("args", "notes", "message"), [
    # a flag's error names the flag, not a notebook column
    (["--tz", "Mars/Base"], None, "error: --tz (tz): unknown time zone: got 'Mars/Base'"),
    (["--since", "2026-05-20", "--until", "2026-05-11"], None, "error: --until (until): empty window"),
    (["--max-actions", "-1"], None,
     "error: --max-actions (max_actions): bad value: got '-1'; expected an integer from 0 to 100"),
    ([], "to_improve:\n  - text: slow\n    votes: -1\n",
     "out/notes/2026-05-11_2026-05-25.yaml, line 3, column 'to_improve[0].votes': bad votes"),
    ([], "went_wel:\n  - calm\n", "line 1, column 'went_wel': unknown section; expected went_well or to_improve"),
    # the source's kind is checked before a kernel starts (no runs/ notebook left behind)
    (["--path", str(REPO / "README.md")], None, "column 'path': not a directory; expected an events directory"),
    (["--source", "git", "--path", "/proc"], None, "/proc, column 'path': not a git repository"),
    (["--findings", "no-such-results"], None, "no-such-results, column 'findings': findings path not found"),
])
def test_bad_input_exits_2_before_any_kernel_and_writes_nothing(tmp_path, args, notes, message):
    if notes is not None:
        (tmp_path / "out" / "notes").mkdir(parents=True)
        (tmp_path / "out" / "notes" / "2026-05-11_2026-05-25.yaml").write_text(notes, encoding="utf-8")
    proc = retro(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "iteration" not in proc.stderr  # the run never started
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ([] if notes is None else ["out/notes/2026-05-11_2026-05-25.yaml"])


def test_parameters_file_errors_name_file_line_and_key(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("path: data/sample\nsince: 2026-04-27\nfoo: 1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p.yaml, line 3, column 'foo': unknown parameter"):
        read_parameters_file(str(params))
    params.write_text("since: 2026/04/27\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p.yaml, line 1, column 'since': bad date"):
        read_parameters_file(str(params))


def test_flags_override_the_file_key_by_key(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("since: 2026-04-27\nuntil: 2026-05-11\nmax_actions: 2\n", encoding="utf-8")
    defaults = {"since": "2026-05-11", "until": "2026-05-25", "iteration_days": 14, "max_actions": 3}
    merged = merge_parameters(defaults, read_parameters_file(str(params)), {"max_actions": 1, "since": "2026-04-13"})
    # defaults < file < flags, per key: since from the flag, until from the file, max_actions from the flag
    assert (merged["since"], merged["until"], merged["max_actions"]) == ("2026-04-13", "2026-05-11", 1)


def test_unreadable_parameter_files_and_huge_windows_are_input_errors(tmp_path):
    from hivepulse.commands.retro import notebook_defaults
    from hivepulse.retro.record import resolve_window

    (tmp_path / "date.yaml").write_text("since: 2026-13-01\n", encoding="utf-8")  # YAML's date constructor fails
    (tmp_path / "bin.yaml").write_bytes(b"\xc9\x00\xff" * 5)
    (tmp_path / "nb.ipynb").write_text("not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"date.yaml, line 1: bad value \(month must be in 1..12\)"):
        read_parameters_file(str(tmp_path / "date.yaml"))
    with pytest.raises(InputError, match=r"bin.yaml: not UTF-8 text"):
        read_parameters_file(str(tmp_path / "bin.yaml"))
    with pytest.raises(InputError, match=r"nb.ipynb: not a Jupyter notebook"):
        notebook_defaults(tmp_path / "nb.ipynb")
    with pytest.raises(InputError, match=r"column 'iteration_days': bad iteration_days"):
        resolve_window(None, "2026-05-25", 99999999999)

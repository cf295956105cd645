"""Behaviour contract: the sample's metrics JSON, the table, the retro records and the ledger are byte-identical
to the files captured before the internal refactor of issue 9 (tests/golden/). A change that alters one of them
on purpose updates the fixture in the same commit and says why in CHANGELOG.md."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
RECORD_FILES = ("metrics.json", "actions.json", "README.md", "actions.csv")


def _hivepulse(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HIVEPULSE_DEBUG": ""}
    return subprocess.run([sys.executable, "-m", "hivepulse", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300)


@pytest.mark.parametrize("name,args", [
    ("sample_2026-04-27_2026-05-25.json", ["--format", "json"]),
    ("sample_compare_berlin_2023.json", ["--format", "json", "--compare-previous", "--tz", "Europe/Berlin",
                                          "--tier-edition", "2023"]),
    ("sample_table.txt", []),
])
def test_metrics_output_unchanged(name: str, args: list[str]) -> None:
    out = _hivepulse("metrics", "--events", "data/sample", "--since", "2026-04-27", "--until", "2026-05-25", *args)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (GOLDEN / "metrics" / name).read_text()


def test_staging_week_unchanged() -> None:
    out = _hivepulse("metrics", "--events", "data/sample", "--since", "2026-05-18", "--until", "2026-05-25",
                     "--env", "staging", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (GOLDEN / "metrics" / "sample_staging_week.json").read_text()


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copytree(ROOT / "retro" / "notes", ws / "notes")
    shutil.copy(ROOT / "retro" / "actions.yaml", ws / "actions.yaml")
    return ws


def _assert_same(produced: Path, golden: Path) -> None:
    for name in RECORD_FILES:
        assert (produced / name).read_text() == (golden / name).read_text(), f"{golden.name}/{name} changed"


@pytest.mark.slow
def test_sample_retro_records_unchanged(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    # the notebook's defaults are the window rule's (today, UTC): the sample's dates are given, as `make demo` does
    out = _hivepulse("retro", "--no-progress", "--output-dir", str(ws), "--since", "2026-05-11", "--until", "2026-05-25")
    assert out.returncode == 0, out.stderr
    _assert_same(ws / "2026-05-11_2026-05-25", GOLDEN / "sample_retro")
    assert (ws / "ledger.json").read_text() == (GOLDEN / "sample_retro" / "ledger.json").read_text()


@pytest.mark.slow
def test_two_iterations_follow_up_unchanged(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    for since, until in (("2026-04-27", "2026-05-11"), ("2026-05-11", "2026-05-25")):
        out = _hivepulse("retro", "--no-progress", "--output-dir", str(ws), "--since", since, "--until", until)
        assert out.returncode == 0, out.stderr
        _assert_same(ws / f"{since}_{until}", GOLDEN / "two_iterations" / f"{since}_{until}")
    assert (ws / "ledger.json").read_text() == (GOLDEN / "two_iterations" / "ledger.json").read_text()

"""The bad-input corpus: every case under tests/bad_inputs/ is rejected with one precise line and exit status 2.

A case is a directory of event files with exactly one defect, plus ``expected.txt``: every non-empty line of
it is a substring the error message must contain (file name, line number, column). An optional
``events.txt`` names the events path relative to the case (for the missing-directory case).

Each case runs through :func:`read_events` and through the command line
``hivepulse metrics --events CASE --since 2026-01-01 --until 2026-02-01`` (``hivepulse.cli.main`` in process:
exit status 2, exactly one line on stderr, nothing on stdout, no traceback); a few cases also run as a real
``hivepulse`` process. Nothing here skips: a broken ``hivepulse metrics`` fails these tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hivepulse.errors import InputError
from hivepulse.sources.files import read_events

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def _events_path(case: Path) -> Path:
    pointer = case / "events.txt"
    return case / pointer.read_text().strip() if pointer.exists() else case


def _expected(case: Path) -> list[str]:
    return [line for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines() if line.strip()]


def _hivepulse() -> list[str]:
    script = Path(sys.executable).with_name("hivepulse")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hivepulse"]


def test_metrics_command_runs_as_a_process():
    """The command every case below runs: it must exist and list --events (a failure here is a failure, not a
    reason to skip the corpus)."""
    result = subprocess.run([*_hivepulse(), "metrics", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--events" in result.stdout


def test_corpus_has_at_least_twenty_cases():
    assert len(CASES) >= 20
    for case in CASES:
        assert _expected(case), f"{case.name}: expected.txt is empty"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_read_events_rejects_case(case: Path):
    with pytest.raises(InputError) as info:
        read_events(_events_path(case))
    message = str(info.value)
    assert "\n" not in message
    for fragment in _expected(case):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert info.value.exit_code == 2


def _metrics_argv(case: Path) -> list[str]:
    return ["metrics", "--events", str(_events_path(case)), "--since", "2026-01-01", "--until", "2026-02-01"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_metrics_cli_rejects_case(case: Path, capsys: pytest.CaptureFixture[str]):
    """Every case through the CLI entry point in process: status 2, one stderr line, nothing on stdout."""
    from hivepulse.cli import main

    code = main(_metrics_argv(case))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hivepulse metrics: error: ")
    for fragment in _expected(case):
        assert fragment in lines[0]


# A real process for a few cases of each kind (structure, value, encoding, JSON): exit status and stderr as a
# user sees them. (Each process costs about a second of imports, so not all cases run this way.)
PROCESS_CASES = [
    "missing_directory",
    "bad_status",
    "wrong_encoding",
    "json_bad_status_key_line",
    "ragged_row_short",
]


@pytest.mark.parametrize("name", PROCESS_CASES)
def test_metrics_process_rejects_case(name: str):
    case = CORPUS / name
    result = subprocess.run(
        [*_hivepulse(), *_metrics_argv(case)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in _expected(case):
        assert fragment in lines[0]

"""The command-line entry point: every command registers (none silently missing), error lines are one
terminal-safe line."""

from __future__ import annotations

import subprocess
import sys

from hivepulse import cli


def test_every_command_module_registers() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(cli.COMMAND_MODULES)  # type: ignore[union-attr]


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "hivepulse", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    for name in cli.COMMAND_MODULES:
        assert name in out.stdout


def test_error_line_strips_escape_sequences(capsys) -> None:  # type: ignore[no-untyped-def]
    code = cli.error_line("metrics", "bad \x1b[31mred\x1b]0;pwned\x07 value\r\nsecond", 2)
    err = capsys.readouterr().err
    assert code == 2
    assert err == "hivepulse metrics: error: bad red value second\n"


def test_error_from_a_path_with_escapes_is_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "ev\x1b[2Jx"
    out = subprocess.run([sys.executable, "-m", "hivepulse", "metrics", "--events", str(bad),
                          "--since", "2026-01-01", "--until", "2026-02-01"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "\x1b" not in out.stderr and out.stderr.count("\n") == 1

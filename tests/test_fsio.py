"""The shared I/O module: atomic writes, locks, bounded reads, YAML limits and line numbers."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from hivepulse.errors import InputError, ServiceError
from hivepulse.fsio import (
    atomic_write_bytes,
    atomic_write_text,
    load_yaml,
    load_yaml_file,
    locked,
    read_bytes_limited,
)
from hivepulse.textsafe import csv_cell, short, terminal


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_atomic_write_failure_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def _hold(lock: str, seconds: float) -> None:
    with locked(lock):
        time.sleep(seconds)


def test_lock_excludes_another_process(tmp_path: Path) -> None:
    lock = str(tmp_path / ".lock")
    proc = multiprocessing.get_context("spawn").Process(target=_hold, args=(lock, 1.5))
    proc.start()
    deadline = time.monotonic() + 10
    while not os.path.exists(lock) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    with pytest.raises(ServiceError, match="locked by another hivepulse run"):
        with locked(lock, timeout_s=0.2):
            pass
    with locked(lock, timeout_s=10):
        pass
    proc.join()


def test_read_bytes_limited(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 11)
    assert read_bytes_limited(f, 11) == b"x" * 11
    with pytest.raises(InputError, match="larger than 10 bytes"):
        read_bytes_limited(f, 10)


def test_yaml_lines_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("a:\n  b: 1\n  c:\n    - x\n    - y: 2\n")
    doc = load_yaml_file(f)
    assert doc.data == {"a": {"b": 1, "c": ["x", {"y": 2}]}}
    assert doc.line("a", "b") == 2
    assert doc.line("a", "c", 1, "y") == 5
    assert doc.line("a", "missing") == 1
    err = doc.error("must be text", "a", "c", 1, "y", value=2, expected="a string")
    assert str(err) == f"{f}, line 5, column 'a.c.1.y': must be text: got '2'; expected a string"


def test_yaml_billion_laughs_refused_fast() -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        rows.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.monotonic()
    with pytest.raises(InputError, match="expands to more than"):
        load_yaml("\n".join(rows))
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000 + "]" * 100_000,
                                  "".join("  " * i + f"k{i}:\n" for i in range(300))])
def test_yaml_deep_nesting_refused(text: str) -> None:
    with pytest.raises(InputError, match="nested deeper than"):
        load_yaml(text)


@pytest.mark.parametrize("text,match", [
    ("a: !!python/object:os.system x", "could not determine a constructor"),
    ("a: [1,\n b", "invalid YAML"),
    ("--- 1\n--- 2\n", "invalid YAML"),
])
def test_yaml_invalid(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        load_yaml(text)


def test_yaml_size_limit() -> None:
    with pytest.raises(InputError, match="larger than 10 bytes"):
        load_yaml("a: " + "x" * 20, max_bytes=10)
    assert load_yaml("").data is None


def test_textsafe() -> None:
    assert terminal("ok\x1b[31mred\x1b]0;title\x07 \u202eevil\r\n") == "okred evil "
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@SUM") == "'@SUM" and csv_cell("plain") == "plain" and csv_cell(3) == 3
    assert short("x" * 1000, 10) == "xxxxxxx..."
    assert short(10**5000) == "<16610-bit integer>"
    assert len(short([[[[["a" * 10**6]]]]])) <= 60

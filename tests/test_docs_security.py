"""docs/security.md names, for every hostile input, the test that holds it: each named file and test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "security.md").read_text()


def test_every_named_test_file_exists() -> None:
    files = set(re.findall(r"`(tests/[\w/]+\.py)", DOC))
    assert files, "docs/security.md names no test"
    assert [f for f in sorted(files) if not (ROOT / f).is_file()] == []


def test_every_named_test_function_exists() -> None:
    named: list[tuple[str, str]] = []
    for file, names in re.findall(r"`(tests/[\w/]+\.py)` \(([^)]*)\)", DOC):
        named += [(file, n) for n in re.findall(r"`(test_\w+)`", names)]
    last = ""
    for file, rest in re.findall(r"`(tests/[\w/]+\.py)?::(test_\w+)`", DOC):
        last = file or last
        named.append((last, rest))
    missing = [(f, n) for f, n in named if f"def {n}(" not in (ROOT / f).read_text()]
    assert named and missing == []

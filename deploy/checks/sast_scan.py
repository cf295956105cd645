"""SAST of the library: bandit over ``src/`` with the reviewed skips of ``[tool.bandit]`` (pyproject.toml),
every other finding of every severity and confidence gated by ``exceptions.yaml``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from findings import ROOT, Finding, relative, source_line


def bandit_findings(targets: list[Path], *, config: Path = ROOT / "pyproject.toml",
                    root: Path = ROOT) -> list[Finding]:
    """Run bandit (the venv's) on ``targets``; a scan error (a file bandit cannot parse) is a finding too."""
    cmd = [sys.executable, "-m", "bandit", "-c", str(config), "-r", *map(str, targets), "-f", "json", "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"bandit failed (exit {done.returncode}): {done.stderr.strip()[:500]}")
    data = json.loads(done.stdout)
    out: list[Finding] = []
    for item in data.get("results", []):
        path = Path(item["filename"])
        line = int(item["line_number"])
        out.append(Finding(
            tool="bandit", rule=item["test_id"], where=relative(path, root),
            message=f"{item['issue_text']} (severity {item['issue_severity'].lower()}, "
                    f"confidence {item['issue_confidence'].lower()})",
            line=line, source_line=source_line(path if path.is_absolute() else root / path, line),
        ))
    for err in data.get("errors", []):
        out.append(Finding(tool="bandit", rule="scan-error", where=relative(err.get("filename", "?"), root),
                           message=str(err.get("reason", "could not scan"))))
    return out

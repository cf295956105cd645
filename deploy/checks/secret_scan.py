"""Secret scan of the repository: detect-secrets over every tracked and untracked-but-not-ignored text file,
with the plugins and filters of the reviewed baseline ``.secrets.baseline``.

A finding fails unless the baseline holds it (same file, same hashed secret) *and* a person reviewed that
baseline entry (``is_secret: false``, set with ``detect-secrets audit .secrets.baseline``). Nothing printed
here contains a secret: only its type, file and line. No network: verification plugins are never called.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from findings import ROOT, Finding

BASELINE = ROOT / ".secrets.baseline"


def list_files(root: Path) -> list[str]:
    """Repository-relative text files to scan: git's tracked and untracked-not-ignored files when ``root``
    is a work tree, else every file under ``root``; binaries (a NUL byte in the first 8 KiB) are skipped."""
    names: list[str]
    done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True, check=False)
    inside = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True,
                            text=True, check=False)
    if done.returncode == 0 and inside.returncode == 0 and Path(inside.stdout.strip()).resolve() == root.resolve():
        names = sorted({n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n})
    else:
        names = sorted(str(p.relative_to(root).as_posix()) for p in root.rglob("*")
                       if p.is_file() and ".git" not in p.relative_to(root).parts)
    venvs = {p.parent.relative_to(root).as_posix() + "/" for p in root.glob("*/pyvenv.cfg")}
    out = []
    for name in names:
        path = root / name
        if not path.is_file() or path.is_symlink() or any(name.startswith(v) for v in venvs):
            continue  # a virtual environment someone forgot to ignore is not the repository's content
        with open(path, "rb") as fh:
            if b"\0" in fh.read(8192):
                continue
        out.append(name)
    return out


def _relative(data: dict, root: Path) -> dict:
    """The baseline with repository-relative file names only (detect-secrets writes absolute ones when it scans
    with a root), so it matches from any checkout and carries no machine path."""
    for name, entries in data.get("results", {}).items():
        for entry in entries:
            entry["filename"] = name
    for flt in data.get("filters_used", []):
        if "filename" in flt:
            try:
                flt["filename"] = Path(flt["filename"]).resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                flt["filename"] = Path(flt["filename"]).name
    return data


def _configure(baseline_path: Path, root: Path):
    """The baseline's JSON (file names relative) and its secrets keyed as a scan from ``root`` keys them (the
    scanner joins ``root`` and the relative name)."""
    import copy

    from detect_secrets.core import baseline as ds_baseline

    data = _relative(ds_baseline.load_from_file(str(baseline_path)), baseline_path.parent)
    keyed = copy.deepcopy(data)
    for name, entries in keyed.get("results", {}).items():
        for entry in entries:
            entry["filename"] = os.path.join(str(root), name)
    return data, ds_baseline.load(keyed, str(baseline_path))


def scan(root: Path, files: Iterable[str], baseline_path: Path = BASELINE, *, processes: int | None = None):
    """``(current, baseline_secrets, baseline_json)``: what the files hold now, and what the baseline holds."""
    from detect_secrets.core.secrets_collection import SecretsCollection

    data, known = _configure(baseline_path, root)
    current = SecretsCollection(root=str(root))
    names = [f for f in files if (root / f).resolve() != baseline_path.resolve()]
    if names:
        current.scan_files(*names, num_processors=processes or min(2, os.cpu_count() or 1))
    return current, known, data


def secret_findings(root: Path = ROOT, baseline_path: Path = BASELINE,
                    files: Iterable[str] | None = None) -> tuple[list[Finding], list[str], int]:
    """``(findings, notes, held)``. Findings: secrets the baseline does not hold, and baseline entries nobody
    reviewed or that are marked real. Notes: baseline entries no longer found (stale). Held: how many
    potential secrets found now the reviewed baseline holds."""
    names = list(files) if files is not None else list_files(root)
    current, known, data = scan(root, names, baseline_path)
    findings = [
        Finding(tool="detect-secrets", rule=secret.type, where=filename, line=secret.line_number,
                message="potential secret not in the reviewed baseline (.secrets.baseline)")
        for filename, secret in (current - known)
    ]
    for filename, entries in sorted(data.get("results", {}).items()):
        for entry in entries:
            if entry.get("is_secret") is None:
                findings.append(Finding(tool="detect-secrets", rule="unreviewed-baseline-entry", where=filename,
                                        line=entry.get("line_number"),
                                        message=f"{entry.get('type')} in the baseline was never reviewed: "
                                                "run `detect-secrets audit .secrets.baseline`"))
            elif entry.get("is_secret"):
                findings.append(Finding(tool="detect-secrets", rule="real-secret-in-baseline", where=filename,
                                        line=entry.get("line_number"),
                                        message=f"{entry.get('type')} is marked a real secret: remove it from "
                                                "the repository (and its history) and rotate it"))
    stale = sorted({f for f, _ in (known - current)} & set(data.get("results", {})))
    notes = [f"baseline entries no longer found in {f}: `make secrets-baseline` refreshes them" for f in stale]
    held = sum(1 for _ in current) - sum(1 for _ in (current - known))
    return findings, notes, held


def update_baseline(root: Path = ROOT, baseline_path: Path = BASELINE) -> int:
    """Rescan and rewrite the baseline, keeping every earlier review; returns how many entries await review."""
    from detect_secrets.core import baseline as ds_baseline

    current, known, _ = scan(root, list_files(root), baseline_path)
    current.merge(known)
    ds_baseline.save_to_file(current, str(baseline_path))
    saved = _relative(json.loads(baseline_path.read_text(encoding="utf-8")), root)
    saved.pop("generated_at", None)
    baseline_path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    return sum(1 for entries in saved["results"].values() for e in entries if e.get("is_secret") is None)

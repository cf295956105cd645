"""Packaging contracts: environment.yml mirrors pyproject.toml; the lock pins every dependency."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req)
    assert m, req
    return _norm(m.group(1)), m.group(3).replace(" ", "")


def _pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(_split(r) for r in data["project"]["dependencies"])


def _conda_deps() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "hivepulse"
    deps: dict[str, str] = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            for p in item.get("pip", []):
                if not p.startswith("-e"):
                    name, spec = _split(p)
                    deps[name] = spec
        else:
            name, spec = _split(item)
            if name not in {"python", "pip"}:
                deps[name] = spec
    return deps


def _pyproject_all_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = dict(_split(r) for r in data["project"]["dependencies"])
    deps.update(_split(r) for r in data["project"]["optional-dependencies"]["dev"])
    return deps


def test_environment_yml_matches_pyproject():
    """Runtime and dev dependencies, so a conda user can run `pytest` too (conda-forge spells
    prometheus-client as prometheus_client; names are compared normalized)."""
    assert _conda_deps() == _pyproject_all_deps()


def test_design_card_packages_present():
    deps = _pyproject_deps()
    for pkg in ["jupyterlab", "pandas", "matplotlib", "py-spy", "pyinstrument", "papermill", "pytest"]:
        assert pkg in deps, pkg


def test_lock_pins_every_dependency():
    """Every requirement is pinned with ``==`` and carries at least one sha256 hash (``--require-hashes``)."""
    text = (ROOT / "requirements.lock").read_text()
    pinned = {}
    for entry in text.replace("\\\n", " ").splitlines():
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        requirement, *hashes = entry.split()
        assert "==" in requirement, f"unpinned lock line: {entry}"
        assert hashes and all(h.startswith("--hash=sha256:") for h in hashes), f"no hash: {requirement}"
        name, version = requirement.split("==", 1)
        pinned[_norm(name.split("[")[0])] = version
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["dev"])
    for req in wanted:
        name, _ = _split(req)
        assert name in pinned, f"{name} missing from requirements.lock"


def test_ci_runs_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    assert "make test" in text

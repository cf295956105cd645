"""Shared fixtures of the deployment tests: the repository's supply-chain checks (deploy/checks) on the path,
overlays rendered once per session with the real `kubectl kustomize`, and the scanners of the tools venv.

Without kubectl (and without the pinned one of `make tools`) or without the tools venv these tests skip
locally and fail in CI (`CI=true`), where `make test` installs both first.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "deploy" / "checks"
if str(CHECKS) not in sys.path:
    sys.path.insert(0, str(CHECKS))

OVERLAYS = ("dev", "staging", "prod")


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: `make test` installs it (make tools)")
    pytest.skip(f"{what} is missing: run `make tools`")


def have_kubectl() -> bool:
    return bool(os.environ.get("KUBECTL") or shutil.which("kubectl") or (ROOT / ".tools-venv/bin/kubectl").exists())


@pytest.fixture(scope="session")
def render_dir():
    """``render_dir(path) -> tuple of documents`` (cached), with the real kubectl."""
    if not have_kubectl():
        _missing("kubectl")
    import render

    return render.render_docs


@pytest.fixture(scope="session")
def overlays(render_dir) -> dict[str, tuple[dict[str, Any], ...]]:
    return {env: render_dir(ROOT / "deploy" / "overlays" / env) for env in OVERLAYS}


@pytest.fixture(scope="session")
def base(render_dir) -> tuple[dict[str, Any], ...]:
    return render_dir(ROOT / "deploy" / "base")


@pytest.fixture
def fresh(overlays):
    """A deep copy of an overlay's documents, for tests that plant a problem."""
    return lambda env: copy.deepcopy(list(overlays[env]))


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    path = ROOT / ".tools-venv" / "bin"
    if not (path / "checkov").exists() or not (path / "hadolint").exists():
        _missing("the tools venv (.tools-venv with checkov and hadolint)")
    return path

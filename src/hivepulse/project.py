"""The project file (``retro/project.yaml``): a team's sources written once.

It names the store, the GitHub repositories (what counts as a deployment, the production environment, the
incident label, an optional local clone) and the Argo CD applications, so ``hivepulse pull`` with no
arguments pulls them all and the retro reads ``source: store``. Validated with pydantic (unknown keys are
errors) and loaded with :func:`hivepulse.fsio.load_yaml_file`, so every error names the file, the line and
the field (exit 2). Reference with an example: ``docs/pull.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hivepulse.errors import InputError
from hivepulse.fsio import load_yaml_file
from hivepulse.paths import locate

DEFAULT_PROJECT = "retro/project.yaml"
DeploySource = Literal["deployments", "releases", "workflow", "argocd"]
_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,252}$")


# ---------------------------------------------------------------------------------------------- what pulls use


@dataclass(frozen=True)
class ArgoApp:
    """An Argo CD application: its name, optional ``appNamespace``, the environment its history deploys to,
    the repository whose commits it deploys (its changes are compared there), and an optional saved file."""

    name: str
    environment: str = "production"
    namespace: str | None = None
    repository: str | None = None
    from_file: str | None = None
    server: str | None = None


@dataclass(frozen=True)
class RepositorySource:
    """One GitHub repository and its rules (``docs/pull.md``)."""

    repository: str | None
    deploy: DeploySource = "deployments"
    production_environment: str = "production"
    environments: tuple[str, ...] = ()
    """Environments kept (empty = all that are not transient)."""
    workflow: str | None = None
    branch: str | None = None
    workflow_environment: str = "production"
    include_prereleases: bool = False
    incident_label: str = "incident"
    git: str | None = None
    since_ns: int | None = None
    argocd_apps: tuple[ArgoApp, ...] = ()


@dataclass(frozen=True)
class Project:
    """A loaded project file."""

    path: str
    store: str | None
    api_url: str
    max_wait_s: float
    argocd_server: str | None
    argocd_insecure: bool
    repositories: tuple[RepositorySource, ...]
    apps: tuple[ArgoApp, ...]


# ---------------------------------------------------------------------------------------------- file models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _since(value: object) -> object:
    if isinstance(value, datetime | date) or value is None:
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("expected a date YYYY-MM-DD or an ISO 8601 timestamp") from None
    raise ValueError("expected a date YYYY-MM-DD or an ISO 8601 timestamp")


class _GitHub(_Strict):
    api_url: str = Field("https://api.github.com", pattern=r"^https?://[^\s]+$")
    max_wait_minutes: float = Field(15.0, ge=0, le=24 * 60)


class _ArgoCD(_Strict):
    server: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    insecure: bool = False


class _Repository(_Strict):
    name: str = Field(pattern=_REPO.pattern)
    deploy: DeploySource = "deployments"
    production_environment: str = Field("production", min_length=1, max_length=255)
    environments: list[str] = []
    workflow: str | None = Field(None, min_length=1, max_length=255)
    branch: str | None = Field(None, min_length=1, max_length=255)
    workflow_environment: str = Field("production", min_length=1, max_length=255)
    include_prereleases: bool = False
    incident_label: str = Field("incident", min_length=1, max_length=100)
    git: str | None = None
    since: datetime | date | None = None

    _check_since = field_validator("since", mode="before")(_since)


class _App(_Strict):
    name: str = Field(pattern=_NAME.pattern)
    namespace: str | None = Field(None, pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    environment: str = Field("production", min_length=1, max_length=255)
    repository: str | None = Field(None, pattern=_REPO.pattern)
    from_file: str | None = None
    server: str | None = Field(None, pattern=r"^https?://[^\s]+$")


class _ProjectFile(_Strict):
    version: Literal[1] = 1
    store: str | None = None
    github: _GitHub = Field(default_factory=lambda: _GitHub.model_validate({}))
    argocd: _ArgoCD = Field(default_factory=lambda: _ArgoCD.model_validate({}))
    repositories: list[_Repository] = []
    apps: list[_App] = []


def _ns(value: datetime | date | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def load_project(path: str | Path | None = None) -> Project:
    """Read and validate a project file (default ``retro/project.yaml``); errors are :class:`InputError`
    naming file, line and field."""
    target = locate(path or DEFAULT_PROJECT)
    if not target.is_file():
        raise InputError("project file not found", file=str(target),
                         expected="a project file (docs/pull.md shows an example), or pull github/argocd directly")
    doc = load_yaml_file(target, what="project file")
    if not isinstance(doc.data, dict):
        raise doc.error("the project file must be a mapping", expected="keys such as store, repositories, apps")
    try:
        parsed = _ProjectFile.model_validate(doc.data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(p for p in first.get("loc", ()) if isinstance(p, str | int))
        kind = first.get("type", "")
        message = "unknown field" if kind == "extra_forbidden" else str(first.get("msg", "invalid value"))
        expected = "one of the documented fields (docs/pull.md)" if kind == "extra_forbidden" else None
        raise doc.error(message, *loc, value=first.get("input") if kind != "extra_forbidden" else None,
                        expected=expected) from None
    names = [r.name.lower() for r in parsed.repositories]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise doc.error("repository listed twice", "repositories", i, "name", value=parsed.repositories[i].name)
    app_names = [a.name for a in parsed.apps]
    for i, name in enumerate(app_names):
        if name in app_names[:i]:
            raise doc.error("application listed twice", "apps", i, "name", value=name)
    for i, app in enumerate(parsed.apps):
        if app.repository and app.repository.lower() not in names:
            raise doc.error("unknown repository", "apps", i, "repository", value=app.repository,
                            expected="a name listed under repositories")
        if not app.from_file and not (app.server or parsed.argocd.server):
            raise doc.error("no Argo CD server for this application", "apps", i, "name", value=app.name,
                            expected="argocd.server, apps[].server or apps[].from_file")
    apps = tuple(ArgoApp(a.name, a.environment, a.namespace, a.repository,
                         str(locate(a.from_file)) if a.from_file else None, a.server or parsed.argocd.server)
                 for a in parsed.apps)
    repos: list[RepositorySource] = []
    for i, r in enumerate(parsed.repositories):
        linked = tuple(a for a in apps if a.repository and a.repository.lower() == r.name.lower())
        if r.deploy == "workflow" and not r.workflow:
            raise doc.error("deploy: workflow needs the workflow's file name or id", "repositories", i, "deploy",
                            expected="workflow: deploy.yml")
        if r.deploy == "argocd" and not linked:
            raise doc.error("deploy: argocd needs an application naming this repository", "repositories", i,
                            "deploy", expected="an entry under apps with repository: " + r.name)
        repos.append(RepositorySource(
            r.name, r.deploy, r.production_environment, tuple(r.environments), r.workflow, r.branch,
            r.workflow_environment, r.include_prereleases, r.incident_label,
            str(locate(r.git)) if r.git else None, _ns(r.since), linked))
    return Project(str(target), parsed.store, parsed.github.api_url, parsed.github.max_wait_minutes * 60,
                   parsed.argocd.server, parsed.argocd.insecure, tuple(repos), apps)


def project_store(path: str | Path | None = None) -> str | None:
    """The ``store:`` of the project file (default ``retro/project.yaml``) when that file exists, else None
    (then the store's own default, ``data/store/hivepulse.db``, applies). What ``hivepulse pull github|argocd``
    and the retro use when no store is named."""
    target = locate(path or DEFAULT_PROJECT)
    if path is None and not target.is_file():
        return None
    return load_project(target).store


def since_ns(text: str | None) -> int | None:
    """``--since`` (a date or an ISO timestamp, UTC when no offset) as ns, or None."""
    if text is None or not str(text).strip():
        return None
    try:
        value = _since(str(text).strip())
    except ValueError:
        raise InputError("invalid --since", value=text, expected="a date YYYY-MM-DD or an ISO 8601 timestamp") from None
    return _ns(value)  # type: ignore[arg-type]


__all__ = ["ArgoApp", "DEFAULT_PROJECT", "DeploySource", "Project", "RepositorySource", "load_project",
           "project_store", "since_ns"]

"""Argo CD: an Application's sync history and current operation, from the API or a saved JSON file.

Input: the Application resource as ``GET /api/v1/applications/{name}`` returns it (Argo CD API,
https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/, token ``ARGOCD_AUTH_TOKEN`` as a Bearer
header), or as ``kubectl get application APP -o json`` prints it (a ``kind: List`` of applications is
accepted too). The shape is the ``argoproj.io/v1alpha1`` Application CRD:

- ``status.history[]``: ``id`` (increasing), ``revision`` (``revisions[]`` for multi-source apps),
  ``deployStartedAt``, ``deployedAt``, ``source``, ``initiatedBy`` (never read);
- ``status.operationState``: ``phase`` (``Running``, ``Succeeded``, ``Failed``, ``Error``, ``Terminating``),
  ``startedAt``, ``finishedAt``, ``operation.sync.revision``, ``syncResult.revision``.

Argo CD keeps only the last ``spec.revisionHistoryLimit`` (default 10) history entries, so the store
accumulates them over repeated pulls. Rules: ``docs/pull.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from hivepulse.errors import InputError, SourceError
from hivepulse.fsio import read_bytes_limited
from hivepulse.sources.github.client import GitHubClient
from hivepulse.sources.github.payloads import ns
from hivepulse.sources.github.records import Record
from hivepulse.textsafe import short

MAX_APP_BYTES = 32 << 20
FAILED_PHASES = ("Failed", "Error")


@dataclass(frozen=True)
class HistoryEntry(Record):
    """One ``status.history`` entry: a deployment of ``revision``."""

    app: str
    history_id: int
    deployed_at: int
    deploy_started_at: int | None
    revision: str


@dataclass(frozen=True)
class Operation(Record):
    """The current ``status.operationState`` when it is finished (phase Succeeded, Failed or Error)."""

    app: str
    started_at: int
    finished_at: int | None
    phase: str
    revision: str | None


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _History(_M):
    id: int
    revision: str | None = None
    revisions: list[str] = []
    deployedAt: AwareDatetime  # noqa: N815 (the API's field name)
    deployStartedAt: AwareDatetime | None = None  # noqa: N815


class _Sync(_M):
    revision: str | None = None


class _OperationSpec(_M):
    sync: _Sync | None = None


class _OperationState(_M):
    phase: str = ""
    startedAt: AwareDatetime | None = None  # noqa: N815
    finishedAt: AwareDatetime | None = None  # noqa: N815
    operation: _OperationSpec | None = None
    syncResult: _Sync | None = None  # noqa: N815


class _Status(_M):
    history: list[dict[str, Any]] = []
    operationState: _OperationState | None = None  # noqa: N815


class _Meta(_M):
    name: str = ""


class _Application(_M):
    kind: str = "Application"
    metadata: _Meta = _Meta()
    status: _Status = _Status()


@dataclass(frozen=True)
class Application:
    """What a pull keeps of an Application."""

    history: list[HistoryEntry]
    operation: Operation | None
    skipped: int
    """History entries skipped because of an unexpected shape (no id or deployedAt)."""


def parse_application(data: Any, app: str, where: str) -> Application:
    """The history and finished operation of the Application ``app`` in ``data`` (an Application, or a
    ``kind: List`` holding it)."""
    if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
        name = app.rsplit("/", 1)[-1]
        match = [i for i in data["items"] if isinstance(i, dict) and (i.get("metadata") or {}).get("name") == name]
        if not match:
            raise InputError(f"no Application named {name!r} in the list", file=where)
        data = match[0]
    try:
        parsed = _Application.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise SourceError(f"{where}: not an Argo CD Application (field {loc!r}: "
                          f"{short(first.get('msg', 'invalid'), 80)})") from None
    if parsed.kind != "Application":
        raise SourceError(f"{where}: not an Argo CD Application (kind {short(parsed.kind, 40)!r})")
    history: list[HistoryEntry] = []
    skipped = 0
    for item in parsed.status.history:
        try:
            h = _History.model_validate(item)
        except ValidationError:
            skipped += 1
            continue
        revision = h.revision or (h.revisions[0] if h.revisions else "")
        history.append(HistoryEntry(app, h.id, ns(h.deployedAt) or 0, ns(h.deployStartedAt), revision))
    op = parsed.status.operationState
    operation = None
    if op is not None and op.phase in ("Succeeded", *FAILED_PHASES) and op.startedAt is not None:
        op_revision = (op.syncResult.revision if op.syncResult else None) or (
            op.operation.sync.revision if op.operation and op.operation.sync else None)
        operation = Operation(app, ns(op.startedAt) or 0, ns(op.finishedAt), op.phase, op_revision)
    return Application(history, operation, skipped)


def load_application_file(path: str | Path, app: str) -> Application:
    """An Application saved with ``kubectl get application APP -o json`` (at most 32 MiB)."""
    data = read_bytes_limited(path, MAX_APP_BYTES, what="Argo CD application file")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise InputError(f"not JSON ({type(err).__name__})", file=str(path),
                         expected="the output of kubectl get application APP -o json") from None
    try:
        return parse_application(doc, app, str(path))
    except SourceError as err:  # a bad file is bad input (exit 2), not an unreadable source
        raise InputError(str(err)) from None


def read_application(client: GitHubClient, app: str, namespace: str | None = None) -> Application:
    """``GET /api/v1/applications/{app}`` (``appNamespace`` when given) from the Argo CD API server."""
    path = f"/api/v1/applications/{quote(app, safe='')}"
    page = client.get(path, {"appNamespace": namespace} if namespace else None)
    return parse_application(page.data, app, f"GET {path}")


__all__ = ["FAILED_PHASES", "Application", "HistoryEntry", "Operation", "load_application_file",
           "parse_application", "read_application"]

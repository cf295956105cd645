"""A local Argo CD API server: ``GET /api/v1/applications/{name}`` answers an Application resource.

The shape is the ``argoproj.io/v1alpha1`` Application as the Argo CD API returns it (and as
``kubectl get application APP -o json`` prints it): ``metadata``, ``spec.source`` / ``spec.destination``, and
``status.history[]`` entries with ``id``, ``revision``, ``deployStartedAt``, ``deployedAt``, ``source`` and
``initiatedBy`` (``username`` or ``automated``), ``status.operationState`` with ``operation.sync.revision``,
``phase``, ``message``, ``startedAt``, ``finishedAt`` and ``syncResult``, plus ``sync`` and ``health``. See
https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/ and the Application CRD
(https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#applications).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import ThreadingHTTPServer

from ghfake import BASE_TIME, PLANTED_LOGINS, WireHandler, ts

from hivepulse.net import LOOPBACK, free_port

PLANTED_ARGO_TOKEN = "argocd-planted-token-0123456789"
PLANTED_ARGO_USER = "planted-argo-admin-5e2"


def revision(i: int | str) -> str:
    return i if isinstance(i, str) else f"{i:040x}"


def application(name: str, entries: list[tuple[int, int | str, datetime]], *, operation: dict | None = None) -> dict:
    """``entries``: (history id, revision number or SHA, deployedAt)."""
    history = []
    for hid, rev, at in entries:
        initiated = {"username": PLANTED_ARGO_USER, "automated": False} if hid % 2 else {"automated": True}
        history.append({"id": hid, "revision": revision(rev), "deployStartedAt": ts(at - timedelta(minutes=2)),
                        "deployedAt": ts(at), "source": {"repoURL": "https://github.com/hive-team/hivebox.git",
                                                         "path": "deploy/helm", "targetRevision": "main"},
                        "initiatedBy": initiated})
    last = entries[-1] if entries else (0, 0, BASE_TIME)
    op = operation or {"operation": {"sync": {"revision": revision(last[1])},
                                     "initiatedBy": {"username": PLANTED_ARGO_USER}, "retry": {}},
                       "phase": "Succeeded", "message": "successfully synced (all tasks run)",
                       "startedAt": ts(last[2] - timedelta(minutes=2)), "finishedAt": ts(last[2]),
                       "syncResult": {"revision": revision(last[1]), "source": {}, "resources": []}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd", "uid": "0b0e6d3c-fake", "resourceVersion": "123",
                         "creationTimestamp": ts(BASE_TIME - timedelta(days=90)),
                         "annotations": {"owner": PLANTED_LOGINS[0]}},
            "spec": {"project": "default",
                     "source": {"repoURL": "https://github.com/hive-team/hivebox.git", "path": "deploy/helm",
                                "targetRevision": "main"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "hivebox"},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}},
            "status": {"history": history, "operationState": op,
                       "sync": {"status": "Synced", "revision": revision(last[1])},
                       "health": {"status": "Healthy"}, "reconciledAt": ts(last[2]), "sourceType": "Helm",
                       "summary": {"images": ["ghcr.io/hive-team/hivebox:latest"]}}}


def failed_operation(rev: int | str, started: datetime, phase: str = "Failed") -> dict:
    return {"operation": {"sync": {"revision": revision(rev)}, "initiatedBy": {"username": PLANTED_ARGO_USER}},
            "phase": phase, "message": "one or more objects failed to apply",
            "startedAt": ts(started), "finishedAt": ts(started + timedelta(minutes=3)),
            "syncResult": {"revision": revision(rev), "resources": []}}


class FakeArgoCD:
    """Serves ``apps`` (name -> Application dict, replace it between pulls); ``requests`` counts calls."""

    def __init__(self, token: str = PLANTED_ARGO_TOKEN) -> None:
        self.apps: dict[str, dict] = {}
        self.token = token
        self.requests: list[str] = []
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        fake = self

        class Handler(WireHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(self.path)
                name = self.path.split("?")[0].removeprefix("/api/v1/applications/")
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    status, body = 401, {"error": "invalid session: token is invalid", "code": 16,
                                         "message": "invalid session: token is invalid"}
                elif name in fake.apps:
                    status, body = 200, fake.apps[name]
                else:
                    status, body = 404, {"error": f'applications.argoproj.io "{name}" not found', "code": 5,
                                         "message": f'applications.argoproj.io "{name}" not found'}
                self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        self._server = ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        self._server.daemon_threads = True

    def __enter__(self) -> FakeArgoCD:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

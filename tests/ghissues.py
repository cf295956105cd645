"""A local GitHub issues API for ``hivepulse actions sync``: a real HTTP server on 127.0.0.1 that reads and
writes issues and labels as GitHub does.

Shapes follow the GitHub REST API reference (API version 2022-11-28), https://docs.github.com/en/rest :

- ``GET /repos/{o}/{r}/issues?labels=L&state=all&per_page=100`` (issues/issues#list-repository-issues): issue
  objects newest first (``sort=created``, ``direction=desc`` are the defaults), pull requests included with a
  ``pull_request`` object, ``Link`` pagination whose later pages use ``/repositories/{id}/issues?...`` as
  GitHub's do; ``labels`` is a comma-separated list that must all match;
- ``GET /repos/{o}/{r}/issues/{n}`` (#get-an-issue): 404; ``410 {"message": "This issue was deleted"}``;
- ``POST /repos/{o}/{r}/issues`` (#create-an-issue): ``201 Created`` with the issue and a ``Location`` header;
  ``422 {"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "missing_field", "field":
  "title"}], "documentation_url": ..., "status": "422"}``; a body over 65,536 characters gives GitHub's
  ``{"resource": "Issue", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536
  characters)"}``; labels that do not exist are created; without push access labels are silently dropped;
  ``410 {"message": "Issues are disabled for this repo"}`` (PyGithub's recorded ``Repository.testCreateIssue``);
- ``PATCH /repos/{o}/{r}/issues/{n}`` (#update-an-issue): 200 with the issue;
- ``GET /repos/{o}/{r}/labels/{name}`` (issues/labels#get-a-label, case-insensitive), ``POST .../labels``
  (#create-a-label: ``201`` with the label ``{id, node_id, url, name, color, default, description}`` and a
  ``Location``, as PyGithub's recorded ``Repository.testCreateLabel``; ``422`` ``{"resource": "Label", "code":
  "already_exists", "field": "name"}``; ``invalid`` color; ``403`` without push access);
- ``X-RateLimit-*`` headers on every answer, ``401 Bad credentials`` without the token;
- scripted faults per method and path: ``429`` / ``403-retry`` (``Retry-After``), ``403-primary``
  (``X-RateLimit-Remaining: 0`` and a reset), ``403-secondary`` (no header), ``502`` (not processed),
  ``502-after`` (processed, then answered 502: GitHub does this under load), ``drop-after`` (processed, then
  the connection is closed), ``hang-after`` (processed, then no answer for ``hang_s``).

Every person field (``user``, ``assignee``, ``assignees``, ``closed_by``) is filled with planted logins so
tests can assert none reaches the ledger or an output.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from ghfake import BASE_TIME, PLANTED_LOGINS, PLANTED_TOKEN, WireHandler, _user, ts

from hivepulse.net import LOOPBACK, free_port

DOCS = "https://docs.github.com/rest/issues/issues"
MAX_BODY = 65536


@dataclass
class Issue:
    number: int
    title: str
    body: str | None
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    assignees: list[str] = field(default_factory=list)
    pr: bool = False
    deleted: bool = False
    login: str = PLANTED_LOGINS[0]


@dataclass
class Fault:
    """For requests of ``method`` whose path matches ``pattern``: the next ``times`` answers are ``kind``."""

    method: str
    pattern: str
    kind: str
    times: int = 1
    retry_after: int = 1


class FakeIssues:
    """The server over one repository's issues and labels. ``requests`` logs ``(method, path, status)``;
    ``payloads`` the JSON bodies of writes."""

    def __init__(self, owner: str = "hive-team", name: str = "hivebox", *, repo_id: int = 4242,
                 token: str | None = PLANTED_TOKEN, quota: int = 5000, push_access: bool = True,
                 hang_s: float = 30.0) -> None:
        self.full_name, self.repo_id = f"{owner}/{name}", repo_id
        self.token, self.quota_limit, self.remaining = token, quota, quota
        self.reset_at = int(time.time()) + 3600
        self.push_access, self.hang_s = push_access, hang_s
        self.issues_enabled = True
        self.issues: list[Issue] = []
        self.labels: dict[str, dict[str, object]] = {}
        self.faults: list[Fault] = []
        self.reject_body: tuple[str, str] | None = None
        """(substring, message): a body containing the substring is refused with 422 and that message."""
        self.requests: list[tuple[str, str, int]] = []
        self.payloads: list[tuple[str, str, object]] = []
        self.lock = threading.Lock()
        self._tick = 0
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._server = ThreadingHTTPServer((LOOPBACK, self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FakeIssues:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------------------------------ test helpers

    def now(self) -> datetime:
        self._tick += 1
        return BASE_TIME + timedelta(minutes=self._tick)

    def add(self, title: str, body: str | None = None, *, labels: list[str] | None = None, pr: bool = False,
            state: str = "open") -> Issue:
        with self.lock:
            at = self.now()
            issue = Issue(len(self.issues) + 1, title, body, list(labels or []), at, at, pr=pr)
            for label in issue.labels:
                self.labels.setdefault(label.lower(), self._label_obj(label, "ededed", None))
            self.issues.append(issue)
            if state == "closed":
                self._close(issue, "completed")
            return issue

    def add_label(self, name: str, color: str = "ededed") -> None:
        with self.lock:
            self.labels[name.lower()] = self._label_obj(name, color, None)

    def get(self, number: int) -> Issue:
        return self.issues[number - 1]

    def close(self, number: int, reason: str = "completed") -> None:
        with self.lock:
            self._close(self.get(number), reason)

    def _close(self, issue: Issue, reason: str) -> None:
        issue.state, issue.state_reason = "closed", reason
        issue.closed_at = issue.updated_at = self.now()

    def assign(self, number: int, *logins: str) -> None:
        with self.lock:
            issue = self.get(number)
            issue.assignees = list(logins)
            issue.updated_at = self.now()

    def edit(self, number: int, *, body: str | None = None, labels: list[str] | None = None) -> None:
        with self.lock:
            issue = self.get(number)
            if body is not None:
                issue.body = body
            if labels is not None:
                issue.labels = labels
            issue.updated_at = self.now()

    def delete(self, number: int) -> None:
        with self.lock:
            self.get(number).deleted = True

    def live(self) -> list[Issue]:
        return [i for i in self.issues if not i.deleted and not i.pr]

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] in ("POST", "PATCH")]

    def count(self, method: str, pattern: str = "") -> int:
        return sum(1 for m, p, _ in self.requests if m == method and re.search(pattern, p))

    # ------------------------------------------------------------------------------------------ JSON shapes

    @property
    def rbase(self) -> str:
        return f"{self.url}/repos/{self.full_name}"

    def _label_obj(self, name: str, color: str, description: str | None) -> dict[str, object]:
        ident = 100 + len(self.labels)
        return {"id": ident, "node_id": f"LA_{ident}", "url": f"{self.rbase}/labels/{name}", "name": name,
                "color": color, "default": False, "description": description}

    def issue_obj(self, i: Issue) -> dict[str, object]:
        users = [_user(login) for login in i.assignees]
        out: dict[str, object] = {
            "url": f"{self.rbase}/issues/{i.number}", "repository_url": self.rbase,
            "labels_url": f"{self.rbase}/issues/{i.number}/labels{{/name}}",
            "comments_url": f"{self.rbase}/issues/{i.number}/comments",
            "events_url": f"{self.rbase}/issues/{i.number}/events",
            "html_url": f"https://github.com/{self.full_name}/{'pull' if i.pr else 'issues'}/{i.number}",
            "id": 90000 + i.number, "node_id": f"I_kwDO{i.number}", "number": i.number, "title": i.title,
            "user": _user(i.login), "labels": [self.labels.get(n.lower(), self._label_obj(n, "ededed", None))
                                              for n in i.labels],
            "state": i.state, "locked": False, "assignee": users[0] if users else None, "assignees": users,
            "milestone": None, "comments": 2, "created_at": ts(i.created_at), "updated_at": ts(i.updated_at),
            "closed_at": ts(i.closed_at) if i.closed_at else None, "author_association": "MEMBER",
            "active_lock_reason": None, "body": i.body,
            "closed_by": _user(PLANTED_LOGINS[2]) if i.state == "closed" else None,
            "reactions": {"url": f"{self.rbase}/issues/{i.number}/reactions", "total_count": 0, "+1": 0, "-1": 0,
                          "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
            "timeline_url": f"{self.rbase}/issues/{i.number}/timeline", "performed_via_github_app": None,
            "state_reason": i.state_reason,
        }
        if i.pr:
            html = f"https://github.com/{self.full_name}/pull/{i.number}"
            out["pull_request"] = {"url": f"{self.rbase}/pulls/{i.number}", "html_url": html,
                                   "diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": None}
            out["draft"] = False
        return out

    # ------------------------------------------------------------------------------------------ routing

    def route(self, method: str, path: str, query: dict[str, str], payload: object
              ) -> tuple[int, object, dict[str, str]]:
        prefix, alt = f"/repos/{self.full_name}", f"/repositories/{self.repo_id}"
        if path.startswith(alt):
            path = prefix + path[len(alt):]
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
        rest = path[len(prefix):]
        if rest.startswith("/issues") and not self.issues_enabled:
            return 410, {"message": "Issues are disabled for this repo", "documentation_url": DOCS,
                         "status": "410"}, {}
        if rest == "/issues" and method == "GET":
            return self._list(rest, query)
        if rest == "/issues" and method == "POST":
            return self._create(payload)
        if (m := re.fullmatch(r"/issues/(\d+)", rest)) and method in ("GET", "PATCH"):
            n = int(m.group(1))
            if not 1 <= n <= len(self.issues):
                return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}
            issue = self.get(n)
            if issue.deleted:
                return 410, {"message": "This issue was deleted", "documentation_url": DOCS, "status": "410"}, {}
            if method == "GET":
                return 200, self.issue_obj(issue), {}
            return self._update(issue, payload)
        if (m := re.fullmatch(r"/labels/([^/]+)", rest)) and method == "GET":
            label = self.labels.get(unquote(m.group(1)).lower())
            if label is None:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/issues/"
                             "labels#get-a-label", "status": "404"}, {}
            return 200, label, {}
        if rest == "/labels" and method == "POST":
            return self._create_label(payload)
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}

    def _list(self, rest: str, q: dict[str, str]) -> tuple[int, object, dict[str, str]]:
        wanted = [x.strip().lower() for x in q.get("labels", "").split(",") if x.strip()]
        items = [i for i in self.issues if not i.deleted
                 and all(w in [n.lower() for n in i.labels] for w in wanted)]
        state = q.get("state", "open")
        if state != "all":
            items = [i for i in items if i.state == state]
        items.sort(key=lambda i: (i.created_at, i.number), reverse=q.get("direction", "desc") == "desc")
        per = max(1, min(100, int(q.get("per_page", "30"))))
        page = max(1, int(q.get("page", "1")))
        last = max(1, -(-len(items) // per))
        headers: dict[str, str] = {}
        if page < last:
            def link(n: int) -> str:
                return f"<{self.url}/repositories/{self.repo_id}{rest}?{urlencode(sorted({**q, 'page': str(n)}.items()))}>"
            headers["Link"] = f'{link(page + 1)}; rel="next", {link(last)}; rel="last"'
        return 200, [self.issue_obj(i) for i in items[(page - 1) * per:page * per]], headers

    def _invalid(self, resource: str, errors: list[dict[str, object]], doc: str) -> tuple[int, object, dict]:
        return 422, {"message": "Validation Failed", "errors": errors, "documentation_url": doc,
                     "status": "422"}, {}

    def _check(self, payload: dict[str, object], *, create: bool) -> tuple[int, object, dict] | None:
        doc = f"{DOCS}#{'create' if create else 'update'}-an-issue"
        title = payload.get("title")
        if create and (not isinstance(title, str) or not title.strip()):
            return self._invalid("Issue", [{"resource": "Issue", "code": "missing_field", "field": "title"}], doc)
        body = payload.get("body")
        if isinstance(body, str) and len(body) > MAX_BODY:
            return self._invalid("Issue", [{"resource": "Issue", "code": "custom", "field": "body",
                                            "message": "body is too long (maximum is 65536 characters)"}], doc)
        if isinstance(body, str) and self.reject_body and self.reject_body[0] in body:
            return self._invalid("Issue", [{"resource": "Issue", "code": "custom", "field": "body",
                                            "message": self.reject_body[1]}], doc)
        return None

    def _create(self, payload: object) -> tuple[int, object, dict[str, str]]:
        if not isinstance(payload, dict):
            return 400, {"message": "Problems parsing JSON", "documentation_url": DOCS, "status": "400"}, {}
        if (bad := self._check(payload, create=True)) is not None:
            return bad
        labels = [str(x) for x in payload.get("labels") or []] if self.push_access else []
        at = self.now()
        issue = Issue(len(self.issues) + 1, str(payload["title"]), payload.get("body"), labels, at, at,
                      login=PLANTED_LOGINS[1])
        for label in labels:
            self.labels.setdefault(label.lower(), self._label_obj(label, "ededed", None))
        self.issues.append(issue)
        return 201, self.issue_obj(issue), {"Location": f"{self.rbase}/issues/{issue.number}"}

    def _update(self, issue: Issue, payload: object) -> tuple[int, object, dict[str, str]]:
        if not isinstance(payload, dict):
            return 400, {"message": "Problems parsing JSON", "documentation_url": DOCS, "status": "400"}, {}
        if (bad := self._check(payload, create=False)) is not None:
            return bad
        if isinstance(payload.get("title"), str):
            issue.title = payload["title"]
        if "body" in payload:
            issue.body = payload["body"]
        if payload.get("state") in ("open", "closed"):
            if payload["state"] == "closed":
                self._close(issue, str(payload.get("state_reason") or "completed"))
            else:
                issue.state, issue.state_reason, issue.closed_at = "open", "reopened", None
        issue.updated_at = self.now()
        return 200, self.issue_obj(issue), {}

    def _create_label(self, payload: object) -> tuple[int, object, dict[str, str]]:
        doc = "https://docs.github.com/rest/issues/labels#create-a-label"
        if not self.push_access:
            return 403, {"message": "Resource not accessible by personal access token", "documentation_url": doc,
                         "status": "403"}, {}
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return self._invalid("Label", [{"resource": "Label", "code": "missing_field", "field": "name"}], doc)
        name = payload["name"]
        color = str(payload.get("color") or "ededed")
        if not re.fullmatch(r"[0-9A-Fa-f]{6}", color):
            return self._invalid("Label", [{"resource": "Label", "code": "invalid", "field": "color"}], doc)
        if name.lower() in self.labels:
            return self._invalid("Label", [{"resource": "Label", "code": "already_exists", "field": "name"}], doc)
        label = self._label_obj(name, color.lower(), payload.get("description"))  # type: ignore[arg-type]
        self.labels[name.lower()] = label
        return 201, label, {"Location": str(label["url"])}


def _handler(fake: FakeIssues) -> type[BaseHTTPRequestHandler]:
    class Handler(WireHandler):
        def _rate(self, consume: bool, remaining: int | None = None, reset: int | None = None) -> dict[str, str]:
            with fake.lock:
                if consume and fake.remaining > 0:
                    fake.remaining -= 1
                left = fake.remaining if remaining is None else remaining
                return {"X-RateLimit-Limit": str(fake.quota_limit), "X-RateLimit-Remaining": str(left),
                        "X-RateLimit-Used": str(fake.quota_limit - left),
                        "X-RateLimit-Reset": str(reset or fake.reset_at), "X-RateLimit-Resource": "core"}

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._serve("PATCH")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            full = parts.path + (f"?{parts.query}" if parts.query else "")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            jh = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Api-Version-Selected": "2022-11-28"}
            if fake.token is not None and self.headers.get("Authorization") != f"Bearer {fake.token}":
                fake.requests.append((method, full, 401))
                self._send(401, b'{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest",'
                                b'"status":"401"}', {**jh, **self._rate(False)})
                return
            kind, after = self._fault(method, full)
            if kind in ("429", "403-retry", "403-primary", "403-secondary", "502"):
                fake.requests.append((method, full, int(kind[:3])))
                self._refuse(kind, after, jh)
                return
            try:
                payload = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                payload = object()
            if method != "GET":
                fake.payloads.append((method, full, payload))
            with fake.lock:
                status, data, headers = fake.route(method, parts.path, {k: v[-1] for k, v in
                                                                          parse_qs(parts.query).items()}, payload)
            body = json.dumps(data, separators=(",", ":")).encode()
            if kind == "502-after":
                fake.requests.append((method, full, 502))
                self._send(502, b'{"message":"Server Error"}', jh)
                return
            fake.requests.append((method, full, status))
            answer = {**jh, **headers, **self._rate(True)}
            if kind == "hang-after":
                time.sleep(fake.hang_s)
            self._send(status, body, answer, drop=kind == "drop-after")

        def _fault(self, method: str, full: str) -> tuple[str | None, int]:
            with fake.lock:
                for f in fake.faults:
                    if f.times > 0 and f.method == method and re.search(f.pattern, full):
                        f.times -= 1
                        return f.kind, f.retry_after
            return None, 0

        def _refuse(self, kind: str, after: int, jh: dict[str, str]) -> None:
            if kind == "429":
                self._send(429, b'{"message":"API rate limit exceeded"}', {**jh, "Retry-After": str(after),
                                                                          **self._rate(False)})
            elif kind == "403-retry":
                self._send(403, b'{"message":"You have exceeded a secondary rate limit. Please wait a few minutes '
                                b'before you try again."}', {**jh, "Retry-After": str(after), **self._rate(False)})
            elif kind == "403-primary":
                rate = self._rate(False, remaining=0, reset=int(time.time()) + after)
                self._send(403, b'{"message":"API rate limit exceeded for user ID 1."}', {**jh, **rate})
            elif kind == "403-secondary":
                self._send(403, b'{"message":"You have exceeded a secondary rate limit."}', {**jh, **self._rate(False)})
            else:
                self._send(502, b'{"message":"Server Error"}', jh)

    return Handler


__all__ = ["FakeIssues", "Fault", "Issue", "MAX_BODY"]

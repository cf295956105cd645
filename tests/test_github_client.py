"""The GitHub client against a local GitHub API: pagination, conditional requests, rate limits, retries."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ghfake import PLANTED_TOKEN, FakeGitHub, FakeRepo, Fault, h

from hivepulse.errors import SourceError
from hivepulse.net import LOOPBACK, free_port
from hivepulse.sources.github.client import ClientOptions, GitHubClient, NotFound, RateLimited

REPO = "hive-team/hivebox"


def client(url: str, **kw: object) -> GitHubClient:
    opts = {"api_url": url, "token": PLANTED_TOKEN, "backoff_base_s": 0.01, "timeout_s": 2.0, **kw}
    return GitHubClient(ClientOptions(**opts))  # type: ignore[arg-type]


@pytest.fixture()
def gh():
    repo = FakeRepo()
    for i in range(250):
        repo.deploy("production", h(i), [("success", 0.1)])
    with FakeGitHub(repo) as server:
        yield server


def test_link_pagination_follows_repositories_urls(gh):
    with client(gh.url) as c:
        pages = list(c.paginate(f"/repos/{REPO}/deployments"))
    assert [len(p.data) for p in pages] == [100, 100, 50]
    assert [p for p, _ in gh.requests][1].startswith("/repositories/4242/deployments?")
    ids = [d["id"] for p in pages for d in p.data]
    assert len(set(ids)) == 250 and c.stats.calls == 3


def test_conditional_request_answers_304_without_quota(gh):
    with client(gh.url) as c:
        c.get(f"/repos/{REPO}/deployments", {"per_page": 100}, conditional=True)
        stored = dict(c.etags_out)
        remaining = gh.remaining
    with GitHubClient(ClientOptions(api_url=gh.url, token=PLANTED_TOKEN), etags_in=stored) as c2:
        page = c2.get(f"/repos/{REPO}/deployments", {"per_page": 100}, conditional=True)
    assert page.not_modified and page.data is None and c2.stats.not_modified == 1
    assert gh.remaining == remaining and c2.stats.quota_remaining == remaining
    assert c2.etags_out == stored


@pytest.mark.parametrize("kind", ["429", "403-retry", "403-primary"])
def test_rate_limit_answers_are_waited_out(gh, kind):
    gh.faults = [Fault("deployments", kind, retry_after=1)]
    slept: list[float] = []
    with client(gh.url) as c:
        c.sleep = slept.append
        page = c.get(f"/repos/{REPO}/deployments")
    assert len(page.data) == 30 and c.stats.rate_limit_waits == 1
    assert 0.5 <= slept[0] <= 2.5


def test_a_wait_longer_than_max_wait_fails_with_the_time_to_retry(gh):
    gh.faults = [Fault("deployments", "429", retry_after=3600)]
    with client(gh.url, max_wait_s=60) as c, pytest.raises(RateLimited) as err:
        c.get(f"/repos/{REPO}/deployments")
    message = str(err.value)
    assert "retry after 20" in message and "--max-wait" in message and PLANTED_TOKEN not in message
    assert err.value.exit_code == 3


def test_secondary_limit_without_headers_waits_a_minute_then_doubles(gh):
    gh.faults = [Fault("deployments", "403-secondary", times=2)]
    slept: list[float] = []
    with client(gh.url) as c:
        c.sleep = slept.append
        c.get(f"/repos/{REPO}/deployments")
    assert slept == [60.0, 120.0]


def test_exhausted_quota_makes_the_next_request_wait_for_the_reset(gh):
    gh.remaining = 1
    gh.reset_at = int(time.time()) + 2
    slept: list[float] = []
    with client(gh.url) as c:
        c.sleep = slept.append
        c.get(f"/repos/{REPO}")
        assert c.stats.quota_remaining == 0
        c.get(f"/repos/{REPO}")
    assert len(slept) == 1 and 1 <= slept[0] <= 4


@pytest.mark.parametrize("kind", ["502", "drop", "slow"])
def test_server_errors_dropped_connections_and_timeouts_are_retried(gh, kind):
    gh.faults = [Fault("deployments", kind, times=2)]
    with client(gh.url, timeout_s=0.5) as c:
        page = c.get(f"/repos/{REPO}/deployments")
    assert len(page.data) == 30 and c.stats.retries == 2 and c.stats.calls == 3


def test_retries_exhausted_is_one_clear_error(gh):
    gh.faults = [Fault("deployments", "502", times=10)]
    with client(gh.url, retries=2) as c, pytest.raises(SourceError, match="failed after 3 attempts .HTTP 502."):
        c.get(f"/repos/{REPO}/deployments")


def test_bad_credentials_and_missing_resources(gh):
    with client(gh.url, token="wrong-token") as c, pytest.raises(SourceError) as err:
        c.get(f"/repos/{REPO}")
    assert "401" in str(err.value) and "GITHUB_TOKEN" in str(err.value) and "wrong-token" not in str(err.value)
    with client(gh.url) as c, pytest.raises(NotFound):
        c.get("/repos/nobody/nothing")


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "link"

    def log_message(self, *a: object) -> None:
        return None

    def do_GET(self) -> None:  # noqa: N802
        body = b"[]"
        headers = {}
        if self.mode == "link":
            headers["Link"] = '<http://evil.example:1/steal?page=2>; rel="next"'
        elif self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://evil.example:1/x")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif self.mode == "huge":
            body = b"[" + b"1," * 600_000 + b"1]"
        elif self.mode == "notjson":
            body = b"<html>oops</html>"
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("mode,match", [("link", "Link to another host"), ("redirect", "another host"),
                                        ("huge", "more than 1,000,000 bytes"), ("notjson", "not JSON")])
def test_hostile_answers_are_refused(mode, match):
    handler = type("H", (_Hostile,), {"mode": mode})
    port = free_port()
    server = ThreadingHTTPServer((LOOPBACK, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with client(f"http://{LOOPBACK}:{port}", max_body_bytes=1_000_000) as c, \
                pytest.raises(SourceError, match=match) as err:
            list(c.paginate(f"/repos/{REPO}/deployments"))
        assert PLANTED_TOKEN not in str(err.value)
    finally:
        server.shutdown()
        server.server_close()


def test_json_shapes_of_the_fake_follow_github(gh):
    """A spot check that the fake answers carry the fields GitHub documents (tests/ghfake.py)."""
    with client(gh.url) as c:
        d = c.get(f"/repos/{REPO}/deployments").data[0]
        s = c.get(f"/repos/{REPO}/deployments/{d['id']}/statuses").data[0]
    assert {"id", "sha", "ref", "task", "environment", "creator", "created_at", "statuses_url",
            "transient_environment", "production_environment"} <= set(d)
    assert {"state", "environment", "created_at", "deployment_url", "log_url"} <= set(s)
    assert d["created_at"].endswith("Z") and json.dumps(d)

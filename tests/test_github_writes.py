"""Writes through the GitHub client (``send_json``) and the issues module, against the local issues API: a
create is never repeated blindly, a PATCH is retried like a read, rate limits are waited out, 4xx answers the
caller asked for come back with GitHub's JSON, labels are made once."""

from __future__ import annotations

import pytest
from ghfake import PLANTED_TOKEN
from ghissues import FakeIssues, Fault

from hivepulse.errors import SourceError
from hivepulse.net import free_port
from hivepulse.sources.github import issues as gi
from hivepulse.sources.github.client import ClientOptions, GitHubClient, Unconfirmed

REPO = "hive-team/hivebox"


def client(url: str, **kw: object) -> GitHubClient:
    opts = {"api_url": url, "token": PLANTED_TOKEN, "backoff_base_s": 0.01, "timeout_s": 2.0, **kw}
    c = GitHubClient(ClientOptions(**opts))  # type: ignore[arg-type]
    c.sleep = lambda s: None
    return c


@pytest.fixture()
def gh():
    with FakeIssues() as server:
        yield server


def test_post_and_patch_send_json_and_read_the_answer(gh):
    with client(gh.url) as c:
        status, data = c.send_json("POST", f"/repos/{REPO}/issues", {"title": "T", "body": "b \u00e9"}, replay=False)
        assert (status, data["number"], data["body"]) == (201, 1, "b \u00e9")
        status, data = c.send_json("PATCH", f"/repos/{REPO}/issues/1", {"body": "new"})
        assert (status, data["body"], data["title"]) == (200, "new", "T")
    assert [(m, s) for m, _, s in gh.requests] == [("POST", 201), ("PATCH", 200)]
    assert gh.payloads[0][2] == {"title": "T", "body": "b \u00e9"}


def test_a_create_is_never_repeated_blindly_but_a_patch_is(gh):
    gh.add("T", "b")
    gh.faults = [Fault("POST", r"/issues$", "502-after"), Fault("PATCH", r"/issues/1$", "502-after")]
    with client(gh.url) as c:
        with pytest.raises(Unconfirmed) as err:
            c.send_json("POST", f"/repos/{REPO}/issues", {"title": "U"}, replay=False)
        assert "POST /repos/hive-team/hivebox/issues got no clear answer (HTTP 502)" in str(err.value)
        assert err.value.exit_code == 3
        status, _ = c.send_json("PATCH", f"/repos/{REPO}/issues/1", {"body": "x"})
    assert status == 200 and c.stats.retries == 1
    assert gh.count("POST") == 1 and gh.count("PATCH") == 2 and len(gh.live()) == 2


def test_a_request_that_never_reached_the_server_may_be_sent_again():
    port = free_port()  # nothing listens: connection refused before anything was sent
    with client(f"http://127.0.0.1:{port}", retries=2) as c, pytest.raises(SourceError) as err:
        c.send_json("POST", f"/repos/{REPO}/issues", {"title": "U"}, replay=False)
    assert not isinstance(err.value, Unconfirmed)
    assert "POST /repos/hive-team/hivebox/issues failed after 3 attempts (ConnectError)" in str(err.value)


def test_rate_limited_write_is_waited_out_and_sent_once_more(gh):
    gh.faults = [Fault("POST", r"/issues$", "403-retry", retry_after=3)]
    slept: list[float] = []
    with client(gh.url) as c:
        c.sleep = slept.append
        status, _ = c.send_json("POST", f"/repos/{REPO}/issues", {"title": "U"}, replay=False)
    assert status == 201 and slept == [3.0] and len(gh.live()) == 1


def test_accepted_error_statuses_come_back_with_their_json(gh):
    with client(gh.url) as c:
        status, data = c.send_json("POST", f"/repos/{REPO}/issues", {"body": "no title"}, replay=False,
                                   accept=(422,))
        assert status == 422 and data["errors"] == [{"resource": "Issue", "code": "missing_field", "field": "title"}]
        with pytest.raises(SourceError) as err:  # not accepted: one line naming the method
            c.send_json("PATCH", f"/repos/{REPO}/issues/99", {"body": "x"})
    assert "PATCH /repos/hive-team/hivebox/issues/99 with 404" in str(err.value)


def test_issue_functions_read_no_person(gh):
    gh.add("PR", "x", labels=["retro-action"], pr=True)
    gh.add("A", "body", labels=["retro-action"])
    gh.assign(2, "planted-alice-7f3")
    with client(gh.url) as c:
        listed = gi.list_issues(c, REPO, "retro-action")
        assert listed.pull_requests == 1 and [i.number for i in listed.issues] == [2]
        assert listed.issues[0] == gi.IssueState(2, f"https://github.com/{REPO}/issues/2", "A", "body", "open",
                                                 None, None, 1, ("retro-action",))
        assert gi.get_issue(c, REPO, 1) is None  # a pull request
        assert gi.get_issue(c, REPO, 9) is None  # missing
        gh.delete(2)
        assert gi.get_issue(c, REPO, 2) is None  # deleted: 410


def test_too_many_pages_is_refused(gh):
    for k in range(101):
        gh.add(f"i{k}", "b", labels=["L"])
    with client(gh.url) as c:
        assert len(gi.list_issues(c, REPO, "L", max_pages=2).issues) == 101
        with pytest.raises(SourceError, match="more than 100 issues are labelled 'L' in hive-team/hivebox"):
            gi.list_issues(c, REPO, "L", max_pages=1)


def test_label_is_created_once(gh):
    with client(gh.url) as c:
        assert gi.ensure_label(c, REPO, "retro-action", color="1d76db", description="d") is True
        assert gi.ensure_label(c, REPO, "Retro-Action", color="1d76db", description="d") is False
    assert gh.count("POST", "/labels") == 1 and gh.labels["retro-action"]["color"] == "1d76db"
    gh.faults = [Fault("GET", "/labels/x", "502")]  # a GET is retried; then a label created meanwhile is fine
    gh.add_label("x")
    with client(gh.url) as c:
        assert gi.ensure_label(c, REPO, "x", color="1d76db", description="d") is False


def test_label_without_push_access_names_what_is_missing(tmp_path):
    with FakeIssues(push_access=False) as gh, client(gh.url) as c, pytest.raises(SourceError) as err:
        gi.ensure_label(c, REPO, "retro-action", color="1d76db", description="d")
    assert "403" in str(err.value) and "push access" in str(err.value)


def test_githubs_messages_are_bounded_and_masked(gh):
    with client(gh.url) as c:
        data = {"message": "Validation Failed", "errors": [
            {"resource": "Issue", "field": "body", "code": "custom", "message": f"bad {PLANTED_TOKEN} " + "x" * 500},
            "a plain string error", {"code": "invalid"}, {"code": "fourth, not shown"}]}
        text = gi._message(c, data)
    assert PLANTED_TOKEN not in text and "***" in text and len(text) <= 300 and "fourth" not in text
    assert text.startswith("Validation Failed; body custom: bad ***")

"""``hivepulse pull`` on the command line: flags, summaries, errors (one line, documented exit codes)."""

from __future__ import annotations

import json

import pytest
from argofake import PLANTED_ARGO_TOKEN, FakeArgoCD, application
from ghfake import PLANTED_TOKEN, FakeGitHub, Fault, h, hand_scenario

from hivepulse.cli import main


@pytest.fixture()
def gh(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    repo, _ = hand_scenario()
    with FakeGitHub(repo) as server:
        yield server


def test_table_summary_and_flag_order(gh, tmp_path, capsys):
    db = str(tmp_path / "s.db")
    assert main(["pull", "--store", db, "--no-progress", "github", "hive-team/hivebox", "--api-url", gh.url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"pulled github hive-team/hivebox into {db}"
    assert out[1] == "events: 19 new, 0 updated, 0 unchanged, 0 removed"
    assert out[2] == "API calls: 21 (0 answered 304 Not Modified, 0 retried, 0 rate-limit waits)"
    assert out[3].startswith("quota left: 4,979 of 5,000 (resets ")
    assert main(["pull", "github", "hive-team/hivebox", "--api-url", gh.url, "--store", db, "--no-progress",
                 "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == {"new": 0, "updated": 0, "unchanged": 19, "removed": 0}
    assert summary["api_calls"] == summary["not_modified"] == 4 and summary["quota_left"] == 4979


def test_a_rate_limit_beyond_max_wait_says_when_to_retry(gh, tmp_path, capsys):
    gh.faults = [Fault("/pulls", "429", retry_after=7200)]
    code = main(["pull", "github", "hive-team/hivebox", "--api-url", gh.url, "--store", str(tmp_path / "s.db"),
                 "--no-progress", "--max-wait", "1"])
    err = capsys.readouterr().err
    assert code == 3 and "a wait of 7200 s is longer than --max-wait (60 s); retry after 20" in err
    assert err.count("\n") == 1 and PLANTED_TOKEN not in err
    assert main(["store", "info", "--store", str(tmp_path / "s.db"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["scopes"] == {}  # nothing of the failed pull was written


@pytest.mark.parametrize("argv,code,message", [
    (["pull", "github", "not/a/repo"], 2, "invalid repository"),
    (["pull", "github", "a/b", "--deploy", "workflow"], 2, "--deploy workflow needs --workflow"),
    (["pull", "github", "a/b", "--timeout", "0"], 2, "invalid --timeout"),
    (["pull", "github", "a/b", "--max-wait", "-1"], 2, "invalid --max-wait"),
    (["pull", "github", "a/b", "--since", "yesterday"], 2, "invalid --since"),
    (["pull", "github", "a/b", "--api-url", "ftp://x"], 2, "invalid --api-url"),
    (["pull", "--project", "/nonexistent/project.yaml"], 2, "project file not found"),
    (["pull", "argocd", "app", "--server", "argocd.example.com"], 2, "invalid --server"),
])
def test_bad_flags_are_exit_2(tmp_path, capsys, argv, code, message):
    assert main([*argv, "--store", str(tmp_path / "s.db")] if argv[1] != "--project" else argv) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_unreachable_github_is_exit_3(tmp_path, capsys, monkeypatch):
    from hivepulse.net import free_port

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    code = main(["pull", "github", "a/b", "--api-url", f"http://127.0.0.1:{free_port()}", "--store",
                 str(tmp_path / "s.db"), "--retries", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3 and "failed after 2 attempts (ConnectError)" in err and "unauthenticated" in err


def test_missed_argo_history_is_noted(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", PLANTED_ARGO_TOKEN)
    db = str(tmp_path / "s.db")
    with FakeArgoCD() as argo:
        for start in (1, 15):
            argo.apps["hivebox"] = application("hivebox", [(i, i, h(i)) for i in range(start, start + 10)])
            assert main(["pull", "argocd", "hivebox", "--server", argo.url, "--store", db, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "4 history entr(ies) were replaced before this pull saw them" in out

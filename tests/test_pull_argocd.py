"""Argo CD pulls: history accumulates across pulls, rollbacks, failed operations, saved files, no usernames."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pandas as pd
import pytest
from argofake import (
    PLANTED_ARGO_TOKEN,
    PLANTED_ARGO_USER,
    FakeArgoCD,
    application,
    failed_operation,
    revision,
)
from ghfake import BASE_TIME

from hivepulse.cli import main
from hivepulse.store import read_events


def at(hours: float):
    return BASE_TIME + timedelta(hours=hours)


def entries(start: int, n: int = 10, revs: dict[int, int] | None = None):
    return [(i, (revs or {}).get(i, i), at(i)) for i in range(start, start + n)]


def run_pull(capsys, *args: str) -> dict:
    code = main(["pull", "argocd", *args, "--no-progress", "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def dep_id(hid: int) -> str:
    return f"argocd:hivebox:{hid}@{(at(hid)).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def test_three_pulls_of_a_moving_history_keep_every_entry(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", PLANTED_ARGO_TOKEN)
    db = str(tmp_path / "s.db")
    with FakeArgoCD() as argo:
        news = []
        for start in (1, 6, 11):
            argo.apps["hivebox"] = application("hivebox", entries(start))
            news.append(run_pull(capsys, "hivebox", "--server", argo.url, "--store", db)["events"]["new"])
    assert news == [10, 5, 5]
    d = read_events(db).deployments.sort_values("finished_at")
    assert d["deployment_id"].tolist() == [dep_id(i) for i in range(1, 21)]
    assert d["commit_sha"].tolist() == [revision(i) for i in range(1, 21)]
    assert d["started_at"].tolist() == [pd.Timestamp(at(i) - timedelta(minutes=2)) for i in range(1, 21)]
    assert d["first_deployment"].tolist() == [True] + [False] * 19
    assert (d["status"] == "success").all() and d["rollback_of"].isna().all()


def test_rollback_across_pulls_and_failed_operations(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", PLANTED_ARGO_TOKEN)
    db = str(tmp_path / "s.db")
    with FakeArgoCD() as argo:
        argo.apps["hivebox"] = application("hivebox", entries(1))
        run_pull(capsys, "hivebox", "--server", argo.url, "--store", db)
        # entry 15 re-deploys revision 3, which only the store still remembers; entry 16 re-syncs it (no rollback)
        argo.apps["hivebox"] = application("hivebox", entries(7, revs={15: 3, 16: 3}),
                                           operation=failed_operation(17, at(16.5)))
        run_pull(capsys, "hivebox", "--server", argo.url, "--store", db)
    d = read_events(db).deployments.set_index("deployment_id")
    assert d.loc[dep_id(15), "rollback_of"] == dep_id(14) and d.loc[dep_id(15), "kind"] == "unplanned"
    assert pd.isna(d.loc[dep_id(16), "rollback_of"]) and d.loc[dep_id(16), "kind"] == "planned"
    failed = d[d["status"] == "failure"]
    assert failed.index.tolist() == ["argocd:hivebox:op@2026-06-02T01:30:00Z"]
    assert failed["finished_at"].tolist() == [pd.Timestamp(at(16.5) + timedelta(minutes=3))]
    assert failed["commit_sha"].tolist() == [revision(17)]
    assert len(d) == 16 + 1


def test_saved_application_file_and_list(tmp_path, capsys):
    app = application("hivebox", entries(1, 3))
    single = tmp_path / "app.json"
    single.write_text(json.dumps(app))
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [application("other", []), app]}))
    db = str(tmp_path / "s.db")
    assert run_pull(capsys, "hivebox", "--from-file", str(single), "--store", db)["events"]["new"] == 3
    assert run_pull(capsys, "hivebox", "--from-file", str(listing), "--store", db)["events"]["unchanged"] == 3


@pytest.mark.parametrize("content,message", [("{not json", "not JSON"), ('{"kind": "Deployment"}', "not an Argo CD"),
                                             ('{"kind": "List", "items": []}', "no Application named")])
def test_bad_application_files_are_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "app.json"
    path.write_text(content)
    code = main(["pull", "argocd", "hivebox", "--from-file", str(path), "--store", str(tmp_path / "s.db"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_bad_token_is_exit_3_and_no_username_is_stored(tmp_path, capsys, monkeypatch):
    db = tmp_path / "s.db"
    with FakeArgoCD() as argo:
        argo.apps["hivebox"] = application("hivebox", entries(1, 4))
        monkeypatch.setenv("ARGOCD_AUTH_TOKEN", "wrong")
        assert main(["pull", "argocd", "hivebox", "--server", argo.url, "--store", str(db), "--no-progress"]) == 3
        err = capsys.readouterr().err
        assert "401" in err and "ARGOCD_AUTH_TOKEN" in err and "wrong" not in err
        monkeypatch.setenv("ARGOCD_AUTH_TOKEN", PLANTED_ARGO_TOKEN)
        run_pull(capsys, "hivebox", "--server", argo.url, "--store", str(db))
    data = db.read_bytes()
    assert PLANTED_ARGO_USER.encode() not in data and PLANTED_ARGO_TOKEN.encode() not in data
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM argo_history").fetchone()[0] == 4

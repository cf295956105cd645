"""Blameless and secret-free: planted logins, names, e-mails and tokens from every payload field never reach
the store (SQLite file or a PostgreSQL dump), logs, stdout/stderr, errors or exported files."""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path

from argofake import PLANTED_ARGO_TOKEN, PLANTED_ARGO_USER, FakeArgoCD, application
from ghfake import (
    BOT,
    PLANTED_EMAILS,
    PLANTED_LOGINS,
    PLANTED_NAMES,
    PLANTED_TOKEN,
    FakeGitHub,
    h,
    hand_scenario,
)
from pgserver import postgres_server, postgres_url  # noqa: F401

from hivepulse.cli import main

PLANTED = [*PLANTED_LOGINS, *PLANTED_NAMES, *PLANTED_EMAILS, PLANTED_TOKEN, PLANTED_ARGO_TOKEN, PLANTED_ARGO_USER,
           BOT, "Planted", "planted"]


def _run(capsys, monkeypatch, *args: str, env: dict[str, str], ok: bool = True) -> tuple[str, str]:
    """``hivepulse ARGS`` in this process (stdout, stderr, progress bars and log lines captured)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(list(args))
    out = capsys.readouterr()
    if ok:
        assert code == 0, out.err
    else:
        assert code == 3, out.err
    return out.out, out.err


def _assert_clean(label: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in PLANTED:
        assert secret.encode() not in data, f"{secret!r} found in {label}"


def _pulls(store: str, tmp_path: Path, capsys, monkeypatch) -> list[str]:
    repo, _ = hand_scenario()
    env = {"GITHUB_TOKEN": PLANTED_TOKEN, "ARGOCD_AUTH_TOKEN": PLANTED_ARGO_TOKEN}
    run = partial(_run, capsys, monkeypatch)
    outputs: list[str] = []
    with FakeGitHub(repo) as gh, FakeArgoCD() as argo:
        argo.apps["hivebox"] = application("hivebox", [(1, 1, h(0)), (2, 2, h(1))])
        for args in (["pull", "github", "hive-team/hivebox", "--api-url", gh.url, "-v"],
                     ["pull", "github", "hive-team/hivebox", "--api-url", gh.url, "--format", "json"],
                     ["pull", "argocd", "hivebox", "--server", argo.url, "-v"]):
            outputs.extend(run(*args, "--store", store, env=env))
        # error paths: a wrong GitHub token, a wrong Argo CD token
        bad = {**env, "GITHUB_TOKEN": "x" + PLANTED_TOKEN[1:], "ARGOCD_AUTH_TOKEN": "y" + PLANTED_ARGO_TOKEN[1:]}
        outputs.extend(run("pull", "github", "hive-team/hivebox", "--api-url", gh.url, "--store", store, "-v",
                            env=bad, ok=False))
        outputs.extend(run("pull", "argocd", "hivebox", "--server", argo.url, "--store", store, env=bad, ok=False))
    out_dir = tmp_path / "export"
    outputs.extend(run("store", "export", "--store", store, "--out", str(out_dir), env=env))
    outputs.extend(run("store", "info", "--store", store, "--format", "json", env=env))
    outputs.extend(run("metrics", "--store", store, "--since", "2026-05-25", "--until", "2026-06-08", env=env))
    for f in sorted(out_dir.iterdir()):
        outputs.append(f.read_text())
    return outputs


def test_no_person_or_token_in_the_embedded_store_logs_or_exports(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store" / "s.db"
    outputs = _pulls(str(store), tmp_path, capsys, monkeypatch)
    for i, text in enumerate(outputs):
        _assert_clean(f"output {i}", text)
    assert any("GET /repos/hive-team/hivebox/deployments" in o for o in outputs)  # -v did log requests
    assert any("deployment statuses" in o for o in outputs)  # progress bars were drawn
    for f in store.parent.iterdir():
        _assert_clean(f.name, f.read_bytes())
    with sqlite3.connect(store) as conn:  # titles, bodies and messages are parsed, then dropped
        cols = {r[1] for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                for r in conn.execute(f"PRAGMA table_info({t})")}
    assert not cols & {"title", "body", "message", "login", "author", "user", "email"}  # gh_tags.name is a tag


def test_no_person_or_token_in_a_postgresql_dump(tmp_path, capsys, monkeypatch, postgres_url):  # noqa: F811
    import psycopg

    outputs = _pulls(postgres_url, tmp_path, capsys, monkeypatch)
    for i, text in enumerate(outputs):
        _assert_clean(f"output {i}", text)
    with psycopg.connect(postgres_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
        assert "deployments" in tables and "gh_pulls" in tables
        dump = []
        for t in tables:
            rows = conn.execute(f'SELECT * FROM "{t}"').fetchall()
            dump.append(repr(rows))
        assert sum(len(d) for d in dump) > 1000
    _assert_clean("PostgreSQL dump", "\n".join(dump))

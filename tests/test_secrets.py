"""Secrets come from the environment only and never appear in logs, error messages, HTTP answers or metrics.

The secrets of hivepulse are the S3 keys (``S3_ACCESS_KEY``, ``S3_SECRET_KEY``) and credentials inside
service URLs (``VALKEY_URL=valkey://:password@host:6379/0``, ``MEMCACHED_URL``, ``OPENSENSEMAP_API_URL``,
``--target-url``, ``--base-url``). Every test plants unique secret strings and asserts that none of them
reaches: the HiveBox start-up log and warnings, every HTTP answer (``/temperature``, ``/readyz``,
``/metrics``, ``/store`` failing against a real S3 stand-in that refuses the write), the config's ``repr``
and ``describe()``, the one-line CLI errors, and what ``hivepulse stack up`` prints. URLs with credentials
are shown as ``scheme://***@host`` (:mod:`hivepulse.redact`).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hivepulse.cli import main
from hivepulse.hivebox.config import HiveboxConfig
from hivepulse.redact import has_credentials, redact_text, redact_url

ACCESS_KEY = "AKIAPLANTEDACCESS0001"
SECRET_KEY = "planted-s3-secret-Zq9xW"
VALKEY_PASSWORD = "planted-valkey-pw-7Rk2"
URL_PASSWORD = "planted-url-pw-Lm4t"
ADMIN_TOKEN = "planted-admin-token-Qw8e4Rt6"
SECRETS = (ACCESS_KEY, SECRET_KEY, VALKEY_PASSWORD, URL_PASSWORD, ADMIN_TOKEN)
SRC = Path(__file__).resolve().parents[1] / "src" / "hivepulse"


def assert_clean(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text), f"secret leaked: {str(text)[:300]}"


# ------------------------------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(("url", "shown"), [
    ("valkey://:pw@127.0.0.1:6379/0", "valkey://***@127.0.0.1:6379/0"),
    ("redis://user:pw@h/1", "redis://***@h/1"),
    ("https://token@example.invalid/x?q=1", "https://***@example.invalid/x?q=1"),
    ("http://127.0.0.1:8000/temperature", "http://127.0.0.1:8000/temperature"),
    ("memcached://127.0.0.1:11211", "memcached://127.0.0.1:11211"),
    ("not a url", "not a url"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert has_credentials(url) == (url != shown)


@pytest.mark.parametrize(("text", "shown"), [
    # the user information runs to the LAST "@" before the host: a password with "@" is hidden whole
    ("redis://u:p@ss@host:6379/0", "redis://***@host:6379/0"),
    ("valkey://:p@ss@w@rd@127.0.0.1:6379/0", "valkey://***@127.0.0.1:6379/0"),
    ("rediss://:pa#ss@host/0", "rediss://***@host/0"),
    ("redis://:p?w@host/0", "redis://***@host/0"),
    ("redis://u:p@[::1]:6379/0", "redis://***@[::1]:6379/0"),
    # a URL given where a path was expected, after pathlib collapsed its "//"
    ("https:/u:pw@host/x", "https:/***@host/x"),
    ("events path https:/u:pw@host/x not found", "events path https:/***@host/x not found"),
    # an "@" after the first "/" is part of the path, not user information; a drive letter is no scheme
    ("https://registry.example/@scope/pkg", "https://registry.example/@scope/pkg"),
    ("C:/data/a@b.csv", "C:/data/a@b.csv"),
    ("mail me at ops@example.invalid", "mail me at ops@example.invalid"),
])
def test_redaction_parses_the_user_information_to_the_last_at(text: str, shown: str) -> None:
    assert redact_text(text) == shown
    assert has_credentials(text) == (text != shown)


def test_a_url_given_as_a_path_is_redacted_after_path_normalisation() -> None:
    normalised = str(Path(f"https://u:{URL_PASSWORD}@host/x"))
    assert normalised == f"https:/u:{URL_PASSWORD}@host/x"  # what a path-taking flag would print
    assert_clean(redact_text(normalised), redact_text(f"no such directory: {normalised}"))


def test_metrics_events_with_a_credential_url_does_not_echo_it(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = _run(["metrics", "--events", f"https://u:{URL_PASSWORD}@host/x", "--since", "2026-01-01",
                       "--until", "2026-02-01"], capsys)
    assert code == 2
    assert_clean(text)


def test_hivebox_start_up_log_hides_a_password_containing_at(tmp_path: Path) -> None:
    """The real process with --log-level info logs its settings at start: VALKEY_URL's password, which
    contains "@", must not leak in part (it did: "...***@ss@127.0.0.1...")."""
    from hivepulse import services

    password = "pl@nted-p@ss"
    env = {"HIVEBOX_CACHE": "valkey", "VALKEY_URL": f"redis://user:{password}@127.0.0.1:9/0",
           "OPENSENSEMAP_API_URL": "http://127.0.0.1:9", "HIVEBOX_STORE_INTERVAL": "0"}
    with services.start_hivebox(env, extra_args=["--log-level", "info"]) as handle:
        assert handle.log is not None
        import httpx

        httpx.get(handle.url + "/temperature", timeout=10)  # cache and upstream unreachable: warnings logged
        log = handle.log.read_text(errors="replace")
    assert "hivebox starting" in log and "redis://***@127.0.0.1:9/0" in log
    for piece in (password, "p@ss", "nted", "ss@127"):
        assert piece not in log, piece


def test_redact_text_finds_every_url_and_keeps_the_rest() -> None:
    text = "GET http://u:p1@a/x failed; retry valkey://:p2@b:1/0 'https://t@c' then http://d/e"
    assert redact_text(text) == "GET http://***@a/x failed; retry valkey://***@b:1/0 'https://***@c' then http://d/e"
    assert redact_url(None) is None


# -------------------------------------------------------------------------------- where secrets are read


def test_secret_variables_are_read_in_one_place_only() -> None:
    """S3 keys are read from the environment only in hivebox/config.py, into fields hidden from repr."""
    readers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                     if re.search(r"""["']S3_(ACCESS|SECRET)_KEY["']\]|get\(["']S3_(ACCESS|SECRET)_KEY""",
                                  p.read_text(encoding="utf-8")))
    assert readers == ["hivebox/config.py"]
    config_src = (SRC / "hivebox" / "config.py").read_text(encoding="utf-8")
    assert "access_key: str = field(repr=False)" in config_src
    assert "secret_key: str = field(repr=False)" in config_src


def _env(**extra: str) -> dict[str, str]:
    return {"S3_ENDPOINT": "127.0.0.1:9", "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY,
            "HIVEBOX_CACHE": "valkey", "VALKEY_URL": f"valkey://:{VALKEY_PASSWORD}@127.0.0.1:9/0",
            "OPENSENSEMAP_API_URL": "http://127.0.0.1:9", "HIVEBOX_STORE_INTERVAL": "0",
            "HIVEBOX_ADMIN_TOKEN": ADMIN_TOKEN, **extra}


def test_config_repr_and_describe_hide_secrets() -> None:
    config = HiveboxConfig.from_env(_env())
    described = json.dumps(config.describe())
    assert_clean(repr(config), repr(config.s3), described)
    assert "valkey://***@127.0.0.1:9/0" in described
    assert config.s3 is not None and config.s3.secret_key == SECRET_KEY  # still usable by the client


# ------------------------------------------------------------------------------------ HiveBox in process


class _RefusingS3(BaseHTTPRequestHandler):
    """A real HTTP server that answers every S3 request 403 AccessDenied (no retries by the client)."""

    def _deny(self) -> None:
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                b"<Message>Access Denied</Message><Resource>/hivebox</Resource><RequestId>1</RequestId></Error>")
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_POST = _deny

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def refusing_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_hivebox_app_never_shows_secrets(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    import httpx

    from hivepulse.hivebox.app import create_app

    async def exercise(app) -> dict[str, httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hivebox") as client:
                answers = {path: await client.get(path) for path in ("/version", "/temperature", "/readyz",
                                                                       "/metrics")}
                answers["/store"] = await client.post("/store",
                                                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
                answers["/metrics after"] = await client.get("/metrics")
                return answers

    caplog.set_level(logging.DEBUG)
    with refusing_s3() as endpoint:
        config = HiveboxConfig.from_env(_env(S3_ENDPOINT=endpoint))
        answers = asyncio.run(exercise(create_app(config)))
    assert answers["/temperature"].status_code == 503  # upstream and cache unreachable: a defined answer
    assert answers["/store"].status_code == 502
    assert answers["/store"].json()["detail"].startswith("S3 write failed")
    metrics = answers["/metrics after"].text
    assert re.search(r'hivebox_cache_errors_total\{backend="valkey",op="get"\} [1-9]', metrics)
    assert 'hivebox_store_total{outcome="error"} 1.0' in metrics
    assert "valkey://***@127.0.0.1:9/0" in caplog.text  # the start-up line names the server, not the password
    assert_clean(caplog.text, *(a.text for a in answers.values()), *(dict(a.headers) for a in answers.values()))


# ----------------------------------------------------------------------------------------- CLI errors


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("env", [
    {"HIVEBOX_CACHE": "valkey", "VALKEY_URL": f"valkey://:{VALKEY_PASSWORD}@127.0.0.1:notaport/0"},
    {"HIVEBOX_CACHE": "valkey", "VALKEY_URL": f"ftp://:{VALKEY_PASSWORD}@127.0.0.1:1/0"},
    {"HIVEBOX_CACHE": "memcached", "MEMCACHED_URL": f"memcached://u:{URL_PASSWORD}@h:x"},
    {"OPENSENSEMAP_API_URL": f"ftp://u:{URL_PASSWORD}@example.invalid"},
    {"S3_ENDPOINT": f"ftp://u:{URL_PASSWORD}@x", "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY},
    # credentials inside the endpoint URL: a bad value (exit 2), not "a bug" (exit 1) from the S3 client
    {"S3_ENDPOINT": f"http://a:{URL_PASSWORD}@127.0.0.1:9", "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY},
    {"S3_ENDPOINT": "127.0.0.1:9:9", "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY},
    {"S3_ENDPOINT": "127.0.0.1:9", "S3_SECRET_KEY": SECRET_KEY},
    {"S3_ENDPOINT": "127.0.0.1:9", "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY, "S3_BUCKET": "B!"},
])
def test_hivebox_config_errors_hide_secrets(env: dict[str, str], monkeypatch, capsys) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, text = _run(["hivebox", "serve", "--port", "0"], capsys)
    assert code == 2 and "environment variable" in text
    assert_clean(text)


@pytest.mark.parametrize(("env", "variable"), [
    ({"HIVEBOX_ADMIN_TOKEN": "short"}, "HIVEBOX_ADMIN_TOKEN"),
    ({"HIVEBOX_ADMIN_TOKEN": f"{ADMIN_TOKEN} with spaces"}, "HIVEBOX_ADMIN_TOKEN"),
    ({"HIVEBOX_UPSTREAM_MAX_BYTES": "10"}, "HIVEBOX_UPSTREAM_MAX_BYTES"),
])
def test_new_hivebox_variables_are_checked_without_echo(env: dict[str, str], variable: str) -> None:
    from hivepulse.errors import InputError

    with pytest.raises(InputError) as info:
        HiveboxConfig.from_env(env)
    assert str(info.value).startswith(f"environment variable {variable}:")
    assert_clean(str(info.value))


def test_the_admin_token_is_never_shown() -> None:
    config = HiveboxConfig.from_env(_env())
    assert config.admin_token == ADMIN_TOKEN
    assert_clean(repr(config), json.dumps(config.describe()))
    assert config.describe()["admin_token"] == "set"


@pytest.mark.parametrize("argv", [
    ["profile", "--no-notebook", "--target-url", f"http://user:{URL_PASSWORD}@127.0.0.1:9"],
    ["sensemap", "record", "--ids", "5eba5fbad46fb8001b799786", "--out", "rec",
     "--base-url", f"http://user:{URL_PASSWORD}@127.0.0.1:9"],
])
def test_credentials_on_the_command_line_are_refused_without_echo(argv: list[str], tmp_path: Path, monkeypatch,
                                                                   capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = _run([*argv, *(["--output-dir", "pout"] if argv[0] == "profile" else [])], capsys)
    assert code == 2 and "credentials in" in text and "***@127.0.0.1:9" in text
    assert_clean(text)
    assert list(tmp_path.iterdir()) == []


def test_url_target_errors_are_redacted() -> None:
    from hivepulse.bench.targets import TargetSpec, check_url_target
    from hivepulse.errors import ServiceError

    spec = TargetSpec(url=f"http://u:{URL_PASSWORD}@127.0.0.1:9")  # as a library call, not via the CLI
    with pytest.raises(ServiceError) as info:
        check_url_target(spec)
    assert_clean(str(info.value))


def test_stack_up_prints_no_password(monkeypatch, capsys) -> None:
    """``stack up`` with an external Valkey given by VALKEY_URL (password inside): the printed URLs are
    redacted. The stack is stopped right after start-up (its stop event is already set)."""
    from hivepulse.commands.stack import DEFAULT_IDS, run_up

    monkeypatch.setenv("VALKEY_URL", f"valkey://:{VALKEY_PASSWORD}@127.0.0.1:9/0")
    stop = threading.Event()
    stop.set()
    args = argparse.Namespace(cache="valkey", client="pooled", ttl=300.0, single_flight="wait", ids=DEFAULT_IDS,
                              latency_ms=1.0, seed=0, hivebox_port=0, sensemap_port=0, s3=False)
    assert run_up(args, stop_event=stop) == 0
    out = capsys.readouterr().out
    assert "valkey               valkey://***@127.0.0.1:9/0" in out
    assert_clean(out)

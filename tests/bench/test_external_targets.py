"""Target-mode details without the full runner: placeholder expansion (template and env), readiness rules and
their error messages, scenario collapsing for external targets, and the cold reset of a given Valkey db."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
import valkey

from hivepulse import services
from hivepulse.bench.runner import Infra, _empty_caches, external_scenarios
from hivepulse.bench.scenarios import parse_scenarios
from hivepulse.bench.targets import (
    PLACEHOLDERS,
    RunningTarget,
    TargetSpec,
    command_env,
    describe_exit,
    start_command_target,
)
from hivepulse.errors import InputError, ServiceError

VALUES = {"port": "5001", "opensensemap_url": "http://127.0.0.1:9", "sensebox_ids": "a,b",
          "valkey_url": "valkey://127.0.0.1:6390/2", "valkey_host": "127.0.0.1", "valkey_port": "6390",
          "valkey_db": "2"}


def _kept_log(message: str) -> Path:
    return Path(message.rsplit("full output: ", 1)[1])


def test_placeholders_expand_in_env_values_too():
    spec = TargetSpec(cmd="{python} app.py", env={
        "BOX_ID": "{sensebox_ids}", "REDIS_HOST": "{valkey_host}", "REDIS_PORT": "{valkey_port}",
        "REDIS_DB": "{valkey_db}", "BASE_URL": "{opensensemap_url}/", "JSON": '{{"ttl": 60}}', "PLAIN": "x"})
    spec.validate()
    assert spec.used_placeholders() == {"python", "sensebox_ids", "valkey_host", "valkey_port", "valkey_db",
                                        "opensensemap_url"}
    env = command_env(spec, VALUES)
    assert (env["BOX_ID"], env["REDIS_HOST"], env["REDIS_PORT"], env["REDIS_DB"]) == ("a,b", "127.0.0.1",
                                                                                      "6390", "2")
    assert env["BASE_URL"] == "http://127.0.0.1:9/" and env["JSON"] == '{"ttl": 60}' and env["PLAIN"] == "x"
    # the harness's own variables, then --target-env (which wins)
    assert env["PORT"] == "5001" and env["SENSEBOX_IDS"] == "a,b" and env["VALKEY_URL"] == VALUES["valkey_url"]
    assert "MEMCACHED_URL" not in env
    assert command_env(TargetSpec(cmd="x", env={"PORT": "80"}), VALUES)["PORT"] == "80"
    assert {"valkey_host", "valkey_port", "memcached_host", "memcached_port", "s3_endpoint"} <= set(PLACEHOLDERS)


def test_bad_templates_name_where_and_what():
    with pytest.raises(InputError, match=r"unknown placeholder in --target-env REDIS_HOST.*\{redis_host\}"):
        TargetSpec(cmd="app", env={"REDIS_HOST": "{redis_host}"}).validate()
    with pytest.raises(InputError, match=r"invalid --target-env BAD template.*literal brace"):
        TargetSpec(cmd="app", env={"BAD": '{"a": 1'}).validate()
    with pytest.raises(InputError, match=r"unknown placeholder.*\{port!r\}|unknown placeholder.*\{port\}"):
        TargetSpec(cmd="app --port {port!r}").validate()
    with pytest.raises(InputError, match="invalid ready status"):
        TargetSpec(cmd="app", ready_status="200").validate()
    with pytest.raises(InputError, match="invalid target ready path"):
        TargetSpec(cmd="app", ready_path="readyz").validate()


def test_exit_descriptions():
    assert describe_exit(3) == "exited with status 3"
    assert describe_exit(-9) == "was killed by signal 9 (SIGKILL)"


def test_killed_process_names_the_signal_and_keeps_its_output():
    code = "import os, signal; print('loading settings'); print('x' * 50); os.kill(os.getpid(), signal.SIGKILL)"
    spec = TargetSpec(cmd="{python} -c \"" + code + "\"")
    with pytest.raises(ServiceError, match=r"was killed by signal 9 \(SIGKILL\) before answering.*"
                                           r"last output: loading settings \| x{50}; full output: ") as err:
        with start_command_target(spec, {}):
            pass
    _kept_log(str(err.value)).unlink()


def test_readiness_any_answer_vs_2xx_and_timeout_message(tmp_path):
    # a server whose /readyz always answers 503 (never warms up)
    app = tmp_path / "never_ready.py"
    app.write_text(
        "import os, http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(503 if self.path == '/readyz' else 200); self.end_headers()\n"
        "    def log_message(self, *a): print('served', self.path, flush=True)\n"
        "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n")
    spec = TargetSpec(cmd=f"{sys.executable} {app}", ready_path="/readyz")  # default: any HTTP answer
    with start_command_target(spec, {}) as running:
        assert httpx.get(running.url + "/temperature").status_code == 200
        assert running.exit_description() is None
    strict = TargetSpec(cmd=f"{sys.executable} {app}", ready_path="/readyz", ready_status="2xx",
                        start_timeout_s=0.6)
    with pytest.raises(ServiceError, match=r"gave no 2xx answer on GET http://127.0.0.1:\d+/readyz within 0.6 s "
                                           r"\(last attempt: HTTP 503\); last output: .*served /readyz") as err:
        with start_command_target(strict, {}):
            pass
    _kept_log(str(err.value)).unlink()


def test_service_on_the_wrong_port_gets_a_hint():
    spec = TargetSpec(cmd="{python} -c \"import time; print('listening on 5000'); time.sleep(30)\"",
                      start_timeout_s=0.5)
    with pytest.raises(ServiceError, match=r"gave no HTTP answer .*ConnectError\); does it listen on "
                                           r"127.0.0.1:\d+ \(\{port\} or \$PORT\)\?; last output: listening on 5000"
                       ) as err:
        with start_command_target(spec, {}):
            pass
    _kept_log(str(err.value)).unlink()


def test_external_targets_collapse_cells_the_service_cannot_tell_apart():
    scenarios = parse_scenarios({
        "defaults": {"requests": 50, "concurrency": 2},
        "latency_profiles": {"slow": {"median_ms": 200}},
        "matrix": {"cache": ["none", "valkey"], "client": ["naive", "pooled"], "latency": ["fast", "slow"]},
        "scenarios": [{"cache": "valkey", "client": "naive", "latency": "fast", "rate": 20, "name": "open"},
                      {"cache": "none", "client": "naive", "latency": "fast", "rate": 20, "requests": 9,
                       "name": "open-small"}],
    })
    assert len(scenarios) == 10
    names = [s.name for s in external_scenarios(scenarios, "command")]
    assert names == ["external-fast-c2", "external-slow-c2", "external-fast-r20", "external-fast-r20-2"]
    assert [s.name for s in external_scenarios(scenarios, "url")] == ["external-c2"]
    assert external_scenarios(scenarios, "reference") == scenarios


def test_cold_reset_flushes_only_the_given_db_of_a_valkey_we_do_not_own():
    with services.start_valkey(env={}) as server:
        base = server.url.rsplit("/", 1)[0]
        db0, db3 = (valkey.Valkey.from_url(f"{base}/{n}") for n in (0, 3))
        db0.set("other-app", "1")
        db3.set("temperature", "16.0")
        running = RunningTarget("http://127.0.0.1:1", None, "command")
        with httpx.Client() as client:
            assert _empty_caches(client, running, Infra(valkey_url=f"{base}/3", valkey_managed=False))
            assert db3.get("temperature") is None and db0.get("other-app") == b"1"
            # a Valkey the harness started belongs to the run: every database is emptied
            db3.set("temperature", "16.0")
            assert _empty_caches(client, running, Infra(valkey_url=f"{base}/0", valkey_managed=True))
            assert db3.dbsize() == 0 and db0.dbsize() == 0
            assert not _empty_caches(client, RunningTarget("http://x", None, "url"), Infra())
        db0.close()
        db3.close()


def test_placeholders_are_filled_after_splitting(tmp_path, monkeypatch):
    """A `{python}` under a directory whose name has a space and a quote stays one argument (the template is
    split first, then each word filled); it used to be split at the space."""
    odd = tmp_path / "my env's python"
    odd.mkdir()
    python = odd / "python3"
    python.symlink_to(sys.executable)
    app = tmp_path / "echo_app.py"
    app.write_text(
        "import os, sys, http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = repr(sys.argv[1:]).encode(); self.send_response(200); self.end_headers()\n"
        "        self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n")
    monkeypatch.setattr(sys, "executable", str(python))
    spec = TargetSpec(cmd=f"{{python}} {app} 'two words' --url={{opensensemap_url}}")
    spec.validate()
    with start_command_target(spec, {"opensensemap_url": "http://127.0.0.1:9/a b"}) as running:
        assert httpx.get(running.url + "/").text == repr(["two words", "--url=http://127.0.0.1:9/a b"])

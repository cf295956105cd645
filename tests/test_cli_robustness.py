"""Robustness of every command's error paths, probed as a hostile user would.

The contract (issue 2): bad input gets exactly one line on stderr, ``hivepulse <command>: error: ...``, a
non-zero exit (2 for bad input; 3 when a git source cannot be read; 4 when a service cannot start), never a
traceback, and never a half-written output: the output directory is absent or unchanged afterwards.
argparse usage errors (exit 2, usage + one error line) are accepted for flag syntax.

Commands run in process through :func:`hivepulse.cli.main` (stderr via capsys); a few run as real processes
(non-UTF-8 bytes in argv, a port already taken). Permission cases skip when running as root. ``RETRO_DEFECTS``
are the ``hivepulse retro`` cases that once crashed (each named by its old symptom); they must stay fixed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hivepulse.cli import main
from hivepulse.sources.sample import write_sample

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
root_skip = pytest.mark.skipif(IS_ROOT, reason="root ignores file permissions")
TAKEN = "hivepulse-robustness-existing"  # content of a file that must survive untouched


# ------------------------------------------------------------------------------------------------ helpers


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` in process -> (exit code, stdout, stderr); argparse's SystemExit becomes its code."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage error
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(result: tuple[int, str, str], command: str, code: int = 2, *, contains: str = "") -> str:
    """Exactly one stderr line ``hivepulse <command>: error: ...`` (no traceback, not an unexpected error),
    exit ``code``; returns the message."""
    got, _out, err = result
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hivepulse {command}: error: "), err
    assert "unexpected" not in lines[0], err  # the CLI's last-resort line means an unhandled exception
    assert got == code, (got, err)
    if contains:
        assert contains in lines[0], lines[0]
    return lines[0]


def assert_usage_error(result: tuple[int, str, str]) -> None:
    got, _out, err = result
    assert got == 2 and "Traceback" not in err and "usage:" in err
    assert err.strip().splitlines()[-1].startswith("hivepulse"), err


def snapshot(path: Path) -> dict[str, bytes] | None:
    """Every file under ``path`` (hidden ones too) with its bytes; None when ``path`` does not exist."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else b"<dir>") for p in path.rglob("*")}


@pytest.fixture(scope="module")
def events_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("events") / "sample"
    write_sample(out, 42, weeks=4)
    return out


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace (the current directory) with ``afile`` (a file), ``adir`` (an empty directory)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text(TAKEN)
    (tmp_path / "adir").mkdir()
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def _git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})


# ------------------------------------------------------------------------------------------------ metrics

BAD_DATES = ["2026-13-01", "yesterday", "", "2026-02-30", "0001-01-01", "9999-12-31", "1000-01-01"]


@pytest.mark.parametrize("flag", ["--since", "--until"])
@pytest.mark.parametrize("value", BAD_DATES)
def test_metrics_bad_dates(flag: str, value: str, events_dir: Path, capsys) -> None:
    message = assert_error(run(["metrics", "--events", str(events_dir), flag, value], capsys), "metrics")
    assert f"invalid {flag[2:]}" in message


@pytest.mark.parametrize(("since", "until"), [("2026-05-01", "2026-04-01"), ("2026-05-01", "2026-05-01")])
def test_metrics_until_not_after_since(since: str, until: str, events_dir: Path, capsys) -> None:
    assert_error(run(["metrics", "--events", str(events_dir), "--since", since, "--until", until], capsys),
                 "metrics", contains="window is empty")


@pytest.mark.parametrize("extra", [["--since", "1800-01-01", "--until", "2199-01-01"],
                                   ["--since", "1750-01-01", "--until", "2000-01-01", "--compare-previous"]])
def test_metrics_window_too_long(extra: list[str], events_dir: Path, capsys) -> None:
    assert_error(run(["metrics", "--events", str(events_dir), *extra], capsys), "metrics",
                 contains="window too long")


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "UTC+99"])
def test_metrics_unknown_tz(tz: str, events_dir: Path, capsys) -> None:
    assert_error(run(["metrics", "--events", str(events_dir), "--tz", tz], capsys), "metrics",
                 contains="time zone")


def test_metrics_unknown_env_without_window_is_an_error(events_dir: Path, capsys) -> None:
    assert_error(run(["metrics", "--events", str(events_dir), "--env", "nope"], capsys), "metrics",
                 contains="no 'nope' deployment")


def test_metrics_unknown_env_with_window_is_a_defined_empty_result(events_dir: Path, capsys) -> None:
    import json

    code, out, err = run(["metrics", "--events", str(events_dir), "--env", "nope", "--since", "2026-04-27",
                          "--until", "2026-05-25", "--format", "json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["environment"] == "nope"
    assert report["deployment_frequency"]["deployments"] == 0
    assert report["lead_time"]["n"] == 0 and report["lead_time"]["value"] is None


@pytest.mark.parametrize("args", [["--seed", "-1"], ["--incident-max-gap-days", "nan"],
                                  ["--incident-max-gap-days", "inf"], ["--incident-max-gap-days", "-1"],
                                  ["--incident-max-gap-days", "1e300"]])
def test_metrics_bad_numbers(args: list[str], events_dir: Path, capsys) -> None:
    assert_error(run(["metrics", "--events", str(events_dir), *args], capsys), "metrics",
                 contains=f"invalid {args[0]}")


def test_metrics_huge_seed_is_accepted(events_dir: Path, capsys) -> None:
    code, _out, err = run(["metrics", "--events", str(events_dir), "--seed", str(10**30)], capsys)
    assert code == 0, err


@pytest.mark.parametrize("args", [["--format", "bogus"], ["--seed", "x"], ["--tier-edition", "1999"],
                                  ["--incident-max-gap-days", "many"]])
def test_metrics_flag_syntax_is_a_usage_error(args: list[str], events_dir: Path, capsys) -> None:
    assert_usage_error(run(["metrics", "--events", str(events_dir), *args], capsys))


def test_metrics_events_paths(ws: Path, capsys) -> None:
    assert_error(run(["metrics", "--events", "missing"], capsys), "metrics", contains="not found")
    assert_error(run(["metrics", "--events", "afile"], capsys), "metrics", contains="not a directory")
    assert_error(run(["metrics", "--events", "adir"], capsys), "metrics", contains="missing deployments file")
    assert_error(run(["metrics"], capsys), "metrics", contains="exactly one source")


def test_metrics_git_paths(ws: Path, events_dir: Path, capsys) -> None:
    # the git source reports unreadable repositories as a source error (exit 3)
    assert_error(run(["metrics", "--git", "afile"], capsys), "metrics", 3, contains="not a directory")
    assert_error(run(["metrics", "--git", "missing"], capsys), "metrics", 3)
    assert_error(run(["metrics", "--git", str(events_dir)], capsys), "metrics", 3, contains="not a git")
    (ws / "empty-repo").mkdir()
    _git(ws / "empty-repo", "init", "-q")
    assert_error(run(["metrics", "--git", "empty-repo"], capsys), "metrics", 2, contains="no commits")


def test_events_dir_that_is_a_git_repo_reads_its_files(ws: Path, events_dir: Path, capsys) -> None:
    repo = ws / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert_error(run(["metrics", "--events", "repo"], capsys), "metrics", contains="missing deployments file")
    for f in events_dir.iterdir():
        (repo / f.name).write_bytes(f.read_bytes())
    code, out, err = run(["metrics", "--events", "repo", "--format", "json"], capsys)
    assert code == 0 and out.startswith("{"), err


def test_metrics_unreadable_events_file(ws: Path, events_dir: Path, capsys) -> None:
    if IS_ROOT:
        pytest.skip("root ignores file permissions")
    copy = ws / "ev"
    copy.mkdir()
    for f in events_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "deployments.csv").chmod(0)
    try:
        assert_error(run(["metrics", "--events", "ev"], capsys), "metrics")
    finally:
        (copy / "deployments.csv").chmod(0o644)


# ---------------------------------------------------------------------------------------- sample / events


@pytest.mark.parametrize("args", [["--weeks", "0"], ["--weeks", "-3"], ["--weeks", "100000"], ["--seed", "-1"],
                                  ["--end", "2026-13-01"], ["--end", "yesterday"], ["--end", ""],
                                  ["--end", "9999-12-31"], ["--end", "0001-01-01"]])
def test_sample_bad_values_write_nothing(args: list[str], ws: Path, capsys) -> None:
    assert_error(run(["sample", "--out", "out", *args], capsys), "sample", contains=f"invalid {args[0]}")
    assert snapshot(ws / "out") is None


@pytest.mark.parametrize("out", ["afile", "afile/sub", ""])
def test_sample_output_is_a_file_or_empty(out: str, ws: Path, capsys) -> None:
    before = snapshot(ws)
    assert_error(run(["sample", "--out", out, "--weeks", "4"], capsys), "sample")
    assert snapshot(ws) == before


@root_skip
def test_sample_output_in_a_read_only_folder(ws: Path, capsys) -> None:
    ro = ws / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_error(run(["sample", "--out", "ro/out", "--weeks", "4"], capsys), "sample", contains="writable")
        assert snapshot(ro) == {}
    finally:
        ro.chmod(0o755)


def test_sample_existing_output_is_replaced_only_when_valid(ws: Path, capsys) -> None:
    code, _out, err = run(["sample", "--out", "out", "--weeks", "4"], capsys)
    assert code == 0, err
    before = snapshot(ws / "out")
    assert_error(run(["sample", "--out", "out", "--weeks", "1"], capsys), "sample")
    assert snapshot(ws / "out") == before


@pytest.mark.parametrize("out", ["afile", "afile/sub", ""])
def test_events_export_output_is_a_file_or_empty(out: str, ws: Path, events_dir: Path, capsys) -> None:
    before = snapshot(ws)
    assert_error(run(["events", "export", "--events", str(events_dir), "--out", out], capsys), "events")
    assert snapshot(ws) == before


def test_events_export_bad_sources_write_nothing(ws: Path, events_dir: Path, capsys) -> None:
    assert_error(run(["events", "export", "--events", "missing", "--out", "o"], capsys), "events")
    assert_error(run(["events", "export", "--events", "afile", "--out", "o"], capsys), "events")
    assert_error(run(["events", "export", "--git", "afile", "--out", "o"], capsys), "events", 3)
    assert_error(run(["events", "export", "--git", str(events_dir), "--out", "o"], capsys), "events", 3)
    assert_error(run(["events", "export", "--git", "adir", "--events", "adir", "--out", "o"], capsys), "events")
    assert snapshot(ws / "o") is None
    assert_usage_error(run(["events", "export", "--events", "adir"], capsys))


@root_skip
def test_events_export_into_read_only_folder(ws: Path, events_dir: Path, capsys) -> None:
    ro = ws / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_error(run(["events", "export", "--events", str(events_dir), "--out", "ro/x"], capsys), "events")
        assert snapshot(ro) == {}
    finally:
        ro.chmod(0o755)


# ------------------------------------------------------------------------------------------------ profile

PROFILE = ["profile", "--no-notebook", "--no-progress", "--output-dir", "pout"]


@pytest.mark.parametrize("args", [
    ["--requests", "0"], ["--requests", "-5"], ["--requests", str(10**12)],
    ["--concurrency", "0"], ["--concurrency", "-1"], ["--concurrency", "100000000"],
    ["--rate", "0"], ["--rate", "-1"], ["--rate", "nan"], ["--rate", "inf"], ["--rate", "1e-300"],
    ["--rate", "1e300"],
    ["--run-id", "../escape"], ["--run-id", "a/b"], ["--run-id", ""], ["--run-id", ".."],
])
def test_profile_bad_numbers_and_run_ids(args: list[str], ws: Path, capsys) -> None:
    assert_error(run([*PROFILE, *args], capsys), "profile", contains=f"invalid {args[0]}")
    assert snapshot(ws / "pout") is None


@pytest.mark.parametrize("args", [
    ["--target-port", "99999", "--target-cmd", "sleep 1"], ["--target-port", "-1", "--target-cmd", "sleep 1"],
    ["--target-start-timeout", "-1", "--target-cmd", "sleep 1"],
    ["--target-start-timeout", "nan", "--target-cmd", "sleep 1"],
    ["--target-env", "NOEQ", "--target-cmd", "sleep 1"], ["--target-cwd", "missing", "--target-cmd", "sleep 1"],
    ["--target-cwd", "afile", "--target-cmd", "sleep 1"], ["--target-cmd", "{bogus}"],
    ["--target-cmd", "serve 'unterminated"], ["--target-cmd", "  "], ["--target-url", "notaurl"],
    ["--target-url", "ftp://x"], ["--latency-profile", "nope"], ["--concurrency", "2", "--rate", "3"],
])
def test_profile_bad_target_options(args: list[str], ws: Path, capsys) -> None:
    result = run([*PROFILE, *args], capsys)
    if result[0] == 2 and "usage:" in result[2]:
        assert_usage_error(result)
    else:
        assert_error(result, "profile")
    assert snapshot(ws / "pout") is None


@pytest.mark.parametrize("name", ["missing.yaml", "adir", "binary.yaml", "list.yaml", "broken.yaml"])
def test_profile_bad_scenario_files(name: str, ws: Path, capsys) -> None:
    (ws / "binary.yaml").write_bytes(b"\xc9\x00\xff" * 10)
    (ws / "list.yaml").write_text("- 1\n- 2\n")
    (ws / "broken.yaml").write_text("a: [1\n")
    assert_error(run([*PROFILE, "--scenarios", name], capsys), "profile", contains=name)
    assert snapshot(ws / "pout") is None


@pytest.mark.parametrize("out", ["afile", "afile/sub", ""])
def test_profile_output_dir_is_a_file(out: str, ws: Path, capsys) -> None:
    before = snapshot(ws)
    argv = ["profile", "--no-notebook", "--no-progress", "--quick", "--output-dir", out,
            "--target-url", "http://127.0.0.1:9"]
    assert_error(run(argv, capsys), "profile")
    assert snapshot(ws) == before


def test_profile_missing_baseline(ws: Path, capsys) -> None:
    assert_error(run([*PROFILE, "--baseline", "nope", "--target-url", "http://127.0.0.1:9"], capsys),
                 "profile", contains="baseline run not found")
    assert snapshot(ws / "pout") is None


# ----------------------------------------------------------------------------------- servers: bad flags


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_hivebox_serve_bad_port(port: str, capsys) -> None:
    assert_error(run(["hivebox", "serve", "--port", port], capsys), "hivebox", contains="invalid --port")


def test_hivebox_serve_port_in_use(taken_port: int, capsys) -> None:
    assert_error(run(["hivebox", "serve", "--port", str(taken_port)], capsys), "hivebox", 4,
                 contains="in use")


def test_sensemap_serve_port_in_use(taken_port: int, capsys) -> None:
    assert_error(run(["sensemap", "serve", "--port", str(taken_port)], capsys), "sensemap", 4,
                 contains="in use")


@pytest.mark.parametrize("env", [{"HIVEBOX_CACHE": "valkey", "VALKEY_URL": "notaurl"},
                                 {"HIVEBOX_CACHE": "valkey", "VALKEY_URL": "valkey://127.0.0.1:port/0"},
                                 {"HIVEBOX_CACHE": "valkey"}, {"HIVEBOX_CACHE": "bogus"},
                                 {"SENSEBOX_IDS": "zz"}, {"HIVEBOX_CACHE_TTL": "-1"},
                                 {"HIVEBOX_CACHE_TTL": "inf"}])
def test_hivebox_serve_bad_environment(env: dict[str, str], monkeypatch, capsys) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert_error(run(["hivebox", "serve", "--port", "0"], capsys), "hivebox", contains="environment variable")


@pytest.mark.parametrize("args", [
    ["--port", "70000"], ["--boxes", "-1"], ["--boxes", "100000000"], ["--latency-ms", "-1"],
    ["--latency-ms", "nan"], ["--latency-ms", "inf"], ["--sigma", "inf"], ["--error-rate", "2"],
    ["--stale-share", "nan"], ["--timeout-s", "inf"],
])
def test_sensemap_serve_bad_numbers(args: list[str], capsys) -> None:
    assert_error(run(["sensemap", "serve", *args], capsys), "sensemap", contains=f"invalid {args[0]}")


@pytest.mark.parametrize("name", ["missing", "adir", "binary.json", "list.json", "badid.json", "broken.json"])
def test_sensemap_serve_bad_plant_file(name: str, ws: Path, capsys) -> None:
    (ws / "binary.json").write_bytes(b"\xab\xcd" * 20)
    (ws / "list.json").write_text("[1, 2]")
    (ws / "badid.json").write_text('{"boxes": {"zz": {}}}')
    (ws / "broken.json").write_text('{"boxes": ')
    assert_error(run(["sensemap", "serve", "--port", "0", "--plant", name], capsys), "sensemap", contains=name)


@pytest.mark.parametrize("name", ["missing", "afile", "adir"])
def test_sensemap_serve_bad_recording(name: str, ws: Path, capsys) -> None:
    assert_error(run(["sensemap", "serve", "--port", "0", "--from", name], capsys), "sensemap",
                 contains="not a recording directory")


BOX = "5eba5fbad46fb8001b799786"


@pytest.mark.parametrize(("args", "needle"), [
    (["--ids", "zz", "--out", "rec"], "invalid box id"),
    (["--ids", "", "--out", "rec"], "no box ids"),
    (["--ids", BOX, "--out", "afile"], "afile"),
    (["--ids", BOX, "--out", "afile/sub"], "inside a file"),
    (["--ids", BOX, "--out", "rec", "--timeout", "-1"], "invalid --timeout"),
    (["--ids", BOX, "--out", "rec", "--timeout", "nan"], "invalid --timeout"),
    (["--ids", BOX, "--out", "rec", "--base-url", "notaurl"], "invalid --base-url"),
])
def test_sensemap_record_bad_input(args: list[str], needle: str, ws: Path, capsys) -> None:
    before = snapshot(ws)
    assert_error(run(["sensemap", "record", "--base-url", "http://127.0.0.1:9", *args], capsys), "sensemap",
                 contains=needle)
    assert snapshot(ws) == before


def test_sensemap_record_unreachable_upstream_writes_nothing(ws: Path, capsys) -> None:
    before = snapshot(ws)
    assert_error(run(["sensemap", "record", "--ids", BOX, "--out", "rec", "--base-url", "http://127.0.0.1:9"],
                     capsys), "sensemap", 3)
    assert snapshot(ws) == before


@pytest.mark.parametrize(("args", "needle"), [
    (["--ids", ""], "no senseBox ids"), (["--ids", "zz"], "invalid senseBox id"),
    (["--hivebox-port", "99999"], "invalid --hivebox-port"), (["--sensemap-port", "-1"], "invalid --sensemap-port"),
    (["--ttl", "-1"], "invalid --ttl"), (["--ttl", "nan"], "invalid --ttl"),
    (["--latency-ms", "-5"], "invalid --latency-ms"),
])
def test_stack_up_bad_input_starts_nothing(args: list[str], needle: str, capsys) -> None:
    assert_error(run(["stack", "up", "--cache", "none", *args], capsys), "stack", contains=needle)


# -------------------------------------------------------------------------------------------------- retro


@pytest.fixture
def retro_files(ws: Path, events_dir: Path) -> Path:
    (ws / "bin.yaml").write_bytes(b"\xc9\x00\xff" * 20)
    (ws / "list.yaml").write_text("- 1\n- 2\n")
    (ws / "bad.yaml").write_text("a: [1\n")
    (ws / "unknown.yaml").write_text("colour: blue\n")
    (ws / "baddate.yaml").write_text(f"source: events\npath: {events_dir}\nsince: 2026-13-01\n")
    return ws


RETRO_OK = [
    (["-f", "missing.yaml"], "not found"),
    (["-f", "list.yaml"], "mapping"),
    (["-f", "bad.yaml"], "not valid YAML"),
    (["-f", "unknown.yaml"], "unknown parameter"),
    (["--source", "bogus", "--path", "adir"], "unknown source"),
    (["--source", "events", "--path", "missing"], "not found"),
    (["--source", "events", "--path", "EV", "--since", "2026-13-01"], "since"),
    (["--source", "events", "--path", "EV", "--since", "yesterday"], "since"),
    (["--source", "events", "--path", "EV", "--since", "2026-05-01", "--until", "2026-04-01"], "until"),
    (["--source", "events", "--path", "EV", "--since", "2026-04-01", "--until", "2026-04-15", "--tz", "X/Y"],
     "time zone"),
    (["--source", "events", "--path", "EV", "--iteration-days", "0"], "iteration_days"),
    (["--source", "events", "--path", "EV", "--since", "2026-04-01", "--until", "2026-04-15",
      "--max-actions", "-1"], "max_actions"),
    (["--notebook", "missing.ipynb"], "notebook not found"),
]


@pytest.mark.parametrize(("args", "needle"), RETRO_OK, ids=[" ".join(a) for a, _ in RETRO_OK])
def test_retro_bad_input(args: list[str], needle: str, retro_files: Path, events_dir: Path, capsys) -> None:
    argv = ["retro", "--no-progress", "--output-dir", "rout", *[str(events_dir) if a == "EV" else a for a in args]]
    assert_error(run(argv, capsys), "retro", contains=needle)
    assert snapshot(retro_files / "rout") is None


RETRO_DEFECTS = [
    (["-f", "baddate.yaml"], "YAML date 2026-13-01 raises ValueError outside yaml.YAMLError"),
    (["--source", "events", "--path", "EV", "--iteration-days", "99999999999"], "OverflowError"),
    (["--source", "events", "--path", "EV", "--since", "2026-04-01", "--until", "2026-04-15",
      "--output-dir", "afile"], "output dir that is a file: raw NotADirectoryError, no 'expected'"),
    (["--notebook", "afile"], "a notebook that is not JSON: NotJSONError"),
    (["-f", "bin.yaml"], "binary parameters file: UnicodeDecodeError without the file name"),
]


@pytest.mark.parametrize(("args", "defect"), RETRO_DEFECTS, ids=[d for _a, d in RETRO_DEFECTS])
def test_retro_former_defects(args: list[str], defect: str, retro_files: Path, events_dir: Path, capsys) -> None:
    argv = ["retro", "--no-progress", *[str(events_dir) if a == "EV" else a for a in args]]
    if "--output-dir" not in args:
        argv += ["--output-dir", "rout"]
    message = assert_error(run(argv, capsys), "retro")
    assert "expected" in message or "file" in message
    assert snapshot(retro_files / "rout") is None


# --------------------------------------------------------------------------------- non-UTF-8 and processes


def _hivepulse() -> list[str]:
    script = Path(sys.executable).with_name("hivepulse")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hivepulse"]


def test_non_utf8_path_in_process(ws: Path, capsys) -> None:
    bad = os.fsdecode(b"ev\xff\xfe")
    message = assert_error(run(["metrics", "--events", bad], capsys), "metrics", contains="not found")
    assert "\ufffd" in message  # undecodable bytes are shown as U+FFFD, never raise


def test_non_utf8_arguments_as_a_process(tmp_path: Path, events_dir: Path) -> None:
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    cases = [
        (["metrics", "--events", os.fsencode(tmp_path) + b"/\xff"], 2),
        (["metrics", "--events", str(events_dir), "--tz", b"Europe/\xff"], 2),
        (["metrics", "--events", str(events_dir), "--since", b"2026-\xff"], 2),
        (["sample", "--out", os.fsencode(tmp_path) + b"/x", "--end", b"\xfe"], 2),
    ]
    for argv, code in cases:
        result = subprocess.run([*_hivepulse(), *argv], capture_output=True, env=env, timeout=120)
        err = result.stderr.decode("utf-8", "replace")
        assert result.returncode == code, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # a non-UTF-8 output path is fine: written, and reported without crashing
    out = os.fsencode(tmp_path) + b"/out\xff"
    result = subprocess.run([*_hivepulse(), "events", "export", "--events", str(events_dir), "--out", out],
                            capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (Path(os.fsdecode(out)) / "deployments.csv").is_file()


def test_unknown_command_and_no_command(capsys) -> None:
    assert_usage_error(run(["frobnicate"], capsys))
    code, _out, _err = run([], capsys)
    assert code == 2


def test_last_resort_line_for_unexpected_errors(monkeypatch, capsys) -> None:
    """An exception that is not a HivepulseError still gives one line (exit 1) without a traceback."""
    import argparse

    from hivepulse.cli import run_func

    def boom(_args: argparse.Namespace) -> int:
        raise RuntimeError("boom at http://user:hunter2@example.invalid/x")

    code = run_func(argparse.Namespace(command="metrics", func=boom))
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "unexpected RuntimeError" in err and "hunter2" not in err
    monkeypatch.setenv("HIVEPULSE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run_func(argparse.Namespace(command="metrics", func=boom))

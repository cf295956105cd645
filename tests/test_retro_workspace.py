"""The retro workspace under concurrency, kills and full disks (issue 10 item 2, docs/retro.md "Commit").

Kernel-free where that still runs the real commit path: ``tests/retro_worker.py`` runs what the notebook's
cells run (``analyze`` then ``RetroResult.write`` with the rendered report) in real processes, which the
tests start concurrently, SIGKILL at random moments and run under a file-size limit. The command-level cases
(a SIGKILLed ``hivepulse retro``, a full disk while it commits) run real kernels and are marked ``slow``.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hivepulse.retro import ledger as led
from hivepulse.retro import workspace

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "retro_worker.py"
A = ("2026-04-27", "2026-05-11")
B = ("2026-05-11", "2026-05-25")
KEY_A, KEY_B = "_".join(A), "_".join(B)
RECORD = {"README.md", "metrics.json", "actions.json", "actions.csv", "retro.html"}


def worker(window: tuple[str, str], mode: str, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, str(WORKER), *window, mode, *extra], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def leftovers(ws: Path) -> list[str]:
    """Anything a run must not leave behind: staging, run and backup folders, temporary files."""
    names = [p.name for p in ws.iterdir()] + [f"runs/{p.name}" for p in (ws / "runs").glob("*")]
    return [n for n in names if n.startswith((".commit-", ".run-")) or n.endswith((".backup", ".tmp", ".new", ".old"))
            or n.startswith("runs/.")]


def check_consistent(ws: Path, key: str) -> None:
    """The record directory ``key`` is complete and agrees with its ledger entry (the same action ids)."""
    record = ws / key
    assert {p.name for p in record.iterdir()} == RECORD, sorted(p.name for p in record.iterdir())
    actions = json.loads((record / "actions.json").read_text())["actions"]
    entry = led.load(ws / "ledger.json").entries[key]
    assert [a.id for a in entry.actions] == [a["id"] for a in actions]
    assert json.loads((record / "metrics.json").read_text())["iteration"] == key


# ---------------------------------------------------------------------------------------------- concurrency


@pytest.mark.slow
def test_two_retros_of_different_iterations_at_once_keep_both_entries(tmp_path):
    """Two processes commit different iterations into the same workspace at the same moment, 10 times (the
    lock serialises the read-modify-write of the ledger: both entries every time)."""
    a, b = worker(A, "rounds"), worker(B, "rounds")
    try:
        for i in range(10):
            ws = tmp_path / f"ws{i}"
            for proc in (a, b):  # released together
                assert proc.stdin is not None
                proc.stdin.write(f"{ws}\n")
                proc.stdin.flush()
            for proc in (a, b):
                assert proc.stdout is not None
                assert proc.stdout.readline().strip() == f"done {ws}", proc.stderr.read() if proc.stderr else ""
            ledger = led.load(ws / "ledger.json")
            assert sorted(ledger.entries) == [KEY_A, KEY_B], f"round {i}: {sorted(ledger.entries)}"
            check_consistent(ws, KEY_A)
            check_consistent(ws, KEY_B)
            assert leftovers(ws) == []
    finally:
        for proc in (a, b):
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------- kill


@pytest.fixture(scope="module")
def results():
    from hivepulse.report import html
    from hivepulse.retro.analysis import RetroParams, analyze
    from hivepulse.sources.files import read_events

    events = read_events(REPO / "data" / "sample")
    out = {}
    for window, count in ((B, 1), (B, 2), (A, 1), (A, 2)):
        result = analyze(RetroParams(since=window[0], until=window[1], findings="", previous_iterations=1,
                                     max_actions=count, output_dir="."), events=events)
        out[window, count] = (result, {"retro.html": html.render_report(result)})
    return out


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_a_completed_run(tmp_path, results):
    """A retro committing iteration A over and over (records and entry alternate between two real results:
    max_actions 1 and 2) is SIGKILLed at 10 random moments while another retro commits iteration B: B's
    entry and records are always there, the ledger is always valid, A's records always agree with A's entry,
    and after the next run nothing is left behind."""
    material = tmp_path / "material.json"
    material.write_text(json.dumps([
        {"name": r.record_name, "files": {**r.record_files(), **extra}, "entry": r.ledger_entry().to_dict()}
        for r, extra in (results[A, 1], results[A, 2])]), encoding="utf-8")
    rng = random.Random(20260525)
    ws = tmp_path / "ws"
    b = worker(B, "rounds")
    try:
        for i in range(10):
            victim = subprocess.Popen([sys.executable, str(WORKER), "replay", str(material), str(ws)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
            assert victim.stdout is not None and victim.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.3))  # a commit takes ~10-50 ms: the kill lands anywhere inside one
            assert b.stdin is not None and b.stdout is not None
            b.stdin.write(f"{ws}\n")
            b.stdin.flush()
            time.sleep(rng.uniform(0.0, 0.05))
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            assert b.stdout.readline().strip() == f"done {ws}"
            # the completed run is there, whatever the victim was doing
            ledger = json.loads((ws / "ledger.json").read_text(encoding="utf-8"))
            assert ledger["version"] == 1 and KEY_B in ledger["iterations"]
            led.Ledger.from_dict(ledger, file="ledger.json")  # the documented schema
            check_consistent(ws, KEY_B)
            # the next run completes or removes what the victim left
            with workspace.locked_workspace(ws):
                pass
            assert leftovers(ws) == [], f"round {i}"
            check_consistent(ws, KEY_B)
            if (ws / KEY_A).exists():
                check_consistent(ws, KEY_A)
            else:
                assert KEY_A not in led.load(ws / "ledger.json").entries
    finally:
        b.kill()
        b.wait()


def test_recovery_rolls_a_committed_staging_folder_forward_and_drops_an_uncommitted_one(tmp_path):
    """The two states a SIGKILL can leave inside a commit, built by hand: after the marker the commit is
    completed by the next run (never undone); before it, the staging folder is removed."""
    def add(key):
        def update(ledger):
            return led.with_entry(ledger, key, since="2026-05-11", until="2026-05-25", due="2026-06-08",
                                  actions=[], followups=[])
        return update

    workspace.commit(tmp_path, "old", {"README.md": "old\n"}, add("old"))
    # committed, killed after moving the old record away but before moving the new one in
    staging = tmp_path / ".commit-killed1"
    (staging / "record").mkdir(parents=True)
    (staging / "record" / "README.md").write_text("new\n")
    (staging / "ledger.json").write_text(led.dumps(add("new")(led.load(tmp_path / "ledger.json"))))
    (staging / "COMMIT").write_text(json.dumps({"record": "old", "obsolete": []}))
    os.replace(tmp_path / "old", staging / "old")
    # not committed (no marker)
    (tmp_path / ".commit-killed2" / "record").mkdir(parents=True)
    (tmp_path / ".commit-killed2" / "ledger.json").write_text("{}")
    # leftovers of the previous version and of atomic writes
    (tmp_path / ".2026-05-11_2026-05-25.abc.backup" / "records").mkdir(parents=True)
    (tmp_path / ".ledger.json.x1.tmp").write_text("{")
    assert sorted(workspace.recover(tmp_path)) == sorted([".commit-killed1", ".commit-killed2", ".ledger.json.x1.tmp",
                                                          ".2026-05-11_2026-05-25.abc.backup"])
    assert (tmp_path / "old" / "README.md").read_text() == "new\n"
    assert sorted(led.load(tmp_path / "ledger.json").entries) == ["new", "old"]
    assert leftovers(tmp_path) == []


def test_a_live_run_folder_is_kept_and_a_dead_one_removed(tmp_path):
    with workspace.run_dir(tmp_path) as live:
        dead = tmp_path / ".run-dead"
        dead.mkdir()
        (dead / ".owner.lock").write_text("")
        assert workspace.recover(tmp_path) == [".run-dead"]
        assert live.is_dir()
    assert not live.exists()


# ---------------------------------------------------------------------------------------------- full disk


def snapshot(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted(ws.rglob("*")) if p.is_file()
            and p.name != workspace.LOCK_FILE}


def written(result, extra, ws: Path):
    import dataclasses

    return dataclasses.replace(result, params=result.params.replaced(output_dir=str(ws))).write(extra)


@pytest.mark.parametrize("failing_write", range(1, 8))
def test_a_full_disk_during_the_commit_is_exit_4_and_keeps_the_previous_state(tmp_path, monkeypatch, results,
                                                                              failing_write):
    """ENOSPC at each write of the commit (the 5 record files, the ledger, the marker): exit 4, one line,
    the previous records and ledger byte-identical, nothing left behind."""
    from hivepulse.errors import ServiceError

    written(*results[B, 1], tmp_path)
    before = snapshot(tmp_path)
    real, calls = workspace._write, []

    def full(path, data):
        calls.append(path.name)
        if len(calls) == failing_write:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(workspace, "_write", full)
    with pytest.raises(ServiceError) as err:
        written(*results[B, 2], tmp_path)
    assert err.value.exit_code == 4 and "\n" not in str(err.value)
    assert "No space left on device" in str(err.value) and "previous records and ledger are kept" in str(err.value)
    monkeypatch.setattr(workspace, "_write", real)
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_a_file_size_limit_fails_the_commit_in_a_real_process(tmp_path, results):
    """RLIMIT_FSIZE (the kernel refuses a write past it, EFBIG, as a full disk refuses with ENOSPC) in a real
    process: exit 4 with one line, the previous state intact, no leftovers after the next run."""
    written(*results[B, 1], tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, str(WORKER), *B, "once", str(tmp_path), "--fsize", "50000"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the retro to" in lines[0] and "File too large" in lines[0], lines
    assert snapshot(tmp_path) == before
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------- the command


def hivepulse(*args: str, cwd: Path, **kw) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hivepulse", "retro", "--no-progress", "--findings", "",
                             "--previous-iterations", "1", "--path", str(REPO / "data" / "sample"), *args],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_a_sigkilled_command_leaves_nothing_the_next_run_keeps(tmp_path):
    """`hivepulse retro` (a real kernel) SIGKILLed mid-run, its process group included, while another retro
    completes: the completed run's records and entry are there, no truncated notebook under runs/, and the
    next run leaves nothing behind."""
    ws = tmp_path / "ws"
    victim = hivepulse("--since", A[0], "--until", A[1], "--output-dir", str(ws), cwd=tmp_path,
                       start_new_session=True)
    other = hivepulse("--since", B[0], "--until", B[1], "--output-dir", str(ws), cwd=tmp_path)
    time.sleep(random.Random(7).uniform(3.0, 8.0))
    os.killpg(victim.pid, signal.SIGKILL)  # the command and its kernel (the group this test started)
    victim.wait()
    out, err = other.communicate(timeout=300)
    assert other.returncode == 0, err
    check_consistent_cli(ws, KEY_B)
    assert not list((ws / "runs").glob("*.ipynb"))  # papermill never wrote into the workspace
    again = hivepulse("--since", B[0], "--until", B[1], "--output-dir", str(ws), cwd=tmp_path)
    assert again.wait(timeout=300) == 0
    assert leftovers(ws) == []
    assert sorted(p.name for p in ws.iterdir() if p.name.startswith(".")) == [workspace.LOCK_FILE]


def check_consistent_cli(ws: Path, key: str) -> None:
    assert {p.name for p in (ws / key).iterdir()} == RECORD | {"retro.ipynb"}
    assert key in led.load(ws / "ledger.json").entries


@pytest.mark.slow
def test_a_full_disk_while_the_command_commits_is_exit_4_with_the_previous_state(tmp_path, monkeypatch, capsys):
    """The real command in-process with a real kernel; the disk fills at its commit's write of
    ``retro.ipynb``: exit 4, one line, previous records and ledger intact, the executed notebook kept whole
    under runs/ (written atomically)."""
    import nbformat

    from hivepulse.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["retro", "--no-progress", "--findings", "", "--previous-iterations", "1", "--path",
            str(REPO / "data" / "sample"), "--since", B[0], "--until", B[1], "--output-dir", "ws"]
    assert main(args) == 0
    ws = tmp_path / "ws"
    before = snapshot(ws)
    real = workspace._write

    def full(path, data):
        if path.name == "retro.ipynb":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(workspace, "_write", full)
    capsys.readouterr()
    assert main([*args, "--max-actions", "1"]) == 4
    lines = capsys.readouterr().err.strip().splitlines()
    assert "No space left on device" in lines[-1] and lines[-1].startswith("hivepulse retro: error:")
    kept = ws / "runs" / f"{KEY_B}.ipynb"
    nbformat.validate(nbformat.read(kept, as_version=4))  # complete, not truncated
    after = snapshot(ws)
    assert after.pop(f"runs/{KEY_B}.ipynb")
    assert after == before
    assert leftovers(ws) == []


def test_a_stale_handoff_variable_does_not_swallow_a_notebooks_records(tmp_path, monkeypatch, results):
    """A JupyterLab kernel started with HIVEPULSE_RETRO_HANDOFF of a run that ended commits its records itself."""
    stale = tmp_path / ".run-ended"
    stale.mkdir()
    (stale / ".owner.lock").write_text("")
    monkeypatch.setenv(workspace.HANDOFF_ENV, str(stale))
    record = written(*results[B, 1], tmp_path)
    assert (record / "retro.html").is_file() and not (stale / "handoff").exists()


def test_update_ledger_merges_under_the_lock(tmp_path, results):
    written(*results[B, 1], tmp_path)

    def add(ledger):
        return led.with_entry(ledger, "2026-05-25_2026-06-08", since="2026-05-25", until="2026-06-08",
                              due="2026-06-22", actions=[], followups=[])

    assert workspace.update_ledger(tmp_path, add) is True
    assert sorted(led.load(tmp_path / "ledger.json").entries) == ["2026-05-11_2026-05-25", "2026-05-25_2026-06-08"]
    assert workspace.update_ledger(tmp_path, add) is False  # unchanged: not rewritten

"""pyinstrument in-process and py-spy against a real child process (root here; the denial path runs
py-spy as an unprivileged user with setpriv, which the kernel really refuses)."""

import shutil
import subprocess
import sys
import textwrap

import pytest

from hivepulse.bench.profilers import PySpyRecorder, profile_call, speedscope_functions


def busy_function_for_profile():
    total = 0
    for i in range(200_000):
        total += i * i
    return total


def test_pyinstrument_html_and_speedscope(tmp_path):
    out = profile_call(busy_function_for_profile, tmp_path, "busy", repeat=3)
    assert out.ok and out.html.exists() and out.speedscope.exists()
    assert "busy_function_for_profile" in out.html.read_text()
    names = [name for name, _ in speedscope_functions(out.speedscope)]
    assert "busy_function_for_profile" in names


SPIN = textwrap.dedent("""
    import time
    def hot_loop_for_pyspy():
        s = 0
        for i in range(100000):
            s += i
        return s
    end = time.time() + 20
    while time.time() < end:
        hot_loop_for_pyspy()
""")


@pytest.fixture
def spinner():
    proc = subprocess.Popen([sys.executable, "-c", SPIN])
    yield proc
    proc.kill()
    proc.wait()


def test_pyspy_records_flamegraph_and_speedscope(tmp_path, spinner, require_pyspy):
    rec = PySpyRecorder(spinner.pid, tmp_path, "spin")
    if not rec.start():
        out = rec.stop()
        require_pyspy(out.message)
        assert "SYS_PTRACE" in out.message  # ptrace not permitted on this machine: the fallback message
        return
    import time

    time.sleep(1.0)
    out = rec.stop()
    assert out.ok, out.message
    assert "hot_loop_for_pyspy" in out.svg.read_text()
    assert "hot_loop_for_pyspy" in [n for n, _ in speedscope_functions(out.speedscope)]


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
def test_pyspy_denied_gives_clear_message(tmp_path, spinner):
    from hivepulse.bench.profilers import pyspy_command

    unprivileged = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *pyspy_command()]
    rec = PySpyRecorder(spinner.pid, tmp_path, "denied", command=unprivileged, fallback="the test fallback")
    assert rec.start() is False
    out = rec.stop()
    assert not out.ok and out.svg is None
    assert f"pid {spinner.pid}" in out.message and "SYS_PTRACE" in out.message
    assert "Falling back to the test fallback" in out.message


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
def test_a_refused_attach_fails_the_test_where_pyspy_is_required(tmp_path, spinner, require_pyspy, monkeypatch):
    """The guard of the tests above: with HIVEPULSE_REQUIRE_PYSPY=1 (or CI=true) a refused ptrace is a test
    failure, not an explained fallback."""
    from hivepulse.bench.profilers import pyspy_command

    unprivileged = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *pyspy_command()]
    rec = PySpyRecorder(spinner.pid, tmp_path, "denied", command=unprivileged)
    assert rec.start() is False
    message = rec.stop().message
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HIVEPULSE_REQUIRE_PYSPY", raising=False)
    require_pyspy(message)  # not required here: the fallback is accepted
    monkeypatch.setenv("HIVEPULSE_REQUIRE_PYSPY", "1")
    with pytest.raises(pytest.fail.Exception, match="could not attach"):
        require_pyspy(message)
    monkeypatch.delenv("HIVEPULSE_REQUIRE_PYSPY")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="could not attach"):
        require_pyspy(message)

